-- Spend by country
-- Template and service spend of the period per destination country; a
-- column named *_nanos is written as an exact decimal without the suffix.
SELECT
    country,
    currency,
    COUNT(*) AS messages,
    SUM(cost_nanos) AS spend_nanos,
    SUM(avoidable_cost_nanos) AS avoidable_nanos,
    SUM(CASE WHEN class = 'template_late_reply' THEN cost_nanos ELSE 0 END) AS late_reply_nanos
FROM sends
WHERE currency IS NOT NULL AND currency <> ''
GROUP BY country, currency
ORDER BY spend_nanos DESC, country, currency
