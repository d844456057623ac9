"""Seeded, vectorised, paired bootstrap.

Resamples are drawn as count matrices (how often each row is drawn), in chunks
that bound memory to about ``max_cells`` float64 values. Every statistic sees
the same resamples, so candidate − baseline differences are paired on the same
rows, and segment statistics use the same draws restricted to their rows.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]


def _chunk_sizes(n_rows: int, n_resamples: int, max_cells: int) -> list[int]:
    chunk = max(1, min(n_resamples, max_cells // max(n_rows, 1)))
    sizes = [chunk] * (n_resamples // chunk)
    if n_resamples % chunk:
        sizes.append(n_resamples % chunk)
    return sizes


def _counts(n_rows: int, size: int, seed_sequence: np.random.SeedSequence) -> np.ndarray:
    rng = np.random.default_rng(seed_sequence)
    draws = rng.integers(0, n_rows, size=(size, n_rows))
    draws += (np.arange(size) * n_rows)[:, None]
    counts = np.bincount(draws.ravel(), minlength=size * n_rows).reshape(size, n_rows)
    # float32 holds integer counts exactly (< 2**24) at half the memory traffic.
    return counts.astype(np.float32)


def resample_counts(n_rows: int, n_resamples: int, seed: int, max_cells: int = 4_000_000):
    """Yield ``(chunk, n_rows)`` count matrices whose rows each sum to ``n_rows``.

    Chunk ``k`` draws from its own child of ``SeedSequence(seed)``, so the
    resamples depend only on the seed, the row count and ``max_cells`` (which
    bounds chunk × n_rows, hence peak memory), never on threading.
    """
    sizes = _chunk_sizes(n_rows, n_resamples, max_cells)
    for size, child in zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes))):
        yield _counts(n_rows, size, child)


def bootstrap(
    n_rows: int,
    statistics: Mapping[str, Statistic],
    n_resamples: int = 1000,
    seed: int = 0,
    workers: int | None = None,
    max_cells: int = 4_000_000,
) -> dict[str, np.ndarray]:
    """Evaluate every statistic on the same bootstrap resamples.

    Parameters
    ----------
    n_rows : int
        Rows in the dataset the statistics index.
    statistics : mapping of name to callable
        Each takes a ``(B, n_rows)`` weight matrix and returns ``B`` values.
    n_resamples : int
        Number of resamples.
    seed : int
        Generator seed; results do not depend on ``workers``.
    workers : int, optional
        Threads evaluating chunks in parallel (numpy releases the GIL in the
        heavy kernels). Default: up to 4, one per CPU.
    max_cells : int
        Upper bound on resamples-per-chunk × n_rows.

    Returns
    -------
    dict of name to ndarray of shape (n_resamples,)

    Examples
    --------
    >>> values = np.arange(10.0)
    >>> out = bootstrap(10, {"mean": lambda w: w @ values / w.sum(1)}, n_resamples=200)
    >>> out["mean"].shape
    (200,)
    """
    sizes = _chunk_sizes(n_rows, n_resamples, max_cells)
    children = np.random.SeedSequence(seed).spawn(len(sizes))

    def run_chunk(k: int) -> dict[str, np.ndarray]:
        counts = _counts(n_rows, sizes[k], children[k])
        return {name: np.asarray(fn(counts), dtype=np.float64) for name, fn in statistics.items()}

    workers = workers or min(4, os.cpu_count() or 1)
    if workers > 1 and len(sizes) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run_chunk, range(len(sizes))))
    else:
        parts = [run_chunk(k) for k in range(len(sizes))]
    return {name: np.concatenate([part[name] for part in parts]) for name in statistics}


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    valid_resamples: int

    def as_list(self) -> list[float]:
        return [self.low, self.high]

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> Interval:
    """Percentile confidence interval, ignoring resamples where a statistic is undefined."""
    finite = samples[np.isfinite(samples)]
    if finite.size < 2:
        return Interval(float("nan"), float("nan"), int(finite.size))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(low), float(high), int(finite.size))
