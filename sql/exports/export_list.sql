-- export_list: one campaign's list of snapshot T as a marketing tool receives it, contacts only,
--   in rank order, with the line's msisdn from the restricted contacts table.
-- grain: one row per line to contact.
-- inputs: campaigns (published), contacts (the restricted table of T's run; empty when the export
--   carries no msisdn)
-- params: $as_of (T), $campaign
-- msisdn is the last column: the export drops it, hashes it or keeps it as the job's
-- [exports] msisdn allows. Snapshots from before control groups have no group column: every row
-- is then a contact.
-- columns:
--   snapshot_date   Date32            T
--   campaign        Utf8              the campaign
--   rank            Int64             the line's place in the list, 1 first
--   subscriber_id   Utf8              the subscriber
--   channel         Utf8              the campaign's channel
--   score           Float64           what the list is ranked by
--   value_at_stake  Decimal128(18,4)  the value the campaign stands to keep or gain
--   reason          Utf8              why the line is on the list, in words
--   msisdn          Utf8              the line's number (personal: see above)
SELECT
    CAST($as_of AS DATE) AS snapshot_date,
    c.campaign,
    c.rank,
    c.subscriber_id,
    c.channel,
    c.score,
    c.value_at_stake,
    c.reason,
    k.msisdn
FROM campaigns AS c
LEFT JOIN contacts AS k ON k.subscriber_id = c.subscriber_id
WHERE c.snapshot_date = CAST($as_of AS DATE) AND c.campaign = $campaign
    AND coalesce(c."group", 'contact') = 'contact'
ORDER BY c.rank
