#!/usr/bin/env bash
# npm run test:image: build the image with Podman (scripts/image/build.sh), then check the running
# container from outside (test/image/*.check.ts). Needs root on Debian; installs what it needs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IMAGE_ROOT"
started=$SECONDS
bash scripts/image/build.sh
podman_conf
export CLAUDE_CREDS_IMAGE_NODE="${CLAUDE_CREDS_IMAGE_NODE:-24}"
npx vitest run --config test/image/vitest.config.ts "$@"
say "test:image done in $((SECONDS - started)) s"
say "to use the image here: CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF podman run --rm claude-creds:<version> --help"
