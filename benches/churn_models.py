#!/usr/bin/env python3
"""cvm's churn model against what an analyst fits in an afternoon, on data cvm never saw.

    python3 benches/churn_models.py --cvm target/release/cvm --subscribers 100000 [--dir /tmp/cvm-churn]

1. `cvm generate` writes a landing of N lines with 240 days of CDR as of T (default
   2026-11-22), and beside it the generator's truth: which lines end voluntarily in
   (T, T+30] and each line's true 30-day hazard given what is knowable at T
   (`_truth/churn_truth.csv`).
2. `cvm run` publishes customer_value for T (churn_risk from the model cvm chose), with
   CVM_MODEL_INPUTS set so that it also writes the churn features it computed at T and at
   each training date (sql/intermediate/int_churn_features.sql) as Parquet.
3. On exactly those features, this script fits the Python peers time-honestly (features at
   T-H, labels in (T-H, T], scored at T; lines ending for non-payment left out as cvm does):
   - scikit-learn's LogisticRegression (standardised, L2, one-hot categories),
   - scikit-learn's HistGradientBoostingClassifier (its defaults, native categories),
   - the floor: a logistic regression on cvm's first ten features only.
4. Everything is judged on what happened in (T, T+30] (the truth file): AUC, top-decile
   lift, Brier, and calibration by decile. The oracle row is the true hazard: the ceiling.

The peers train on the most recent labelled window only, as the textbook recipe does;
`--peers-pooled` also trains them on T-2H and T-H stacked, the windows cvm's final model
trains on (churn.training_windows = 2), to show how much of the gap is the extra window.

scikit-learn, pandas and pyarrow come from PyPI: without them, the script creates a virtual
environment in ~/.cache/cvm/churn-venv, installs them there and runs itself again with it.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta

PACKAGES = ["scikit-learn==1.7.2", "pandas==2.3.3", "pyarrow==21.0.0"]


def ensure_packages():
    try:
        import sklearn  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        return
    except ImportError:
        pass
    venv = os.path.expanduser("~/.cache/cvm/churn-venv")
    python = os.path.join(venv, "bin", "python3")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *PACKAGES], check=True)
    os.execv(python, [python, *sys.argv])


NUMERIC = None  # filled from the Parquet schema: every Float64 column but the key and labels
CATEGORICAL = ["plan_id", "segment", "region", "channel"]
FLOOR = ["tenure_months", "arpu_3m", "arpu_trend", "recency_days", "active_days_30d", "log_mou_30d",
         "log_data_mb_30d", "usage_trend", "complaints_90d", "is_prepaid"]
NOT_FEATURES = {"subscriber_id", "sample_key", "churns_within_horizon", "ends_involuntarily_within_horizon"}


def run(cmd, env=None):
    started = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout, time.time() - started


def metrics(y, p):
    import numpy as np
    from sklearn.metrics import roc_auc_score, brier_score_loss
    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    top = order[: max(1, len(p) // 10)]
    base = y.mean()
    deciles = []
    for d in range(10):
        rows = order[len(p) * d // 10: len(p) * (d + 1) // 10]
        deciles.append((p[rows].mean(), y[rows].mean()))
    return {
        "auc": roc_auc_score(y, p),
        "lift": y[top].mean() / base if base > 0 else float("nan"),
        "brier": brier_score_loss(y, p),
        "deciles": deciles,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cvm", default="target/release/cvm")
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=240, help="days of CDR before T")
    ap.add_argument("--as-of", default="2026-11-22")
    ap.add_argument("--seed", type=int, default=1, help="the generator's seed")
    ap.add_argument("--dir", default="/tmp/cvm-churn")
    ap.add_argument("--dirty", default="0.002", help="share of spoiled rows in the extracts")
    ap.add_argument("--reuse", action="store_true", help="keep an existing landing of the same size")
    ap.add_argument("--peers-pooled", action="store_true", help="also train the peers on T-2H and T-H stacked")
    ap.add_argument("--job", default=None, help="job file (default: the demo job's settings on the landing)")
    args = ap.parse_args()
    ensure_packages()
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.impute import SimpleImputer

    cvm = os.path.abspath(args.cvm)
    base = os.path.join(args.dir, str(args.subscribers))
    landing, warehouse, inputs = (os.path.join(base, x) for x in ("landing", "warehouse", "model_inputs"))
    if not (args.reuse and os.path.exists(os.path.join(landing, "_truth"))):
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        _, secs = run([cvm, "generate", "--subscribers", str(args.subscribers), "--days", str(args.days),
                       "--as-of", args.as_of, "--seed", str(args.seed), "--dirty", args.dirty,
                       "--format", "parquet", "--out", landing])
        print(f"generated {args.subscribers} lines, {args.days} days of CDR in {secs:.1f} s")
    shutil.rmtree(warehouse, ignore_errors=True)
    shutil.rmtree(inputs, ignore_errors=True)
    job = args.job
    if job is None:
        job = os.path.join(base, "job.toml")
        with open(job, "w") as f:
            f.write(f'name = "churn_bench"\ninput_root = "{landing}"\nwarehouse = "{warehouse}"\n'
                    '[sources.subscribers]\nformat = "parquet"\n[sources.billing]\nformat = "parquet"\n'
                    '[sources.cdr]\nformat = "parquet"\n[sources.recharges]\nformat = "parquet"\n'
                    '[sources.tickets]\nformat = "parquet"\n[sources.optouts]\nformat = "parquet"\n'
                    '[sources.strategic_fit]\nformat = "parquet"\n')
    env = dict(os.environ, CVM_MODEL_INPUTS=inputs)
    stdout, secs = run([cvm, "run", job, "--as-of", args.as_of, "--warehouse", warehouse], env=env)
    print(f"cvm run in {secs:.1f} s")
    report = stdout[stdout.find("churn model"):].split("retention (sBG")[0]
    print(report.rstrip())

    t = date.fromisoformat(args.as_of)
    files = sorted(glob.glob(os.path.join(inputs, "int_churn_features_*.parquet")))
    frames = {os.path.basename(f)[len("int_churn_features_"):-len(".parquet")]: f for f in files}
    dates = sorted(frames)
    if len(dates) < 3:
        sys.exit(f"expected the features at T and at least two earlier dates in {inputs}, found {dates}")
    # T, T-H, T-2H: the peers' windows (cvm writes one more, its back-test's oldest)
    tt, th, t2h = (pd.read_parquet(frames[d]) for d in dates[::-1][:3])
    numeric = [c for c, dt in th.dtypes.items() if c not in NOT_FEATURES and c not in CATEGORICAL]

    truth = pd.read_csv(os.path.join(landing, "_truth", "churn_truth.csv"), dtype={"subscriber_id": str})
    scored = tt.merge(truth[["subscriber_id", "hazard_30d", "churns_30d", "end_reason"]], on="subscriber_id")
    # judged as cvm's label: voluntary churn, lines ending for non-payment left out
    judged = scored[scored["end_reason"].fillna("") != "involuntary"].reset_index(drop=True)
    y = judged["churns_30d"].astype(bool).values
    print(f"judged on {len(judged)} lines active at {dates[-1]}, {y.sum()} voluntary ends in (T, T+30] "
          f"({y.mean():.2%})")

    cv, _ = run([cvm, "query", "--format", "csv", "--warehouse", warehouse,
                 f"SELECT subscriber_id, churn_risk FROM customer_value WHERE snapshot_date = DATE '{args.as_of}' "
                 "AND is_active"])
    from io import StringIO
    cvm_scores = pd.read_csv(StringIO(cv), dtype={"subscriber_id": str})
    judged = judged.merge(cvm_scores, on="subscriber_id", how="left")

    def train_rows(frames_):
        rows = pd.concat(frames_, ignore_index=True)
        rows = rows[~rows["ends_involuntarily_within_horizon"]]
        return rows, rows["churns_within_horizon"].astype(bool).values

    def logistic(num, cat):
        pre = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), num),
            *([("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cat)] if cat else []),
        ])
        return make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000))

    def boosted(num, cat):
        pre = ColumnTransformer([
            ("num", "passthrough", num),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20, sparse_output=False), cat),
        ])
        return make_pipeline(pre, HistGradientBoostingClassifier(random_state=0))

    results = []
    p_cvm = judged["churn_risk"].values
    results.append(("cvm (its chosen model)", metrics(y, p_cvm), None))
    windows = [("T-H", [th])] + ([("T-2H + T-H", [t2h, th])] if args.peers_pooled else [])
    for label, ws in windows:
        rows, yy = train_rows(ws)
        for name, model, num, cat in [
            ("sklearn LogisticRegression", logistic(numeric, CATEGORICAL), numeric, CATEGORICAL),
            ("sklearn HistGradientBoosting", boosted(numeric, CATEGORICAL), numeric, CATEGORICAL),
            ("floor: logistic, first ten features", logistic(FLOOR, []), FLOOR, []),
        ]:
            started = time.time()
            model.fit(rows[num + cat], yy)
            p = model.predict_proba(judged[num + cat])[:, 1]
            results.append((f"{name} [{label}]", metrics(y, p), time.time() - started))
    results.append(("oracle: the generator's true hazard", metrics(y, judged["hazard_30d"].values), None))

    import sklearn
    print()
    print(f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
    print(f"| model | AUC | top-decile lift | Brier | fit s |")
    print("|---|---:|---:|---:|---:|")
    for name, m, secs in results:
        fit = f"{secs:.1f}" if secs is not None else ""
        print(f"| {name} | {m['auc']:.4f} | {m['lift']:.2f} | {m['brier']:.5f} | {fit} |")
    print()
    print("calibration by decile (1 = riskiest): predicted / observed")
    for name, m, _ in results:
        cells = " ".join(f"{p:.3f}/{o:.3f}" for p, o in m["deciles"])
        print(f"  {name}: {cells}")
    best_peer = max(m["auc"] for n, m, _ in results if n.startswith("sklearn") and "[T-H]" in n)
    print()
    print(f"cvm AUC - best single-window peer AUC = {results[0][1]['auc'] - best_peer:+.4f}")
    print(json.dumps({n: round(m["auc"], 4) for n, m, _ in results}))


if __name__ == "__main__":
    main()
