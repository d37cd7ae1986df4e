-- fraud_features: the supervised fraud model's inputs for every line in service at $fraud_at, and its
--   label: a fraud case confirmed within the horizon after that day (src/stages/screening/fraud_model.rs).
-- grain: one row per line in service at $fraud_at.
-- inputs: stg_subscribers, usage_daily (the days $fraud_window_from .. $fraud_at), stg_fraud_cases
-- params: $fraud_at (the day the features describe), $fraud_window_from (the first day of their window),
--   $fraud_label_end ($fraud_at + the horizon)
-- The screening evaluates this file at T - 2H (training for the back-test), T - H (the back-test's
-- scoring, and the final model's training) and T (scoring). Volumes are per day in service within
-- the window (a line activated inside it is not diluted by days it did not exist) and on a log
-- scale, ln(1 + x). Days folded before cvm counted directions and numbers count as 0.
-- columns:
--   subscriber_id               Utf8     the line
--   known_case                  Boolean  a case was confirmed on or before $fraud_at: the line is no longer
--                                        something to find (left out of training, flagged as confirmed at T)
--   confirmed_within_horizon    Boolean  a case is confirmed in ($fraud_at, $fraud_label_end]: the label
--   calls_out                   Float64  ln(1 + voice calls made a day)
--   numbers_called              Float64  ln(1 + distinct numbers called a day, on the days it called)
--   incoming_share              Float64  voice calls received over all its calls; 0.5 without calls
--   night_share                 Float64  calls made 00:00-05:59 over calls made; 0 without
--   other_events                Float64  ln(1 + sms, mms and data sessions a day)
--   voice_minutes               Float64  ln(1 + voice minutes a day, both directions)
--   data_mib                    Float64  ln(1 + data MiB a day)
--   active_share                Float64  days with usage over days in service within the window
--   tenure                      Float64  ln(1 + days in service up to $fraud_at)
--   is_prepaid                  Float64  1 for prepaid, 0 for postpaid
WITH lines AS (
    SELECT
        s.subscriber_id,
        s.plan_type,
        s.activation_date,
        -- days in service within the window
        CAST(
            CAST(CAST($fraud_at AS DATE) AS INT)
            - CAST(greatest(s.activation_date, CAST($fraud_window_from AS DATE)) AS INT) + 1
            AS DOUBLE
        ) AS days_in_window
    FROM stg_subscribers AS s
    WHERE s.activation_date <= CAST($fraud_at AS DATE)
      AND (s.deactivation_date IS NULL OR s.deactivation_date > CAST($fraud_at AS DATE))
),

usage AS (
    SELECT
        u.subscriber_id,
        CAST(COUNT(*) AS DOUBLE) AS active_days,
        CAST(SUM(COALESCE(u.voice_out_calls, 0)) AS DOUBLE) AS calls_out,
        CAST(SUM(u.voice_calls - COALESCE(u.voice_out_calls, 0)) AS DOUBLE) AS calls_in,
        CAST(SUM(COALESCE(u.night_voice_out, 0)) AS DOUBLE) AS night_calls,
        AVG(CAST(u.voice_out_numbers AS DOUBLE)) FILTER (WHERE u.voice_out_calls > 0) AS numbers_per_day,
        CAST(SUM(u.sms_count + u.mms_count + u.data_sessions) AS DOUBLE) AS other_events,
        CAST(SUM(u.voice_seconds) AS DOUBLE) / 60.0 AS voice_minutes,
        CAST(SUM(u.data_bytes) AS DOUBLE) / 1048576.0 AS data_mib
    FROM usage_daily AS u
    WHERE u.event_date >= CAST($fraud_window_from AS DATE) AND u.event_date <= CAST($fraud_at AS DATE)
    GROUP BY u.subscriber_id
),

cases AS (
    SELECT
        subscriber_id,
        bool_or(confirmed_date <= CAST($fraud_at AS DATE)) AS known_case,
        bool_or(confirmed_date > CAST($fraud_at AS DATE) AND confirmed_date <= CAST($fraud_label_end AS DATE))
            AS confirmed_within_horizon
    FROM stg_fraud_cases
    GROUP BY subscriber_id
)

SELECT
    l.subscriber_id,
    COALESCE(c.known_case, false) AS known_case,
    COALESCE(c.confirmed_within_horizon, false) AS confirmed_within_horizon,
    ln(1.0 + COALESCE(u.calls_out, 0.0) / l.days_in_window) AS calls_out,
    ln(1.0 + COALESCE(u.numbers_per_day, 0.0)) AS numbers_called,
    CASE
        WHEN COALESCE(u.calls_out, 0.0) + COALESCE(u.calls_in, 0.0) = 0.0 THEN 0.5
        ELSE u.calls_in / (u.calls_in + u.calls_out)
    END AS incoming_share,
    CASE WHEN COALESCE(u.calls_out, 0.0) = 0.0 THEN 0.0 ELSE u.night_calls / u.calls_out END AS night_share,
    ln(1.0 + COALESCE(u.other_events, 0.0) / l.days_in_window) AS other_events,
    ln(1.0 + COALESCE(u.voice_minutes, 0.0) / l.days_in_window) AS voice_minutes,
    ln(1.0 + COALESCE(u.data_mib, 0.0) / l.days_in_window) AS data_mib,
    COALESCE(u.active_days, 0.0) / l.days_in_window AS active_share,
    ln(1.0 + CAST(CAST(CAST($fraud_at AS DATE) AS INT) - CAST(l.activation_date AS INT) AS DOUBLE)) AS tenure,
    CASE WHEN l.plan_type = 'prepaid' THEN 1.0 ELSE 0.0 END AS is_prepaid
FROM lines AS l
LEFT JOIN usage AS u ON u.subscriber_id = l.subscriber_id
LEFT JOIN cases AS c ON c.subscriber_id = l.subscriber_id
ORDER BY l.subscriber_id
