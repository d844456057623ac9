"""Benchmark the golden benchmark. Not part of the test run.

    .venv/bin/python benchmarks/bench_golden.py [--rows 100000] [--resamples 1000]
    .venv/bin/python benchmarks/bench_golden.py --scenario-rows 100000 1000000 [--scenario-dir /tmp/golden-scenarios]

Prints:
* bootstrap time for N resamples on R rows: ROC AUC alone, and all nine binary
  metrics for one model, beside the influence-function (analytic) intervals of the
  same nine metrics, which large golden sets use;
* wall time of `readiness run` on the demo scenario's golden benchmark, end to
  end (child process, kernel start, intervals, plots, HTML), its HTML size and
  the peak RSS of the kernel process tree;
* with ``--scenario-rows``: the demo scenario (binary churn, candidate and baseline
  gradient-boosting pipelines, 2 segment columns) at that many golden rows:
  - the **floor**: in a fresh process, read the golden set, load both models
    (skops, in-process), predict both on every row once, and scikit-learn's nine
    binary metrics once, no CIs;
  - each step of the report, timed in a fresh process that calls the notebook's
    methods in order (figures rendered to PNG as the notebook does);
  - `readiness run --only golden_benchmark` end to end, its peak RSS, and the
    ratio to the floor.
  Building a scenario trains the demo's models and writes its files (minutes at 1M
  rows); ``--scenario-dir`` keeps them for the next run.
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

from readiness.demo import build_scenario
from readiness.stats.bootstrap import bootstrap
from readiness.stats.metrics import METRICS, EvalData

NOTEBOOK_STEPS = ["inputs_section", "artifact_section", "metrics_section", "performance_figure", "consistency_section",
                  "scores_figure", "segments_section", "segments_figure", "attribution_section", "attribution_figure",
                  "robustness_section", "robustness_figure", "latency_section"]


def bench_bootstrap(rows: int, resamples: int) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, rows)
    p = np.clip(0.3 * y + 0.7 * rng.random(rows), 0, 1)
    data = EvalData("binary", y, (p >= 0.5).astype(int), np.c_[1 - p, p], p)
    auc = METRICS["roc_auc"]
    binary = [m for m in METRICS.values() if "binary" in m.tasks]
    for label, stats in (
        ("ROC AUC", {"auc": lambda w: auc(w, data)}),
        ("all 9 binary metrics", {m.name: (lambda w, m=m: m(w, data)) for m in binary}),
    ):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            bootstrap(rows, stats, resamples, seed=0)
            best = min(best, time.perf_counter() - start)
        print(f"bootstrap {resamples:,} resamples × {rows:,} rows, {label}: {best:.2f} s (best of 3)")
    best = float("inf")
    for _ in range(3):
        fresh = EvalData("binary", y, data.pred, data.proba, p.copy())  # no cached sort
        start = time.perf_counter()
        for metric in binary:
            metric.value_and_influence(fresh)
        best = min(best, time.perf_counter() - start)
    print(f"influence-function intervals, {rows:,} rows, all 9 binary metrics: {best:.2f} s (best of 3)")


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
        print(f"  inside the notebook (load, score, intervals, sections): {doc['duration_s']:.1f} s")
        print(f"  HTML {html.stat().st_size / 1024:.0f} KB, executed notebook "
              f"{(out / 'golden_benchmark.ipynb').stat().st_size / 1024:.0f} KB")
        print(f"  peak RSS of the largest child process: {rss_mb:.0f} MB")


# --------------------------------------------------------------------------- the demo scenario at scale

FLOOR = r"""
import json, sys, time, resource
start = time.perf_counter()
import pandas as pd, skops.io
from sklearn import metrics as M
from readiness.demo import CANDIDATE_FEATURES, PRODUCTION_FEATURES, TARGET
folder = sys.argv[1]
golden = pd.read_parquet(f"{folder}/golden.parquet")
models = {}
for name in ("candidate", "production"):
    path = f"{folder}/{name}.skops"
    models[name] = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
scores = {"candidate": models["candidate"].predict_proba(golden[CANDIDATE_FEATURES])[:, 1],
          "production": models["production"].predict_proba(golden[PRODUCTION_FEATURES])[:, 1]}
y, p = golden[TARGET].to_numpy(), scores["candidate"]
label = (p >= 0.5).astype(int)
values = [M.roc_auc_score(y, p), M.average_precision_score(y, p), M.log_loss(y, p), M.brier_score_loss(y, p),
          M.accuracy_score(y, label), M.balanced_accuracy_score(y, label), M.f1_score(y, label),
          M.precision_score(y, label), M.recall_score(y, label)]
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

STEPS = r"""
import json, sys, time, resource
start = time.perf_counter()
from readiness.demo import scenario_parameters
from readiness.reports.golden.benchmark import GoldenBenchmark
params = scenario_parameters("golden_benchmark", sys.argv[1])
params["results_path"] = sys.argv[2]
results_path = params.pop("results_path")
params.pop("history", None)  # the notebook hands it to ReleaseTrend, not to GoldenBenchmark
bench = GoldenBenchmark(**params)
times = {"start-up and __init__": time.perf_counter() - start}
steps = dict(bench.progress.seconds)
for name in json.loads(sys.argv[3]):
    t = time.perf_counter()
    out = getattr(bench, name)()
    for render in ("_repr_png_", "_repr_html_"):  # what the notebook displays
        if hasattr(out, render):
            getattr(out, render)()
            break
    times[name] = time.perf_counter() - t
bench.finish(results_path)
print(json.dumps({"init_steps": steps, "times": times, "total": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peak_rss_mb(pid: int, stop) -> float:
    """Largest summed RSS of ``pid`` and its descendants, sampled every 0.2 s until ``stop()``."""
    import psutil

    peak = 0.0
    while not stop():
        try:
            tree = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 1024**2)
        except psutil.Error:
            pass
        time.sleep(0.2)
    return peak


def bench_scenario(rows: int, folder: Path) -> None:
    import threading

    if not (folder / "readiness.yaml").is_file():
        print(f"building the demo scenario with {rows:,} golden rows in {folder} …", flush=True)
        build_scenario(folder, golden_rows=rows)
    floor = _child(FLOOR, str(folder))
    print(f"\n{rows:,} golden rows (binary; candidate and baseline gradient-boosting pipelines; segments region, plan)")
    print(f"  floor (read golden set, load both models, predict both once, scikit-learn's 9 metrics once): "
          f"{floor['seconds']:.1f} s, peak RSS {floor['rss_mb']:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        steps = _child(STEPS, str(folder), str(Path(tmp) / "golden.json"), json.dumps(NOTEBOOK_STEPS))
    print(f"  report steps in one process (total {steps['total']:.1f} s, peak RSS {steps['rss_mb']:.0f} MB "
          "without the model workers):")
    for name, seconds in steps["init_steps"].items():
        print(f"    __init__: {name:<60} {seconds:6.1f} s")
    for name, seconds in steps["times"].items():
        print(f"    {name:<70} {seconds:6.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "readiness.cli", "run", "--config", str(folder / "readiness.yaml"),
                                    "--out", str(out), "--only", "golden_benchmark"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = {}
        watcher = threading.Thread(target=lambda: peak.setdefault("mb", _peak_rss_mb(process.pid, lambda: process.poll() is not None)))
        watcher.start()
        _, err = process.communicate()
        elapsed = time.perf_counter() - start
        watcher.join()
        if process.returncode not in (0, 1):
            sys.exit(f"readiness run failed: {err[-3000:]}")
        doc = json.loads((out / "golden_benchmark.json").read_text())
    print(f"  readiness run --only golden_benchmark: {elapsed:.1f} s end to end (verdict {doc['status'].upper()}, "
          f"{len(doc['checks'])} checks), peak RSS of the process tree {peak.get('mb', float('nan')):.0f} MB")
    print(f"  ratio to the floor: {elapsed / floor['seconds']:.1f}× end to end, "
          f"{steps['total'] / floor['seconds']:.1f}× for the report's steps in one process")
    progress = [line for line in err.splitlines() if line.strip().startswith("golden_benchmark:") or "·" in line]
    if progress:
        print("  progress lines on the terminal:\n" + "\n".join(f"    {line}" for line in progress))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--scenario-rows", type=int, nargs="*", default=[],
                        help="run the demo scenario at these golden-set sizes (e.g. 100000 1000000)")
    parser.add_argument("--scenario-dir", type=Path, default=None,
                        help="keep built scenarios here (one folder per size) and reuse them")
    args = parser.parse_args()
    if args.scenario_rows:
        base = args.scenario_dir or Path(tempfile.mkdtemp(prefix="golden-scenarios-"))
        for rows in args.scenario_rows:
            bench_scenario(rows, base / f"s{rows}")
    else:
        bench_bootstrap(args.rows, args.resamples)
        bench_run()
