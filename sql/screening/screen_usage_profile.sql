-- screen_usage_profile: the model library's anomaly score: lines whose usage and money profile lies
--   far from their plan type's.
-- grain: one row per line in service at T on which the rule fires.
-- inputs: profile_outliers (registered by the screening step: src/stages/screening/profile.rs fits a robust
--   Mahalanobis distance per plan type over sql/models/profile_features.sql and keeps the lines at or
--   beyond $profile_min_distance)
-- params: $profile_weight
-- The distance weighs five features together (voice minutes, sms and data MiB a day, the share of
-- events made, the month's money), each scaled by its plan type's median and MAD and counted only
-- above the median, against the covariance of the plan type's core lines: a line moderately high
-- on features that rarely rise together is far. The reason names the feature furthest above its
-- median.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     usage_profile
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  the robust Mahalanobis distance
--   reason         Utf8     the rule in words, with the line's figures
SELECT
    o.subscriber_id,
    'usage_profile' AS rule,
    CAST($profile_weight AS DOUBLE) AS weight,
    o.distance AS figure,
    arrow_cast(concat(
        'usage profile far from its plan type''s (robust distance ', CAST(round(o.distance, 1) AS VARCHAR),
        '); furthest: ', o.strongest, ' ', CAST(round(o.strongest_value, 1) AS VARCHAR),
        ' against a median of ', CAST(round(o.strongest_usual, 1) AS VARCHAR)
    ), 'Utf8') AS reason
FROM profile_outliers AS o
