#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller) for
# development and CI. The broker jars are resolved from Maven Central with `mvn`
# (no tarball download, no Docker). Needs `java` (17+ for Kafka 4.x) and `mvn`.
#
# Usage: scripts/kafka.sh <install|start|stop|status|wait [seconds]>
#        KAFKA_NODES=3 scripts/kafka.sh <start|stop|status|wait|brokers|start-node <id>|stop-node <id>|kill-node <id>>
#
#   install   resolve the broker jars into the cache dir (idempotent, cached)
#   start     install if needed, format storage if needed, start the broker in
#             the background and wait until it is ready (idempotent)
#   stop      stop the broker started by this script and wait until it exited
#   status    exit 0 if a broker is ready on the port, 1 if ours is starting,
#             3 if nothing is running
#   wait      wait until the broker is ready (default timeout KAFKA_START_TIMEOUT)
#
# Environment (all optional):
#   KAFKA_VERSION           org.apache.kafka:kafka_2.13 version (default 4.1.2;
#                           4.0-4.4 work; 3.7+ uses reload4j logging, tested 3.9.1)
#   CALLSTREAM_KAFKA_HOME   jar cache (default ~/.cache/callstream/kafka-<version>)
#   CALLSTREAM_KAFKA_DATA   data dir: storage, server.properties, kafka.pid,
#                           broker.log (default <repo>/.kafka-data)
#   KAFKA_PORT              PLAINTEXT listener port (default 9092)
#   KAFKA_CONTROLLER_PORT   CONTROLLER listener port (default 9093)
#   KAFKA_SASL_SSL_PORT     SASL_SSL listener port (default KAFKA_PORT + 2 = 9094):
#                           TLS with a CA generated into <data>/tls/ (clients trust
#                           <data>/tls/ca.pem; the certificate names 127.0.0.1 and
#                           localhost) and SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
#                           for the user `callstream`, password `callstream-secret`
#                           (a local test credential, nothing else)
#   KAFKA_HEAP_OPTS         default "-Xms256m -Xmx512m"
#   KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS   extra JVM options
#   KAFKA_LOG_LEVEL         root log level in broker.log (default INFO)
#   KAFKA_CLUSTER_ID        cluster id used when formatting (base64 UUID)
#   KAFKA_START_TIMEOUT     readiness timeout in seconds (default 90)
#   KAFKA_STOP_TIMEOUT      seconds to wait for a graceful stop (default 60)
#   MVN                     maven executable (default mvn)
#   KAFKA_MVN_ARGS          extra mvn arguments, e.g. -Dmaven.repo.local=...
#   JAVA_HOME               if set, $JAVA_HOME/bin/java is used
#
# Cluster mode (fault tests): KAFKA_NODES=3 (3-9) runs that many combined
# broker+controller nodes in one KRaft controller quorum, e.g.
#
#   KAFKA_NODES=3 scripts/kafka.sh start          # all nodes, waits until each is ready
#   KAFKA_NODES=3 scripts/kafka.sh stop|status|wait|brokers
#   scripts/kafka.sh kill-node 2                  # SIGKILL node 2, wait until it is gone
#   scripts/kafka.sh stop-node 2                  # SIGTERM (graceful), SIGKILL after KAFKA_STOP_TIMEOUT
#   scripts/kafka.sh start-node 2                 # start it again on its storage, wait until ready
#
#   Topics get replication factor 3 by default and min.insync.replicas=2; the offsets,
#   transaction and share-state topics have replication factor 3 (min ISR 2). Node <id>
#   lives in <cluster>/node-<id>/ (kraft-logs/, server.properties, kafka.pid, broker.log);
#   the cluster's shape is recorded in <cluster>/cluster.env when first started, so later
#   commands need only CALLSTREAM_KAFKA_DATA. No SASL_SSL listener on cluster nodes.
#   status exits 0 when every node is ready, 1 when some of ours run (starting or a node
#   down), 3 when none does. A node's readiness is "Kafka Server started" in its log and
#   its port accepting connections (the test helper also waits for it to rejoin the ISRs).
#   Cluster mode is chosen by KAFKA_NODES other than 1, by the *-node and brokers commands,
#   or by a CALLSTREAM_KAFKA_DATA that holds a cluster.env; otherwise nothing changes.
#
#   KAFKA_NODES             number of nodes (default 1: the single broker above)
#   CALLSTREAM_KAFKA_DATA   the cluster folder (default <repo>/.kafka-data/cluster)
#   KAFKA_PORT              PLAINTEXT port of node 1 (default 19092 in cluster mode);
#                           node <id> listens on KAFKA_PORT + KAFKA_PORT_STEP * (<id> - 1)
#   KAFKA_CONTROLLER_PORT   CONTROLLER port of node 1 (default KAFKA_PORT + 1), stepped alike
#   KAFKA_PORT_STEP         port distance between nodes (default 10): 19092, 19102, 19112
#   KAFKA_HEAP_OPTS         per node, default "-Xms128m -Xmx384m" in cluster mode
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
KAFKA_MAJOR="${KAFKA_VERSION%%.*}"
KAFKA_HOME_DIR="${CALLSTREAM_KAFKA_HOME:-$HOME/.cache/callstream/kafka-$KAFKA_VERSION}"
LIBS_DIR="$KAFKA_HOME_DIR/libs"
MARKER="$KAFKA_HOME_DIR/.installed"
DATA_DIR="${CALLSTREAM_KAFKA_DATA:-$REPO_DIR/.kafka-data}"
STORAGE_DIR="$DATA_DIR/kraft-logs"
CONFIG_FILE="$DATA_DIR/server.properties"
PID_FILE="$DATA_DIR/kafka.pid"
LOG_FILE="$DATA_DIR/broker.log"
HOST="127.0.0.1"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-$((PORT + 2))}"
TLS_DIR="$DATA_DIR/tls"
SASL_USER="callstream"
SASL_PASSWORD="callstream-secret"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"
# base64url("callstream-kafka"): a fixed, valid 16-byte cluster id.
CLUSTER_ID="${KAFKA_CLUSTER_ID:-Y2FsbHN0cmVhbS1rYWZrYQ}"
MVN="${MVN:-mvn}"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi

# Pinned logging backend (the published kafka_2.13 POM has none).
DEP_PLUGIN_VERSION="3.8.1"
LOG4J2_VERSION="2.24.3"
SLF4J2_VERSION="2.0.17"
RELOAD4J_VERSION="1.2.25"
SLF4J1_VERSION="1.7.36"

log() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: error: $*" >&2; exit 1; }

case "$KAFKA_MAJOR" in
  3)
    [[ "$KAFKA_VERSION" =~ ^3\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 7)) ||
      die "KAFKA_VERSION=$KAFKA_VERSION is not supported (use 3.7+ or 4.x)"
    MIN_JAVA=11
    INSTALL_SPEC="kafka=$KAFKA_VERSION reload4j=$RELOAD4J_VERSION slf4j=$SLF4J1_VERSION plugin=$DEP_PLUGIN_VERSION"
    ;;
  4)
    MIN_JAVA=17
    INSTALL_SPEC="kafka=$KAFKA_VERSION log4j=$LOG4J2_VERSION slf4j=$SLF4J2_VERSION plugin=$DEP_PLUGIN_VERSION"
    ;;
  *) die "KAFKA_VERSION=$KAFKA_VERSION is not supported (use 3.7+ or 4.x)" ;;
esac

require_java() {
  command -v "$JAVA" >/dev/null 2>&1 ||
    die "'java' not found on PATH (and JAVA_HOME is not set). Install a JDK $MIN_JAVA+ (e.g. apt-get install openjdk-17-jdk-headless) to run Kafka $KAFKA_VERSION."
  local out major
  out="$("$JAVA" -version 2>&1 || true)"
  major="$(sed -n 's/.*version "\([0-9][0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' <<<"$out" | head -n1)"
  [[ -n "$major" ]] || die "could not determine the Java version from '$JAVA -version': $out"
  # "1.8.0_x" -> 8, "17.0.15" -> 17
  if [[ "${major%% *}" == "1" ]]; then major="${major##* }"; else major="${major%% *}"; fi
  ((major >= MIN_JAVA)) ||
    die "Kafka $KAFKA_VERSION needs Java $MIN_JAVA+, but '$JAVA' is Java $major. Set JAVA_HOME to a newer JDK."
}

require_mvn() {
  command -v "$MVN" >/dev/null 2>&1 ||
    die "'$MVN' (Apache Maven) not found on PATH; it is needed to resolve the Kafka jars from Maven Central. Install it (e.g. apt-get install maven) or set MVN=/path/to/mvn."
}

is_installed() {
  [[ -f "$MARKER" && "$(cat "$MARKER" 2>/dev/null)" == "$INSTALL_SPEC" ]] &&
    [[ -f "$LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" ]]
}

write_pom() { # $1 = target file
  local logging
  if [[ "$KAFKA_MAJOR" == "3" ]]; then
    logging="
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J1_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J1_VERSION</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version></dependency>"
  else
    logging="
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J2_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J2_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J2_VERSION</version></dependency>"
  fi
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh: resolves a runnable Kafka broker classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>callstream.local</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>$logging
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>$DEP_PLUGIN_VERSION</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
}

cmd_install() {
  require_java
  if is_installed; then
    log "Kafka $KAFKA_VERSION already installed in $KAFKA_HOME_DIR"
    return 0
  fi
  require_mvn
  log "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR ..."
  mkdir -p "$KAFKA_HOME_DIR"
  local staging start
  staging="$(mktemp -d "$KAFKA_HOME_DIR/.staging.XXXXXX")"
  STAGING_DIR="$staging"
  trap 'rm -rf "$STAGING_DIR"' EXIT
  write_pom "$staging/pom.xml"
  start=$SECONDS
  # shellcheck disable=SC2086 # KAFKA_MVN_ARGS is intentionally word-split
  if ! "$MVN" -B -q -Dstyle.color=never -f "$staging/pom.xml" ${KAFKA_MVN_ARGS:-} \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging/libs" \
    >"$staging/mvn.log" 2>&1; then
    sed "s/\x1b\[[0-9;]*m//g" "$staging/mvn.log" >&2
    die "mvn failed to resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see output above)"
  fi
  [[ -f "$staging/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] ||
    die "mvn succeeded but kafka_2.13-$KAFKA_VERSION.jar is missing from $staging/libs"
  rm -rf "$LIBS_DIR" "$MARKER"
  mv "$staging/libs" "$LIBS_DIR"
  mv "$staging/pom.xml" "$KAFKA_HOME_DIR/pom.xml"
  echo "$INSTALL_SPEC" >"$MARKER"
  rm -rf "$staging"
  trap - EXIT
  log "installed Kafka $KAFKA_VERSION ($(find "$LIBS_DIR" -name '*.jar' | wc -l | tr -d ' ') jars) in $((SECONDS - start))s"
}

port_open() {
  if command -v timeout >/dev/null 2>&1; then
    timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
  fi
}

# Prints the pid of the broker started by this script (for this data dir), or
# nothing. Removes a stale pid file.
our_pid() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid args
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  if [[ -n "$pid" ]] && args="$(ps -ww -p "$pid" -o args= 2>/dev/null)" &&
    [[ "$args" == *kafka.Kafka* && "$args" == *"$CONFIG_FILE"* ]]; then
    echo "$pid"
  else
    rm -f "$PID_FILE"
  fi
}

is_ready() { # ready = "Kafka Server started" logged by our broker AND port accepts connections
  grep -q "Kafka Server started" "$LOG_FILE" 2>/dev/null && port_open
}

print_log_tail() { # $1 = log file (default the single broker's)
  local file="${1:-$LOG_FILE}"
  [[ -f "$file" ]] || return 0
  echo "---- last 40 lines of $file (stack frames omitted) ----" >&2
  grep -v $'^\tat \|^\t\.\.\. [0-9]* more' "$file" | tail -n 40 >&2 || true
  local errors
  errors="$(grep -E '^\[[^]]*\] (ERROR|FATAL)|^(Caused by: )?[A-Za-z0-9_.$]+(Exception|Error)(: |$)' "$file" | head -n 8 || true)"
  if [[ -n "$errors" ]]; then
    echo "---- first errors ----" >&2
    echo "$errors" >&2
  fi
  echo "----" >&2
}

wait_ready() { # $1 = timeout seconds, $2 = pid of the broker we just launched (optional)
  local timeout="$1" launched="${2:-}" deadline=$((SECONDS + $1)) pid
  while :; do
    pid="$(our_pid)"
    if [[ -n "$pid" ]]; then
      is_ready && return 0
    elif [[ -n "$launched" ]]; then
      print_log_tail
      die "the Kafka broker (pid $launched) exited during startup (see $LOG_FILE)"
    elif port_open; then
      return 0 # a broker not started by this script
    fi
    if ((SECONDS >= deadline)); then
      if [[ -n "$pid" ]]; then
        print_log_tail
        die "Kafka broker (pid $pid) not ready on $HOST:$PORT after ${timeout}s (still running; see $LOG_FILE)"
      fi
      die "no Kafka broker ready on $HOST:$PORT after ${timeout}s"
    fi
    sleep 0.5
  done
}

write_configs() {
  cat >"$CONFIG_FILE" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT${SASL_SSL_ENABLED:+,SASL_SSL://$HOST:$SASL_SSL_PORT}
advertised.listeners=PLAINTEXT://$HOST:$PORT${SASL_SSL_ENABLED:+,SASL_SSL://$HOST:$SASL_SSL_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# The SASL_SSL listener: how platform teams' clusters are reached (TLS + SASL).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/server.pem
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$STORAGE_DIR
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  if [[ "$KAFKA_MAJOR" != "3" ]]; then
    cat >>"$CONFIG_FILE" <<EOF
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  fi
  write_log_config "$DATA_DIR"
}

write_log_config() { # $1 = folder of the log4j config (the broker logs to stdout)
  local level="${KAFKA_LOG_LEVEL:-INFO}"
  if [[ "$KAFKA_MAJOR" == "3" ]]; then
    cat >"$1/log4j.properties" <<EOF
log4j.rootLogger=$level, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.kafka.server.KafkaRaftServer=INFO
EOF
  else
    cat >"$1/log4j2.properties" <<EOF
name=callstream-kafka
status=warn
# keep logging through Kafka's own shutdown hook (no "Using SimpleLogger" warning)
shutdownHook=disable
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=$level
rootLogger.appenderRef.stdout.ref=STDOUT
logger.request.name=kafka.request.logger
logger.request.level=WARN
logger.requestchannel.name=kafka.network.RequestChannel\$
logger.requestchannel.level=WARN
# readiness detection relies on "Kafka Server started" from this logger
logger.raftserver.name=kafka.server.KafkaRaftServer
logger.raftserver.level=INFO
EOF
  fi
}

log_opts() { # $1 = folder of the log4j config (default the single broker's data dir)
  local dir="${1:-$DATA_DIR}"
  if [[ "$KAFKA_MAJOR" == "3" ]]; then
    echo "-Dlog4j.configuration=file:$dir/log4j.properties"
  else
    echo "-Dlog4j2.configurationFile=$dir/log4j2.properties"
  fi
}

# A CA and a server certificate for 127.0.0.1/localhost, made once per data dir. Without
# openssl the broker starts without its SASL_SSL listener (SASL_SSL_ENABLED stays empty).
SASL_SSL_ENABLED=""
make_tls() {
  if [[ -f "$TLS_DIR/server.pem" && -f "$TLS_DIR/ca.pem" ]]; then SASL_SSL_ENABLED=1; return 0; fi
  if ! command -v openssl >/dev/null 2>&1; then
    log "openssl not found: starting without the SASL_SSL listener (the TLS/SASL tests need it)"
    return 0
  fi
  log "generating a local CA and server certificate in $TLS_DIR"
  mkdir -p "$TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=callstream local test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 3650 -extfile server.ext 2>/dev/null
    # Kafka's PEM key store: the (PKCS#8, unencrypted) key, then the certificate chain.
    cat server.key server.crt ca.pem >server.pem
    rm -f server.csr server.ext
  ) || die "generating the TLS certificates failed"
  SASL_SSL_ENABLED=1
}

format_storage() {
  if [[ -f "$STORAGE_DIR/meta.properties" ]]; then
    return 0
  fi
  log "formatting storage in $STORAGE_DIR (cluster id $CLUSTER_ID)"
  mkdir -p "$STORAGE_DIR"
  # SCRAM credentials live in the cluster metadata: added when the storage is formatted.
  if ! "$JAVA" -Xmx256m "$(log_opts)" -cp "$LIBS_DIR/*" kafka.tools.StorageTool \
    format -t "$CLUSTER_ID" -c "$CONFIG_FILE" --ignore-formatted \
    --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" >"$DATA_DIR/format.log" 2>&1; then
    cat "$DATA_DIR/format.log" >&2
    die "formatting the Kafka storage failed"
  fi
  touch "$STORAGE_DIR/.callstream-scram"
}

cmd_start() {
  local pid
  pid="$(our_pid)"
  if [[ -n "$pid" ]]; then
    if is_ready; then
      log "Kafka already running (pid $pid) on $HOST:$PORT"
      return 0
    fi
    log "Kafka (pid $pid) is starting; waiting until ready ..."
    wait_ready "$START_TIMEOUT" "$pid"
    log "Kafka ready on $HOST:$PORT (pid $pid)"
    return 0
  fi
  if port_open; then
    log "something is already listening on $HOST:$PORT (not started by this script for $DATA_DIR); assuming it is a Kafka broker and leaving it alone"
    return 0
  fi

  cmd_install
  mkdir -p "$DATA_DIR"
  make_tls
  write_configs
  format_storage

  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  local start=$SECONDS
  # shellcheck disable=SC2086 # option strings are intentionally word-split
  nohup "$JAVA" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
    ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
    "$(log_opts)" -Dkafka.logs.dir="$DATA_DIR" ${KAFKA_OPTS:-} \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "starting Kafka $KAFKA_VERSION (pid $pid), log: $LOG_FILE"
  wait_ready "$START_TIMEOUT" "$pid"
  add_scram_users
  log "Kafka ready on $HOST:$PORT (pid $pid) after $((SECONDS - start))s${SASL_SSL_ENABLED:+; SASL_SSL on $HOST:$SASL_SSL_PORT (CA $TLS_DIR/ca.pem)}"
}

# Storage formatted before the SASL_SSL listener existed has no SCRAM users: add them once.
add_scram_users() {
  [[ -f "$STORAGE_DIR/.callstream-scram" ]] && return 0
  log "adding the SCRAM users to storage formatted without them"
  local mechanism
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do # one credential per request
    "$JAVA" -Xmx256m "$(log_opts)" -cp "$LIBS_DIR/*" kafka.admin.ConfigCommand --bootstrap-server "$HOST:$PORT" \
      --alter --entity-type users --entity-name "$SASL_USER" \
      --add-config "$mechanism=[password=$SASL_PASSWORD]" >"$DATA_DIR/scram.log" 2>&1 ||
      { grep -v $'^\tat ' "$DATA_DIR/scram.log" >&2; die "adding the $mechanism user failed"; }
  done
  touch "$STORAGE_DIR/.callstream-scram"
}

cmd_stop() {
  local pid
  pid="$(our_pid)"
  if [[ -z "$pid" ]]; then
    if port_open; then
      log "no broker started by this script is running (a process not started by this script listens on $HOST:$PORT; left alone)"
    else
      log "Kafka is not running"
    fi
    return 0
  fi
  log "stopping Kafka (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "Kafka did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
  done
  rm -f "$PID_FILE"
  log "Kafka stopped"
}

cmd_status() {
  local pid
  pid="$(our_pid)"
  if [[ -n "$pid" ]]; then
    if is_ready; then
      log "running (pid $pid, $HOST:$PORT, data $DATA_DIR)"
      return 0
    fi
    log "starting (pid $pid, not ready yet; log $LOG_FILE)"
    return 1
  fi
  if port_open; then
    log "a process not started by this script is listening on $HOST:$PORT"
    return 0
  fi
  log "not running"
  return 3
}

# ---------------------------------------------------------------------------------------
# Cluster mode: KAFKA_NODES=N (3-9) combined broker+controller nodes in one controller
# quorum, each with its own storage, config, pid file and log under node-<id>/ of the
# cluster folder. Everything above (the single broker) is unchanged by it.

CLUSTER_DIR="${CALLSTREAM_KAFKA_DATA:-$REPO_DIR/.kafka-data/cluster}"
CLUSTER_ENV="$CLUSTER_DIR/cluster.env"

cluster_recorded() { # $1 = key: prints its value in cluster.env (nothing if unset)
  [[ -f "$CLUSTER_ENV" ]] || return 0
  sed -n "s/^$1=//p" "$CLUSTER_ENV" | head -n1
}

# Resolves the cluster's shape: the environment, else what cluster.env recorded when the
# cluster was first started, else the defaults. A mismatch with the record is an error:
# the nodes' storage belongs to the recorded quorum.
cluster_init() {
  local rec_nodes rec_port rec_cport rec_step rec_id
  rec_nodes="$(cluster_recorded KAFKA_NODES)"
  rec_port="$(cluster_recorded KAFKA_PORT)"
  rec_cport="$(cluster_recorded KAFKA_CONTROLLER_PORT)"
  rec_step="$(cluster_recorded KAFKA_PORT_STEP)"
  rec_id="$(cluster_recorded KAFKA_CLUSTER_ID)"
  NODES="${KAFKA_NODES:-${rec_nodes:-3}}"
  [[ "$NODES" =~ ^[0-9]+$ ]] && ((NODES >= 3 && NODES <= 9)) ||
    die "KAFKA_NODES must be 1 (the single broker) or 3-9 (a cluster), got '$NODES'"
  C_PORT="${KAFKA_PORT:-${rec_port:-19092}}"
  C_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-${rec_cport:-$((C_PORT + 1))}}"
  C_STEP="${KAFKA_PORT_STEP:-${rec_step:-10}}"
  C_CLUSTER_ID="${KAFKA_CLUSTER_ID:-${rec_id:-$CLUSTER_ID}}"
  [[ "$C_PORT" =~ ^[0-9]+$ && "$C_CONTROLLER_PORT" =~ ^[0-9]+$ && "$C_STEP" =~ ^[0-9]+$ ]] ||
    die "KAFKA_PORT, KAFKA_CONTROLLER_PORT and KAFKA_PORT_STEP must be numbers"
  ((C_STEP >= 1)) || die "KAFKA_PORT_STEP must be at least 1"
  if [[ -f "$CLUSTER_ENV" ]]; then
    local key want have
    for key in KAFKA_NODES:NODES KAFKA_PORT:C_PORT KAFKA_CONTROLLER_PORT:C_CONTROLLER_PORT KAFKA_PORT_STEP:C_STEP KAFKA_CLUSTER_ID:C_CLUSTER_ID; do
      want="${key#*:}"
      want="${!want}"
      have="$(cluster_recorded "${key%%:*}")"
      [[ -z "$have" || "$have" == "$want" ]] ||
        die "the cluster in $CLUSTER_DIR was created with ${key%%:*}=$have, not $want (stop it and remove $CLUSTER_DIR for another shape)"
    done
  fi
  local i ports=() p
  for ((i = 1; i <= NODES; i++)); do ports+=("$(node_port "$i")" "$(node_cport "$i")"); done
  for p in "${ports[@]}"; do
    ((p >= 1 && p <= 65535)) || die "cluster port $p is out of range"
  done
  [[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" -eq "${#ports[@]}" ]] ||
    die "cluster ports overlap (${ports[*]}): choose KAFKA_CONTROLLER_PORT and KAFKA_PORT_STEP so that they differ"
}

record_cluster() {
  [[ -f "$CLUSTER_ENV" ]] && return 0
  mkdir -p "$CLUSTER_DIR"
  cat >"$CLUSTER_ENV" <<EOF
# Written by scripts/kafka.sh when this cluster was first started: its shape.
KAFKA_NODES=$NODES
KAFKA_PORT=$C_PORT
KAFKA_CONTROLLER_PORT=$C_CONTROLLER_PORT
KAFKA_PORT_STEP=$C_STEP
KAFKA_CLUSTER_ID=$C_CLUSTER_ID
EOF
}

node_dir() { echo "$CLUSTER_DIR/node-$1"; }
node_port() { echo $((C_PORT + C_STEP * ($1 - 1))); }
node_cport() { echo $((C_CONTROLLER_PORT + C_STEP * ($1 - 1))); }
node_log() { echo "$(node_dir "$1")/broker.log"; }
node_config() { echo "$(node_dir "$1")/server.properties"; }
bootstrap_servers() {
  local i out=""
  for ((i = 1; i <= NODES; i++)); do out+="${out:+,}$HOST:$(node_port "$i")"; done
  echo "$out"
}

tcp_open() { # $1 = port on $HOST
  if command -v timeout >/dev/null 2>&1; then
    timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
  fi
}

node_id_arg() { # $1 = the argument: prints a valid node id or dies
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= NODES)) || die "expected a node id 1-$NODES, got '${1:-}'"
  echo "$1"
}

# Prints the pid of node $1 started by this script, or nothing. Removes a stale pid file
# (also for a killed JVM that is a zombie until reaped: its args no longer match).
node_pid() {
  local pid_file pid args
  pid_file="$(node_dir "$1")/kafka.pid"
  [[ -f "$pid_file" ]] || return 0
  pid="$(tr -dc '0-9' <"$pid_file")"
  if [[ -n "$pid" ]] && args="$(ps -ww -p "$pid" -o args= 2>/dev/null)" &&
    [[ "$args" == *kafka.Kafka* && "$args" == *"$(node_config "$1")"* ]]; then
    echo "$pid"
  else
    rm -f "$pid_file"
  fi
}

node_ready() {
  grep -q "Kafka Server started" "$(node_log "$1")" 2>/dev/null && tcp_open "$(node_port "$1")"
}

write_node_config() { # $1 = node id
  local id="$1" dir voters="" i
  dir="$(node_dir "$id")"
  mkdir -p "$dir"
  for ((i = 1; i <= NODES; i++)); do voters+="${voters:+,}$i@$HOST:$(node_cport "$i")"; done
  cat >"$(node_config "$id")" <<EOF
# Generated by scripts/kafka.sh on every start of this node; edit the script, not this file.
# Node $id of a $NODES-node KRaft cluster (combined broker+controller, static quorum).
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://$HOST:$(node_port "$id"),CONTROLLER://$HOST:$(node_cport "$id")
advertised.listeners=PLAINTEXT://$HOST:$(node_port "$id")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/kraft-logs
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
auto.create.topics.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
EOF
  if [[ "$KAFKA_MAJOR" != "3" ]]; then
    cat >>"$(node_config "$id")" <<EOF
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
EOF
  fi
}

format_node() { # $1 = node id; formats its storage unless it is formatted
  local dir
  dir="$(node_dir "$1")"
  [[ -f "$dir/kraft-logs/meta.properties" ]] && return 0
  mkdir -p "$dir/kraft-logs"
  if ! "$JAVA" -Xmx256m "$(log_opts "$CLUSTER_DIR")" -cp "$LIBS_DIR/*" kafka.tools.StorageTool \
    format -t "$C_CLUSTER_ID" -c "$(node_config "$1")" --ignore-formatted >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    return 1
  fi
}

# Formats (if needed) the given nodes in parallel.
format_nodes() {
  local id pids=() failed=""
  for id in "$@"; do
    [[ -f "$(node_dir "$id")/kraft-logs/meta.properties" ]] && continue
    log "formatting storage of node $id in $(node_dir "$id")/kraft-logs (cluster id $C_CLUSTER_ID)"
    format_node "$id" &
    pids+=("$!:$id")
  done
  local entry
  for entry in "${pids[@]+"${pids[@]}"}"; do
    wait "${entry%%:*}" || failed+=" ${entry#*:}"
  done
  [[ -z "$failed" ]] || die "formatting the storage of node(s)$failed failed"
}

launch_node() { # $1 = node id: starts its JVM in the background (configured and formatted)
  local id="$1" dir log_file pid
  dir="$(node_dir "$id")"
  log_file="$(node_log "$id")"
  [[ -f "$log_file" ]] && mv -f "$log_file" "$log_file.1"
  # shellcheck disable=SC2086 # option strings are intentionally word-split
  nohup "$JAVA" ${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m} \
    ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
    "$(log_opts "$CLUSTER_DIR")" -Dkafka.logs.dir="$dir" ${KAFKA_OPTS:-} \
    -cp "$LIBS_DIR/*" kafka.Kafka "$(node_config "$id")" >"$log_file" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/kafka.pid"
  log "starting node $id (pid $pid) on $HOST:$(node_port "$id") (controller $HOST:$(node_cport "$id")), log: $log_file"
}

# Waits until every given node is ready; dies as soon as one of them is not running.
wait_nodes_ready() { # $1 = timeout seconds, then node ids
  local timeout="$1" deadline=$(($1 + SECONDS)) id pending
  shift
  while :; do
    pending=()
    for id in "$@"; do
      if [[ -z "$(node_pid "$id")" ]]; then
        print_log_tail "$(node_log "$id")"
        die "node $id is not running (exited during startup? see $(node_log "$id"))"
      fi
      node_ready "$id" || pending+=("$id")
    done
    ((${#pending[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      for id in "${pending[@]}"; do print_log_tail "$(node_log "$id")"; done
      die "node(s) ${pending[*]} not ready after ${timeout}s (still running; see their broker.log)"
    fi
    sleep 0.5
  done
}

# Configures, formats and launches the given nodes that are not running; refuses a port
# that something else listens on.
start_nodes() {
  local id pid to_start=()
  for id in "$@"; do
    pid="$(node_pid "$id")"
    if [[ -n "$pid" ]]; then continue; fi
    tcp_open "$(node_port "$id")" && die "$HOST:$(node_port "$id") (node $id) is in use by a process not started by this script for $CLUSTER_DIR"
    tcp_open "$(node_cport "$id")" && die "$HOST:$(node_cport "$id") (controller of node $id) is in use by a process not started by this script for $CLUSTER_DIR"
    to_start+=("$id")
  done
  ((${#to_start[@]} == 0)) && return 0
  cmd_install
  record_cluster
  write_log_config "$CLUSTER_DIR"
  for id in "${to_start[@]}"; do write_node_config "$id"; done
  format_nodes "${to_start[@]}"
  for id in "${to_start[@]}"; do launch_node "$id"; done
}

cmd_cluster_start() {
  local start=$SECONDS ids=() i
  for ((i = 1; i <= NODES; i++)); do ids+=("$i"); done
  start_nodes "${ids[@]}"
  wait_nodes_ready "$START_TIMEOUT" "${ids[@]}"
  log "Kafka cluster of $NODES nodes ready after $((SECONDS - start))s: $(bootstrap_servers) (data $CLUSTER_DIR)"
}

cmd_node_start() { # $1 = node id
  local id start=$SECONDS
  id="$(node_id_arg "${1:-}")"
  [[ -f "$CLUSTER_ENV" ]] || die "no cluster in $CLUSTER_DIR: start it first (KAFKA_NODES=$NODES scripts/kafka.sh start)"
  start_nodes "$id"
  wait_nodes_ready "$START_TIMEOUT" "$id"
  log "node $id ready on $HOST:$(node_port "$id") (pid $(node_pid "$id")) after $((SECONDS - start))s"
}

# Signals the given nodes, waits until they are gone; SIGTERM escalates to SIGKILL after
# KAFKA_STOP_TIMEOUT seconds.
signal_nodes() { # $1 = TERM or KILL, then node ids
  local signal="$1" id pid running=() deadline=$((SECONDS + STOP_TIMEOUT)) left
  shift
  for id in "$@"; do
    pid="$(node_pid "$id")"
    if [[ -z "$pid" ]]; then
      log "node $id is not running"
      continue
    fi
    log "$([[ "$signal" == KILL ]] && echo killing || echo stopping) node $id (pid $pid) ..."
    kill "-$signal" "$pid" 2>/dev/null || true
    running+=("$id:$pid")
  done
  local entry escalated=""
  while :; do
    left=()
    for entry in "${running[@]+"${running[@]}"}"; do
      [[ -n "$(node_pid "${entry%%:*}")" ]] && left+=("$entry")
    done
    ((${#left[@]} == 0)) && break
    if ((SECONDS >= deadline)) && [[ -z "$escalated" ]]; then
      log "node(s) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      for entry in "${left[@]}"; do kill -KILL "${entry#*:}" 2>/dev/null || true; done
      escalated=1
      deadline=$((SECONDS + 30))
    elif ((SECONDS >= deadline)); then
      die "node(s) ${left[*]%%:*} did not exit after SIGKILL"
    fi
    sleep 0.2
  done
  for entry in "${running[@]+"${running[@]}"}"; do
    rm -f "$(node_dir "${entry%%:*}")/kafka.pid"
    log "node ${entry%%:*} $([[ "$signal" == KILL ]] && echo killed || echo stopped)"
  done
}

cmd_cluster_stop() {
  local ids=() i
  for ((i = 1; i <= NODES; i++)); do ids+=("$i"); done
  signal_nodes TERM "${ids[@]}"
  log "Kafka cluster in $CLUSTER_DIR stopped"
}

cmd_cluster_status() {
  local i pid ready=0 running=0
  for ((i = 1; i <= NODES; i++)); do
    pid="$(node_pid "$i")"
    if [[ -z "$pid" ]]; then
      log "node $i: not running ($HOST:$(node_port "$i"))"
    elif node_ready "$i"; then
      log "node $i: running (pid $pid, $HOST:$(node_port "$i"), controller $HOST:$(node_cport "$i"))"
      running=$((running + 1))
      ready=$((ready + 1))
    else
      log "node $i: starting (pid $pid, not ready yet; log $(node_log "$i"))"
      running=$((running + 1))
    fi
  done
  log "cluster: $ready of $NODES nodes ready, bootstrap $(bootstrap_servers), data $CLUSTER_DIR"
  ((ready == NODES)) && return 0
  ((running > 0)) && return 1
  return 3
}

cluster_main() { # $@ = the command line
  cluster_init
  case "${1:-}" in
    install) cmd_install ;;
    start) require_java; cmd_cluster_start ;;
    stop) cmd_cluster_stop ;;
    status) cmd_cluster_status ;;
    wait)
      local t="${2:-$START_TIMEOUT}" ids=() i
      [[ "$t" =~ ^[0-9]+$ ]] || die "wait: timeout must be a number of seconds, got '$t'"
      for ((i = 1; i <= NODES; i++)); do ids+=("$i"); done
      wait_nodes_ready "$t" "${ids[@]}"
      log "Kafka cluster ready: $(bootstrap_servers)"
      ;;
    brokers) bootstrap_servers ;;
    start-node) require_java; cmd_node_start "${2:-}" ;;
    stop-node | kill-node)
      local id
      id="$(node_id_arg "${2:-}")"
      signal_nodes "$([[ "$1" == kill-node ]] && echo KILL || echo TERM)" "$id"
      ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# Cluster mode: KAFKA_NODES other than 1, a node command, or a CALLSTREAM_KAFKA_DATA that
# holds a cluster (cluster.env); anything else is the single broker, as always.
if [[ "${KAFKA_NODES:-}" != "" && "${KAFKA_NODES:-}" != "1" ]] ||
  [[ "${1:-}" =~ ^(start|stop|kill)-node$|^brokers$ && "${KAFKA_NODES:-}" != "1" ]] ||
  [[ -z "${KAFKA_NODES:-}" && -n "${CALLSTREAM_KAFKA_DATA:-}" && -f "$CALLSTREAM_KAFKA_DATA/cluster.env" ]]; then
  cluster_main "$@"
  exit $?
fi

case "${1:-}" in
  install) cmd_install ;;
  start) require_java; cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait)
    t="${2:-$START_TIMEOUT}"
    [[ "$t" =~ ^[0-9]+$ ]] || die "wait: timeout must be a number of seconds, got '$t'"
    wait_ready "$t"
    log "Kafka ready on $HOST:$PORT"
    ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
