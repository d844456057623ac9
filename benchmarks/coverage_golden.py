"""Coverage of the golden benchmark's confidence intervals at large golden sets. Not part of the test run.

    .venv/bin/python benchmarks/coverage_golden.py [--rows 1000000] [--replications 60] [--method auto]

Draws golden sets from the population of tests/coverage_sim.py (exact population
values), estimates each binary metric's CI and each paired candidate − baseline CI
the way the report does, and prints the share of replications whose interval covers
the population value, with its binomial standard error. The tests check 1k and 100k
rows; this script covers the million-row sets the analytic intervals are for.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from coverage_sim import coverage  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replications", type=int, default=60)
    parser.add_argument("--method", default="auto", choices=["auto", "analytic", "bootstrap"])
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args()
    start = time.perf_counter()
    found = coverage(args.rows, args.replications, seed=7, method=args.method, confidence=args.confidence)
    se = np.sqrt(args.confidence * (1 - args.confidence) / args.replications)
    print(f"{args.rows:,} rows, {args.replications} replications, method {args.method}, nominal {args.confidence:.0%} "
          f"(binomial SE of a coverage estimate ±{se:.3f}); {time.perf_counter() - start:.0f} s")
    for key, share in found.items():
        flag = "" if abs(share - args.confidence) <= 3 * se else "   <- beyond 3 SE"
        print(f"  {key:<32} {share:6.3f}{flag}")
    print(f"  mean over {len(found)} intervals: {np.mean(list(found.values())):.3f}")
