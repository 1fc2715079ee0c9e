-- The source application's tables: a legacy user table and its CRM details.
-- Loaded into the current database (up.sh: `app`, the tests: a scratch `t_*` database), so no
-- statement names a database. tests/support drops whole-line `--` comments and splits the rest
-- on semicolons: keep comments on lines of their own and no semicolon inside a string.
--
-- The column types are chosen to exercise the binlog reader and the converters: unsigned
-- BIGINT keys, CHAR status codes, TINYINT(1) flags, DECIMAL money, DATE, DATETIME(3) and
-- TIMESTAMP(3), comma-separated tag lists, utf8mb4 text and a LONGTEXT that can hold the
-- 17 MB rows of the large-row tests (the server allows 64 MB packets).

CREATE TABLE IF NOT EXISTS users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  email         VARCHAR(255)    NOT NULL,
  first_name    VARCHAR(100)    NOT NULL,
  last_name     VARCHAR(100)    NULL,
  -- A = active, C = closed, G = erased (GDPR), as in hubspot-properties.json `user_status`.
  user_status   CHAR(1)         NOT NULL DEFAULT 'A',
  is_paid       TINYINT(1)      NOT NULL DEFAULT 0,
  balance       DECIMAL(12,2)   NOT NULL DEFAULT 0.00,
  birthday      DATE            NULL,
  -- Segment ids 1..20, comma-separated and ascending, e.g. '1,3,7'. NULL = no segments.
  tags          VARCHAR(100)    NULL,
  notes         LONGTEXT        NULL,
  signed_up_at  DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at    TIMESTAMP(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_users_email (email),
  KEY ix_users_status (user_status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per user at most, without a foreign key on purpose: InnoDB cascades are not written
-- to the binlog, and the legacy schema this models had none.
CREATE TABLE IF NOT EXISTS user_cim_details (
  user_id          BIGINT UNSIGNED  NOT NULL,
  company          VARCHAR(200)     NULL,
  job_title        VARCHAR(100)     NULL,
  country          VARCHAR(80)      NULL,
  -- Annual purchase bracket 0..10 (0 = none, 10 = 1M+ USD), as in `annual_purchase_range`.
  annual_purchase  TINYINT UNSIGNED NULL,
  tel_area_code    VARCHAR(8)       NULL,
  tel              VARCHAR(32)      NULL,
  updated_at       TIMESTAMP(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
