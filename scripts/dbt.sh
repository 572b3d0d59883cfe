#!/usr/bin/env bash
# dbt (dbt-duckdb, PyPI) for callstream's dbt package in analytics/dbt/.
#
# Usage: scripts/dbt.sh install
#        scripts/dbt.sh [run] <dbt command> [dbt options...]   e.g. scripts/dbt.sh build
#
#   install  Create/refresh the cached venv with the pinned packages from
#            scripts/dbt/requirements.txt. Idempotent: a no-op when the venv already
#            matches the requirements. The test setup calls it before the tests, so
#            test/integration/dbt.test.ts only runs dbt.
#   run      Install if needed, then run dbt on analytics/dbt with its profiles.example.yml
#            (target duckdb unless --target says otherwise). Its target/ and logs/ go to
#            the cache folder, not the work tree.
#
# Environment:
#   CALLSTREAM_DUCKDB_FILE       the warehouse file callstream wrote (default
#                                ./data/callstream.duckdb); dbt attaches it read-only, so
#                                stop the sink first (DuckDB allows one process per file)
#   CALLSTREAM_DBT_FILE          the DuckDB file dbt builds its models into
#                                (default: <warehouse file's folder>/analytics.duckdb)
#   CALLSTREAM_DBT_HOME          cache for the venv, target/ and logs/
#                                (default: $HOME/.cache/callstream/dbt)
#   CALLSTREAM_DBT_PYTHON        Python >= 3.10 used to create the venv
#                                (default: first of python3.11, python3.12, python3.13,
#                                python3 that is >= 3.10)
#   DBT_PROFILES_DIR             another profiles.yml folder (e.g. one with a BigQuery target)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
REQUIREMENTS="$SCRIPT_DIR/dbt/requirements.txt"
PROJECT_DIR="$REPO_ROOT/analytics/dbt"

DBT_HOME="${CALLSTREAM_DBT_HOME:-$HOME/.cache/callstream/dbt}"
VENV="$DBT_HOME/venv"

log() { printf '[dbt] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib/pinned-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-venv.sh"

cmd_install() {
  pinned_venv_install "$DBT_HOME" "$REQUIREMENTS" 10 "${CALLSTREAM_DBT_PYTHON:-}" dbt --version
}

cmd_run() {
  [[ $# -gt 0 ]] || die "usage: $0 [run] <dbt command> [dbt options...]"
  cmd_install
  local warehouse="${CALLSTREAM_DUCKDB_FILE:-$PWD/data/callstream.duckdb}"
  [[ -f "$warehouse" ]] || die "no warehouse file at $warehouse (set CALLSTREAM_DUCKDB_FILE)"
  export CALLSTREAM_DUCKDB_FILE="$warehouse"
  export CALLSTREAM_DBT_FILE="${CALLSTREAM_DBT_FILE:-$(dirname "$warehouse")/analytics.duckdb}"
  export DBT_PROFILES_DIR="${DBT_PROFILES_DIR:-$PROJECT_DIR/profiles-example}"
  export DBT_TARGET_PATH="${DBT_TARGET_PATH:-$DBT_HOME/target}"
  export DBT_LOG_PATH="${DBT_LOG_PATH:-$DBT_HOME/logs}"
  export DBT_SEND_ANONYMOUS_USAGE_STATS=false
  "$VENV/bin/dbt" "$@" --project-dir "$PROJECT_DIR"
}

case "${1:-}" in
  install) cmd_install ;;
  run) shift; cmd_run "$@" ;;
  "") echo "usage: $0 install | [run] <dbt command> [dbt options...]" >&2; exit 2 ;;
  *) cmd_run "$@" ;;
esac
