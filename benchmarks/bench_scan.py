"""Time the static pickle scan on a ~100 MB joblib file. Not part of the test run.

    .venv/bin/python benchmarks/bench_scan.py [--megabytes 100]

Builds a random forest whose joblib file is about the requested size, then scans
it uncompressed and zlib-compressed (compress=3), with a payload appended after
the arrays to show it is found. Prints file sizes, scan times and what was found.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from readiness.pickle_scan import scan_file


class Payload:
    def __reduce__(self):
        return os.system, ("echo never runs",)


def main(megabytes: float) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))
    y = (X[:, 0] + rng.normal(size=20_000) > 0).astype(int)
    folder = Path(tempfile.mkdtemp())
    trees = 10
    forest = RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=-1).fit(X, y)
    joblib.dump(forest, folder / "probe.joblib")
    per_tree = (folder / "probe.joblib").stat().st_size / trees
    trees = max(1, int(megabytes * 1e6 / per_tree))
    forest = RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=-1).fit(X, y)
    for name, kwargs in (("uncompressed", {}), ("zlib compress=3", {"compress": 3})):
        path = folder / f"forest-{name.split()[0]}.joblib"
        joblib.dump({"model": forest, "x": Payload()}, path, **kwargs)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            result = scan_file(path)
            best = min(best, time.perf_counter() - start)
        print(f"{name}: {path.stat().st_size / 1e6:.1f} MB file ({trees} trees), scan {best:.2f} s best of 3; "
              f"{len(result.globals)} globals, {result.arrays} array buffers skipped, "
              f"{result.bytes_scanned / 1e6:.1f} MB decompressed; dangerous: {result.dangerous}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100)
    main(parser.parse_args().megabytes)
