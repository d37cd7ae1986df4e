-- int_contract_position: where each postpaid line stands in its commitment term at $as_of.
-- grain: one row per subscriber known at $as_of.
-- inputs: int_tenure_computed, stg_subscribers
-- params: $commitment_months (the job's churn.commitment_months: the term of a postpaid line whose
--   extract gives none)
-- Terms renew on the anniversaries of the activation: a line with a term of c months and n whole
-- months of tenure (age style, as tenure_months) is in month (n mod c) + 1 of its current term,
-- which ends on the anniversary c - (n mod c) months ahead. Churn clusters at term ends (the
-- early-termination fee is gone, competitors' offers arrive), so the last months of a term are
-- the renewal window. Prepaid lines and postpaid lines without a term have no position (0).
-- columns:
--   subscriber_id       Utf8     the subscriber
--   commitment_months   Int32    the line's term in months; 0 for none (prepaid lines have none)
--   month_in_term       Int32    1 .. commitment_months: the month of the current term the line is in; 0 without a term
--   months_to_term_end  Int32    1 .. commitment_months: months until the anniversary that ends the current term,
--                                counting the current month; 0 without a term
--   in_renewal_window   Boolean  the current term ends within two months (months_to_term_end 1 or 2)
WITH terms AS (
    SELECT
        t.subscriber_id,
        t.tenure_months,
        CASE
            WHEN s.plan_type <> 'postpaid' THEN 0
            ELSE COALESCE(s.commitment_months, CAST($commitment_months AS INT))
        END AS commitment_months
    FROM int_tenure_computed AS t
    INNER JOIN stg_subscribers AS s ON s.subscriber_id = t.subscriber_id
    WHERE s.activation_date <= CAST($as_of AS DATE)
)

-- (the modulo divides by NULLIF(term, 0): the engine may evaluate a CASE branch on every row)
SELECT
    subscriber_id,
    CAST(commitment_months AS INT) AS commitment_months,
    CAST(COALESCE(tenure_months % NULLIF(commitment_months, 0) + 1, 0) AS INT) AS month_in_term,
    CAST(COALESCE(commitment_months - tenure_months % NULLIF(commitment_months, 0), 0) AS INT) AS months_to_term_end,
    COALESCE(commitment_months - tenure_months % NULLIF(commitment_months, 0) <= 2, false) AS in_renewal_window
FROM terms
