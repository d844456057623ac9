"""Profiles on Spark local[2] vs the pandas streaming path. Not part of the test run.

    .venv/bin/python benchmarks/bench_spark.py [--rows 10000000] [--repeat 3] [--copies 10] [--fit]
                                               [--keep DIR]

Generates seeded Parquet data like benchmarks/bench_drift.py (35 numeric, 15 categorical
columns; one 1M-row file per million rows) in a temporary folder, fits a reference profile
on the first million rows (pandas), then times, each in a fresh process so peak RSS is its own:

* ``pandas``: the drift report's streaming path (250,000-row batches, ``profile_frame``,
  merged) over the files one after the other;
* ``spark``: :func:`readiness.engines.spark.profile_dataframe` on a ``local[2]`` session
  (JVM start included, reported apart), partial profiles merged on the driver;
* with ``--fit``: fitting a reference on all rows (pandas in memory vs Spark's four passes);
* with ``--copies N``: the same two paths over a folder that lists the files N times
  (symbolic links): N × the rows with the disk of one copy.

Every run is repeated ``--repeat`` times; the medians are printed, with the peak RSS of
the whole process tree (the JVM and Python workers included) and the load average, since
the machine is shared. Both profiles are checked equal before any figure is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def measure(args: list[str]) -> dict:
    """Run this script in a child for one timing; peak RSS of its process tree sampled every 0.2 s."""
    process = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, _ = process.communicate()
    done.set()
    watcher.join()
    if process.returncode:
        raise SystemExit(f"{args}: failed with exit code {process.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_gb"] = peak / 1e9
    return result


# ----------------------------------------------------------------- the timed work (child processes)


def child_pandas(folder: Path, reference_path: Path) -> dict:
    from readiness.reports.drift.report import iter_batches
    from readiness.stats.profile import load_profile, merge_profiles, profile_frame

    reference = load_profile(reference_path)
    started = time.perf_counter()
    parts = []
    for path in sorted(folder.glob("*.parquet")):
        for batch in iter_batches(path, "current", 250_000, text_as_categories=True):
            parts.append(profile_frame(batch, reference))
    merged = merge_profiles(parts)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": next(iter(merged.values())).n, "profile": _digest(merged)}


def child_spark(folder: Path, reference_path: Path, cores: int) -> dict:
    from readiness.engines import spark as spark_engine
    from readiness.stats.profile import load_profile

    reference = load_profile(reference_path)
    started = time.perf_counter()
    spark = spark_engine.spark_session(f"local[{cores}]", {"spark.driver.memory": "2g"})
    session = time.perf_counter() - started
    frame = spark_engine.read_data(spark, str(folder))
    partitions = frame.rdd.getNumPartitions()
    begun = time.perf_counter()
    merged = spark_engine.profile_dataframe(frame, reference)
    seconds = time.perf_counter() - begun
    return {"seconds": seconds, "session_seconds": session, "partitions": partitions, "cores": cores,
            "rows": next(iter(merged.values())).n, "profile": _digest(merged)}


def child_fit(folder: Path, engine: str) -> dict:
    import pandas as pd

    started = time.perf_counter()
    if engine == "pandas":
        from readiness.data import read_table
        from readiness.stats.profile import fit_reference

        frame = pd.concat([read_table(p, "reference", text_as_categories=True) for p in sorted(folder.glob("*.parquet"))],
                          ignore_index=True)
        profiles, error = fit_reference(frame), 0.0
    else:
        from readiness.engines import spark as spark_engine

        spark = spark_engine.spark_session("local[2]", {"spark.driver.memory": "2g"})
        started = time.perf_counter()
        profiles, info = spark_engine.fit_reference_spark(spark_engine.read_data(spark, str(folder)), details=True)
        error = info["edge_rank_error"]
    return {"seconds": time.perf_counter() - started, "rows": next(iter(profiles.values())).n,
            "edge_rank_error": error, "kinds": sorted({p.kind for p in profiles.values()})}


def _digest(profiles) -> str:
    """Counts exactly and moments rounded to 9 significant digits: equal digests = equal profiles."""
    import hashlib

    text = json.dumps({n: [p.n, p.missing, p.counts, p.below, p.above, p.minimum, p.maximum,
                           float(f"{p.total:.9g}"), float(f"{p.total_squares:.9g}")] for n, p in profiles.items()})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------- orchestration


def generate(folder: Path, rows: int) -> None:
    from bench_drift import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    for index in range(0, rows, 1_000_000):
        write_parquet(folder / f"part-{index // 1_000_000:04d}.parquet", min(1_000_000, rows - index), seed=index,
                      drifted=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=0, help="also time N × the rows (the files linked N times)")
    parser.add_argument("--copies-repeat", type=int, default=1, help="repeats of the N × rows timing")
    parser.add_argument("--skip-base", action="store_true", help="time only the N × rows set")
    parser.add_argument("--fit", action="store_true", help="also time fitting a reference on all rows")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the generated data in this folder")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "pandas":
            result = child_pandas(Path(rest[0]), Path(rest[1]))
        elif kind == "spark":
            result = child_spark(Path(rest[0]), Path(rest[1]), int(rest[2]))
        else:
            result = child_fit(Path(rest[0]), rest[1])
        print(json.dumps(result))
        return

    root = args.keep or Path(tempfile.mkdtemp(prefix="readiness-bench-spark-", dir="/tmp"))
    try:
        data = root / f"rows-{args.rows}"
        if not data.exists():
            started = time.perf_counter()
            generate(data, args.rows)
            print(f"generated {args.rows:,} rows × 50 columns in {time.perf_counter() - started:.0f} s "
                  f"({sum(p.stat().st_size for p in data.iterdir()) / 1e9:.2f} GB)", flush=True)
        reference = root / "reference.profile.json"
        if not reference.exists():
            from readiness.data import read_table
            from readiness.stats.profile import fit_reference, save_profile

            save_profile(fit_reference(read_table(sorted(data.glob("*.parquet"))[0], "reference",
                                                  text_as_categories=True)), reference)
        sets = [(args.rows, data)]
        if args.copies > 1:
            linked = root / f"rows-{args.rows}-x{args.copies}"
            if not linked.exists():
                linked.mkdir()
                for copy in range(args.copies):
                    for path in sorted(data.glob("*.parquet")):
                        (linked / f"copy{copy:02d}-{path.name}").symlink_to(path)
            sets.append((args.rows * args.copies, linked))
        if args.skip_base:
            sets = sets[1:]
        for rows, folder in sets:
            runs = {"pandas": [], "spark": []}
            for _ in range(args.repeat if rows == args.rows else args.copies_repeat):
                for engine in runs:
                    extra = [str(args.cores)] if engine == "spark" else []
                    runs[engine].append(measure(["--child", engine, str(folder), str(reference), *extra]))
                    print(f"  {rows:,} rows {engine}: {runs[engine][-1]['seconds']:.1f} s, "
                          f"{runs[engine][-1]['peak_rss_gb']:.2f} GB, load {os.getloadavg()[0]:.1f}", flush=True)
            digests = {r["profile"] for engine in runs for r in runs[engine]}
            assert len(digests) == 1, f"the two paths disagree: {digests}"
            report(rows, runs)
        if args.fit:
            for engine in ("spark", "pandas"):
                result = measure(["--child", "fit", str(data), engine])
                print(f"fit {args.rows:,} rows on {engine}: {result['seconds']:.1f} s, peak RSS "
                      f"{result['peak_rss_gb']:.2f} GB, edge rank error ≤ {result['edge_rank_error']:.4%}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def report(rows: int, runs: dict) -> None:
    pandas_s = statistics.median(r["seconds"] for r in runs["pandas"])
    spark_s = statistics.median(r["seconds"] for r in runs["spark"])
    session = statistics.median(r["session_seconds"] for r in runs["spark"])
    cores, partitions = runs["spark"][0]["cores"], runs["spark"][0]["partitions"]
    per_partition = spark_s * cores / partitions
    print(f"\n{rows:,} rows × 50 columns, medians of {len(runs['pandas'])} (load average now {os.getloadavg()[0]:.1f})")
    print("| path | profile time | rows/s | peak RSS (process tree) |")
    print("|---|---|---|---|")
    print(f"| pandas streaming | {pandas_s:.1f} s | {rows / pandas_s / 1e6:.2f} M | "
          f"{statistics.median(r['peak_rss_gb'] for r in runs['pandas']):.2f} GB |")
    print(f"| Spark local[{cores}] | {spark_s:.1f} s (+ {session:.1f} s session start) | {rows / spark_s / 1e6:.2f} M | "
          f"{statistics.median(r['peak_rss_gb'] for r in runs['spark']):.2f} GB |")
    per_core = rows / partitions / per_partition
    print(f"Spark: {partitions} partitions, {per_partition:.2f} core-seconds each "
          f"({per_core:,.0f} rows × 50 columns per core-second); "
          f"a cluster of C such cores profiles about {per_core:,.0f}·C rows/s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: a busy core is a fraction of a quiet one)\n",
          flush=True)


if __name__ == "__main__":
    main()
