-- 300 sample users (ids 1..300) and CRM details for 240 of them (every id not divisible by 5),
-- generated with MariaDB's SEQUENCE engine so the file stays small and the data deterministic.
-- up.sh loads it into `app` only while app.users is empty. Because the binlog is on, these
-- inserts are also the first change events a reader started at `earliest` sees.
--
-- What is in there, so demos and tests can rely on it:
--   email          user<id>@example.com
--   last_name      NULL for ids divisible by 37
--   user_status    'C' for ids divisible by 23 (13 users), 'G' for ids divisible by 41 (7), else 'A'
--   is_paid        1 for ids divisible by 3
--   birthday       NULL for ids divisible by 9
--   tags           NULL for ids divisible by 5, else one to three ascending segment ids in 1..20
--   phone          NULL for ids divisible by 4, else +1-555-<id>
--   profile        JSON for ids divisible by 50, else NULL
--   first_name     utf8mb4 throughout (accents, CJK), id 7 carries an emoji
--   annual_purchase 0..10, NULL for ids divisible by 13

START TRANSACTION;

INSERT INTO users
  (id, email, first_name, last_name, phone, user_status, is_paid, balance, birthday, tags, profile, signed_up_at)
SELECT
  seq,
  CONCAT('user', seq, '@example.com'),
  CASE seq
    WHEN 7 THEN 'Sam 🚀'
    WHEN 8 THEN '娜'
    ELSE ELT(1 + seq % 20, 'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Lucas', 'Mia', 'Mateo',
             'Sofía', 'Hiro', 'Zoë', 'Björn', 'Amélie', 'Chloé', 'Ethan', 'Lena', 'Omar',
             'Priya', 'Wei', 'Yuki')
  END,
  CASE
    WHEN seq % 37 = 0 THEN NULL
    WHEN seq = 8 THEN '李'
    ELSE ELT(1 + (seq * 7) % 20, 'Smith', 'García', 'Müller', 'Rossi', 'Nguyen', 'Kowalski',
             'Johansson', 'Dubois', 'Tanaka', 'Silva', 'O''Brien', 'Novak', 'Schmidt', 'Costa',
             'Kim', 'Patel', 'Ivanova', 'Jensen', 'López', 'Chen')
  END,
  CASE WHEN seq % 4 = 0 THEN NULL ELSE CONCAT('+1-555-', LPAD(seq, 4, '0')) END,
  CASE WHEN seq % 23 = 0 THEN 'C' WHEN seq % 41 = 0 THEN 'G' ELSE 'A' END,
  seq % 3 = 0,
  CAST(((seq * 7919) % 250000) / 100 AS DECIMAL(12,2)),
  CASE WHEN seq % 9 = 0 THEN NULL
       ELSE DATE '1955-01-01' + INTERVAL ((seq * 6151) % 18250) DAY END,
  CASE
    WHEN seq % 5 = 0 THEN NULL
    WHEN seq % 3 = 0 THEN CONCAT(1 + seq % 7)
    WHEN seq % 3 = 1 THEN CONCAT_WS(',', 1 + seq % 7, 8 + seq % 6)
    ELSE CONCAT_WS(',', 1 + seq % 7, 8 + seq % 6, 14 + seq % 7)
  END,
  CASE WHEN seq % 50 = 0 THEN CONCAT('{"source": "legacy shop", "batch": ', seq DIV 50, '}') END,
  TIMESTAMP '2019-01-01 00:00:00' + INTERVAL (seq * 487211) SECOND
    + INTERVAL ((seq * 37) % 1000) * 1000 MICROSECOND
FROM seq_1_to_300;

INSERT INTO user_cim_details
  (user_id, company, job_title, country, annual_purchase, tel_area_code, tel)
SELECT
  seq,
  ELT(1 + seq % 12, 'Acme Corp', 'Globex', 'Initech', 'Umbrella GmbH', 'Stark Industries',
      'Wayne Enterprises', 'Hooli', 'Soylent AG', 'Nakatomi Trading', 'Vandelay Industries',
      'Müller & Söhne KG', NULL),
  ELT(1 + seq % 8, 'CEO', 'CTO', 'Purchasing Manager', 'Buyer', 'Engineer', 'Office Manager',
      'Consultant', NULL),
  ELT(1 + seq % 10, 'United States', 'Germany', 'France', 'Japan', 'Brazil', 'India',
      'United Kingdom', 'Spain', 'China', NULL),
  CASE WHEN seq % 13 = 0 THEN NULL ELSE seq % 11 END,
  ELT(1 + seq % 4, NULL, '+1', '+49', '+81'),
  CASE WHEN seq % 17 = 0 THEN NULL ELSE LPAD((seq * 7919331) % 100000000, 8, '0') END
FROM seq_1_to_300
WHERE seq % 5 <> 0;

COMMIT;
