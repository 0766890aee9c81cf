-- Late replies by business number
-- Templates needed only because a window lapsed unanswered, per business
-- number: the cost of slow response.
SELECT
    business_number,
    currency,
    COUNT(*) AS late_reply_templates,
    SUM(cost_nanos) AS late_reply_spend_nanos
FROM sends
WHERE class = 'template_late_reply'
GROUP BY business_number, currency
ORDER BY late_reply_spend_nanos DESC, business_number, currency
