-- score_lifetime: remaining lifetime and lifetime value at T from the retention models.
-- grain: one row per subscriber known at T.
-- inputs: int_subscriber_features, int_cohort_groups, int_recharge_summary (at T),
--   model_retention_curve (the run's fitted sBG curves: one row per cohort group and tenure)
-- params: $bgnbd_fitted, $bgnbd_r, $bgnbd_alpha (weeks), $bgnbd_a, $bgnbd_b; $clv_horizon_months (K);
--   $monthly_discount_rate; $margin_rate; $peer_percentile
-- Postpaid: expected_lifetime_months and the discounted months come from the cohort group's sBG
-- curve at the line's tenure (sum over the next K months of the chance to still be in service).
-- Prepaid: BG/NBD's p_alive times an exponential survival at the line's posterior mean
-- drop-out hazard (r + x) / (alpha + T) * a / (a + b + x) per week, summed over K months the same way.
-- current_value   = margin_rate * arpu_3m * discounted months
-- potential_value = margin_rate * max(0, peer target ARPU - arpu_3m) * discounted months, where the
--   target is the $peer_percentile (nearest rank) of arpu_3m over active lines of the peer group.
-- Ended lines have 0 months and 0 value; an active line without arpu_3m has null values.
-- columns:
--   subscriber_id             Utf8              the subscriber
--   p_alive                   Float64           prepaid: chance the line is still recharging (0 once ended); postpaid
--                                               null
--   expected_recharges_3m     Float64           prepaid: expected recharge days in the next 3 months (BG/NBD); postpaid
--                                               null
--   expected_lifetime_months  Float64           expected further months in service, over the next K months
--   discounted_months         Float64           the same months discounted monthly to T
--   target_arpu               Decimal128(18,4)  the peer group's target ARPU
--   current_value             Decimal128(18,4)  discounted expected margin at the current ARPU
--   potential_value           Decimal128(18,4)  discounted margin uplift if ARPU reached the target
--   clv                       Decimal128(18,4)  current_value + potential_value
WITH base AS (
    SELECT f.subscriber_id, f.plan_type, f.is_active, f.tenure_months, f.arpu_3m, g.cohort_group, g.peer_group
    FROM int_subscriber_features AS f
    INNER JOIN int_cohort_groups AS g ON g.subscriber_id = f.subscriber_id
),

peer_ranked AS (
    SELECT
        peer_group,
        arpu_3m,
        ROW_NUMBER() OVER (PARTITION BY peer_group ORDER BY arpu_3m) AS position,
        COUNT(*) OVER (PARTITION BY peer_group) AS members
    FROM base
    WHERE is_active AND arpu_3m IS NOT NULL
),

peer_target AS (
    SELECT peer_group, MAX(arpu_3m) AS target_arpu
    FROM peer_ranked
    WHERE position = CAST(ceil($peer_percentile * members) AS BIGINT)
    GROUP BY peer_group
),

prepaid AS (
    SELECT
        subscriber_id,
        CASE WHEN frequency = 0 THEN 1.0
            ELSE 1.0 / (1.0 + $bgnbd_a / ($bgnbd_b + frequency - 1)
                * power(($bgnbd_alpha + age_weeks) / ($bgnbd_alpha + recency_weeks), $bgnbd_r + frequency))
        END AS p_alive,
        -- three months = 3 * 30.4375 days, in weeks
        cvm_bgnbd_expected(
            3.0 * 30.4375 / 7.0, frequency, recency_weeks, age_weeks, $bgnbd_r, $bgnbd_alpha, $bgnbd_a, $bgnbd_b
        ) AS expected_recharges_3m,
        -- monthly survival factor exp(-hazard per month), a month being 30.4375 / 7 weeks
        exp(-(($bgnbd_r + frequency) / ($bgnbd_alpha + age_weeks)) * ($bgnbd_a / ($bgnbd_a + $bgnbd_b + frequency))
            * 30.4375 / 7.0) AS monthly_survival
    FROM int_recharge_summary
    WHERE $bgnbd_fitted
),

months AS (
    SELECT
        b.subscriber_id,
        b.plan_type,
        b.is_active,
        b.arpu_3m,
        b.peer_group,
        CASE WHEN b.plan_type = 'prepaid' THEN CASE WHEN b.is_active THEN p.p_alive ELSE 0.0 END END AS p_alive,
        CASE WHEN b.plan_type = 'prepaid' THEN CASE WHEN b.is_active THEN p.expected_recharges_3m ELSE 0.0 END END
            AS expected_recharges_3m,
        CASE
            WHEN NOT b.is_active THEN 0.0
            WHEN b.plan_type = 'postpaid' THEN c.expected_lifetime_months
            -- p_alive * sum_{k=1..K} q^k with q the monthly survival
            ELSE p.p_alive * p.monthly_survival * (1.0 - power(p.monthly_survival, $clv_horizon_months))
                / (1.0 - p.monthly_survival)
        END AS expected_lifetime_months,
        CASE
            WHEN NOT b.is_active THEN 0.0
            WHEN b.plan_type = 'postpaid' THEN c.discounted_months
            ELSE p.p_alive * (p.monthly_survival / (1.0 + $monthly_discount_rate))
                * (1.0 - power(p.monthly_survival / (1.0 + $monthly_discount_rate), $clv_horizon_months))
                / (1.0 - p.monthly_survival / (1.0 + $monthly_discount_rate))
        END AS discounted_months
    FROM base AS b
    LEFT JOIN model_retention_curve AS c ON c.cohort_group = b.cohort_group AND c.tenure_months = b.tenure_months
    LEFT JOIN prepaid AS p ON p.subscriber_id = b.subscriber_id
),

valued AS (
    SELECT
        m.subscriber_id,
        m.p_alive,
        m.expected_recharges_3m,
        m.expected_lifetime_months,
        m.discounted_months,
        t.target_arpu,
        CASE
            WHEN NOT m.is_active THEN CAST(0 AS DECIMAL(18, 4))
            ELSE CAST($margin_rate * CAST(m.arpu_3m AS DOUBLE) * m.discounted_months AS DECIMAL(18, 4))
        END AS current_value,
        CASE
            WHEN NOT m.is_active THEN CAST(0 AS DECIMAL(18, 4))
            ELSE CAST(
                $margin_rate * GREATEST(CAST(t.target_arpu AS DOUBLE) - CAST(m.arpu_3m AS DOUBLE), 0.0)
                    * m.discounted_months
                AS DECIMAL(18, 4)
            )
        END AS potential_value
    FROM months AS m
    LEFT JOIN peer_target AS t ON t.peer_group = m.peer_group
)

SELECT
    subscriber_id,
    p_alive,
    expected_recharges_3m,
    expected_lifetime_months,
    discounted_months,
    target_arpu,
    current_value,
    potential_value,
    CAST(current_value + potential_value AS DECIMAL(18, 4)) AS clv
FROM valued
