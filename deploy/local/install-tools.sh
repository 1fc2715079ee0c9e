#!/usr/bin/env bash
# Installs what the local stack and the build need, and only what is missing:
#   - Debian packages: MariaDB server and client, curl, python3, and what the bundled
#     librdkafka build of rdkafka-sys needs with the features this workspace enables
#     (default `libz` only: a C/C++ toolchain, make, pkg-config, zlib headers; its Makefile
#     calls python3). No OpenSSL, SASL or cmake: no crate here turns those features on.
#   - the Kafka-protocol broker tansu, built with cargo into $CDC_TOOLS_DIR (about 12 minutes
#     on 2 cores, once per machine).
# Safe to run again: when everything is present it only says so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

TANSU_VERSION=0.6.0

# command -> Debian package that provides it.
declare -A PACKAGE_OF=(
  [mariadbd]=mariadb-server
  [mariadb-install-db]=mariadb-server
  [mariadb]=mariadb-client
  [mariadb-admin]=mariadb-client
  [curl]=curl
  [python3]=python3
  [cc]=build-essential
  [c++]=build-essential
  [make]=build-essential
  [pkg-config]=pkg-config
)

missing=()
for cmd in "${!PACKAGE_OF[@]}"; do
  if ! command -v "$cmd" >/dev/null && [[ ! -x /usr/sbin/$cmd ]]; then
    missing+=("${PACKAGE_OF[$cmd]}")
  fi
done
if ! pkg-config --exists zlib 2>/dev/null && [[ ! -e /usr/include/zlib.h ]]; then
  missing+=(zlib1g-dev)
fi

if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # The package's own service is not what we run (we start private instances), but the
  # postinst may start it; that is harmless and we leave it alone.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" </dev/null >/dev/null
else
  log "Debian packages: all present"
fi

if [[ -x $CDC_TANSU_BIN ]]; then
  log "tansu: $("$CDC_TANSU_BIN" --version 2>/dev/null || echo present) at $CDC_TANSU_BIN"
else
  command -v cargo >/dev/null || die "cargo is needed to build tansu; install Rust (rustup) first"
  log "building tansu $TANSU_VERSION into $CDC_TOOLS_DIR (takes about 12 minutes on 2 cores, once)"
  mkdir -p "$CDC_TOOLS_DIR" "$CDC_LOG_DIR"
  if ! cargo install --locked "tansu@$TANSU_VERSION" --features libsql --root "$CDC_TOOLS_DIR" \
    >"$CDC_LOG_DIR/tansu-install.log" 2>&1; then
    tail -n 30 "$CDC_LOG_DIR/tansu-install.log" >&2
    die "cargo install tansu failed; full log: $CDC_LOG_DIR/tansu-install.log"
  fi
  log "tansu installed at $CDC_TANSU_BIN"
fi
