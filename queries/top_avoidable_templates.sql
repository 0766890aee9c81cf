-- Top templates by avoidable spend
-- Templates sent while a window was open, by name: what a free-form reply
-- would have saved.
SELECT
    template_name,
    category,
    currency,
    COUNT(*) AS templates,
    SUM(cost_nanos) AS spend_nanos,
    SUM(avoidable_cost_nanos) AS avoidable_nanos
FROM sends
WHERE class = 'template_avoidable'
GROUP BY template_name, category, currency
ORDER BY avoidable_nanos DESC, template_name, category, currency
LIMIT 20
