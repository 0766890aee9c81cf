-- Response-time percentiles
-- Time from the customer message that opened a window to the first
-- delivered reply, in seconds, over the windows opened in the period.
SELECT
    COUNT(*) AS windows,
    COUNT(first_response_secs) AS answered,
    ROUND(QUANTILE_CONT(first_response_secs, 0.5), 1) AS p50_secs,
    ROUND(QUANTILE_CONT(first_response_secs, 0.9), 1) AS p90_secs,
    ROUND(QUANTILE_CONT(first_response_secs, 0.99), 1) AS p99_secs,
    ROUND(MAX(first_response_secs), 1) AS max_secs
FROM windows
