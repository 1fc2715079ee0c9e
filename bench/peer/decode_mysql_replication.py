"""The peer of figure 1: python-mysql-replication (PyPI `mysql-replication`)
decoding the same binlog range as cdc-streamer's BinlogReader.

It keeps only the benchmark's schema and touches every value of every row,
so each row is fully decoded (the library decodes a rows event's values when
`.rows` is read). It stops after --rows rows or at --end-pos, whichever comes
first, and prints one JSON line: rows, row events, seconds, CPU seconds.

Two ways to start, both measured by cdc-bench:
- `--mode gtid` (the library's MariaDB mode): `is_mariadb=True` with
  `auto_position` = the GTID state at the range start, `blocking=True`. With
  `is_mariadb=True` the library ignores `log_file`/`log_pos` (it asks for an
  empty file name, i.e. the oldest binlog), and with `blocking=False` MariaDB
  10.11 resets the connection within a few events, after which the library
  reconnects from its start position for ever (seen with 1.0.17).
- `--mode position`: `is_mariadb=False`, `resume_stream=True`,
  `log_file`/`log_pos`, `blocking=False`: the classic file/position request,
  which MariaDB serves as it does for MySQL replicas.

Run by cdc-bench (bench/src/figures/decode.rs) from the venv that
bench/run.sh creates under .local/bench/venv.
"""

import argparse
import importlib.metadata
import json
import resource
import sys
import time

from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import (
    DeleteRowsEvent,
    UpdateRowsEvent,
    WriteRowsEvent,
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--server-id", type=int, required=True)
    p.add_argument("--log-file", required=True)
    p.add_argument("--log-pos", type=int, required=True)
    p.add_argument("--end-pos", type=int, required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--mode", choices=["gtid", "position"], required=True)
    p.add_argument("--gtid", help="GTID state at the start (--mode gtid)")
    a = p.parse_args()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if a.mode == "gtid":
        start = {"is_mariadb": True, "auto_position": a.gtid, "blocking": True}
    else:
        start = {
            "is_mariadb": False,
            "log_file": a.log_file,
            "log_pos": a.log_pos,
            "blocking": False,
        }
    stream = BinLogStreamReader(
        connection_settings={
            "host": a.host,
            "port": a.port,
            "user": a.user,
            "passwd": a.password,
        },
        server_id=a.server_id,
        only_schemas=[a.schema],
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        resume_stream=True,
        **start,
    )
    rows = 0
    events = 0
    touched = 0
    try:
        for event in stream:
            events += 1
            for row in event.rows:
                values = row.get("values") or row.get("after_values")
                for v in values.values():
                    if v is not None:
                        touched += 1
                rows += 1
            if rows >= a.rows or (
                stream.log_file == a.log_file and stream.log_pos >= a.end_pos
            ):
                break
    finally:
        stream.close()
    secs = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    json.dump(
        {
            "rows": rows,
            "row_events": events,
            "values": touched,
            "secs": secs,
            "cpu_secs": cpu,
            "python": sys.version.split()[0],
            "library": "mysql-replication "
            + importlib.metadata.version("mysql-replication"),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
