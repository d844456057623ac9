"""Benchmark `readiness drift` against Evidently on 1M rows × 50 columns. Not part of the test run.

    .venv/bin/python benchmarks/bench_drift.py [--rows 1000000] [--evidently-python PATH] [--ten-million]

Generates seeded reference and current parquet files (35 numeric, 15 categorical
columns; 5 numeric and 2 categorical drifted), then times, end to end:

* `readiness drift REFERENCE CURRENT` (kernel start, profiles, scores, domain
  classifier, plots, HTML) and the peak RSS of its processes;
* Evidently's `Report([DataDriftPreset()])` on the same data, run by the Python of a
  separate virtualenv (Evidently 0.7 needs pandas < 3), e.g.
  `python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install "evidently>=0.7,<0.8" "pandas<3" pyarrow`;
* with --ten-million: a 10M-row current file streamed against a saved profile.

Targets on the 2-core machine: ≥ 20× faster than Evidently, < 20 s end to end,
peak RSS < 2.5 GB, HTML < 2 MB; 10M rows against a profile with peak RSS < 3 GB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC, CATEGORICAL = 35, 15


def make_frame(rows: int, seed: int, drifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(NUMERIC):
        shift = 0.5 if drifted and i < 5 else 0.0
        data[f"num_{i:02d}"] = rng.normal(i + shift, 1 + i / 10, rows).astype(np.float64)
    for j in range(CATEGORICAL):
        k = 4 + j % 6
        p = np.arange(1, k + 1, dtype=float)
        if drifted and j < 2:
            p = p[::-1]
        data[f"cat_{j:02d}"] = pd.Categorical.from_codes(rng.choice(k, rows, p=p / p.sum()),
                                                         [f"v{i}" for i in range(k)]).astype(str)
    return pd.DataFrame(data)


def write_parquet(path: Path, rows: int, seed: int, drifted: bool, chunk: int = 1_000_000) -> None:
    writer = None
    for start in range(0, rows, chunk):
        table = pa.Table.from_pandas(make_frame(min(chunk, rows - start), seed + start, drifted), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def timed(command: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall time and peak RSS (bytes) of a command and its children, via GNU time when present."""
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    done = subprocess.run(timer + command, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    rss = 0
    if timer:
        lines = [l for l in done.stderr.strip().splitlines() if l.strip().isdigit()]
        rss = int(lines[-1]) * 1024 if lines else 0
    return elapsed, rss, done


EVIDENTLY = """
import sys, time, pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference, current = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current, reference)
snapshot.save_html(sys.argv[3])
print(f"{time.perf_counter() - start:.1f}")
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
            total = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.2)
    out, err = process.communicate()
    return time.perf_counter() - start, peak, subprocess.CompletedProcess(command, process.returncode, out, err)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--evidently-python", default="/tmp/evvenv/bin/python")
    parser.add_argument("--ten-million", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated files (several GB with --ten-million)")
    parser.add_argument("--repeat", type=int, default=3, help="readiness runs (this VM varies ±20%%; the median is compared)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    started = time.perf_counter()
    write_parquet(folder / "reference.parquet", args.rows, 1, drifted=False)
    write_parquet(folder / "current.parquet", args.rows, 2, drifted=True)
    os.sync()  # flush the written data first: page writeback would otherwise slow whichever tool runs first
    print(f"data: {args.rows:,} rows × {NUMERIC + CATEGORICAL} columns each, written in {time.perf_counter() - started:.0f} s")

    readiness = [sys.executable, "-m", "readiness.cli", "drift", str(folder / "reference.parquet"),
                 str(folder / "current.parquet"), "--out", str(folder / "out")]
    runs = []
    for _ in range(args.repeat):
        seconds, rss, done = peak_rss_tree(readiness)
        if done.returncode not in (0, 1):
            sys.exit(f"readiness drift failed: {done.stderr[-2000:]}")
        runs.append((seconds, rss))
    ours = float(np.median([s for s, _ in runs]))
    ours_rss = max(r for _, r in runs)
    html = folder / "out" / "drift_report.html"
    print(f"readiness drift: {ours:.1f} s end to end (median of {len(runs)}: "
          f"{', '.join(f'{s:.1f}' for s, _ in runs)}), peak RSS {ours_rss / 2**30:.2f} GB, HTML {html.stat().st_size / 2**20:.2f} MB")

    if Path(args.evidently_python).exists():
        theirs, theirs_rss, done = peak_rss_tree([args.evidently_python, "-c", EVIDENTLY, str(folder / "reference.parquet"),
                                                  str(folder / "current.parquet"), str(folder / "evidently.html")])
        if done.returncode == 0:
            size = (folder / "evidently.html").stat().st_size / 2**20
            print(f"Evidently DataDriftPreset: {theirs:.1f} s end to end ({done.stdout.strip()} s in Report.run + save_html), "
                  f"peak RSS {theirs_rss / 2**30:.2f} GB, HTML {size:.2f} MB")
            print(f"readiness is {theirs / ours:.1f}× faster end to end (median run; slowest run: {theirs / max(s for s, _ in runs):.1f}×)")
        else:
            print(f"Evidently failed: {done.stderr[-1500:]}")
    else:
        print(f"Evidently not measured: no {args.evidently_python} (see the module docstring)")

    if args.ten_million:
        subprocess.run([sys.executable, "-m", "readiness.cli", "profile", str(folder / "reference.parquet"),
                        "-o", str(folder / "reference.profile.json")], check=True, capture_output=True)
        write_parquet(folder / "current10m.parquet", 10_000_000, 3, drifted=True)
        os.sync()
        seconds, rss, done = peak_rss_tree([sys.executable, "-m", "readiness.cli", "drift",
                                            str(folder / "reference.profile.json"), str(folder / "current10m.parquet"),
                                            "--out", str(folder / "out10m")])
        print(f"10M-row current streamed against a profile: {seconds:.1f} s, peak RSS {rss / 2**30:.2f} GB "
              f"(exit {done.returncode})")
    if args.keep:
        print(f"files kept in {folder}")
    else:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
