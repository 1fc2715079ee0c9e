-- The MySQL sink's target tables. Loaded into the current database (up.sh: `crm`), so no
-- statement names a database. Same splitting rules as app-schema.sql.
--
-- `full_name` is first_name + ' ' + last_name (100 + 1 + 100), `phone` is
-- tel_area_code + '-' + tel (8 + 1 + 32).

CREATE TABLE IF NOT EXISTS users (
  user_id       BIGINT UNSIGNED NOT NULL,
  email         VARCHAR(255)    NULL,
  full_name     VARCHAR(201)    NULL,
  user_status   CHAR(1)         NULL,
  is_paid       TINYINT(1)      NULL,
  balance       DECIMAL(12,2)   NULL,
  birthday      DATE            NULL,
  signed_up_at  DATETIME(3)     NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_cim_details (
  user_id    BIGINT UNSIGNED NOT NULL,
  company    VARCHAR(200)    NULL,
  job_title  VARCHAR(100)    NULL,
  country    VARCHAR(80)     NULL,
  phone      VARCHAR(41)     NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
