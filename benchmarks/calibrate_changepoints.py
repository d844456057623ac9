"""Calibrate the changepoint penalty by simulation, and measure false alarms and power. Not a test.

    .venv/bin/python benchmarks/calibrate_changepoints.py [--series 2000] [--check-only]

1. Penalty: for each series length n on the grid, simulate stationary Gaussian series,
   scale each by the detector's own robust noise estimate, and find per series the
   smallest penalty (bisection to 0.25) with which PELT reports no changepoint.
   The calibrated penalty for a false-alarm rate α is the (1 − α) quantile of those
   (its upper 95% confidence bound, rounded up to 0.25): then at most a share α of
   stationary series shows any changepoint at all.
2. Check: the false-alarm rate of `detect_changepoints` with the calibrated table, on
   fresh series (another seed), at lengths on and off the grid.
3. Power: a 5% shift of the mean prediction (scores Beta(2, 8): mean 0.2, sd 0.121) after 20
   reference chunks; detected when, with three post-shift chunks, a changepoint lies within
   one chunk of the shift. Reported per chunk size.

Results (2026-11-25, 4,000 series per length for the table; 2,000 fresh series per cell
for the check): the table in readiness/monitoring/changepoints.py; false alarms at a
stated 5%: 3.6% (5 chunks), 1.5% (10), 1.9% (20), 2.1% (30), 2.7% (64), 3.1% (100),
2.2% (365); at a stated 1%: ≤ 0.6%; at 10%: ≤ 7.2%. Power of a 5% shift within three
chunks: 43% at 1,000 rows per chunk, 84% at 2,000, 99.6% at 5,000, 100% at 10,000.
Runtime: about 4 minutes for the table (most of it n = 512), 1 minute for the check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from readiness.reports.monitoring.changepoints import (CALIBRATION_LENGTHS, detect_changepoints,  # noqa: E402
                                               noise_scale, penalty)


def critical_beta(series: np.ndarray, low: float = 2.0, high: float = 120.0) -> float:
    """Smallest penalty (to 0.25) at which PELT finds no changepoint (their count falls as the penalty grows)."""
    scale = noise_scale(series)
    if detect_changepoints(series, scale=scale, beta=high):
        return high
    while high - low > 0.25:
        middle = (low + high) / 2
        if detect_changepoints(series, scale=scale, beta=middle):
            low = middle
        else:
            high = middle
    return high


def upper_quantile(values: np.ndarray, probability: float, confidence: float = 0.95) -> float:
    """An upper confidence bound of a quantile: the order statistic whose rank is the
    binomial upper bound (so the calibrated rate errs towards fewer false alarms)."""
    from scipy.stats import binom

    ordered = np.sort(values)
    rank = int(binom.ppf(confidence, len(values), probability))
    return float(ordered[min(rank, len(values) - 1)])


def calibrate(series_per_length: int, seed: int = 0) -> dict[float, list[float]]:
    rng = np.random.default_rng(seed)
    table = {0.01: [], 0.05: [], 0.1: []}
    for n in CALIBRATION_LENGTHS:
        started = time.perf_counter()
        betas = np.array([critical_beta(rng.normal(size=n)) for _ in range(series_per_length)])
        for rate in table:
            table[rate].append(float(np.ceil(upper_quantile(betas, 1 - rate) * 4) / 4))
        print(f"n={n:4d}: beta for 1%/5%/10% = {table[0.01][-1]}/{table[0.05][-1]}/{table[0.1][-1]} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    return table


def false_alarms(lengths, series: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for n in lengths:
        for rate in (0.01, 0.05, 0.1):
            # as the report runs it: the first third of the chunks (at most 10) is the reference period
            reference = min(10, max(1, n // 3))
            alarms = sum(bool(detect_changepoints(rng.normal(size=n), rate, reference=reference)) for _ in range(series))
            print(f"false alarms n={n:4d} stated {rate:.0%}: {alarms / series:.3f} ({alarms}/{series})", flush=True)


def power(chunk_rows: list[int], trials: int, seed: int = 2) -> None:
    rng = np.random.default_rng(seed)
    before, after = 20, 3
    for rows in chunk_rows:
        hits = 0
        for _ in range(trials):
            scores = rng.beta(2, 8, size=(before + after, rows))
            scores[before:] *= 1.05  # the mean prediction is 5% higher from chunk 20
            found = detect_changepoints(scores.mean(axis=1), 0.05, log=True, reference=min(10, (before + after) // 3))
            hits += any(abs(c.index - before) <= 1 for c in found)
        print(f"power, 5% shift, {rows:,} rows per chunk, 3 chunks after: {hits / trials:.3f} ({hits}/{trials})", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=4000)
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args()
    if not args.check_only:
        table = calibrate(args.series)
        print("CALIBRATED_BETA =", {k: tuple(v) for k, v in table.items()})
    print("penalty(n) at 5%:", {n: round(penalty(n), 2) for n in (8, 30, 100, 365, 1000)})
    false_alarms([5, 10, 20, 30, 64, 100, 365], args.series // 2)
    power([1000, 2000, 5000, 10000], 500)
