#!/usr/bin/env bash
# Starts the local stack and waits until every part answers:
#   1. MariaDB with a ROW/FULL binlog (our own instance; the system one on 3306 is left alone),
#   2. the Kafka-protocol broker tansu (SQLite storage),
#   3. the HubSpot simulator (built from crates/hubspot-sim) with the demo's custom properties.
# Each part has a pid file under $CDC_LOCAL_DIR/run/ and a log under $CDC_LOCAL_DIR/log/. A part
# whose pid file points at a live process is left as it is, so running this twice is harmless.
# CDC_SKIP_BUILD=1 uses the binaries already in target/debug (deploy/local/test.sh builds first).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/env.sh"

bash "$HERE/install-tools.sh"

mkdir -p "$CDC_RUN_DIR" "$CDC_LOG_DIR"

# Unix socket paths are limited to 107 bytes; a deep checkout would fail with an obscure error.
((${#CDC_MYSQL_SOCKET} < 100)) || die "socket path too long ($CDC_MYSQL_SOCKET); set CDC_LOCAL_DIR to a shorter directory"

# start_bg SERVICE LOGFILE COMMAND... -> runs COMMAND detached (own session, no stdin), its
# output appended to LOGFILE, and records its pid. setsid keeps a Ctrl-C in the terminal that
# ran up.sh from reaching the services.
start_bg() {
  local service=$1 logfile=$2
  shift 2
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$(pid_file "$service")"
}

# fail_with_log SERVICE LOGFILE -> shows the end of the log, forgets a dead pid and stops.
fail_with_log() {
  live_pid "$1" >/dev/null || rm -f "$(pid_file "$1")"
  log "last lines of $2:"
  tail -n 20 "$2" >&2 || true
  die "$1 did not start"
}

# --- 1. MariaDB --------------------------------------------------------------------------------
# Layout: data/ is the datadir; binlog/ sits beside it, not inside, because every directory in
# a datadir shows up as a database.
MYSQL_DIR="$CDC_LOCAL_DIR/mariadb"
MYSQL_LOG="$CDC_LOG_DIR/mariadb.err"

start_mariadb() {
  if pid=$(live_pid mariadb); then
    log "MariaDB already running (pid $pid)"
    return
  fi
  if port_open "$CDC_MYSQL_PORT"; then
    die "port $CDC_MYSQL_PORT is in use by something else; set CDC_MYSQL_PORT or stop it (ss -ltnp 'sport = :$CDC_MYSQL_PORT')"
  fi

  local user_args=()
  [[ $(id -u) -eq 0 ]] && user_args=(--user=root)

  mkdir -p "$MYSQL_DIR/binlog"
  if [[ ! -d $MYSQL_DIR/data/mysql ]]; then
    log "initialising MariaDB data directory $MYSQL_DIR/data"
    mkdir -p "$MYSQL_DIR/data"
    # --no-defaults keeps /etc/mysql out; root gets a password-less account reached over our
    # socket (the server only listens on 127.0.0.1).
    mariadb-install-db --no-defaults --datadir="$MYSQL_DIR/data" "${user_args[@]}" \
      --auth-root-authentication-method=normal --skip-test-db \
      >"$CDC_LOG_DIR/mariadb-install.log" 2>&1 ||
      fail_with_log mariadb "$CDC_LOG_DIR/mariadb-install.log"
  fi

  log "starting MariaDB on 127.0.0.1:$CDC_MYSQL_PORT"
  start_bg mariadb "$MYSQL_LOG" "$CDC_MARIADBD" --no-defaults "${user_args[@]}" \
    --datadir="$MYSQL_DIR/data" \
    --socket="$CDC_MYSQL_SOCKET" \
    --port="$CDC_MYSQL_PORT" --bind-address=127.0.0.1 \
    --pid-file="$(pid_file mariadb)" \
    --log-error="$MYSQL_LOG" \
    --log-bin="$MYSQL_DIR/binlog/mysql-bin" \
    --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
    --server-id="$CDC_MYSQL_SERVER_ID" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --default-time-zone=+00:00 \
    --skip-name-resolve \
    --innodb-buffer-pool-size=128M \
    --max-allowed-packet=64M
  wait_for 60 "MariaDB" "$(<"$(pid_file mariadb)")" \
    mariadb-admin --no-defaults --socket="$CDC_MYSQL_SOCKET" -uroot ping ||
    fail_with_log mariadb "$MYSQL_LOG"
}

# Users, grants, databases and sample data. Every statement is idempotent.
provision_mariadb() {
  local pw=${CDC_MYSQL_PASSWORD//\'/\'\'}
  local host users=""
  # 'localhost' covers the socket; with --skip-name-resolve TCP clients match '127.0.0.1' or '%'.
  for host in '%' localhost 127.0.0.1; do
    users+="
CREATE USER IF NOT EXISTS 'cdc'@'$host' IDENTIFIED BY '$pw';
ALTER USER 'cdc'@'$host' IDENTIFIED BY '$pw';
-- What the streamer needs in production: read the binlog, read tables for snapshots.
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO 'cdc'@'$host';
-- The MySQL sink's target.
GRANT ALL PRIVILEGES ON crm.* TO 'cdc'@'$host';
-- Local only: lets demos and tests write source rows as cdc. Production does not grant this.
GRANT ALL PRIVILEGES ON app.* TO 'cdc'@'$host';
-- Local only: the tests create scratch databases (t_*) and users.
CREATE USER IF NOT EXISTS 'cdc_admin'@'$host' IDENTIFIED BY 'cdc_admin';
GRANT ALL PRIVILEGES ON *.* TO 'cdc_admin'@'$host' WITH GRANT OPTION;"
  done
  mysql_root <<SQL
$users
CREATE DATABASE IF NOT EXISTS app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS crm CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
SQL
  mysql_root app <"$HERE/sql/app-schema.sql"
  mysql_root crm <"$HERE/sql/crm-schema.sql"

  local n
  n=$(mysql_root -N -B app -e 'SELECT COUNT(*) FROM users')
  if [[ $n == 0 ]]; then
    mysql_root app <"$HERE/sql/app-sample-data.sql"
    n=$(mysql_root -N -B app -e 'SELECT COUNT(*) FROM users')
    log "loaded sample data: $n users in app.users"
  else
    log "app.users holds $n users (sample data not reloaded)"
  fi
}

# --- 2. Broker ---------------------------------------------------------------------------------
KAFKA_DIR="$CDC_LOCAL_DIR/kafka"
KAFKA_LOG="$CDC_LOG_DIR/tansu.log"

start_broker() {
  if pid=$(live_pid tansu); then
    log "tansu already running (pid $pid)"
    return
  fi
  if port_open "$CDC_KAFKA_PORT"; then
    die "port $CDC_KAFKA_PORT is in use by something else; set CDC_KAFKA_PORT or stop it"
  fi
  mkdir -p "$KAFKA_DIR"
  log "starting tansu on 127.0.0.1:$CDC_KAFKA_PORT"
  # tansu resolves a sqlite:// URL against its working directory (an absolute path is not
  # honoured), hence the cd and the relative name.
  (cd "$KAFKA_DIR" && start_bg tansu "$KAFKA_LOG" "$CDC_TANSU_BIN" broker \
    --listener-url "tcp://127.0.0.1:$CDC_KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$CDC_KAFKA_PORT" \
    --storage-engine "sqlite://tansu.db")
  wait_for 30 "tansu" "$(<"$(pid_file tansu)")" port_open "$CDC_KAFKA_PORT" ||
    fail_with_log tansu "$KAFKA_LOG"
}

# --- 3. HubSpot simulator ----------------------------------------------------------------------
SIM_BIN="$CDC_TARGET_DIR/debug/hubspot-sim"
SIM_LOG="$CDC_LOG_DIR/hubspot-sim.log"
SIM_URL="http://127.0.0.1:$CDC_SIM_PORT"

build_binaries() {
  [[ ${CDC_SKIP_BUILD:-0} == 1 ]] && return
  log "building hubspot-sim and cdc-streamer (cargo build, debug profile)"
  # Debug profile on purpose: it shares artifacts with `cargo test`.
  if ! (cd "$CDC_REPO_ROOT" && cargo build --quiet -p hubspot-sim -p cdc-streamer); then
    # The simulator is what the stack needs; a broken cdc-streamer should not block it.
    log "cargo build of hubspot-sim + cdc-streamer failed; retrying hubspot-sim alone"
    (cd "$CDC_REPO_ROOT" && cargo build --quiet -p hubspot-sim) ||
      die "hubspot-sim does not build (see the cargo output above)"
  fi
}

start_sim() {
  if pid=$(live_pid hubspot-sim); then
    log "hubspot-sim already running (pid $pid)"
    return
  fi
  if port_open "$CDC_SIM_PORT"; then
    die "port $CDC_SIM_PORT is in use by something else; set CDC_SIM_PORT or stop it"
  fi
  [[ -x $SIM_BIN ]] || die "$SIM_BIN is missing (cargo build -p hubspot-sim)"
  mkdir -p "$CDC_LOCAL_DIR/hubspot"
  log "starting hubspot-sim on $SIM_URL"
  start_bg hubspot-sim "$SIM_LOG" "$SIM_BIN" \
    --listen "127.0.0.1:$CDC_SIM_PORT" \
    --token "$CDC_SIM_TOKEN" \
    --state-file "$CDC_LOCAL_DIR/hubspot/state.json"
  wait_for 30 "hubspot-sim" "$(<"$(pid_file hubspot-sim)")" port_open "$CDC_SIM_PORT" ||
    fail_with_log hubspot-sim "$SIM_LOG"
}

# Creates the demo's custom contact properties; 409 (exists) counts as done.
create_properties() {
  local body name code created=0 existing=0 resp="$CDC_RUN_DIR/property-response.json"
  while IFS=$'\t' read -r name body; do
    code=$(curl -sS -o "$resp" -w '%{http_code}' -X POST "$SIM_URL/crm/v3/properties/contacts" \
      -H "Authorization: Bearer $CDC_SIM_TOKEN" -H 'Content-Type: application/json' \
      --data-binary "$body") || die "hubspot-sim did not answer POST /crm/v3/properties/contacts"
    case $code in
      200 | 201) created=$((created + 1)) ;;
      409) existing=$((existing + 1)) ;;
      *) die "creating property $name: HTTP $code: $(head -c 500 "$resp")" ;;
    esac
  done < <(python3 -c 'import json,sys
for p in json.load(open(sys.argv[1])): print(p["name"], json.dumps(p, ensure_ascii=False), sep="\t")' \
    "$HERE/hubspot-properties.json")
  rm -f "$resp"
  ((created + existing > 0)) || die "no property definitions read from hubspot-properties.json"
  log "HubSpot properties: $created created, $existing already there"
}

start_mariadb
provision_mariadb
start_broker
build_binaries
start_sim
create_properties

cat <<EOF
[up] local stack is up ($CDC_LOCAL_DIR)
  MariaDB      127.0.0.1:$CDC_MYSQL_PORT  socket $CDC_MYSQL_SOCKET
               streamer: cdc / $CDC_MYSQL_PASSWORD   tests: cdc_admin / cdc_admin   root: socket only, no password
               databases: app (source, sample data), crm (MySQL sink target)
               mariadb -h127.0.0.1 -P$CDC_MYSQL_PORT -ucdc -p$CDC_MYSQL_PASSWORD app
  Kafka        127.0.0.1:$CDC_KAFKA_PORT  (tansu, data $KAFKA_DIR/tansu.db)
  HubSpot sim  $SIM_URL  token $CDC_SIM_TOKEN  (state $CDC_LOCAL_DIR/hubspot/state.json)
  logs         $CDC_LOG_DIR/{mariadb.err,tansu.log,hubspot-sim.log}
  stop         bash deploy/local/down.sh   (reset everything: down.sh --purge)
EOF
