"""Allow-listing loader vs plain joblib.load on a ~100 MB random forest, and the bombs. Not part of the test run.

    .venv/bin/python benchmarks/bench_load.py [--megabytes 100] [--repeat 5]

Builds a random forest whose joblib file is about the requested size, writes it
uncompressed, zlib-compressed (compress=3) and as a plain pickle, then times
``readiness.artifacts.safe_pickle.load_pickle`` (what readiness loads untrusted pickles with:
every global judged, every call checked, trees validated) against ``joblib.load``
(no checks) in the same process, best of ``--repeat``; then the path an untrusted
model really takes in ``readiness run``: a confined worker process started, the file
loaded there and 1,000 rows predicted (``SandboxedModel``), against ``joblib.load``
plus the same prediction in-process. Also times the decompression
bombs of the test corpus at the default 4 GiB limit, each in a fresh process with
its peak RSS, and prints the allow-list's size.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from readiness.artifacts.safe_pickle import load_pickle
from readiness.artifacts.worker import SandboxedModel

HERE = Path(__file__).resolve().parent


def best_of_interleaved(repeat: int, *functions) -> list[float]:
    """Best time of each function, run in turn so that a busy moment hits all of them alike."""
    times = [[] for _ in functions]
    for _ in range(repeat):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - started)
    return [min(t) for t in times]


def forest_of(megabytes: float) -> RandomForestClassifier:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))
    y = (X[:, 0] + rng.normal(size=20_000) > 0).astype(int)
    probe = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    per_tree = len(pickle.dumps(probe, protocol=5)) / 4
    trees = max(1, int(megabytes * 1024**2 / per_tree))
    return RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=2).fit(X, y)


def bomb_in_child(builder: str, folder: Path) -> tuple[float, int, str]:
    path = folder / f"{builder}.joblib"
    code = (
        "import sys, time, resource\n"
        f"sys.path.insert(0, {str(HERE.parent / 'tests')!r})\n"
        "import pickle_corpus\n"
        f"pickle_corpus.{builder}(__import__('pathlib').Path({str(path)!r}))\n"
        "from readiness.artifacts.safe_pickle import load_pickle, RefusedArtifact\n"
        "started = time.perf_counter()\n"
        "try:\n"
        f"    load_pickle(open({str(path)!r}, 'rb'))\n"
        "    outcome = 'LOADED'\n"
        "except RefusedArtifact as exc:\n"
        "    outcome = str(exc)\n"
        "peak = [int(l.split()[1]) // 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(time.perf_counter() - started, peak, outcome, sep='|')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    seconds, peak, outcome = done.stdout.strip().split("|", 2)
    return float(seconds), int(peak), f"{outcome[:90]} (file {path.stat().st_size:,} bytes)"


def main(megabytes: float, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="readiness-bench-load-") as work:
        work = Path(work)
        model = forest_of(megabytes)
        files = {"joblib, uncompressed": work / "rf.joblib", "joblib, zlib compress=3": work / "rf_z.joblib",
                 "pickle protocol 5": work / "rf.pkl"}
        joblib.dump(model, files["joblib, uncompressed"])
        joblib.dump(model, files["joblib, zlib compress=3"], compress=3)
        files["pickle protocol 5"].write_bytes(pickle.dumps(model, protocol=5))
        print(f"random forest: {len(model.estimators_)} trees, "
              f"{sum(e.tree_.node_count for e in model.estimators_):,} nodes")
        print(f"{'file':<26} {'size':>10} {'joblib.load':>12} {'readiness':>10} {'overhead':>9}  admitted")
        for label, path in files.items():
            def safe():
                with open(path, "rb") as handle:
                    return load_pickle(handle)
            plain, checked = best_of_interleaved(repeat, lambda: joblib.load(path), safe)
            _, record = safe()
            print(f"{label:<26} {path.stat().st_size / 1024**2:>8.1f}MB {plain:>11.3f}s {checked:>9.3f}s "
                  f"{(checked / plain - 1) * 100:>+8.0f}%  {len(record.globals)} globals, {record.trees_checked} trees validated")
        rows = np.random.default_rng(1).normal(size=(1_000, 20))

        def plain_and_predict(path=files["joblib, uncompressed"]):
            joblib.load(path).predict_proba(rows)

        def sandboxed_and_predict(path=files["joblib, uncompressed"]):
            model = SandboxedModel.start(str(path), "model", {})
            try:
                model.predict_proba(rows)
            finally:
                model.close()

        plain, sandboxed = best_of_interleaved(repeat, plain_and_predict, sandboxed_and_predict)
        print(f"\nuntrusted path, uncompressed joblib, load + predict_proba on 1,000 rows: "
              f"joblib.load in-process {plain:.3f}s, confined worker (start, safe load, predict) "
              f"{sandboxed:.3f}s ({(sandboxed / plain - 1) * 100:+.0f}%)")
        print("\nbombs at the default limit (4 GiB), each in a fresh process:")
        for builder in ("declared_huge_array", "zlib_zeros_bomb", "bz2_multistream_bomb"):
            seconds, peak, outcome = bomb_in_child(builder, work)
            print(f"  {builder:<22} {seconds:6.2f} s  peak RSS {peak:5d} MB  {outcome}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.megabytes, arguments.repeat)
