"""PredictionLogger overhead against the model's own predict time, and release-history writes per run.
Not part of the test run.

    .venv/bin/python benchmarks/bench_logger.py [--calls-scale 1.0] [--postgres] [--history-only]

Logger: a scikit-learn pipeline (StandardScaler + LogisticRegression) and a
HistGradientBoostingClassifier (100 trees) on 20 numeric features, served through
``PredictionLogger(model, folder)`` (Parquet, every feature logged) at batches of 1, 100 and
10,000 rows. Two figures per batch size, medians over the calls:

* caller overhead: what a ``predict_proba`` call costs more than the model's own (the copy
  into the buffer; writing happens on the logger's thread);
* total overhead: wall time of all calls plus ``close()`` (every row written and on disk)
  against the model alone, i.e. the writer thread's work included, on the same 2 cores.

History: ``HistoryStore.record`` of one run with 4 reports and 60 checks, opening the store
each time as ``readiness run`` does (schema check included), on SQLite and, with
``--postgres``, on a throw-away PostgreSQL server (tests/postgres_server.py).

Targets (issue 16): logger ≤ 5% of predict time at 100 rows and more; its single-row
overhead in microseconds; history writes ≤ 50 ms per run.

Measured 2026-11-25 19:15-19:35 on the shared 2-core VM, load average 0.9-1.4 (the medians
swing by +-40% between runs; three runs after the Parquet sink's fixes: no Timestamp object per
row, one write per day, dictionaries for text only):

    model                     batch  predict/call   caller overhead           total overhead
    scaler+logistic               1   1.5-2.8 ms     45-80 us (3-5%)           3-8%
    scaler+logistic             100   1.4-1.8 ms     171-386 us (12-26%)       46-94%
    scaler+logistic           10000   2.2-4.3 ms     0.7-1.2 ms (17-53%)       550-740%
    hist-gradient-boosting        1   1.8-2.0 ms     noise (-11% to +28%)      2-36%
    hist-gradient-boosting      100   1.9-4.5 ms     noise (-5% to +14%)       30-63%
    hist-gradient-boosting    10000   29-31 ms       39-42 ms (134%)           139-151%
    history SQLite     : 9.8-16.6 ms per run (median of 30); fresh process: 13-20 ms writing, after
                         SQLAlchemy's first imports and connection (0.8-1.2 s)
    history PostgreSQL : 30.6-40.8 ms per run; fresh process: 19-23 ms writing

The writer's cost, profiled: ~2.8 us per logged row of 25 columns (a 10,000-row flush 28 ms:
frame building 10 ms, Parquet encoding 8 ms, Arrow conversion 6 ms), against ~0.2 us per row for
the logistic regression's predict: with every feature logged, the writer on the same two cores
costs more than such a model; the <= 5% target holds only for the caller at 1 row, and for models
costing >= ~60 us per row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd


def _models(X, y):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {"scaler+logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
            "hist-gradient-boosting": HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)}


def bench_logger(scale: float, encoders: tuple[str, ...] = ("thread", "process")) -> None:
    from readiness.serving import PredictionLogger

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60_000, 20)), columns=[f"f{i}" for i in range(20)])
    y = (X.f0 + X.f1 * X.f2 + rng.normal(size=len(X)) > 0).astype(int)
    print(f"{'model':24} {'encoder':8} {'batch':>6} {'calls':>6} {'predict/call':>13} {'caller overhead':>22} "
          f"{'total overhead':>16}")
    for (name, model), encoder in ((item, encoder) for item in _models(X.iloc[:20_000], y.iloc[:20_000]).items()
                                   for encoder in encoders):
        for batch, calls in ((1, 2000), (100, 500), (10_000, 20)):
            calls = max(5, int(calls * scale))
            batches = [X.iloc[(i * batch) % 50_000:(i * batch) % 50_000 + batch] for i in range(calls)]
            model.predict_proba(batches[0])  # warm
            plain = []
            start = time.perf_counter()
            for b in batches:
                t = time.perf_counter()
                model.predict_proba(b)
                plain.append(time.perf_counter() - t)
            plain_total = time.perf_counter() - start
            with tempfile.TemporaryDirectory(prefix="bench-logger-") as folder:
                # a buffer that holds the whole run: the figures are overheads, not the drop policy
                served = PredictionLogger(model, folder, model_version="v1", encoder=encoder, max_buffer_rows=1_000_000)
                served.predict_proba(batches[0])
                logged = []
                start = time.perf_counter()
                for i, b in enumerate(batches):
                    t = time.perf_counter()
                    served.predict_proba(b, request_ids=np.arange(i * batch, (i + 1) * batch))
                    logged.append(time.perf_counter() - t)
                served.close()
                logged_total = time.perf_counter() - start
                assert served.stats.errors == 0 and served.stats.rows_logged == calls * batch + batch
            p, q = statistics.median(plain), statistics.median(logged)
            caller = f"{(q - p) * 1e6:8.0f} µs ({(q - p) / p:6.1%})"
            total = f"{(logged_total - plain_total) / plain_total:6.1%}"
            print(f"{name:24} {encoder:8} {batch:>6} {calls:>6} {p * 1e3:10.3f} ms {caller:>22} {total:>16}", flush=True)


def _run(k: int) -> tuple[dict, list, list]:
    run = {"run_uuid": uuid.uuid4().hex, "created_at": pd.Timestamp.now(tz="UTC").isoformat(), "model_name": "churn",
           "model_sha256": f"{k:064x}", "verdict": "pass", "git_commit": "a" * 40, "git_branch": "main"}
    reports = [{"report": r, "status": "pass", "duration_s": 12.0} for r in
               ("golden_benchmark", "drift_report", "workflow_checklist", "monitoring_report")]
    checks = [{"report": "golden_benchmark", "check_id": f"golden.metric.m{i}", "status": "pass",
               "value": 0.9 + i / 1000, "ci_low": 0.89, "ci_high": 0.91, "message": "within margin " * 5}
              for i in range(60)]
    return run, reports, checks


def bench_history(spec: str, label: str, runs: int = 30) -> None:
    from readiness.history import HistoryStore

    with HistoryStore(spec):  # created and migrated once, as by the first run
        pass
    times, opened = [], []
    for k in range(runs):
        t = time.perf_counter()
        with HistoryStore(spec) as store:
            o = time.perf_counter()
            store.record(*_run(k))
        done = time.perf_counter()
        times.append(done - t)
        opened.append(o - t)
    print(f"history {label:11}: {statistics.median(times) * 1e3:6.1f} ms per run (median of {runs}; "
          f"max {max(times) * 1e3:.1f} ms; of which opening + schema check {statistics.median(opened) * 1e3:.1f} ms)")


_COLD = """
import sys, time
t0 = time.perf_counter()
from readiness.history import HistoryStore
import sqlalchemy, sqlalchemy.orm  # what any SQLAlchemy user pays once per process, apart
t1 = time.perf_counter()
sys.path.insert(0, sys.argv[2])
from bench_logger import _run
with HistoryStore(sys.argv[1]) as store:
    t2 = time.perf_counter()
    store.record(*_run(int(sys.argv[3])))
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, "alembic" in sys.modules)
"""


def bench_history_cold(spec: str, label: str, runs: int = 10) -> None:
    """As `readiness run` pays it: a fresh process per run (imports, engine, schema check, insert, commit)."""
    import subprocess

    with HistoryStore_(spec):
        pass
    found = []
    for k in range(runs):
        done = subprocess.run([sys.executable, "-c", _COLD, spec, str(Path(__file__).parent), str(k)],
                              capture_output=True, text=True, check=True)
        *times, alembic = done.stdout.split()
        found.append([float(t) for t in times])
    imports, opening, record = (statistics.median(column) * 1e3 for column in zip(*found))
    print(f"history {label:11}: fresh process per run, medians of {runs}: importing SQLAlchemy {imports:.0f} ms, "
          f"opening + schema check {opening:.1f} ms, writing the run {record:.1f} ms "
          f"(Alembic imported: {alembic})")


def HistoryStore_(spec):
    from readiness.history import HistoryStore

    return HistoryStore(spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls-scale", type=float, default=1.0)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--history-only", action="store_true")
    args = parser.parse_args()
    import os

    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared with other agents)")
    if not args.history_only:
        bench_logger(args.calls_scale)
    with tempfile.TemporaryDirectory(prefix="bench-history-") as folder:
        bench_history(str(Path(folder) / "history.sqlite"), "SQLite")
        bench_history_cold(str(Path(folder) / "history-cold.sqlite"), "SQLite")
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from postgres_server import new_database

        bench_history(new_database(), "PostgreSQL")
        bench_history_cold(new_database(), "PostgreSQL")


if __name__ == "__main__":
    main()
