-- uplift_observations: the lines a campaign listed on earlier nights, as customer_value described them that
--   night, and whether they churned in the horizon after: what the campaign's uplift model learns from.
-- grain: one row per wave (an earlier night's list, in the 180 days before T, whose horizon has ended by T)
--   and listed subscriber.
-- inputs: contacts_history_before, uplift_features (over the published customer_value of the nights before T),
--   stg_subscribers
-- params: $as_of, $campaign, $horizon_days
-- churned counts as campaign_effect does: a deactivation after the wave and within the horizon, for any reason
-- but involuntary. The features are uplift_features.sql's, as the line had them on the wave's night.
-- columns:
--   wave_date       Date32   the night the line was listed
--   subscriber_id   Utf8     the line
--   contacted       Boolean  in the contact group (false: held out)
--   churned         Boolean  churned within the horizon after the wave
--   churn_log_odds  Float64  that night's churn log-odds (uplift_features.sql)
--   segment         Utf8     marketing segment ('unknown' when none)
--   plan_type       Utf8     prepaid or postpaid
SELECT
    h.snapshot_date AS wave_date,
    h.subscriber_id,
    h."group" = 'contact' AS contacted,
    COALESCE(
        s.deactivation_date > h.snapshot_date
        AND arrow_cast(s.deactivation_date, 'Int32') <= arrow_cast(h.snapshot_date, 'Int32') + $horizon_days
        AND COALESCE(s.deactivation_reason, '') <> 'involuntary',
        false
    ) AS churned,
    f.* EXCLUDE (snapshot_date, subscriber_id)
FROM contacts_history_before AS h
INNER JOIN uplift_features AS f
    ON f.snapshot_date = h.snapshot_date
    AND f.subscriber_id = h.subscriber_id
LEFT JOIN stg_subscribers AS s ON s.subscriber_id = h.subscriber_id
WHERE h.campaign = $campaign
    AND h.snapshot_date >= CAST($as_of - INTERVAL '180' DAY AS DATE)
    AND arrow_cast(h.snapshot_date, 'Int32') + $horizon_days <= arrow_cast(CAST($as_of AS DATE), 'Int32')
ORDER BY wave_date, subscriber_id
