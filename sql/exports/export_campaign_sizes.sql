-- export_campaign_sizes: each campaign of snapshot T with its channel and the sizes of its groups,
--   for `cvm campaign list`.
-- grain: one row per campaign with at least one row in the published campaigns table at T.
-- inputs: campaigns (published)
-- params: $as_of (T)
-- Snapshots from before control groups have no group column: every row is then a contact.
-- columns:
--   campaign  Utf8   the campaign
--   channel   Utf8   its channel
--   n         Int64  lines to contact
--   control   Int64  lines held out as its control group
SELECT
    campaign,
    first_value(channel) AS channel,
    count(*) FILTER (WHERE coalesce("group", 'contact') = 'contact') AS n,
    count(*) FILTER (WHERE "group" = 'control') AS control
FROM campaigns
WHERE snapshot_date = CAST($as_of AS DATE)
GROUP BY campaign
