#!/usr/bin/env bash
# A real Confluent client (confluent-kafka from PyPI, with its Avro and schema-registry
# extras) for the interoperability tests: test/support/confluent_consume.py reads what
# callstream wrote in Confluent's wire format back through Confluent's own deserializer.
#
# Usage: scripts/confluent-client.sh install
#        scripts/confluent-client.sh python
#
#   install  Create/refresh the cached venv with the pinned packages from
#            scripts/confluent-client/requirements.txt. Idempotent: a no-op when the
#            venv already matches the requirements and the Python version.
#   python   Install if needed (log on stderr), then print the venv's python path on
#            stdout, e.g.: "$(scripts/confluent-client.sh python)" test/support/confluent_consume.py ...
#
# Environment:
#   CALLSTREAM_CONFLUENT_HOME    cache for the venv
#                                (default: $HOME/.cache/callstream/confluent-client)
#   CALLSTREAM_CONFLUENT_PYTHON  Python >= 3.11 used to create the venv
#                                (default: first of python3.11, python3.12,
#                                python3.13, python3 that is >= 3.11)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQUIREMENTS="$SCRIPT_DIR/confluent-client/requirements.txt"

CC_HOME="${CALLSTREAM_CONFLUENT_HOME:-$HOME/.cache/callstream/confluent-client}"
VENV="$CC_HOME/venv"
STAMP="$VENV/.callstream-stamp"

log() { printf '[confluent-client] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib/find-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/find-python.sh"

# What the installed venv must match: the Python version and the requirements.
wanted_stamp() {
  { "$1" -c 'import sys; print(sys.version.split()[0])'; cat "$REQUIREMENTS"; } | sha256sum | cut -d' ' -f1
}

is_installed() {
  [[ -x "$VENV/bin/python" && -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$(wanted_stamp "$VENV/bin/python" 2>/dev/null)" ]]
}

client_version() {
  "$VENV/bin/python" -c 'import confluent_kafka as c; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0])'
}

do_install_locked() {
  if is_installed; then
    log "already installed ($VENV)"
    return 0
  fi
  local py
  py="$(find_python 11 "${CALLSTREAM_CONFLUENT_PYTHON:-}")" || die "need Python >= 3.11 (set CALLSTREAM_CONFLUENT_PYTHON)"
  log "installing into $VENV with $py ($("$py" --version 2>&1))"
  local t0=$SECONDS
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary -r "$REQUIREMENTS"
  # Fails here, not in a test, if an extra's module is missing.
  "$VENV/bin/python" -c 'import confluent_kafka.schema_registry.avro, fastavro' >/dev/null
  wanted_stamp "$VENV/bin/python" >"$STAMP"
  log "installed $(client_version) in $((SECONDS - t0))s"
}

cmd_install() {
  [[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"
  mkdir -p "$CC_HOME"
  if command -v flock >/dev/null 2>&1; then
    # Serialise concurrent installs (CI's install step and a test run, parallel jobs).
    exec 9>"$CC_HOME/.install.lock"
    flock 9
    do_install_locked
    flock -u 9
    exec 9>&-
  else
    do_install_locked
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  python) cmd_install && printf '%s\n' "$VENV/bin/python" ;;
  *)
    echo "usage: $0 install | python" >&2
    exit 2
    ;;
esac
