"""Benchmark the monitoring report on a seeded 100M-row prediction log, and NannyML at 1M and 10M rows.
Not part of the test run.

    .venv/bin/python benchmarks/bench_monitoring.py [--rows 100000000] [--small 1000000 10000000]
        [--nannyml-python /tmp/nannyml-venv/bin/python] [--repeat 3] [--keep] [--folder DIR]

The log: 100 days, one Parquet file per day in row groups of 250,000 rows, columns
``timestamp, model_version, score, label, f0..f9`` (f3 with 2% missing values, f9 a
text category). Release v2 goes live on day 70 and raises every logit by 0.3 (the
mean prediction about 5% higher); f1 drifts by 0.25 sd from day 80; labels exist
for the first 80 days only (they arrive late). Scores are calibrated by construction.

Measured, as separate processes (wall time and the peak of the summed RSS of the
process tree, sampled every 0.2 s):

* readiness: ``MonitoringReport(log).sections()``, every figure as PNG and the
  results JSON (the papermill kernel and HTML come with the runner in phase B);
* NannyML 0.13.1 (its own virtualenv: ``python3 -m venv /tmp/nannyml-venv &&
  /tmp/nannyml-venv/bin/pip install nannyml==0.13.1 statsmodels pyarrow psutil``):
  ``UnivariateDriftCalculator`` (its default methods: Jensen-Shannon and KS for
  continuous columns, chi2 and Jensen-Shannon for categorical ones) and
  ``PerformanceCalculator`` (ROC AUC, accuracy), both chunked by day with the first 10
  days as reference, on the same files read with pandas, at 1M and 10M rows.

Targets (2-core machine): readiness ≤ 60 s and ≤ 2 GB peak RSS at 100M rows; ≥ 20×
faster than NannyML at equal rows.

Measured 2026-11-25 on the shared 2-core VM (other agents' load noted; CPU seconds are the
steadier figure). Medians of 3 runs (100M: of 2); readiness "no figures" is the work
NannyML does here (drift + realized performance):

    quieter period, load average 2.4–5.2:
    rows   readiness no figures   readiness with figures   NannyML 0.13.1           ratio (wall / CPU)
    1M     7.5 s (CPU 7.4 s)      13.1 s                   20.2 s (CPU 14.7 s)      2.7× / 2.0×
    10M    20.0 s (CPU 15.2 s)    27.5 s                   101.0 s (CPU 60.5 s)     5.0× / 4.0×
    10M    14.5 s (CPU 14.7 s)    20.0 s                   79.7 s (CPU 65.0 s)      5.5× / 4.4×   (second pair)
    100M   43.0 s (CPU 43.8 s)    48.1 s (47.0, 49.2)      not run (5.3 GB at 10M)  load 3.8–4.0
    peak RSS: readiness 0.30 / 0.61 / 0.88 GB; NannyML 0.83 / 5.27 GB

    busy period, load average 11–16: 1M 16.9 s vs 47.9 s (2.8×); 10M 32.2 s vs 264.7 s (8.2×);
    100M 161 s end to end (CPU 54 s), peak RSS 0.91 GB.

After the Arrow → numpy reading path (no pandas per batch; segment sums per batch), the
compiled PELT kernel loaded without ``import ruptures`` (which pulls in scipy.stats) and
direct per-chunk ROC AUC and accuracy, measured 2026-11-25 15:00–15:50 on the same machine
at load average 19–27 (every figure slowed; CPU seconds are the comparable ones), each
size with NannyML in the same run unless said:

    rows   readiness no figures        NannyML 0.13.1                 ratio (wall / CPU)
    1M     37.3 s wall, CPU 4.7 s      290.4 s wall, CPU 15.3 s       7.8× / 3.2×   (Arrow path + PELT kernel)
    1M     44.4 s wall, CPU 5.2 s      131.3 s wall, CPU 13.6 s       3.0× / 2.6×   (+ direct metrics; repeat 1)
    10M    160.7 s wall, CPU 13.0 s    1165.9 s wall, CPU 66.0 s      7.6× / 5.6×   (Arrow path + PELT kernel)
    10M    64.0 s wall, CPU 9.2 s      (not re-run: 66.0 s CPU above)  – / 7.2×     (+ direct metrics; repeat 1)
    peak RSS: readiness 0.27–0.30 GB (1M), 0.38–0.60 GB (10M); NannyML 0.82 / 5.26 GB

In-process CPU profiles of the analysis (cProfile on CPU time, threads run inline): 1M rows
8.3 s → 4.5 s, 10M rows 14.9 s → 10.0 s. What is left at 10M: Parquet decoding (4.5 s of
CPU), per-chunk realized-metric bootstrap CIs and sampled binning; at 1M fixed costs
(imports, 100 chunks' bootstraps, estimated AUC draws, drift scores). The 20× target is not
met in CPU time; wall-time ratios on this loaded machine swing with the load.

The 100M target (≤ 60 s, ≤ 2 GB) is met: 48 s, 0.88 GB (before these changes; not re-run). The 20× target against NannyML
is not: NannyML's per-chunk work is vectorised pandas, and at these sizes both are
dominated by reading Parquet into pandas and by fixed costs (imports, of which ruptures
pulls in scipy.stats; bootstrap CIs and the estimated AUC per chunk; figures).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DAYS, FEATURES, RELEASE_DAY, DRIFT_DAY, LABELS_UNTIL = 100, 10, 70, 80, 80


def write_log(folder: Path, rows: int, seed: int = 0, row_group: int = 250_000) -> None:
    """One Parquet file per day, generated day by day (bounded memory)."""
    folder.mkdir(parents=True, exist_ok=True)
    per_day = rows // DAYS
    start = np.datetime64("2017-01-01T00:00:00", "ns")
    categories = pa.array(["web", "app", "store", "phone", "partner"])
    for day in range(DAYS):
        rng = np.random.default_rng([seed, day])
        seconds = np.sort(rng.integers(0, 86_400_000_000_000, per_day))
        timestamp = start + np.timedelta64(day, "D") + seconds.astype("timedelta64[ns]")
        x = rng.standard_normal((FEATURES - 1, per_day))
        if day >= DRIFT_DAY:
            x[1] += 0.25
        logit = 0.9 * x[0] - 0.6 * x[1] + 0.4 * x[2] - 1.2
        if day >= RELEASE_DAY:
            logit = logit + 0.3
        score = 1 / (1 + np.exp(-logit))
        label = (rng.random(per_day) < score).astype(np.float64) if day < LABELS_UNTIL else np.full(per_day, np.nan)
        f3 = x[3].copy()
        f3[rng.random(per_day) < 0.02] = np.nan
        columns = {"timestamp": pa.array(timestamp),
                   "model_version": pa.DictionaryArray.from_arrays(
                       pa.array(np.zeros(per_day, dtype=np.int8)), pa.array(["v2" if day >= RELEASE_DAY else "v1"])),
                   "score": pa.array(score), "label": pa.array(label)}
        for j in range(FEATURES - 1):
            columns[f"f{j}"] = pa.array(f3 if j == 3 else x[j])
        columns["f9"] = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 5, per_day).astype(np.int8)), categories)
        pq.write_table(pa.table(columns), folder / f"day-{day:03d}.parquet", row_group_size=row_group)


OURS = """
import json, os, sys, time
started = time.perf_counter()
from readiness.reports.monitoring.api import MonitoringReport
report = MonitoringReport(sys.argv[1], {"prediction": "score", "label": "label"})
sections = report.sections()
analysed, analysed_cpu = time.perf_counter() - started, sum(os.times()[:2])
figures = [report.figure(s) for s in sections] + [report.coverage_figure()]
png = sum(len(f._repr_png_()) for f in figures if f is not None)
document = report.finish(sys.argv[2], sections)
print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": sum(os.times()[:2]), "png_bytes": png,
                  "analysis_seconds": analysed, "analysis_cpu_seconds": analysed_cpu, "status": document["status"],
                  "headline": document["data"]["headline"], "chunks": report.n,
                  "failing": [c["id"] for c in document["checks"] if c["status"] in ("fail", "warn")]}))
"""

NANNYML = """
import glob, json, os, sys, time, warnings
warnings.filterwarnings("ignore")
started = time.perf_counter()
import pandas as pd
import nannyml as nml
frame = pd.concat([pd.read_parquet(p) for p in sorted(glob.glob(sys.argv[1] + "/*.parquet"))], ignore_index=True)
frame["model_version"] = frame["model_version"].astype(str)
frame["f9"] = frame["f9"].astype(str)
frame["prediction"] = (frame["score"] >= 0.5).astype(int)
read = time.perf_counter() - started
reference = frame[frame["timestamp"] < pd.Timestamp("2017-01-11")]
features = [f"f{j}" for j in range(10)]
drift = nml.UnivariateDriftCalculator(column_names=features, timestamp_column_name="timestamp", chunk_period="D")
drift.fit(reference)
drift_result = drift.calculate(frame)
performance = nml.PerformanceCalculator(y_pred_proba="score", y_pred="prediction", y_true="label",
                                        timestamp_column_name="timestamp", problem_type="classification_binary",
                                        metrics=["roc_auc", "accuracy"], chunk_period="D")
performance.fit(reference)
performance_result = performance.calculate(frame)
alerts = drift_result.filter(period="analysis").to_df()
print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": sum(os.times()[:2]), "read_seconds": read,
                  "drift_rows": len(drift_result.to_df()), "performance_rows": len(performance_result.to_df())}))
"""


def peak_rss_tree(command: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall time and the peak of the summed RSS of a process tree (sampled every 0.2 s)."""
    import psutil

    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.2)
    out, err = process.communicate()
    return time.perf_counter() - start, peak, subprocess.CompletedProcess(command, process.returncode, out, err)


def run_ours(folder: Path, repeat: int) -> list[tuple[float, int, dict]]:
    runs = []
    for _ in range(repeat):
        seconds, rss, done = peak_rss_tree([sys.executable, "-c", OURS, str(folder), str(folder.parent / "monitoring.json")])
        if done.returncode != 0:
            sys.exit(f"readiness failed on {folder}: {done.stderr[-3000:]}")
        runs.append((seconds, rss, json.loads(done.stdout.strip().splitlines()[-1])))
    return runs


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--small", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--nannyml-python", default="/tmp/nannyml-venv/bin/python")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big-repeat", type=int, default=2)
    parser.add_argument("--folder", help="where the logs go (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated logs (about 11 GB at 100M rows)")
    args = parser.parse_args()
    base = Path(args.folder or tempfile.mkdtemp(prefix="bench-monitoring-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"logs under {base}; {shutil.disk_usage(base).free / 2**30:.0f} GB free; load average {load_average()}")
    try:
        for rows in dict.fromkeys([*args.small, args.rows]):  # each size once
            folder = base / f"log-{rows}"
            if not folder.exists():
                started = time.perf_counter()
                write_log(folder, rows)
                size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
                print(f"{rows:,} rows written in {time.perf_counter() - started:.0f} s ({size / 2**30:.2f} GB)", flush=True)
            os.sync()
            runs = run_ours(folder, args.repeat if rows in args.small else args.big_repeat)
            times = [s for s, _, _ in runs]
            ours = float(np.median(times))
            info = runs[-1][2]
            cpu = float(np.median([info["cpu_seconds"] for _, _, info in runs]))
            analysis = float(np.median([info["analysis_seconds"] for _, _, info in runs]))
            analysis_cpu = float(np.median([info["analysis_cpu_seconds"] for _, _, info in runs]))
            print(f"readiness {rows:>11,} rows: {ours:.1f} s (median of {len(runs)}: {', '.join(f'{t:.1f}' for t in times)}; "
                  f"CPU {cpu:.1f} s; load {load_average()}), peak RSS {max(r for _, r, _ in runs) / 2**30:.2f} GB, "
                  f"{info['chunks']} chunks, {info['png_bytes'] / 2**20:.2f} MB of PNG, status {info['status']}; "
                  f"without the figures (the work NannyML does here): {analysis:.1f} s, CPU {analysis_cpu:.1f} s", flush=True)
            print(f"    headline: {info['headline']}; flagged: {', '.join(info['failing'])}", flush=True)
            if rows in args.small and Path(args.nannyml_python).exists():
                seconds, rss, done = peak_rss_tree([args.nannyml_python, "-c", NANNYML, str(folder)])
                if done.returncode != 0:
                    print(f"NannyML failed at {rows:,} rows: {done.stderr[-2000:]}")
                    continue
                theirs = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"NannyML   {rows:>11,} rows: {seconds:.1f} s end to end ({theirs['read_seconds']:.1f} s reading; "
                      f"CPU {theirs['cpu_seconds']:.1f} s; load {load_average()}), peak RSS {rss / 2**30:.2f} GB -> "
                      f"readiness is {seconds / analysis:.1f}× faster in wall time and {theirs['cpu_seconds'] / analysis_cpu:.1f}× "
                      f"in CPU time on the same work (drift + realized performance, no figures); with its figures "
                      f"{seconds / ours:.1f}× and {theirs['cpu_seconds'] / cpu:.1f}×", flush=True)
            if not args.keep and rows == args.rows:
                shutil.rmtree(folder)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
