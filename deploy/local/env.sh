# Settings and small helpers shared by the deploy/local/ scripts. Sourced, never run.
#
# Every setting can be overridden from the environment, e.g.
#   CDC_MYSQL_PORT=3310 CDC_LOCAL_DIR=/tmp/stack bash deploy/local/up.sh
# The scripts run with `set -euo pipefail`; nothing here starts or stops anything.

CDC_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

: "${CDC_LOCAL_DIR:=$CDC_REPO_ROOT/.local/stack}"
: "${CDC_MYSQL_PORT:=3307}"
: "${CDC_KAFKA_PORT:=9092}"
: "${CDC_SIM_PORT:=8089}"
: "${CDC_SIM_TOKEN:=local-dev-token}"
: "${CDC_TOOLS_DIR:=$HOME/.cache/cdc-streamer/tools}"
: "${CDC_MYSQL_SERVER_ID:=1}"
# Password of the `cdc` user (deploy/local/cdc-streamer.toml reads the same variable).
: "${CDC_MYSQL_PASSWORD:=cdc}"
# Absolute, symlinks resolved: up.sh and down.sh recognise our processes by the paths in their
# command lines, so `.local/stack` and `/work/x/.local/stack` must come out the same.
CDC_LOCAL_DIR="$(realpath -m -- "$CDC_LOCAL_DIR")"
CDC_TOOLS_DIR="$(realpath -m -- "$CDC_TOOLS_DIR")"
export CDC_REPO_ROOT CDC_LOCAL_DIR CDC_MYSQL_PORT CDC_KAFKA_PORT CDC_SIM_PORT CDC_SIM_TOKEN \
  CDC_TOOLS_DIR CDC_MYSQL_SERVER_ID CDC_MYSQL_PASSWORD

# Derived paths: not settings of their own, so that one CDC_LOCAL_DIR holds one whole stack.
CDC_RUN_DIR="$CDC_LOCAL_DIR/run"
CDC_LOG_DIR="$CDC_LOCAL_DIR/log"
CDC_MYSQL_SOCKET="$CDC_RUN_DIR/mysqld.sock"
CDC_TANSU_BIN="$CDC_TOOLS_DIR/bin/tansu"
CDC_TARGET_DIR="${CARGO_TARGET_DIR:-$CDC_REPO_ROOT/target}"
# /usr/sbin is not on every user's PATH.
CDC_MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"

# `log` lines are prefixed with the script's name so interleaved output stays readable.
CDC_SCRIPT="$(basename "${0%.sh}")"
log() { printf '[%s] %s\n' "$CDC_SCRIPT" "$*"; }
die() { printf '[%s] error: %s\n' "$CDC_SCRIPT" "$*" >&2; exit 1; }

# The client reads /etc/mysql and ~/.my.cnf unless told not to; the root account of our own
# instance has no password and is reached over the socket only.
mysql_root() { mariadb --no-defaults --default-character-set=utf8mb4 --socket="$CDC_MYSQL_SOCKET" -uroot "$@"; }

# pid_file SERVICE -> the pid file of one of our services.
pid_file() { printf '%s/%s.pid\n' "$CDC_RUN_DIR" "$1"; }

# The services up.sh starts, in the order down.sh stops them.
CDC_SERVICES=(hubspot-sim tansu mariadb)

# service_marker SERVICE -> a string that the command line of *our* instance of SERVICE
# contains: paths under $CDC_LOCAL_DIR where possible, so another stack's process never matches.
service_marker() {
  case $1 in
    mariadb) printf '%s\n' "--socket=$CDC_MYSQL_SOCKET" ;;
    # tansu's command line names no path of ours; live_pid checks its working directory.
    tansu) printf '%s\n' "tansu broker" ;;
    hubspot-sim) printf '%s\n' "--state-file $CDC_LOCAL_DIR/hubspot/state.json" ;;
    *) die "unknown service $1" ;;
  esac
}

# live_pid SERVICE -> prints the pid and succeeds when SERVICE's pid file points at a live
# process that is our instance of SERVICE. A recycled pid (the machine rebooted, the number now
# belongs to someone else) does not count, so we never signal a stranger.
live_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -s $file ]] || return 1
  pid="$(<"$file")"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(service_marker "$1")" || return 1
  if [[ $1 == tansu ]]; then
    [[ $(readlink "/proc/$pid/cwd") == "$CDC_LOCAL_DIR/kafka" ]] || return 1
  fi
  printf '%s\n' "$pid"
}

# alive PID -> succeeds while PID runs. A zombie counts as gone: whoever inherited it (init, or
# a sandbox's subreaper) may reap it late, and waiting for that would hang down.sh.
alive() {
  local state
  # The state follows the parenthesised command name, which may itself contain spaces.
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# port_open PORT -> succeeds when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION PID COMMAND... -> polls COMMAND every 0.25 s until it succeeds.
# Gives up early when PID has died, since waiting for a crashed process only wastes time.
wait_for() {
  local secs=$1 what=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    alive "$pid" || { log "$what exited during start-up"; return 1; }
    ((SECONDS < deadline)) || { log "$what not ready after ${secs}s"; return 1; }
    sleep 0.25
  done
}

# as_root COMMAND... -> runs COMMAND as root (directly, or through sudo when available).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -E "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}
