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

log() { printf '[confluent-client] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib/pinned-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-venv.sh"

cmd_install() {
  # The check fails here, not in a test, if an extra's module is missing.
  pinned_venv_install "$CC_HOME" "$REQUIREMENTS" 11 "${CALLSTREAM_CONFLUENT_PYTHON:-}" \
    python -c 'import confluent_kafka as c, confluent_kafka.schema_registry.avro, fastavro; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0])'
}

case "${1:-}" in
  install) cmd_install ;;
  python) cmd_install && printf '%s\n' "$VENV/bin/python" ;;
  *)
    echo "usage: $0 install | python" >&2
    exit 2
    ;;
esac
