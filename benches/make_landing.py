#!/usr/bin/env python3
"""Writes a synthetic landing folder in the contract's shape, for measuring a run.

    python3 benches/make_landing.py --subscribers 50000 --cdr-rows 1200000 --out /tmp/landing
    cargo run --release -- run jobs/demo.toml --as-of 2026-11-22 --input-root /tmp/landing --warehouse /tmp/wh

Deterministic for a seed. A stopgap until `cvm generate` (issue 6) streams
realistic data at scale; this one only has to be big and valid.
"""
import argparse
import csv
import os
import random
from datetime import date, datetime, timedelta, timezone

p = argparse.ArgumentParser()
p.add_argument("--subscribers", type=int, default=50_000)
p.add_argument("--cdr-rows", type=int, default=1_200_000)
p.add_argument("--days", type=int, default=30)
p.add_argument("--as-of", default="2026-11-22")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--out", required=True)
a = p.parse_args()
rng = random.Random(a.seed)
T = date.fromisoformat(a.as_of)


def writer(rel, header):
    path = os.path.join(a.out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    f = open(path, "w", newline="")
    w = csv.writer(f, lineterminator="\n")
    w.writerow(header)
    return f, w


f, w = writer(f"subscribers/dt={T}/part-0.csv",
              ["subscriber_id", "msisdn", "activation_date", "deactivation_date", "plan_type", "segment", "region"])
ids = [f"S{i:08d}" for i in range(a.subscribers)]
for i, sid in enumerate(ids):
    act = T - timedelta(days=rng.randint(0, 3000))
    deact = act + timedelta(days=rng.randint(1, 4000)) if rng.random() < 0.1 else None
    w.writerow([sid, f"+3360{i:07d}", act, deact or "", rng.choice(["prepaid", "postpaid"]),
                rng.choice(["consumer", "youth", "business"]), rng.choice(["north", "south", "east", "west"])])
f.close()

f, w = writer(f"billing/dt={T}/part-0.csv", ["subscriber_id", "bill_month", "invoice_id", "net_amount"])
for sid in ids:
    base = rng.lognormvariate(3.0, 0.6)
    for m in range(1, 13):
        y, mo = T.year, T.month - m
        while mo < 1:
            y, mo = y - 1, mo + 12
        w.writerow([sid, f"{y}-{mo:02d}", f"I{sid}{y}{mo:02d}", f"{base * rng.uniform(0.8, 1.2):.2f}"])
f.close()

per_day = a.cdr_rows // a.days
types = ["voice", "voice", "sms", "data", "data", "mms"]
for d in range(a.days):
    day = T - timedelta(days=d)
    f, w = writer(f"cdr/dt={day}/part-0.csv",
                  ["subscriber_id", "event_time", "event_type", "direction", "duration_s", "volume_bytes", "other_party"])
    start = datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(hours=1)))
    for _ in range(per_day):
        t = rng.choice(types)
        when = start + timedelta(seconds=rng.randint(0, 86399))
        w.writerow([ids[rng.randrange(a.subscribers)], when.isoformat(), t, rng.choice(["in", "out"]),
                    rng.randint(1, 900) if t in ("voice", "data") else "",
                    rng.randint(1000, 50_000_000) if t == "data" else "", "+3361234567"])
    f.close()
print(f"wrote {a.out}: {a.subscribers} subscribers, {a.subscribers * 12} bill rows, {per_day * a.days} cdr rows")
