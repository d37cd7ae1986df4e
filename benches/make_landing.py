#!/usr/bin/env python3
"""Writes a synthetic landing folder in the contract's shape, with learnable churn structure.

    python3 benches/make_landing.py --subscribers 20000 --out /tmp/landing
    cargo run -- run jobs/demo.toml --as-of 2026-11-22 --input-root /tmp/landing --warehouse /tmp/wh

What it produces under --out, in the conventional layout <source>/dt=YYYY-MM-DD/part-N.csv with
the contract's column names (docs/contract.md), every row valid:

- subscribers (dt=T): every line activated in the ~8 years before T (more recent cohorts
  larger, 20% growth a year), plan_type prepaid/postpaid (55/45), segment
  consumer/youth/business, region north/south/east/west, plus msisdn, plan_id, channel,
  birth_year and, for ended lines, deactivation_date and deactivation_reason.
- billing (dt=T): one bill per month in service over the 18 calendar months before T's
  month (bill_month YYYY-MM, invoice_id, charge_type recurring for postpaid, net_amount with
  2 decimals); lognormal ARPU by plan and segment (postpaid higher), prorated in partial
  months.
- cdr (one folder per day, dt=D, for the last --days days): per line and day in service a
  Poisson number of events (mean about 1 a day, a per-line gamma-distributed level), types
  voice/sms/data/mms (mix by segment), direction in/out, duration_s for voice and data,
  volume_bytes for data, local event_time with its UTC offset (CET/CEST), other_party.
- recharges (dt=T, prepaid only): top-ups from activation to deactivation (or T) as a
  Poisson process with a gamma-distributed per-line rate (mean one every ~10 days), amounts
  in usual denominations, channel. The full history is written by default because cvm's
  BG/NBD model counts repeat recharge days since activation; --recharge-days N keeps only the
  last N days (smaller, but the BG/NBD then sees old lines as slow rechargers).
- tickets (dt=T, over the last --days days): a few % of lines a month open one (complaint,
  fault, inquiry, other); resolved_at a few hours to days later, empty while still open at T.
- optouts (dt=T): about 2% of lines, one channel or all; strategic_fit (dt=T): one score per
  segment.

The churn signal:
- Retention: each line has a latent monthly churn probability theta ~ Beta(alpha, beta)
  depending on plan and segment (e.g. postpaid consumer Beta(0.8, 12), postpaid business
  Beta(0.7, 25), prepaid consumer Beta(1.0, 6)), so churn falls with tenure across the base
  the way a shifted-beta-geometric model expects. A line is at risk in each of its tenure
  months (counted the way cvm counts whole months); the first month it churns is drawn
  directly from the geometric law, which is the same as flipping a theta-coin month by
  month, and the deactivation_date is a day within that month. Lines still in service at T
  have no deactivation_date (their simulated end, if within 90 days after T, still drives
  the warning signs below, so the snapshot at T looks like one with churn ahead).
- Warning signs: 70% of churners go through a disengagement phase over the 30..75 days
  before their deactivation: usage falls steadily to 5..35% of its level (fewer active
  days, fewer voice minutes, less data), bills fall (prepaid strongly, postpaid partly),
  complaint tickets rise and prepaid recharges thin out (gaps). The other 30% churn abruptly
  with no warning. Noise: lines also go through dips of the same shape that recover without
  churning (0.3 theta a month, so about 30% of all dips lead to no churn), and usage levels
  differ a lot between lines, so a low-usage line is not by itself a churner.

Deterministic: the same --seed, --subscribers, --shard-size, --days, --recharge-days and
--as-of give byte-identical files, whatever --jobs is. Subscribers are generated in shards
of --shard-size lines (shard k writes part-k.csv in every folder, each with its own random
stream), run in --jobs processes. The source folders under --out are replaced.

Ends with a summary line: rows per source and the lines deactivated in the last 30 and 60 days.
"""
import argparse
import calendar
import math
import os
import random
import shutil
import sys
import time
from datetime import date, timedelta

SOURCES = ("subscribers", "billing", "cdr", "recharges", "tickets", "optouts", "strategic_fit")
HEADERS = {
    "subscribers": "subscriber_id,msisdn,activation_date,deactivation_date,deactivation_reason,"
    "plan_type,plan_id,segment,region,channel,birth_year",
    "billing": "subscriber_id,bill_month,invoice_id,charge_type,net_amount",
    "cdr": "subscriber_id,event_time,event_type,direction,duration_s,volume_bytes,other_party",
    "recharges": "subscriber_id,recharge_time,amount,channel",
    "tickets": "subscriber_id,opened_at,category,resolved_at",
    "optouts": "subscriber_id,channel,since",
    "strategic_fit": "subscriber_id,segment,score",
}

HISTORY_YEARS = 8
COHORT_GROWTH = 0.20  # cohorts grow 20% a year
BILL_MONTHS = 18
FUTURE_DAYS = 90  # how far past T line ends are simulated (for warning signs at T)

# monthly churn probability theta ~ Beta(alpha, beta) per (plan, segment)
CHURN_BETA = {
    ("postpaid", "consumer"): (0.8, 12.0),
    ("postpaid", "youth"): (0.9, 9.0),
    ("postpaid", "business"): (0.7, 25.0),
    ("prepaid", "consumer"): (1.0, 6.0),
    ("prepaid", "youth"): (1.1, 5.0),
    ("prepaid", "business"): (0.9, 8.0),
}
SEGMENT_MIX = {"prepaid": (0.60, 0.35, 0.05), "postpaid": (0.60, 0.15, 0.25)}  # consumer, youth, business
SEGMENTS = ("consumer", "youth", "business")
REGIONS = ("north",) * 30 + ("south",) * 25 + ("east",) * 25 + ("west",) * 20
SALES_CHANNELS = ("store",) * 4 + ("online",) * 3 + ("dealer",) * 2 + ("telesales",)
# (mu, sigma) of the lognormal monthly ARPU
ARPU = {
    ("postpaid", "consumer"): (3.45, 0.40),
    ("postpaid", "youth"): (3.20, 0.35),
    ("postpaid", "business"): (3.90, 0.45),
    ("prepaid", "consumer"): (2.30, 0.55),
    ("prepaid", "youth"): (2.20, 0.50),
    ("prepaid", "business"): (2.60, 0.55),
}
# event mix per segment in percent: voice, sms, data, mms
EVENT_MIX = {"consumer": (40, 15, 40, 5), "youth": (20, 25, 50, 5), "business": (60, 10, 28, 2)}
DATA_MB = {"consumer": 6.0, "youth": 12.0, "business": 5.0}  # mean MB per data session
VOICE_S = {"consumer": 130.0, "youth": 90.0, "business": 200.0}  # mean seconds per call
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 8, 7, 7, 7, 8, 9, 9, 8, 6, 4, 2)
DENOMINATIONS = (5, 10, 15, 20, 25, 30, 50)
RECHARGE_CHANNELS = ("app", "app", "app", "shop", "voucher", "online", "online")
TICKET_BASE = (("complaint",) * 25 + ("fault",) * 25 + ("inquiry",) * 40 + ("other",) * 10)
TICKET_DIP = (("complaint",) * 65 + ("fault",) * 20 + ("inquiry",) * 10 + ("other",) * 5)
OPTOUT_CHANNELS = ("sms", "sms", "email", "email", "call", "")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--subscribers", type=int, default=50_000, help="lines ever activated (default 50000)")
    p.add_argument("--days", type=int, default=150, help="days of cdr and tickets before T (default 150)")
    p.add_argument("--as-of", default="2026-11-22", help="snapshot date T (default 2026-11-22)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="landing root; its source folders are replaced")
    p.add_argument("--recharge-days", type=int, default=0,
                   help="keep only recharges of the last N days (default 0: the full history)")
    p.add_argument("--cdr-rows", type=int, default=0,
                   help="optional: scale usage down so the cdr has roughly this many rows (default: no scaling)")
    p.add_argument("--shard-size", type=int, default=100_000, help="lines per shard / part file")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (output does not depend on it)")
    a = p.parse_args(argv)
    if a.subscribers < 1 or a.days < 1 or a.shard_size < 1 or a.jobs < 1:
        p.error("--subscribers, --days, --shard-size and --jobs must be positive")
    return a


def dst_offset(d):
    """Europe/Paris offset on day d (CEST from the last Sunday of March to the last Sunday of October)."""
    def last_sunday(y, m):
        last = date(y, m, calendar.monthrange(y, m)[1])
        return last - timedelta(days=(last.weekday() + 1) % 7)
    return "+02:00" if last_sunday(d.year, 3) <= d < last_sunday(d.year, 10) else "+01:00"


def month_start(act, n):
    """Ordinal of the first day on which a line activated on `act` has n whole months in service.

    cvm counts months age-style (12*dy + dm, minus 1 when day(end) < day(start)); when the
    target month has no day(act), the count is reached on the 1st of the month after."""
    m0 = act.month - 1 + n
    y, m = act.year + m0 // 12, m0 % 12 + 1
    if act.day <= calendar.monthrange(y, m)[1]:
        return date(y, m, act.day).toordinal()
    m0 += 1
    return date(act.year + m0 // 12, m0 % 12 + 1, 1).toordinal()


def poisson(r, mu):
    """A Poisson draw: exact (Knuth) below 30, normal approximation above."""
    if mu <= 0.0:
        return 0
    if mu < 30.0:
        limit, k, prod = math.exp(-mu), 0, r()
        while prod > limit:
            k += 1
            prod *= r()
        return k
    return max(0, int(mu + math.sqrt(mu) * _gauss(r) + 0.5))


def _gauss(r):
    # Box-Muller from the shard's own stream (random.gauss would use the module's global state)
    return math.sqrt(-2.0 * math.log(1.0 - r())) * math.cos(2.0 * math.pi * r())


def engagement(episodes, d):
    """Usage multiplier on day ordinal d: 1 normally, lower inside a dip or a pre-churn decline."""
    m = 1.0
    for start, length, falls, low in episodes:
        x = d - start
        if 0 <= x < length:
            p = (x + 1) / length
            if falls:  # steady decline to `low` at deactivation
                v = 1.0 - (1.0 - low) * p ** 0.8
            else:  # dip to `low` at 70% of the episode, then recovery
                v = 1.0 - (1.0 - low) * (p / 0.7 if p < 0.7 else (1.0 - p) / 0.3)
            if v < m:
                m = v
    return m


class Config:
    def __init__(self, a):
        self.n = a.subscribers
        self.days = a.days
        self.seed = a.seed
        self.out = a.out
        self.shard_size = a.shard_size
        self.recharge_days = a.recharge_days
        self.cdr_rows = a.cdr_rows
        self.T = date.fromisoformat(a.as_of)


def shard_worker(job):
    cfg, shard = job
    return generate_shard(cfg, shard)


def generate_shard(cfg, shard):
    T = cfg.T
    t_ord = T.toordinal()
    r_gen = random.Random(f"cvm-landing:{cfg.seed}:{shard}")
    r = r_gen.random
    betav, gammav, lognv = r_gen.betavariate, r_gen.gammavariate, r_gen.lognormvariate
    log, exp = math.log, math.exp

    # calendar tables, indexed by day ordinal - base: "YYYY-MM-DD", "YYYY-MM-DDT" and the UTC offset
    w0 = t_ord - cfg.days + 1  # first day of the cdr / tickets window
    base = min(t_ord - HISTORY_YEARS * 366 - 40, w0 - 80)
    day_prefix, day_offset, day_iso = [], [], []
    for o in range(base, t_ord + 2):
        d = date.fromordinal(o)
        iso = d.isoformat()
        day_iso.append(iso)
        day_prefix.append(iso + "T")
        day_offset.append(dst_offset(d))
    tod = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    hour_start = [h * 3600 for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
    n_hours = len(hour_start)

    rc0 = t_ord - cfg.recharge_days + 1 if cfg.recharge_days > 0 else -1
    # billing months: L-17 .. L, L = the month before T's month
    months = []
    y, m = T.year, T.month
    for _ in range(BILL_MONTHS):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        first = date(y, m, 1).toordinal()
        dim = calendar.monthrange(y, m)[1]
        months.append((f"{y}-{m:02d}", f"{y}{m:02d}", first, first + dim, dim))
    months.reverse()

    usage_scale = 1.0
    if cfg.cdr_rows > 0:  # rough: about 30% of all lines are in service on a day of the window
        usage_scale = min(1.0, cfg.cdr_rows / max(1.0, 0.3 * cfg.n * cfg.days))

    type_table = {}
    for seg, mix in EVENT_MIX.items():
        type_table[seg] = [t for t, w in enumerate(mix) for _ in range(w)]

    span = HISTORY_YEARS * 365
    growth = COHORT_GROWTH
    tail = 1.0 - exp(-growth * HISTORY_YEARS)

    lo_id = shard * cfg.shard_size
    hi_id = min(cfg.n, lo_id + cfg.shard_size)
    part = f"part-{shard}.csv"

    def open_part(source, dt):
        folder = os.path.join(cfg.out, source, f"dt={dt}")
        os.makedirs(folder, exist_ok=True)
        f = open(os.path.join(folder, part), "w", newline="", buffering=1 << 20)
        f.write(HEADERS[source] + "\n")
        return f

    f_sub = open_part("subscribers", T)
    f_bill = open_part("billing", T)
    f_rch = open_part("recharges", T)
    f_tck = open_part("tickets", T)
    f_opt = open_part("optouts", T)
    f_cdr = [open_part("cdr", date.fromordinal(w0 + j)) for j in range(cfg.days)]
    cdr_buf = [[] for _ in range(cfg.days)]
    counts = dict.fromkeys(SOURCES, 0)
    counts.update(active=0, deact_30=0, deact_60=0, cdr_buffered=0, warned=0, abrupt=0, dips=0)
    sub_rows, bill_rows, rch_rows, tck_rows, opt_rows = [], [], [], [], []

    def flush():
        for j, buf in enumerate(cdr_buf):
            if buf:
                f_cdr[j].write("".join(buf))
                buf.clear()
        for f, rows in ((f_sub, sub_rows), (f_bill, bill_rows), (f_rch, rch_rows), (f_tck, tck_rows),
                        (f_opt, opt_rows)):
            if rows:
                f.write("".join(rows))
                rows.clear()

    for i in range(lo_id, hi_id):
        sid = f"S{i:08d}"
        # --- static attributes
        plan = "prepaid" if r() < 0.55 else "postpaid"
        u = r()
        mix = SEGMENT_MIX[plan]
        seg = SEGMENTS[0] if u < mix[0] else SEGMENTS[1] if u < mix[0] + mix[1] else SEGMENTS[2]
        region = REGIONS[int(r() * len(REGIONS))]
        age = int(-log(1.0 - r() * tail) / growth * 365.0)  # days before T, recent cohorts larger
        act_ord = t_ord - min(age, span)
        act = date.fromordinal(act_ord)
        a_, b_ = CHURN_BETA[(plan, seg)]
        theta = betav(a_, b_)

        # --- deactivation: the first tenure month k in which the theta-coin comes up churn
        end_ord = None  # first day out of service (may be after T: not written, drives warnings)
        if theta > 0.0:
            k = 1 + int(log(1.0 - r()) / math.log1p(-theta)) if theta < 1.0 else 1
            if k <= (t_ord + FUTURE_DAYS - act_ord) // 28 + 2:
                ms = month_start(act, k - 1)
                if ms <= t_ord + FUTURE_DAYS:
                    me = month_start(act, k)
                    lo = max(ms, act_ord + 1)
                    end_ord = lo + int(r() * (me - lo))
        ended = end_ord is not None and end_ord <= t_ord
        alive_to = min(end_ord, t_ord + 1) if end_ord is not None else t_ord + 1  # exclusive, capped at T+1

        # --- warning signs
        episodes = []
        reason = ""
        if end_ord is not None:
            if r() < 0.70:
                length = 30 + int(r() * 46)
                episodes.append((end_ord - length, length, True, 0.05 + 0.30 * r()))
                reason = "voluntary" if r() < 0.55 else "port_out"
                if w0 <= end_ord <= t_ord:
                    counts["warned"] += 1
            else:
                x = r()
                reason = "involuntary" if x < 0.5 else "port_out" if x < 0.8 else "voluntary"
                if w0 <= end_ord <= t_ord:
                    counts["abrupt"] += 1
        d0 = max(act_ord, w0 - 75)
        d1 = min(alive_to, t_ord + 1)
        if d1 > d0:
            for _ in range(poisson(r, 0.3 * theta * (d1 - d0) / 30.44)):
                length = 30 + int(r() * 46)
                start = d0 - length + int(r() * (d1 - d0 + length))
                episodes.append((start, length, False, 0.05 + 0.30 * r()))
                counts["dips"] += 1

        # --- subscribers row
        if ended:
            if end_ord > t_ord - 30:
                counts["deact_30"] += 1
            if end_ord > t_ord - 60:
                counts["deact_60"] += 1
        else:
            counts["active"] += 1
        mu, sigma = ARPU[(plan, seg)]
        arpu = lognv(mu, sigma)
        tier = "S" if arpu < exp(mu - 0.3 * sigma) else "M" if arpu < exp(mu + 0.5 * sigma) else "L"
        plan_id = ("PRE_" if plan == "prepaid" else "POST_") + tier
        if seg == "youth":
            birth = 2008 - int(r() * 12)
        else:
            birth = 2002 - int(r() * 52)
        birth = min(birth, act.year - 14)
        sub_rows.append(
            f"{sid},+336{10000000 + i:08d},{act.isoformat()},{day_iso[end_ord - base] if ended else ''},"
            f"{reason if ended else ''},{plan},{plan_id},{seg},{region},"
            f"{SALES_CHANNELS[int(r() * len(SALES_CHANNELS))]},{birth}\n")

        # --- billing: months in service among L-17 .. L
        postpaid = plan == "postpaid"
        for label, compact, mfirst, mnext, dim in months:
            s = max(act_ord, mfirst)
            e = min(alive_to, mnext)
            if e <= s:
                continue
            amount = arpu * (0.9 + 0.2 * r()) * (e - s) / dim
            if episodes:
                g = engagement(episodes, (s + e) // 2)
                amount *= (0.55 + 0.45 * g) if postpaid else (0.15 + 0.85 * g)
            if amount < 0.01:
                amount = 0.01
            bill_rows.append(f"{sid},{label},INV{i:08d}{compact},{'recurring' if postpaid else ''},{amount:.2f}\n")
            counts["billing"] += 1

        # --- cdr: Poisson events per day in service, thinned by the engagement multiplier
        first, last = max(act_ord, w0), min(alive_to, t_ord + 1)  # [first, last)
        nd = last - first
        if nd > 0:
            level = gammav(2.0, 0.5) * usage_scale
            mw = None
            if episodes:
                mw = [engagement(episodes, d) for d in range(first, last)]
                if min(mw) >= 1.0:
                    mw = None
            types = type_table[seg]
            n_types = len(types)
            vmean = VOICE_S[seg] * (0.5 + r())
            dmean = DATA_MB[seg] * 1048576.0 * (0.3 + 1.4 * r())
            contacts = [f"+336{int(r() * 90000000) + 10000000}" for _ in range(2 + int(r() * 8))]
            n_contacts = len(contacts)
            j0 = first - w0
            p0 = first - base
            n_ev = 0
            for _ in range(poisson(r, level * nd)):
                x = int(r() * nd)
                if mw is not None and r() >= mw[x]:
                    continue
                when = day_prefix[p0 + x] + tod[hour_start[int(r() * n_hours)] + int(r() * 3600)] + day_offset[p0 + x]
                t = types[int(r() * n_types)]
                if t == 0:
                    row = (f"{sid},{when},voice,{'out' if r() < 0.55 else 'in'},"
                           f"{int(-vmean * log(1.0 - r())) + 1},,{contacts[int(r() * n_contacts)]}\n")
                elif t == 1:
                    row = f"{sid},{when},sms,{'out' if r() < 0.5 else 'in'},,,{contacts[int(r() * n_contacts)]}\n"
                elif t == 2:
                    row = (f"{sid},{when},data,out,{int(-600.0 * log(1.0 - r())) + 1},"
                           f"{int(-dmean * log(1.0 - r()))},\n")
                else:
                    row = f"{sid},{when},mms,{'out' if r() < 0.5 else 'in'},,,{contacts[int(r() * n_contacts)]}\n"
                cdr_buf[j0 + x].append(row)
                n_ev += 1
            counts["cdr"] += n_ev
            counts["cdr_buffered"] += n_ev

            # --- tickets: a base rate, plus extra ones (mostly complaints) where engagement is low
            rate = 0.001 * gammav(1.0, 1.0)  # ~3% of lines a month, some lines call more often
            n_base = poisson(r, rate * nd)
            n_dip = poisson(r, 0.012 * sum(1.0 - v for v in mw)) if mw is not None else 0
            for n_t in range(n_base + n_dip):
                x = int(r() * nd)
                if n_t >= n_base:
                    while r() >= 1.0 - mw[x]:
                        x = int(r() * nd)
                o = first + x
                sec = hour_start[int(r() * n_hours)] + int(r() * 3600)
                cat = (TICKET_BASE if n_t < n_base else TICKET_DIP)[int(r() * 100)]
                resolved = ""
                if r() > 0.03:  # 3% stay open; the rest resolved ~30 hours later on average
                    rs = sec + int(-30.0 * 3600.0 * log(1.0 - r())) + 600
                    ro = o + rs // 86400
                    if ro <= t_ord:
                        resolved = day_prefix[ro - base] + tod[rs % 86400] + day_offset[ro - base]
                tck_rows.append(f"{sid},{day_prefix[o - base]}{tod[sec]}{day_offset[o - base]},{cat},{resolved}\n")
            counts["tickets"] += n_base + n_dip

        # --- recharges (prepaid): Poisson process from activation, thinned in dips and declines
        if not postpaid:
            lam = gammav(2.5, 0.1 / 2.5)  # per day, mean one every 10 days
            target = arpu / max(lam * 30.44, 0.2)
            pref = min(range(len(DENOMINATIONS)), key=lambda k: abs(DENOMINATIONS[k] - target))
            chan = RECHARGE_CHANNELS[int(r() * len(RECHARGE_CHANNELS))]
            t = float(act_ord)
            first_one = True
            stop = alive_to
            while True:
                if not first_one:
                    t += -log(1.0 - r()) / lam
                o = int(t)
                if o >= stop:
                    break
                if not first_one and episodes:
                    g = engagement(episodes, o)
                    if g < 1.0 and r() >= g ** 1.5:
                        continue
                first_one = False
                if o < rc0:
                    continue
                k = pref
                x = r()
                if x < 0.15 and k > 0:
                    k -= 1
                elif x > 0.85 and k < len(DENOMINATIONS) - 1:
                    k += 1
                sec = hour_start[int(r() * n_hours)] + int(r() * 3600)
                c = chan if r() < 0.8 else RECHARGE_CHANNELS[int(r() * len(RECHARGE_CHANNELS))]
                rch_rows.append(f"{sid},{day_prefix[o - base]}{tod[sec]}{day_offset[o - base]},"
                                f"{DENOMINATIONS[k]}.00,{c}\n")
                counts["recharges"] += 1

        # --- opt-outs
        if r() < 0.02:
            since = act_ord + int(r() * (min(alive_to, t_ord + 1) - act_ord))
            opt_rows.append(f"{sid},{OPTOUT_CHANNELS[int(r() * len(OPTOUT_CHANNELS))]},{day_iso[since - base]}\n")
            counts["optouts"] += 1

        counts["subscribers"] += 1
        if counts["cdr_buffered"] > 400_000 or len(bill_rows) > 200_000 or len(rch_rows) > 200_000:
            flush()
            counts["cdr_buffered"] = 0
    flush()
    for f in [f_sub, f_bill, f_rch, f_tck, f_opt] + f_cdr:
        f.close()
    del counts["cdr_buffered"]
    return counts


def main(argv=None):
    a = parse_args(argv)
    cfg = Config(a)
    started = time.time()
    os.makedirs(cfg.out, exist_ok=True)
    for source in SOURCES:
        shutil.rmtree(os.path.join(cfg.out, source), ignore_errors=True)

    shards = (cfg.n + cfg.shard_size - 1) // cfg.shard_size
    jobs = [(cfg, k) for k in range(shards)]
    if a.jobs == 1 or shards == 1:
        results = [shard_worker(j) for j in jobs]
    else:
        import multiprocessing
        with multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn").Pool(
                min(a.jobs, shards)) as pool:
            results = pool.map(shard_worker, jobs, chunksize=1)
    total = {}
    for c in results:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v

    folder = os.path.join(cfg.out, "strategic_fit", f"dt={cfg.T}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "part-0.csv"), "w", newline="") as f:
        f.write(HEADERS["strategic_fit"] + "\n,business,0.80\n,consumer,0.50\n,youth,0.65\n")
    total["strategic_fit"] = 3

    print(f"wrote {cfg.out} as of {cfg.T} in {time.time() - started:.1f}s: "
          f"{total['subscribers']} subscribers ({total['active']} active at T), {total['billing']} billing, "
          f"{total['cdr']} cdr ({cfg.days} days), {total['recharges']} recharges, {total['tickets']} tickets, "
          f"{total['optouts']} optouts, {total['strategic_fit']} strategic_fit rows; "
          f"deactivated in the last 30 days {total['deact_30']}, last 60 days {total['deact_60']} "
          f"(of the {total['warned'] + total['abrupt']} ended in the last {cfg.days} days, {total['warned']} "
          f"with warning signs, {total['abrupt']} abrupt; {total['dips']} dips without churn)")


if __name__ == "__main__":
    main()
