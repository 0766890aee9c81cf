-- The benchmark's peer (issue 6): docs §3–§5 written as DuckDB SQL
-- with window functions, the way a data engineer would without
-- window-ledger. bench/peer.py fills in the file names and runs it.
--
-- Scope: what the benchmark logs contain. Default window rule
-- (customer-only), billing and report time zone UTC, one currency per card,
-- no --from/--to. Countries come from a calling-code table of the
-- generator's countries; numbers of the shared codes +1 and +44 are resolved
-- with the Python port of libphonenumber (`phonenumbers`) between the two
-- halves of this file, as window-ledger does, so the peer is exact on
-- generated logs.

SET TimeZone = 'UTC';

CREATE TEMP TABLE calling_codes(code VARCHAR, country VARCHAR);
INSERT INTO calling_codes VALUES
  ('966', 'SA'), ('971', 'AE'), ('20', 'EG'), ('965', 'KW'), ('974', 'QA'),
  ('91', 'IN'), ('62', 'ID'), ('55', 'BR'), ('1', 'US'), ('44', 'GB'),
  ('234', 'NG'), ('962', 'JO'), ('212', 'MA'), ('92', 'PK'), ('49', 'DE'),
  ('90', 'TR');

CREATE TEMP TABLE rates AS
SELECT lower(trim(market)) AS market_key, lower(category) AS category,
       CAST(price AS DECIMAL(18, 9)) AS price, currency,
       CAST(effective_from AS DATE) AS effective_from
FROM read_csv('{rates}', all_varchar = true);

CREATE TEMP TABLE markets AS
SELECT upper(country) AS country, market,
       coalesce(CAST(nullif(effective_from, '') AS DATE), DATE '0001-01-01') AS effective_from
FROM read_csv('{markets}', all_varchar = true);

-- §2, §8.4, §8.7: first copy of each message id, numbers normalised.
CREATE TEMP TABLE messages AS
SELECT
  message_id,
  coalesce(regexp_replace(regexp_replace(trim(business_number), '[\s\-\.\(\)]', '', 'g'),
           '^(\+00|\+|00)', ''), 'default') AS business,
  regexp_replace(regexp_replace(trim(contact), '[\s\-\.\(\)]', '', 'g'),
                 '^(\+00|\+|00)', '') AS contact,
  lower(direction) = 'inbound' AS inbound,
  epoch_us(timestamp) AS ts,
  CAST(timestamp AS DATE) AS billing_date,
  strftime(timestamp, '%Y-%m') AS billing_month,
  lower(direction) <> 'inbound' AND lower(type) = 'template' AS template,
  CASE
    WHEN lower(direction) = 'inbound' OR lower(type) <> 'template' THEN NULL
    WHEN lower(category) IN ('marketing', 'marketing_lite') THEN 'marketing'
    WHEN lower(category) IN ('utility', 'authentication') THEN lower(category)
    WHEN lower(category) IN ('authentication_international', 'authentication-international')
      THEN 'authentication_international'
    ELSE 'unknown'
  END AS category,
  lower(direction) <> 'inbound' AND (coalesce(lower(status) = 'failed', false)
                                     OR error_code IS NOT NULL) AS failed,
  lower(direction) = 'inbound' AND coalesce(lower(entry_point) IN ('ctwa', 'fb_page_cta'), false)
    AS entry_point
FROM read_parquet('{input}', file_row_number = true) AS log
-- Retries are rare: find the repeated ids by hash aggregation and keep the
-- first row of each, instead of ranking every id.
WHERE file_row_number NOT IN (
  SELECT unnest(list(file_row_number ORDER BY file_row_number)[2:])
  FROM read_parquet('{input}', file_row_number = true)
  WHERE message_id IN (SELECT message_id FROM read_parquet('{input}')
                       GROUP BY message_id HAVING count(*) > 1)
  GROUP BY message_id);

CREATE TEMP TABLE countries AS
SELECT contact, arg_max(cc.country, length(cc.code)) AS country
FROM (SELECT DISTINCT contact FROM messages) c
JOIN calling_codes cc ON starts_with(c.contact, cc.code)
GROUP BY contact;

-- peer.py: countries of shared calling codes (+1, +44) from libphonenumber.

-- Pairs as integers in (business, contact) order, then one sort of every
-- message in §3's order; later window functions partition by the integer.
CREATE TEMP TABLE pairs AS
SELECT business, contact, row_number() OVER (ORDER BY business, contact) AS pair
FROM (SELECT DISTINCT business, contact FROM messages);

CREATE TEMP TABLE ordered AS
SELECT m.*, p.pair,
  row_number() OVER (PARTITION BY p.pair ORDER BY m.ts, NOT m.inbound, m.message_id) AS ord
FROM messages m JOIN pairs p USING (business, contact);

-- §3: a window is open at a message when the pair's last inbound message at
-- or before it is less than 24 h earlier; an inbound message with no inbound
-- in the previous 24 h opens one.
CREATE TEMP TABLE opened AS
WITH last_inbound AS (
  SELECT *,
    max(CASE WHEN inbound THEN ts END) OVER (PARTITION BY pair ORDER BY ord
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_inbound,
    max(CASE WHEN inbound THEN ts END) OVER (PARTITION BY pair ORDER BY ord
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_inbound
  FROM ordered
), flagged AS (
  SELECT *,
    coalesce(ts - last_inbound < 86400000000, false) AS in_window,
    inbound AND (previous_inbound IS NULL OR ts - previous_inbound >= 86400000000) AS opens
  FROM last_inbound
)
SELECT *,
  in_window AND NOT inbound AND NOT failed AS answers,
  sum(opens::INT) OVER (PARTITION BY pair ORDER BY ord
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS pair_windows_so_far,
  sum((in_window AND NOT inbound AND NOT failed)::INT) OVER (PARTITION BY pair ORDER BY ord
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_answers
FROM flagged;

-- Windows are numbered 1.. in (business, contact, opened_at) order.
CREATE TEMP TABLE pair_offsets AS
SELECT pair, sum(windows) OVER (ORDER BY pair) - windows AS offset_
FROM (SELECT pair, sum(opens::INT) AS windows FROM opened GROUP BY pair);

CREATE TEMP TABLE numbered AS
SELECT o.*,
  CASE WHEN pair_windows_so_far > 0 THEN p.offset_ + pair_windows_so_far END AS last_window_id,
  CASE WHEN in_window THEN p.offset_ + pair_windows_so_far END AS window_id
FROM opened o JOIN pair_offsets p USING (pair);

-- §4 and §8.1: the late-reply template is the first one (failed ones do not
-- count) after the pair's most recent window closed unanswered. §5.2 free
-- entry points: the first answer after an entry-point message, in its
-- window, opens 72 h.
CREATE TEMP TABLE fep AS
WITH answered AS (
  SELECT window_id, bool_or(answers) AS answered FROM numbered
  WHERE window_id IS NOT NULL GROUP BY window_id
), staged AS (
  SELECT n.*, coalesce(a.answered, false) AS last_answered,
    NOT inbound AND template AND NOT in_window AS outside_template
  FROM numbered n LEFT JOIN answered a ON a.window_id = n.last_window_id
), classed AS (
  SELECT *,
    coalesce(sum((outside_template AND NOT failed)::INT) OVER (
      PARTITION BY pair, last_window_id ORDER BY ord
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS earlier_templates,
    last_value(CASE WHEN entry_point THEN running_answers END IGNORE NULLS) OVER (
      PARTITION BY pair ORDER BY ord
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS answers_at_entry,
    last_value(CASE WHEN entry_point THEN window_id END IGNORE NULLS) OVER (
      PARTITION BY pair ORDER BY ord
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS entry_window
  FROM staged
)
SELECT *,
  last_value(CASE WHEN answers AND entry_window = window_id
                       AND running_answers = answers_at_entry + 1 THEN ts END IGNORE NULLS)
    OVER (PARTITION BY pair ORDER BY ord
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fep_from
FROM classed;

CREATE TEMP TABLE sends AS
SELECT f.*,
  CASE
    WHEN NOT template AND in_window THEN 'freeform_in_window'
    WHEN NOT template THEN 'freeform_blocked'
    WHEN in_window THEN 'template_avoidable'
    WHEN last_window_id IS NOT NULL AND NOT last_answered AND earlier_templates = 0
      THEN 'template_late_reply'
    ELSE 'template_needed'
  END AS class,
  fep_from IS NOT NULL AND ts - fep_from < 259200000000 AS in_fep,
  CASE WHEN billing_date < DATE '2025-07-01' THEN 'cbp'
       WHEN billing_date < DATE '2026-10-01' THEN 'pmp-2025'
       ELSE 'pmp-2026-10' END AS regime,
  CASE WHEN NOT template THEN 'service'
       WHEN category = 'unknown' THEN 'marketing'
       ELSE category END AS price_category,
  coalesce(c.country, 'ZZ') AS country
FROM fep f LEFT JOIN countries c USING (contact)
WHERE NOT inbound;

-- §5.1: the market and rate rows with the latest effective_from <= date,
-- looked up once per distinct (country, category, date).
CREATE TEMP TABLE lookups AS
WITH keys AS (SELECT DISTINCT country, price_category, billing_date FROM sends),
marketed AS (
  SELECT k.*, coalesce(mk.market, 'Other') AS market
  FROM keys k ASOF LEFT JOIN markets mk
    ON k.country = mk.country AND k.billing_date >= mk.effective_from
)
SELECT m.*, rt.price AS rate, rt.currency AS rate_currency, sv.price AS service_rate
FROM marketed m
ASOF LEFT JOIN rates rt
  ON lower(m.market) = rt.market_key AND m.price_category = rt.category
 AND m.billing_date >= rt.effective_from
ASOF LEFT JOIN (SELECT * FROM rates WHERE category = 'service') sv
  ON lower(m.market) = sv.market_key AND m.billing_date >= sv.effective_from;

CREATE TEMP TABLE priced AS
SELECT * FROM sends JOIN lookups USING (country, price_category, billing_date);

-- pmp-2026-10: the first 1,000 delivered service messages per business
-- number and month are free (not those inside a free entry point window).
CREATE TEMP TABLE tiered AS
WITH service AS (
  SELECT message_id,
    row_number() OVER (PARTITION BY business, billing_month ORDER BY ts, message_id) AS service_seq
  FROM priced
  WHERE regime = 'pmp-2026-10' AND NOT template AND NOT failed AND in_window AND NOT in_fep
)
SELECT p.*, s.service_seq FROM priced p LEFT JOIN service s USING (message_id);

CREATE TEMP TABLE ruled AS
SELECT *,
  CASE
    WHEN regime = 'cbp' THEN 'unpriced_regime'
    WHEN failed THEN 'failed_not_charged'
    WHEN class = 'freeform_blocked' THEN 'blocked_not_delivered'
    WHEN in_fep THEN 'free_entry_point'
    WHEN regime = 'pmp-2025' AND NOT template THEN 'free_not_template'
    WHEN regime = 'pmp-2025' AND in_window AND price_category = 'utility'
      THEN 'free_in_window_utility'
    WHEN service_seq <= 1000 THEN 'free_service_tier'
    WHEN rate IS NULL THEN 'unpriced'
    ELSE 'charged'
  END AS pricing_rule
FROM tiered;

COPY (
  SELECT message_id, business, contact, country, market, class, window_id, regime, pricing_rule,
    CASE WHEN pricing_rule = 'charged' THEN rate
         WHEN pricing_rule IN ('unpriced', 'unpriced_regime') THEN NULL
         ELSE 0 END AS cost,
    CASE WHEN class <> 'template_avoidable' THEN 0
         WHEN pricing_rule = 'charged' THEN
           rate - CASE WHEN regime = 'pmp-2026-10' THEN service_rate ELSE 0 END
         WHEN pricing_rule IN ('unpriced', 'unpriced_regime') THEN NULL
         WHEN pricing_rule IN ('failed_not_charged', 'free_entry_point') THEN 0
         ELSE 0 - CASE WHEN regime = 'pmp-2026-10' THEN service_rate ELSE 0 END
    END AS avoidable_cost,
    CASE WHEN pricing_rule = 'charged' THEN rate_currency
         ELSE (SELECT min(currency) FROM rates) END AS currency
  FROM ruled
) TO '{output}' (FORMAT parquet);
