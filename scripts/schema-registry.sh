#!/usr/bin/env bash
# Local Confluent-compatible schema registry for callstream's tests: Apicurio Registry
# 2.4.2.Final (its /apis/ccompat/v7 API, in-memory storage), built from Maven Central.
#
# Usage: scripts/schema-registry.sh {install|start|stop|restart|status|url}
#
#   install  Build the registry once into the cache (a Quarkus build of the published
#            app jar, scripts/schema-registry/pom.xml); a no-op when the build matches the pom.
#   start    Install if needed, start in the background and wait until /health/ready
#            answers; store the global compatibility rule. No-op if already running.
#   stop     Stop what `start` started (idempotent).
#   restart  stop + start (storage is in memory: restart = no schemas).
#   status   Exit 0 if running and ready, 3 if not running, 1 if running but not ready.
#   url      Print the Confluent-compatible base URL (CALLSTREAM_SCHEMA_REGISTRY_URL).
#
# Why Apicurio 2.4.2 and this pom: Confluent's registry is not on Maven Central and
# karapace is not on PyPI. Maven Central has Apicurio's thin app jar but not every module
# of the 3.x and 2.6 lines; 2.4.2 builds with two substitutions named in the pom.
# Differences from Confluent's registry that a client may notice: error_code 0 on 409
# (incompatible) and 40402 instead of 40401 for an unknown subject; no /mode endpoint.
#
# Environment:
#   CALLSTREAM_SR_HOME     build cache (default: $HOME/.cache/callstream/schema-registry)
#   CALLSTREAM_SR_DATA     pid file + log (default: <repo>/.schema-registry)
#   SCHEMA_REGISTRY_PORT   HTTP port (default 8081)
#   SR_COMPATIBILITY       global compatibility rule (default BACKWARD, as Confluent's)
#   SR_JAVA_OPTS           JVM options (default -Xmx512m)
#   SR_START_TIMEOUT       seconds to wait for ready (default 120)
#   MAVEN_REPO_LOCAL       Maven local repository (default: Maven's own, ~/.m2/repository)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
POM="$SCRIPT_DIR/schema-registry/pom.xml"

SR_HOME="${CALLSTREAM_SR_HOME:-$HOME/.cache/callstream/schema-registry}"
BUILD_DIR="$SR_HOME/build"
RUNNER_JAR="$BUILD_DIR/target/apicurio-registry-local-1.0-runner.jar"
STAMP="$BUILD_DIR/.callstream-stamp"
DATA_DIR="${CALLSTREAM_SR_DATA:-$REPO_ROOT/.schema-registry}"
PID_FILE="$DATA_DIR/registry.pid"
LOG_FILE="$DATA_DIR/registry.log"

HOST=127.0.0.1
PORT="${SCHEMA_REGISTRY_PORT:-8081}"
COMPATIBILITY="${SR_COMPATIBILITY:-BACKWARD}"
JAVA_OPTS="${SR_JAVA_OPTS:--Xmx512m}"
START_TIMEOUT="${SR_START_TIMEOUT:-120}"
BASE_URL="http://$HOST:$PORT"
API_URL="$BASE_URL/apis/ccompat/v7"

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi

log() { printf '[schema-registry] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install() {
  local wanted
  wanted="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$RUNNER_JAR" && -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then return 0; fi
  mkdir -p "$BUILD_DIR" "$DATA_DIR"
  cp "$POM" "$BUILD_DIR/pom.xml"
  local mvn_args=(-B -q -DskipTests -f "$BUILD_DIR/pom.xml")
  [[ -n "${MAVEN_REPO_LOCAL:-}" ]] && mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL")
  log "building Apicurio Registry 2.4.2.Final from Maven Central (log: $DATA_DIR/build.log)"
  if ! mvn "${mvn_args[@]}" clean package >"$DATA_DIR/build.log" 2>&1; then
    grep -E '^\[ERROR\]' "$DATA_DIR/build.log" | head -20 >&2 || tail -20 "$DATA_DIR/build.log" >&2
    die "build failed"
  fi
  echo "$wanted" >"$STAMP"
  log "built $RUNNER_JAR"
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

is_ready() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL/health/ready" 2>/dev/null)" == "200" ]]
}

start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid): $API_URL"
    return 0
  fi
  rm -f "$PID_FILE"
  if curl -s -o /dev/null --max-time 2 "$BASE_URL/" 2>/dev/null; then die "port $PORT is already in use by another process"; fi
  install
  mkdir -p "$DATA_DIR"
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  # shellcheck disable=SC2086
  nohup "$JAVA" $JAVA_OPTS -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$PORT" \
    -Dregistry.rules.global.compatibility="$COMPATIBILITY" \
    -jar "$RUNNER_JAR" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until is_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      die "the registry exited during start-up (log: $LOG_FILE)"
    fi
    ((SECONDS < deadline)) || die "not ready after ${START_TIMEOUT}s (pid $pid, log: $LOG_FILE)"
    sleep 0.5
  done
  # The -D rule is enforced but GET /config reports NONE until the rule is stored.
  curl -s -o /dev/null --max-time 5 -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data "{\"compatibility\":\"$COMPATIBILITY\"}" "$API_URL/config" || true
  log "ready (pid $pid, log: $LOG_FILE): $API_URL"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

status() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 3
  fi
  if is_ready; then log "running and ready (pid $pid): $API_URL"; return 0; fi
  log "running but not ready (pid $pid)"
  return 1
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  url) echo "$API_URL" ;;
  *) echo "usage: $0 {install|start|stop|restart|status|url}" >&2; exit 2 ;;
esac
