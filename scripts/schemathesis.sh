#!/usr/bin/env bash
# schemathesis (PyPI) against a running receiver: fuzzes every operation of
# schemas/openapi.json and checks each answer against the document.
#
# Usage: scripts/schemathesis.sh install
#        scripts/schemathesis.sh [run] <base-url> [extra `st run` options...]
#
#   install  Create/refresh the cached venv with the pinned packages from
#            scripts/schemathesis/requirements.txt. Idempotent: a no-op when the
#            venv already matches the requirements. .ci/run calls it before the
#            tests, so test/e2e/schemathesis.test.ts only runs it.
#   run      Install if needed, then run `st run` against <base-url> (e.g.
#            http://127.0.0.1:8080) with a bounded number of examples per
#            operation. Exits non-zero when a check fails.
#
# Checks: not_a_server_error (no 5xx); status_code_conformance,
# content_type_conformance, response_headers_conformance and
# response_schema_conformance (every answer is one the document describes);
# negative_data_rejection (a body the document forbids is refused);
# unsupported_method and allow_header_conformance (other methods: 405, Allow).
# Not positive_data_acceptance: the document is looser than the receiver on
# purpose in places JSON Schema cannot say well (a 16-digit id string above
# 2^53-1, lone surrogates, UTF-16 lengths) and those get 422.
# A 5xx is a failure even when documented (503): run it against a receiver
# whose broker acknowledges, as the e2e test does with its in-memory publisher.
#
# Environment:
#   CALLSTREAM_SCHEMATHESIS_HOME          cache for the venv
#                                         (default: $HOME/.cache/callstream/schemathesis)
#   CALLSTREAM_SCHEMATHESIS_PYTHON        Python >= 3.10 used to create the venv
#                                         (default: first of python3.11, python3.12,
#                                         python3.13, python3 that is >= 3.10)
#   CALLSTREAM_SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 50)
#   CALLSTREAM_SCHEMATHESIS_SEED          fixed seed to replay a run (default: random;
#                                         the run prints the seed it used)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
REQUIREMENTS="$SCRIPT_DIR/schemathesis/requirements.txt"
OPENAPI="$REPO_ROOT/schemas/openapi.json"

ST_HOME="${CALLSTREAM_SCHEMATHESIS_HOME:-$HOME/.cache/callstream/schemathesis}"
VENV="$ST_HOME/venv"
MAX_EXAMPLES="${CALLSTREAM_SCHEMATHESIS_MAX_EXAMPLES:-50}"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method,allow_header_conformance

log() { printf '[schemathesis] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib/pinned-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-venv.sh"

cmd_install() {
  pinned_venv_install "$ST_HOME" "$REQUIREMENTS" 10 "${CALLSTREAM_SCHEMATHESIS_PYTHON:-}" st --version
}

cmd_run() {
  local url="${1:-}"
  [[ "$url" =~ ^https?:// ]] || die "usage: $0 run <base-url> [st run options...]"
  shift
  cmd_install
  local seed=()
  [[ -n "${CALLSTREAM_SCHEMATHESIS_SEED:-}" ]] && seed=(--seed "$CALLSTREAM_SCHEMATHESIS_SEED")
  log "fuzzing $url against $OPENAPI ($MAX_EXAMPLES examples per operation)"
  # Run from the cache folder: schemathesis and hypothesis keep caches (.schemathesis/,
  # .hypothesis/) in the current directory, which is not the work tree's business.
  mkdir -p "$ST_HOME/work"
  cd "$ST_HOME/work"
  "$VENV/bin/st" run "$OPENAPI" \
    --url "$url" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --phases examples,coverage,fuzzing \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --no-color \
    "${seed[@]}" "$@"
}

case "${1:-}" in
  install) cmd_install ;;
  run) shift; cmd_run "$@" ;;
  http://* | https://*) cmd_run "$@" ;;
  *)
    echo "usage: $0 install | [run] <base-url> [st run options...]" >&2
    exit 2
    ;;
esac
