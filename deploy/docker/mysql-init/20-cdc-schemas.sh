# shellcheck shell=bash
# Sourced like 10-cdc-users.sh (keep it non-executable). Loads the SQL files of deploy/local/sql/,
# mounted read-only at /cdc-sql by docker-compose.yml: the very files deploy/local/up.sh loads,
# not copies. They name no database (the tests load them into scratch databases), hence
# --database here, and hence they are not in /docker-entrypoint-initdb.d themselves: the
# entrypoint would run them with none selected.
#
# The sample data goes last, so its inserts are the first row events a reader started at
# `earliest` sees, as with the local stack.

cdc_init_sql() { docker_process_sql --default-character-set=utf8mb4 "$@"; }

cdc_init_sql --database=app </cdc-sql/app-schema.sql
cdc_init_sql --database=crm </cdc-sql/crm-schema.sql

# app-sample-data.sql numbers its rows with MariaDB's SEQUENCE engine (the table seq_1_to_300).
# MySQL has no such engine; there a temporary table of the same name, created in the same
# session, stands in. A ROW binlog does not record temporary tables, so a reader sees the same
# row events from both servers.
if [[ $(cdc_init_sql -N -B <<<"SELECT COUNT(*) FROM information_schema.ENGINES WHERE ENGINE = 'SEQUENCE'") == 1 ]]; then
  cdc_init_sql --database=app </cdc-sql/app-sample-data.sql
else
  {
    echo 'CREATE TEMPORARY TABLE seq_1_to_300 (seq BIGINT UNSIGNED NOT NULL PRIMARY KEY);'
    echo 'INSERT INTO seq_1_to_300 WITH RECURSIVE n (seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < 300) SELECT seq FROM n;'
    cat /cdc-sql/app-sample-data.sql
  } | cdc_init_sql --database=app
fi
unset -f cdc_init_sql
