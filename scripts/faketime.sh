#!/usr/bin/env bash
# libfaketime (LD_PRELOAD clock shifting) for the soak's operations schedules
# (test/soak/): the receiver process runs on a clock shifted to just before a UTC midnight,
# so receipt times fall on both sides of it (replay and replay-raw across a midnight), and is
# restarted on a clock stepped back (the receipt floor).
#
# Usage: scripts/faketime.sh install
#        scripts/faketime.sh path
#
#   install  Make libfaketime.so.1 available, cached. Idempotent: a no-op when one is found.
#            Looks, in order, at $CALLSTREAM_FAKETIME_LIB, the cached copy, the system's
#            (/usr/lib/*/faketime/); else downloads Debian's `libfaketime` package with
#            `apt-get download` (nothing is installed) and extracts the library into the cache.
#            When apt's package lists do not know the package yet it runs `apt-get update`
#            once (as root). The test suite's global setup calls it before the tests.
#   path     Install if needed (log on stderr), then print the library's path on stdout.
#
# Environment:
#   CALLSTREAM_FAKETIME_LIB   a libfaketime.so.1 to use as is (no download)
#   CALLSTREAM_FAKETIME_HOME  cache (default: $HOME/.cache/callstream/faketime)
set -euo pipefail

FT_HOME="${CALLSTREAM_FAKETIME_HOME:-$HOME/.cache/callstream/faketime}"
CACHED="$FT_HOME/lib/libfaketime.so.1"

log() { printf '[faketime] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A library works when a process preloading it sees the shifted clock (a day back).
works() {
  [[ -n "$1" && -f "$1" ]] || return 1
  local shifted real
  real="$(date -u +%Y%m%d)"
  shifted="$(LD_PRELOAD="$1" FAKETIME="-1d" FAKETIME_DONT_FAKE_MONOTONIC=1 date -u +%Y%m%d 2>/dev/null)" || return 1
  [[ "$shifted" != "$real" ]]
}

find_lib() {
  if [[ -n "${CALLSTREAM_FAKETIME_LIB:-}" ]]; then
    works "$CALLSTREAM_FAKETIME_LIB" || die "CALLSTREAM_FAKETIME_LIB=$CALLSTREAM_FAKETIME_LIB does not shift the clock"
    echo "$CALLSTREAM_FAKETIME_LIB"
    return 0
  fi
  if works "$CACHED"; then echo "$CACHED"; return 0; fi
  local system
  for system in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
    if works "$system"; then echo "$system"; return 0; fi
  done
  return 1
}

apt_download() { # into the current directory
  local opts=()
  [[ "$(id -u)" == 0 ]] && opts=(-o APT::Sandbox::User=root)
  apt-get "${opts[@]}" download libfaketime
}

install_locked() {
  local found t0=$SECONDS
  if found="$(find_lib)"; then
    log "already installed ($found)"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
    die "no libfaketime found and no apt-get/dpkg-deb to fetch Debian's; install libfaketime and set CALLSTREAM_FAKETIME_LIB"
  rm -rf "$FT_HOME"/download.*
  local work
  work="$(mktemp -d "$FT_HOME/download.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  log "downloading Debian's libfaketime package (only the library is extracted)"
  if ! (cd "$work" && apt_download >"$work/apt.log" 2>&1); then
    [[ "$(id -u)" == 0 ]] || { cat "$work/apt.log" >&2; die "apt-get download libfaketime failed; run 'apt-get update' as root, or set CALLSTREAM_FAKETIME_LIB"; }
    log "apt-get download failed; refreshing the package lists (apt-get update) and trying again"
    apt-get update -qq >&2 || die "apt-get update failed"
    (cd "$work" && apt_download >"$work/apt.log" 2>&1) || { cat "$work/apt.log" >&2; die "apt-get download libfaketime failed"; }
  fi
  local deb lib
  deb="$(ls "$work"/libfaketime_*.deb 2>/dev/null | head -1)"
  [[ -n "$deb" ]] || die "apt-get download left no libfaketime_*.deb"
  dpkg-deb -x "$deb" "$work/x"
  lib="$(find "$work/x" -name libfaketime.so.1 | head -1)"
  [[ -n "$lib" ]] || die "no libfaketime.so.1 in $(basename "$deb")"
  mkdir -p "$FT_HOME/lib"
  cp -f "$lib" "$CACHED"
  works "$CACHED" || die "the extracted $CACHED does not shift the clock"
  log "installed $(basename "$deb") into $CACHED in $((SECONDS - t0))s"
}

cmd_install() {
  mkdir -p "$FT_HOME"
  if command -v flock >/dev/null 2>&1; then
    (
      flock 9
      install_locked
    ) 9>"$FT_HOME/.install.lock"
  else
    install_locked
  fi
}

cmd_path() {
  find_lib 2>/dev/null || { cmd_install; find_lib; }
}

case "${1:-}" in
  install) cmd_install ;;
  path) cmd_path ;;
  *)
    echo "usage: $0 install | path" >&2
    exit 2
    ;;
esac
