# shellcheck shell=bash
# Sourced (not run) by the image's entrypoint on the first start with an empty data volume, in
# mariadb:10.11 and mysql:8.4 alike. Sourcing gives it the entrypoint's docker_process_sql (a
# root client on the init server's socket), so this file must stay NON-executable: an
# executable *.sh would run in a child shell without that function (tests/compose.rs checks).
#
# The databases and the `cdc` account with the grants deploy/local/up.sh gives it. Only the
# '%' host: every client comes from another container. The password is CDC_MYSQL_PASSWORD,
# the variable the streamer config reads too.

cdc_init_pw=${CDC_MYSQL_PASSWORD:-cdc}
cdc_init_pw=${cdc_init_pw//\'/\'\'}
docker_process_sql <<SQL
CREATE DATABASE IF NOT EXISTS app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS crm CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'cdc'@'%' IDENTIFIED BY '$cdc_init_pw';
-- What the streamer needs in production: read the binlog, read tables for snapshots.
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO 'cdc'@'%';
-- The MySQL sink's target.
GRANT ALL PRIVILEGES ON crm.* TO 'cdc'@'%';
-- Demo only: lets you write source rows as cdc. Production does not grant this.
GRANT ALL PRIVILEGES ON app.* TO 'cdc'@'%';
SQL
unset cdc_init_pw
