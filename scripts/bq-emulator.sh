#!/usr/bin/env bash
# Local BigQuery REST emulator (bqemulator, DuckDB-backed) for callstream's tests.
#
# Usage: scripts/bq-emulator.sh {install|start|stop|restart|status|env}
#
#   install  Create/refresh the cached venv with the pinned packages from
#            scripts/bq-emulator/requirements.txt and put DuckDB's spatial
#            extension where the emulator finds it offline. Idempotent: a
#            no-op when the venv already matches the requirements.
#   start    Install if needed, start the emulator in the background and wait
#            until GET /healthz answers. No-op if it is already running.
#   stop     Stop the emulator started by `start` (idempotent).
#   restart  stop + start (the emulator is in-memory: restart = empty state).
#   status   Print state; exit 0 if running and healthy, 3 if not running,
#            1 if the process runs but /healthz does not answer.
#   env      Print `export ...` lines for the client side.
#
# Environment:
#   CALLSTREAM_BQEMU_HOME    cache for venv + extension
#                            (default: $HOME/.cache/callstream/bqemulator)
#   CALLSTREAM_BQEMU_DATA    pid file + log (emulator.log, previous run: emulator.log.1)
#                            (+ DB when persistent)
#                            (default: <repo>/.bq-emulator)
#   CALLSTREAM_BQEMU_PYTHON  Python >= 3.11 used to create the venv
#                            (default: first of python3.11, python3.12,
#                            python3.13, python3 that is >= 3.11)
#   BQ_EMULATOR_PORT         REST port (default 9050)
#   BQ_EMULATOR_GRPC_PORT    gRPC (Storage Read/Write API) port (default REST port + 10)
#   BQ_EMULATOR_PROJECT      default project id (default callstream-local)
#   BQ_EMULATOR_PERSIST      1 = keep data on disk in $CALLSTREAM_BQEMU_DATA/db
#                            across restarts (default: in-memory, ephemeral)
#   BQ_EMULATOR_LOG_LEVEL    trace|debug|info|warning|error (default info)
#   BQ_EMULATOR_START_TIMEOUT  seconds to wait for /healthz (default 60)
#
# Client side (Node, @google-cloud/bigquery 8.x):
#   new BigQuery({ projectId, apiEndpoint: 'http://127.0.0.1:9050', authClient })
#   with authClient = new OAuth2Client() + setCredentials({ access_token: 'x' }).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SUPPORT_DIR="$SCRIPT_DIR/bq-emulator"
REQUIREMENTS="$SUPPORT_DIR/requirements.txt"
SHIM="$SUPPORT_DIR/shim.py"

BQEMU_HOME="${CALLSTREAM_BQEMU_HOME:-$HOME/.cache/callstream/bqemulator}"
VENV="$BQEMU_HOME/venv"
EXT_DIR="$BQEMU_HOME/duckdb-ext"
STAMP="$VENV/.callstream-stamp"

DATA_DIR="${CALLSTREAM_BQEMU_DATA:-$REPO_ROOT/.bq-emulator}"
PID_FILE="$DATA_DIR/emulator.pid"
LOG_FILE="$DATA_DIR/emulator.log"

HOST=127.0.0.1
PORT="${BQ_EMULATOR_PORT:-9050}"
GRPC_PORT="${BQ_EMULATOR_GRPC_PORT:-$((PORT + 10))}"
PROJECT="${BQ_EMULATOR_PROJECT:-callstream-local}"
PERSIST="${BQ_EMULATOR_PERSIST:-0}"
LOG_LEVEL="${BQ_EMULATOR_LOG_LEVEL:-info}"
START_TIMEOUT="${BQ_EMULATOR_START_TIMEOUT:-60}"
BASE_URL="http://$HOST:$PORT"

log() { printf '[bq-emulator] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- install ---------------------------------------------------------------

# shellcheck source=lib/find-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/find-python.sh"

# What the installed venv must match: requirements + shim-relevant layout version.
wanted_stamp() {
  local py="$1"
  {
    echo "layout=1"
    "$py" -c 'import sys; print(sys.version.split()[0])'
    cat "$REQUIREMENTS"
  } | sha256sum | cut -d' ' -f1
}

is_installed() {
  [[ -x "$VENV/bin/python" && -f "$STAMP" ]] || return 1
  local want
  want="$(wanted_stamp "$VENV/bin/python" 2>/dev/null)" || return 1
  [[ "$(cat "$STAMP")" == "$want" ]] || return 1
  compgen -G "$EXT_DIR/v*/*/spatial.duckdb_extension" >/dev/null
}

do_install_locked() {
  if is_installed; then
    log "already installed ($VENV)"
    return 0
  fi
  local py
  py="$(find_python 11 "${CALLSTREAM_BQEMU_PYTHON:-}")" || die "need Python >= 3.11 (set CALLSTREAM_BQEMU_PYTHON)"
  log "installing into $VENV with $py ($("$py" --version 2>&1))"
  local t0=$SECONDS
  rm -rf "$VENV" "$EXT_DIR"
  "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --prefer-binary -r "$REQUIREMENTS"
  # Put the PyPI-shipped spatial extension at
  # <ext dir>/v<duckdb version>/<platform>/spatial.duckdb_extension, where
  # DuckDB's INSTALL/LOAD look for it (shim.py points extension_directory here).
  "$VENV/bin/python" - "$EXT_DIR" <<'PY'
import pathlib, shutil, sys
import duckdb
import duckdb_extension_spatial as pkg

ext_root = pathlib.Path(sys.argv[1])
version = "v" + duckdb.__version__
platform = duckdb.connect(":memory:").execute("PRAGMA platform").fetchone()[0]
src = pathlib.Path(pkg.__file__).parent / "extensions" / version / "spatial.duckdb_extension"
if not src.is_file():
    sys.exit(f"spatial extension for duckdb {version} not found in {src.parent}")
dst = ext_root / version / platform / "spatial.duckdb_extension"
dst.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile(src, dst)
con = duckdb.connect(":memory:", config={"extension_directory": str(ext_root),
                                         "autoinstall_known_extensions": False})
con.execute("INSTALL spatial")
con.execute("LOAD spatial")
print(f"[bq-emulator] spatial extension ready: {dst}", file=sys.stderr)
PY
  wanted_stamp "$VENV/bin/python" >"$STAMP"
  log "installed in $((SECONDS - t0))s"
}

cmd_install() {
  [[ -f "$REQUIREMENTS" && -f "$SHIM" ]] || die "missing $SUPPORT_DIR files"
  mkdir -p "$BQEMU_HOME"
  if command -v flock >/dev/null 2>&1; then
    # Serialise concurrent installs (e.g. parallel test jobs).
    exec 9>"$BQEMU_HOME/.install.lock"
    flock 9
    do_install_locked
    flock -u 9
    exec 9>&-
  else
    do_install_locked
  fi
}

# --- process helpers ---------------------------------------------------------

healthy() {
  curl -fsS --max-time 2 "$BASE_URL/healthz" >/dev/null 2>&1
}

# pid of our emulator if the pid file names a live process running shim.py.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "bq-emulator/shim.py" || return 1
  echo "$pid"
}

port_busy() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# --- commands ----------------------------------------------------------------

cmd_start() {
  command -v curl >/dev/null 2>&1 || die "curl is required"
  local pid
  if pid="$(running_pid)"; then
    if healthy; then
      log "already running (pid $pid) at $BASE_URL"
      return 0
    fi
    log "pid $pid is running but $BASE_URL/healthz does not answer; restarting"
    cmd_stop
  fi
  rm -f "$PID_FILE"
  port_busy "$PORT" && die "port $PORT is already in use (set BQ_EMULATOR_PORT)"
  port_busy "$GRPC_PORT" && die "gRPC port $GRPC_PORT is already in use (set BQ_EMULATOR_GRPC_PORT)"

  cmd_install
  mkdir -p "$DATA_DIR"
  local mode=(--ephemeral)
  if [[ "$PERSIST" == "1" ]]; then
    mkdir -p "$DATA_DIR/db"
    mode=(--persistent --data-dir "$DATA_DIR/db")
  fi
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"  # keep the previous run's log
  log "starting on $BASE_URL (gRPC $HOST:$GRPC_PORT, project $PROJECT, log $LOG_FILE)"
  # CALLSTREAM_BQEMU_DETACH: the shim calls setsid(), so the emulator gets its
  # own process group (pgid = pid) that `stop` signals as a whole.
  # BQEMU_ENABLE_FORMAT_EXTENSIONS=false: skip the best-effort `INSTALL avro`
  # (network) at start-up.
  CALLSTREAM_BQEMU_EXTDIR="$EXT_DIR" \
    CALLSTREAM_BQEMU_DETACH=1 \
    BQEMU_ENABLE_FORMAT_EXTENSIONS=false \
    "$VENV/bin/python" "$SHIM" start \
    --rest-host "$HOST" --rest-port "$PORT" \
    --grpc-host "$HOST" --grpc-port "$GRPC_PORT" \
    "${mode[@]}" --project "$PROJECT" --log-level "$LOG_LEVEL" \
    >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      log "emulator exited during start-up; last log lines:"
      tail -n 30 "$LOG_FILE" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "no answer from $BASE_URL/healthz after ${START_TIMEOUT}s; last log lines:"
      tail -n 30 "$LOG_FILE" >&2 || true
      cmd_stop
      exit 1
    fi
    sleep 0.3
  done
  log "ready (pid $pid): $BASE_URL"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping pid $pid"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not exit after 10s; sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if healthy; then
      echo "running (pid $pid) at $BASE_URL, project $PROJECT"
      return 0
    fi
    echo "process $pid alive but $BASE_URL/healthz not answering"
    return 1
  fi
  echo "not running"
  return 3
}

cmd_env() {
  cat <<EOF
export BQ_EMULATOR_HOST=$BASE_URL
export BQ_EMULATOR_PROJECT=$PROJECT
EOF
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 {install|start|stop|restart|status|env}" >&2
    exit 2
    ;;
esac
