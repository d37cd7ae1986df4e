-- report_screening_rules: the report's flags per rule at snapshot T: how many lines each rule fired on.
-- grain: one row per rule of the screening (the families of sql/screening), the most frequent first.
-- inputs: screening (published); $as_of = T
-- A line counts once per rule that fired on it, so a line flagged by two rules is in both rows.
-- flags lists the rules that fired, comma-separated: a rule fired when its name is one of them.
-- columns:
--   rule           Utf8   the rule, as the flags name it
--   lines          Int64  lines in service at T it fired on
--   suspect_lines  Int64  of which the screening holds suspect
WITH rules AS (
    -- every rule of sql/screening by name (a new rule is added here too)
    SELECT rule FROM (
        VALUES ('simbox'), ('usage_spike'), ('new_line_burst'), ('bill_jump'), ('credit_heavy'),
            ('recharge_mismatch'), ('usage_profile'), ('fraud_model'), ('confirmed_case')
    ) AS r (rule)
),

flagged AS (
    SELECT
        concat(',', flags, ',') AS padded_flags,
        screening_level
    FROM screening
    WHERE snapshot_date = $as_of AND flags IS NOT NULL
)

SELECT
    arrow_cast(r.rule, 'Utf8') AS rule,
    count(f.screening_level) AS lines,
    count(f.screening_level) FILTER (WHERE f.screening_level = 'suspect') AS suspect_lines
FROM rules AS r
LEFT JOIN flagged AS f ON strpos(f.padded_flags, concat(',', r.rule, ',')) > 0
GROUP BY r.rule
ORDER BY 2 DESC, 1
