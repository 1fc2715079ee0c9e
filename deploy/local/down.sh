#!/usr/bin/env bash
# Stops exactly what up.sh started, found through the pid files in $CDC_LOCAL_DIR/run/:
# SIGTERM, up to 20 s for a clean shutdown, then SIGKILL. Nothing is stopped by name.
#   --purge   also deletes $CDC_LOCAL_DIR (databases, binlogs, topics, simulator state, logs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

purge=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    -h | --help)
      sed -n '2,4p' "$0"
      exit 0
      ;;
    *) die "unknown argument $arg (only --purge)" ;;
  esac
done

stop_service() {
  local service=$1 pid file
  file="$(pid_file "$service")"
  if ! pid=$(live_pid "$service"); then
    [[ -e $file ]] && log "$service: not running (removing stale pid file)"
    rm -f "$file"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.25
  done
  if alive "$pid"; then
    log "$service (pid $pid) still running after 20 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    # Wait until it is reaped so the port and files are free when down.sh returns.
    while alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$file"
  log "$service stopped (pid $pid)"
}

if [[ -d $CDC_RUN_DIR ]]; then
  for service in "${CDC_SERVICES[@]}"; do
    stop_service "$service"
  done
fi

if ((purge)); then
  # Guard against a CDC_LOCAL_DIR that would take more than the stack with it.
  dir="$CDC_LOCAL_DIR"
  case $dir in
    / | "$HOME" | "$CDC_REPO_ROOT" | /root | /home | /tmp) die "refusing to purge $dir" ;;
  esac
  if [[ -e $dir ]]; then
    rm -rf -- "$dir"
    log "purged $dir"
  fi
fi
