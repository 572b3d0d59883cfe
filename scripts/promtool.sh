#!/usr/bin/env bash
# promtool (Prometheus's rule checker and rule unit-test runner) for the alert rules in
# ops/prometheus/: test/integration/ops-rules.test.ts runs `check rules` and `test rules`.
#
# Usage: scripts/promtool.sh install
#        scripts/promtool.sh path
#        scripts/promtool.sh [run] <promtool arguments...>
#
#   install  Make a promtool available, cached. Idempotent: a no-op when one is found.
#            Looks, in order, at $CALLSTREAM_PROMTOOL, the cached copy, a promtool on PATH;
#            else downloads Debian's `prometheus` package with `apt-get download` (nothing is
#            installed, no service starts) and extracts only usr/bin/promtool into the cache.
#            When apt's package lists do not know the package yet it runs `apt-get update`
#            once (as root). The test suite's global setup calls it before the tests.
#   path     Install if needed (log on stderr), then print the promtool's path on stdout.
#   run      Install if needed, then run promtool with the arguments, from the repository
#            root, e.g.: scripts/promtool.sh test rules ops/prometheus/callstream-rules.test.yml
#
# Environment:
#   CALLSTREAM_PROMTOOL       a promtool to use as is (no download)
#   CALLSTREAM_PROMTOOL_HOME  cache for the extracted binary
#                             (default: $HOME/.cache/callstream/promtool)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

PT_HOME="${CALLSTREAM_PROMTOOL_HOME:-$HOME/.cache/callstream/promtool}"
CACHED="$PT_HOME/bin/promtool"

log() { printf '[promtool] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

works() { [[ -n "$1" && -x "$1" ]] && "$1" --version >/dev/null 2>&1; }

# Prints the promtool to use, or fails when there is none yet.
find_promtool() {
  if [[ -n "${CALLSTREAM_PROMTOOL:-}" ]]; then
    works "$CALLSTREAM_PROMTOOL" || die "CALLSTREAM_PROMTOOL=$CALLSTREAM_PROMTOOL does not run"
    echo "$CALLSTREAM_PROMTOOL"
    return 0
  fi
  if works "$CACHED"; then echo "$CACHED"; return 0; fi
  local on_path
  on_path="$(command -v promtool 2>/dev/null || true)"
  if works "$on_path"; then echo "$on_path"; return 0; fi
  return 1
}

apt_download() { # into the current directory
  local opts=()
  # As root, apt's download sandbox user (_apt) may not be able to write here (under /root).
  [[ "$(id -u)" == 0 ]] && opts=(-o APT::Sandbox::User=root)
  apt-get "${opts[@]}" download prometheus
}

install_locked() {
  local found t0=$SECONDS
  if [[ -n "${CALLSTREAM_PROMTOOL:-}" ]] && ! works "$CALLSTREAM_PROMTOOL"; then
    die "CALLSTREAM_PROMTOOL=$CALLSTREAM_PROMTOOL does not run"
  fi
  if found="$(find_promtool)"; then
    log "already installed ($found: $("$found" --version 2>&1 | head -1))"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
    die "no promtool found and no apt-get/dpkg-deb to fetch Debian's; install Prometheus's promtool and set CALLSTREAM_PROMTOOL"
  rm -rf "$PT_HOME"/download.* # left by an interrupted install
  local work
  work="$(mktemp -d "$PT_HOME/download.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  log "downloading Debian's prometheus package (only promtool is extracted)"
  if ! (cd "$work" && apt_download >"$work/apt.log" 2>&1); then
    [[ "$(id -u)" == 0 ]] || { cat "$work/apt.log" >&2; die "apt-get download prometheus failed; run 'apt-get update' as root, or set CALLSTREAM_PROMTOOL"; }
    log "apt-get download failed; refreshing the package lists (apt-get update) and trying again"
    apt-get update -qq >&2 || die "apt-get update failed"
    (cd "$work" && apt_download >"$work/apt.log" 2>&1) || { cat "$work/apt.log" >&2; die "apt-get download prometheus failed"; }
  fi
  local deb
  deb="$(ls "$work"/prometheus_*.deb 2>/dev/null | head -1)"
  [[ -n "$deb" ]] || die "apt-get download left no prometheus_*.deb"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/bin/promtool || die "no usr/bin/promtool in $(basename "$deb")"
  mkdir -p "$PT_HOME/bin"
  mv -f "$work/usr/bin/promtool" "$CACHED"
  works "$CACHED" || die "the extracted $CACHED does not run"
  log "installed $("$CACHED" --version 2>&1 | head -1) from $(basename "$deb") into $CACHED in $((SECONDS - t0))s"
}

cmd_install() {
  mkdir -p "$PT_HOME"
  if command -v flock >/dev/null 2>&1; then
    (
      flock 9
      install_locked
    ) 9>"$PT_HOME/.install.lock"
  else
    install_locked
  fi
}

cmd_path() {
  find_promtool 2>/dev/null || { cmd_install; find_promtool; }
}

cmd_run() {
  local promtool
  promtool="$(cmd_path)"
  cd "$REPO_ROOT"
  exec "$promtool" "$@"
}

case "${1:-}" in
  install) cmd_install ;;
  path) cmd_path ;;
  run) shift; cmd_run "$@" ;;
  check | test) cmd_run "$@" ;;
  *)
    echo "usage: $0 install | path | [run] <promtool arguments...>" >&2
    exit 2
    ;;
esac
