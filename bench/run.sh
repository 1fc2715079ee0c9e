#!/usr/bin/env bash
# Runs the benchmarks (docs/benchmarks.md) on their own, isolated stack and writes
# bench/results/latest.{md,json} (quick mode: bench/results/quick.{md,json}).
#
#   bash bench/run.sh            # full size: 1,000,000 users, 60 s per latency rate (~25 min)
#   bash bench/run.sh --quick    # about 10x smaller (~5 min)
#   bash bench/run.sh --keep     # leave the stack running afterwards (for cdc-bench by hand)
#   bash bench/run.sh -- --only decode,kafka --out /tmp/b   # after --: `cdc-bench run` flags
#
# What it does:
#   1. builds the release binaries (cdc-bench, cdc-streamer, hubspot-sim);
#   2. creates a venv with the Python peer (PyPI mysql-replication) under the stack directory;
#   3. starts a fresh stack with deploy/local/up.sh in .local/bench on ports 3367 (MariaDB),
#      9242 (broker) and 8239 (simulator), apart from the dev stack and the test stack;
#   4. runs `cdc-bench run`, which starts its own pipelines and simulators on that stack;
#   5. stops the stack (deploy/local/down.sh), unless --keep.
# Not part of the test suite: it needs minutes and a quiet machine.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

export CDC_LOCAL_DIR="${CDC_BENCH_DIR:-$REPO/.local/bench}"
export CDC_MYSQL_PORT="${CDC_BENCH_MYSQL_PORT:-3367}"
export CDC_KAFKA_PORT="${CDC_BENCH_KAFKA_PORT:-9242}"
export CDC_SIM_PORT="${CDC_BENCH_SIM_PORT:-8239}"
export CDC_SKIP_BUILD=1
# The peer's version is pinned so that two runs compare like with like.
PEER_VERSION="${CDC_BENCH_PEER_VERSION:-1.0.17}"

quick=()
keep=0
pass=()
while (($#)); do
  case $1 in
    --quick) quick=(--quick) ;;
    --keep) keep=1 ;;
    --) shift; pass=("$@"); break ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "[bench] unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[bench] %s\n' "$*"; }

cd "$REPO"
log "building release binaries (cargo build --release -p cdc-bench -p cdc-streamer -p hubspot-sim)"
cargo build --quiet --release -p cdc-bench -p cdc-streamer -p hubspot-sim
# up.sh starts the stack's own simulator from the debug build; the figures use private
# release simulators, but up.sh insists on finding that one.
[[ -x target/debug/hubspot-sim ]] || cargo build --quiet -p hubspot-sim

# A fresh stack each run: results must not depend on what earlier runs left in the
# broker's SQLite file or in InnoDB. The venv and earlier results are kept.
bash deploy/local/down.sh >/dev/null
rm -rf -- "$CDC_LOCAL_DIR"/{mariadb,kafka,hubspot,run,log,runs}

VENV="$CDC_LOCAL_DIR/venv"
if ! "$VENV/bin/python" -c "import pymysqlreplication" 2>/dev/null ||
  [[ $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mysql-replication"))') != "$PEER_VERSION" ]]; then
  log "installing the peer: mysql-replication==$PEER_VERSION into $VENV"
  mkdir -p "$CDC_LOCAL_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "mysql-replication==$PEER_VERSION"
fi

stop_stack() {
  if ((keep)); then
    log "stack left running in $CDC_LOCAL_DIR (stop: CDC_LOCAL_DIR=$CDC_LOCAL_DIR bash deploy/local/down.sh)"
  else
    bash deploy/local/down.sh >/dev/null || true
    log "stack stopped"
  fi
}
trap stop_stack EXIT

mkdir -p "$CDC_LOCAL_DIR"
bash deploy/local/up.sh >"$CDC_LOCAL_DIR/up.log" 2>&1 || {
  tail -n 20 "$CDC_LOCAL_DIR/up.log" >&2
  exit 1
}
log "stack up in $CDC_LOCAL_DIR"
target/release/cdc-bench run "${quick[@]}" "${pass[@]}"
