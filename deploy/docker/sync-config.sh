#!/usr/bin/env bash
# Writes deploy/docker/cdc-streamer.toml, the config of the compose stack, from
# deploy/local/cdc-streamer.toml, so that the two never drift apart: edit the local file, then
# run this. The docker variant differs only in where things are:
#   127.0.0.1:3307              -> ${CDC_MYSQL_HOST:-mariadb}:3306  (the source and the MySQL
#                                  sink's target; the mysql8 profile sets CDC_MYSQL_HOST=mysql)
#   127.0.0.1:9092              -> kafka:9092
#   http://127.0.0.1:8089       -> http://hubspot-sim:8089
#   listen = "127.0.0.1:PORT"   -> listen = "0.0.0.0:PORT"  (metrics, for Prometheus to reach)
# and its first comment line says where it comes from. tests/compose.rs fails when the file is
# stale or when a loopback address is left in it (then add a substitution here).
#
# Usage: bash deploy/docker/sync-config.sh [--stdout]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/../local/cdc-streamer.toml"
DST="$HERE/cdc-streamer.toml"

render() {
  echo '# cdc-streamer configuration for the compose stack (docker-compose.yml), generated from'
  echo '# deploy/local/cdc-streamer.toml by deploy/docker/sync-config.sh: edit that file, rerun the script.'
  # The local file's own first line, if a comment, says which stack it is for: replaced above.
  sed -e '1{/^#/d;}' \
    -e 's#127\.0\.0\.1:3307#${CDC_MYSQL_HOST:-mariadb}:3306#g' \
    -e 's#127\.0\.0\.1:9092#kafka:9092#g' \
    -e 's#http://127\.0\.0\.1:8089#http://hubspot-sim:8089#g' \
    -e 's#^\(listen[[:space:]]*=[[:space:]]*"\)127\.0\.0\.1:#\10.0.0.0:#' \
    "$SRC"
}

case "${1:-}" in
  --stdout) render ;;
  "")
    render >"$DST.tmp"
    mv "$DST.tmp" "$DST"
    echo "wrote $DST"
    ;;
  *)
    echo "usage: $0 [--stdout]" >&2
    exit 2
    ;;
esac
