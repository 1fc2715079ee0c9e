-- The source application's tables: a legacy user table and its CRM details.
-- Loaded into the current database (up.sh: `app`, the tests: a scratch `t_*` database), so no
-- statement names a database. tests/support drops whole-line `--` comments and splits the rest
-- on semicolons: keep comments on lines of their own and no semicolon inside a string.
--
-- The schema is the one the product was specified with (issue 2): unsigned BIGINT keys, CHAR
-- status codes, TINYINT(1) flags, DECIMAL money, DATE, DATETIME(3) and TIMESTAMP(3),
-- comma-separated tag lists, utf8mb4 text and a JSON profile (MariaDB: LONGTEXT with a
-- json_valid check) that can hold the 17 MB rows of the large-row tests.

CREATE TABLE IF NOT EXISTS users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email         VARCHAR(255) NOT NULL UNIQUE,
  first_name    VARCHAR(100) NULL,
  last_name     VARCHAR(100) NULL,
  phone         VARCHAR(40)  NULL,
  -- A active; C closed and G erased are not synced (hubspot-properties.json `user_status`).
  user_status   CHAR(1)      NOT NULL DEFAULT 'A',
  is_paid       TINYINT(1)   NOT NULL DEFAULT 0,
  birthday      DATE         NULL,
  signed_up_at  DATETIME(3)  NOT NULL,
  updated_at    TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  -- Comma-separated segment ids, e.g. '1,2,3'. NULL = no segments.
  tags          VARCHAR(255) NULL,
  balance       DECIMAL(12,2) NOT NULL DEFAULT 0,
  -- MariaDB JSON (LONGTEXT with a json_valid check): also what the large-row tests fill.
  profile       JSON NULL
) DEFAULT CHARSET=utf8mb4;

-- One row per user at most (user_id is unique), without a foreign key on purpose: InnoDB
-- cascades are not written to the binlog, and the legacy schema this models had none.
CREATE TABLE IF NOT EXISTS user_cim_details (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id         BIGINT UNSIGNED NOT NULL UNIQUE,
  company         VARCHAR(200) NULL,
  job_title       VARCHAR(100) NULL,
  country         VARCHAR(80)  NULL,
  -- Annual purchase range code 0..10, as in `annual_purchase_range`.
  annual_purchase TINYINT      NULL,
  tel_area_code   VARCHAR(10)  NULL,
  tel             VARCHAR(30)  NULL,
  updated_at      TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) DEFAULT CHARSET=utf8mb4;
