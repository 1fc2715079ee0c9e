#!/usr/bin/env bash
# Profiles the binlog decode hot path (figure 1) with perf and times it.
#
#   bash bench/run.sh --quick --keep    # a benchmark stack to profile against
#   bash bench/profile.sh [ROWS]        # default 100,000 users
#
# Loads ROWS users into the stack's `bench` database (replacing it), records
# `cdc-bench decode` over the binlog range the load wrote with `perf record --call-graph dwarf`,
# prints the top symbols (self and inclusive), then times the same decode three times without
# perf. (The binaries link jemalloc; the glibc/jemalloc/mimalloc comparison that led to it is
# in docs/benchmarks.md.)
# perf's hardware counters are not available in every VM; the cpu-clock sampling used here is.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CDC_LOCAL_DIR="${CDC_BENCH_DIR:-$REPO/.local/bench}"
export CDC_MYSQL_PORT="${CDC_BENCH_MYSQL_PORT:-3367}"
export CDC_KAFKA_PORT="${CDC_BENCH_KAFKA_PORT:-9242}"
ROWS="${1:-100000}"
BENCH="$REPO/target/release/cdc-bench"
OUT="$CDC_LOCAL_DIR/profile"
mkdir -p "$OUT"

command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
[[ -x $BENCH ]] || { echo "build first: cargo build --release -p cdc-bench" >&2; exit 1; }

range=$("$BENCH" load --rows "$ROWS")
from=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["start"])' <<<"$range")
to=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"])' <<<"$range")
echo "[profile] $ROWS rows, binlog $from .. $to"

perf record -F 999 --call-graph dwarf,32768 -o "$OUT/decode.perf.data" \
  "$BENCH" decode --from "$from" --to "$to" >"$OUT/decode.json" 2>/dev/null
echo "[profile] self time, top 25:"
perf report -i "$OUT/decode.perf.data" --no-children --sort symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | head -25 || true # head closes the pipe early: not an error
echo "[profile] inclusive time of our and mysql_common's functions:"
perf report -i "$OUT/decode.perf.data" --children --sort symbol --stdio --call-graph=none 2>/dev/null |
  grep -E '^ +[0-9]' | grep -E 'cdc_source_mysql|mysql_common|drop_in_place<cdc_core|format_inner' | head -20 || true

echo "[profile] the same decode without perf, three runs (rows/s):"
for _ in 1 2 3; do
  "$BENCH" decode --from "$from" --to "$to" |
    python3 -c 'import json,sys; print("  " + str(round(json.load(sys.stdin)["rows_per_s"])))'
done
echo "[profile] perf data: $OUT/decode.perf.data (perf report -i …)"
