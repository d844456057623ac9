"""Benchmark the golden benchmark. Not part of the test run.

    .venv/bin/python benchmarks/bench_golden.py [--rows 100000] [--resamples 1000]

Prints:
* bootstrap time for N resamples on R rows: ROC AUC alone, and all nine binary
  metrics for one model (target: ROC AUC < 2 s at 100k rows × 1,000 resamples);
* wall time of `readiness run` on the demo scenario's golden benchmark, end to
  end (child process, kernel start, bootstrap, plots, HTML), its HTML size and
  the peak RSS of the kernel process tree.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from readiness.stats.bootstrap import bootstrap
from readiness.demo import build_scenario
from readiness.stats.metrics import METRICS, EvalData


def bench_bootstrap(rows: int, resamples: int) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, rows)
    p = np.clip(0.3 * y + 0.7 * rng.random(rows), 0, 1)
    data = EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    auc = METRICS["roc_auc"]
    for label, stats in (
        ("ROC AUC", {"auc": lambda w: auc(w, data)}),
        ("all 9 binary metrics", {m.name: (lambda w, m=m: m(w, data)) for m in METRICS.values() if "binary" in m.tasks}),
    ):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            bootstrap(rows, stats, resamples, seed=0)
            best = min(best, time.perf_counter() - start)
        print(f"bootstrap {resamples:,} resamples × {rows:,} rows, {label}: {best:.2f} s (best of 3)")


def bench_run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = build_scenario(folder / "inputs")
        timings = []
        for attempt in range(3):
            out = folder / f"report{attempt}"
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "readiness.cli", "run", "--config", str(config), "--out", str(out),
                                     "--only", "golden_benchmark"],
                                    capture_output=True, text=True)
            timings.append(time.perf_counter() - start)
            if result.returncode not in (0, 1):
                sys.exit(f"readiness run failed: {result.stderr}")
        html = out / "golden_benchmark.html"
        doc = json.loads((out / "golden_benchmark.json").read_text())
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"readiness run, demo golden benchmark ({doc['inputs']['golden']['rows']:,} rows, "
              f"{len(doc['checks'])} checks, verdict {doc['status'].upper()}): "
              f"{min(timings):.1f} s best / {np.median(timings):.1f} s median of 3, end to end")
        print(f"  inside the notebook (load, score, bootstrap, sections): {doc['duration_s']:.1f} s")
        print(f"  HTML {html.stat().st_size / 1024:.0f} KB, executed notebook "
              f"{(out / 'golden_benchmark.ipynb').stat().st_size / 1024:.0f} KB")
        print(f"  peak RSS of the largest child process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    bench_bootstrap(args.rows, args.resamples)
    bench_run()
