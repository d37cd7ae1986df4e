-- contacts_history: every night's campaign lists, kept for the nights after: a campaign's cool-down
-- reads it, and a campaign's measured effect will (contact against control, by wave).
-- grain: one row per snapshot, campaign and listed subscriber (contacts and control group alike).
-- partitioning: snapshot_date=T, campaign=NAME
-- inputs: campaign_list (the list sql/marts/campaigns.sql just built for the campaign)
-- params: $cooldown_until
-- The campaigns table is what marketing pulls for a snapshot; this is the record cvm reads back.
-- Both hold the same lists; a re-run of T replaces T's rows in both.
-- columns:
--   subscriber_id   Utf8              the subscriber listed
--   group           Utf8              contact or control (see campaigns)
--   channel         Utf8              the campaign's contact channel
--   rank            Int64             the rank within the group on the night it was listed
--   score           Float64           the campaign's score that night
--   value_at_stake  Decimal128(18,4)  the money the contact was about that night
--   cooldown_until  Date32            the first snapshot at which the campaign may list the subscriber again
--                                     (snapshot + the campaign's cooldown_days; the snapshot itself when 0)
SELECT
    l.subscriber_id,
    l."group",
    l.channel,
    l.rank,
    l.score,
    l.value_at_stake,
    CAST($cooldown_until AS DATE) AS cooldown_until
FROM campaign_list AS l
ORDER BY l."group", l.rank
