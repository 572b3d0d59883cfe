# shellcheck shell=bash
# find_python MIN_MINOR [OVERRIDE]: prints the path of a Python 3.MIN_MINOR+ with venv, the
# override if given, else the first of python3.11, 3.12, 3.13, python3 that fits. Shared by
# scripts/bq-emulator.sh and lib/pinned-venv.sh (schemathesis, confluent-client).
find_python() {
  local min_minor="$1" override="${2:-}" cands=() c
  if [[ -n "$override" ]]; then cands=("$override"); else cands=(python3.11 python3.12 python3.13 python3); fi
  for c in "${cands[@]}"; do
    if command -v "$c" >/dev/null 2>&1 &&
      "$c" -c "import sys, venv; sys.exit(0 if sys.version_info >= (3, $min_minor) else 1)" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}
