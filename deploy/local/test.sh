#!/usr/bin/env bash
# The test command: builds everything, starts a fresh, isolated stack for the tests, runs
#   cargo test --workspace --no-fail-fast "$@"
# against it, and stops the stack again whatever happens. Exits with cargo test's status.
#
#   bash deploy/local/test.sh                      # everything
#   bash deploy/local/test.sh -p cdc-tests --test stack
#   CDC_TEST_KEEP_STACK=1 bash deploy/local/test.sh   # leave the stack running afterwards
#
# The test stack never touches the dev stack of up.sh: its own directory (.local/test, wiped
# at the start of every run) and its own ports. Override with CDC_TEST_STACK_DIR,
# CDC_TEST_MYSQL_PORT, CDC_TEST_KAFKA_PORT, CDC_TEST_SIM_PORT.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

CDC_TEST_STACK_DIR="$(realpath -m -- "${CDC_TEST_STACK_DIR:-$REPO/.local/test}")"
export CDC_TEST_STACK_DIR
export CDC_TEST_MYSQL_PORT="${CDC_TEST_MYSQL_PORT:-3317}"
export CDC_TEST_KAFKA_PORT="${CDC_TEST_KAFKA_PORT:-9192}"
export CDC_TEST_SIM_PORT="${CDC_TEST_SIM_PORT:-8189}"
export CDC_TEST_SIM_TOKEN="${CDC_TEST_SIM_TOKEN:-test-token}"

# The stack scripts read CDC_*; point them at the test stack, whatever the caller's dev
# settings are. The password of `cdc` is fixed because the tests log in with it.
export CDC_LOCAL_DIR="$CDC_TEST_STACK_DIR"
export CDC_MYSQL_PORT="$CDC_TEST_MYSQL_PORT"
export CDC_KAFKA_PORT="$CDC_TEST_KAFKA_PORT"
export CDC_SIM_PORT="$CDC_TEST_SIM_PORT"
export CDC_SIM_TOKEN="$CDC_TEST_SIM_TOKEN"
export CDC_MYSQL_PASSWORD=cdc
unset CDC_MYSQL_SERVER_ID

export CDC_TEST_MYSQL_URL="mysql://cdc_admin:cdc_admin@127.0.0.1:$CDC_TEST_MYSQL_PORT"
export CDC_TEST_BROKERS="127.0.0.1:$CDC_TEST_KAFKA_PORT"
export CDC_TEST_SIM_URL="http://127.0.0.1:$CDC_TEST_SIM_PORT"

say() { printf '[test] %s\n' "$*"; }

# Two runs in one checkout would share the directory and the ports: the second one waits.
mkdir -p "$(dirname "$CDC_TEST_STACK_DIR")"
exec 9>"$CDC_TEST_STACK_DIR.lock"
if ! flock -n 9; then
  say "another test run is using $CDC_TEST_STACK_DIR; waiting for it to finish"
  flock 9
fi

cd "$REPO"

# The build itself needs a C toolchain for librdkafka; on a fresh machine this installs it.
bash "$HERE/install-tools.sh"

# Compile first: a build error should not cost a stack start, and up.sh then reuses the
# binaries (CDC_SKIP_BUILD) instead of building with a different feature set.
say "cargo build --workspace --all-targets"
cargo build --workspace --all-targets

stop_stack() {
  if [[ ${CDC_TEST_KEEP_STACK:-0} == 1 ]]; then
    say "CDC_TEST_KEEP_STACK=1: test stack left running. Re-run single tests with"
    say "  source $CDC_TEST_STACK_DIR/test-env.sh && cargo test -p cdc-tests --test NAME"
    say "stop it with: CDC_LOCAL_DIR=$CDC_TEST_STACK_DIR bash deploy/local/down.sh"
  else
    bash "$HERE/down.sh" || true
  fi
}

# Start from nothing: a stack or data left behind by an earlier, interrupted run goes first.
bash "$HERE/down.sh" --purge 9>&-
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# 9>&-: the services must not inherit the lock, or a kept stack would hold it forever.
CDC_SKIP_BUILD=1 bash "$HERE/up.sh" 9>&-

# For iterating on one test against a kept stack without test.sh:
#   source .local/test/test-env.sh && cargo test -p cdc-tests --test reader
# (The next test.sh wipes that stack, so do not share it with a run of test.sh.)
for var in CDC_TEST_MYSQL_URL CDC_TEST_MYSQL_PORT CDC_TEST_BROKERS CDC_TEST_SIM_URL \
  CDC_TEST_SIM_TOKEN CDC_TEST_STACK_DIR; do
  printf 'export %s=%q\n' "$var" "${!var}"
done >"$CDC_TEST_STACK_DIR/test-env.sh"

say "cargo test --workspace --no-fail-fast $*"
status=0
cargo test --workspace --no-fail-fast "$@" || status=$?
say "cargo test exited with $status (stack logs: $CDC_TEST_STACK_DIR/log)"
exit "$status"
