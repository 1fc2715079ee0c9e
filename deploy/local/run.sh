#!/usr/bin/env bash
# Runs the main job locally: starts the stack (up.sh), then cdc-streamer in the foreground with
# deploy/local/cdc-streamer.toml. Ctrl-C stops cdc-streamer; the stack keeps running until
# deploy/local/down.sh. Extra arguments are passed to `cdc-streamer run`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/env.sh"

bash "$HERE/up.sh"

BIN="$CDC_TARGET_DIR/debug/cdc-streamer"
CONFIG="$HERE/cdc-streamer.toml"
if [[ -x $BIN ]] && "$BIN" run --help >/dev/null 2>&1; then
  log "starting: cdc-streamer run --config ${CONFIG#"$CDC_REPO_ROOT"/} $*"
  cd "$CDC_REPO_ROOT"
  # The HubSpot sink reads its token from HUBSPOT_TOKEN (hubspot.token_env).
  export HUBSPOT_TOKEN="${HUBSPOT_TOKEN:-$CDC_SIM_TOKEN}"
  exec "$BIN" run --config "$CONFIG" "$@"
fi

log "the stack is up, but $BIN has no working 'run' command yet."
log "use the stack directly meanwhile: mariadb -h127.0.0.1 -P$CDC_MYSQL_PORT -ucdc -p$CDC_MYSQL_PASSWORD app,"
log "brokers 127.0.0.1:$CDC_KAFKA_PORT, HubSpot simulator http://127.0.0.1:$CDC_SIM_PORT (token $CDC_SIM_TOKEN)."
