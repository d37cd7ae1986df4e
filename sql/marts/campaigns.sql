-- campaigns: whom each campaign contacts this run, in the order to contact them, and its control group.
-- grain: one row per subscriber in a campaign; a subscriber is in at most one campaign per snapshot.
-- partitioning: snapshot_date=T, campaign=NAME
-- inputs: campaign_selection, campaign_assigned, campaign_cooling, stg_optouts, screening
-- params: $campaign, $channel, $cap, $control_share, $control_seed, $hold_suspects
-- The run evaluates this once per campaign of the job, in the job's priority order:
-- campaign_selection is that campaign's selection over customer_value (a file in sql/campaigns/
-- or the job's rule), campaign_assigned the subscribers taken by the campaigns before it (control
-- groups included, so that no other campaign contacts a held-out subscriber).
-- A subscriber who opted out of the campaign's channel, or of every channel (no channel), is
-- left out whatever the opt-out's since date: the list is used after the run, and an opt-out
-- holds from the day it is known. campaign_cooling is the subscribers the campaign listed (as
-- contact or control) on an earlier night whose cool-down has not ended (contacts_history's
-- cooldown_until after T): they are not listed again until it has. A line the screening holds
-- suspect is left out of every campaign when $hold_suspects: it is the fraud team's first.
-- Control group: each qualifying subscriber is held out with probability $control_share, drawn
-- by cvm_hash_unit(subscriber_id, '<$control_seed>/<$campaign>'): the same subscriber, campaign and
-- seed give the same draw on every run, and campaigns draw independently. $cap counts contacts
-- only; the control group is drawn from the same ranks as the contacts (every held-out
-- subscriber ranked above the last contact), so the two groups stay comparable.
-- columns:
--   subscriber_id   Utf8              the subscriber
--   rank            Int64             1 = contact first: by score, then value_at_stake, descending, then subscriber_id,
--                                     counted within the subscriber's group
--   score           Float64           the campaign's ranking score (see its selection)
--   value_at_stake  Decimal128(18,4)  the money the contact is about (see its selection)
--   reason          Utf8              why this subscriber, in words
--   channel         Utf8              the contact channel
--   group           Utf8              contact (to be contacted) or control (held out: never exported or
--                                     contacted, the baseline the campaign's effect is measured against)
WITH opted_out AS (
    SELECT DISTINCT o.subscriber_id
    FROM stg_optouts AS o
    WHERE o.channel IS NULL OR o.channel IN ('all', '*') OR o.channel = CAST($channel AS VARCHAR)
),

selected AS (
    -- a hand-written selection may list a subscriber twice: keep its best row
    SELECT
        s.subscriber_id,
        s.score,
        s.value_at_stake,
        s.reason,
        ROW_NUMBER() OVER (
            PARTITION BY s.subscriber_id ORDER BY s.score DESC NULLS LAST, s.value_at_stake DESC NULLS LAST
        ) AS copy
    FROM campaign_selection AS s
    WHERE s.subscriber_id IS NOT NULL
        AND s.subscriber_id NOT IN (SELECT subscriber_id FROM opted_out)
        AND s.subscriber_id NOT IN (SELECT subscriber_id FROM campaign_assigned)
        AND s.subscriber_id NOT IN (SELECT subscriber_id FROM campaign_cooling)
        AND s.subscriber_id NOT IN (
            SELECT subscriber_id FROM screening WHERE $hold_suspects AND screening_level = 'suspect'
        )
),

drawn AS (
    SELECT
        subscriber_id,
        score,
        value_at_stake,
        reason,
        CASE
            WHEN cvm_hash_unit(
                subscriber_id, concat(CAST($control_seed AS VARCHAR), '/', CAST($campaign AS VARCHAR))
            ) < $control_share THEN 'control'
            ELSE 'contact'
        END AS list_group
    FROM selected
    WHERE copy = 1
),

ranked AS (
    SELECT
        subscriber_id,
        ROW_NUMBER() OVER (
            PARTITION BY list_group
            ORDER BY score DESC NULLS LAST, value_at_stake DESC NULLS LAST, subscriber_id
        ) AS position,
        -- contacts ranked above this row: the cap is reached where it equals $cap
        COALESCE(SUM(CASE WHEN list_group = 'contact' THEN 1 ELSE 0 END) OVER (
            ORDER BY score DESC NULLS LAST, value_at_stake DESC NULLS LAST, subscriber_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) AS contacts_above,
        score,
        value_at_stake,
        reason,
        list_group
    FROM drawn
)

SELECT
    r.subscriber_id,
    CAST(r.position AS BIGINT) AS rank,
    r.score,
    r.value_at_stake,
    r.reason,
    arrow_cast(CAST($channel AS VARCHAR), 'Utf8') AS channel,
    arrow_cast(r.list_group, 'Utf8') AS "group"
FROM ranked AS r
WHERE r.contacts_above < CAST($cap AS BIGINT)
ORDER BY r.list_group, r.position
