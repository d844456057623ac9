"""The Shapley engine behind :mod:`readiness.stats.attribution`: coalitions, mixed rows, couplings.

Kept apart from the public API so each reads on its own: this module knows nothing
of reports, checks or configs. A *game* has players ``[model] + sources``; its value
on a pair (new row, old row) for a coalition is the model output on the *mixed row*
whose columns come from the new row when their source is in the coalition (and the
new model predicts when the model is). :func:`coupling` pairs two row sets with exact
marginals; :meth:`Game.exact` evaluates all ``2^k`` coalitions per pair in a few
stacked predict calls; :meth:`Game.permutation` one random player order per pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from readiness.stats.bootstrap import percentile_interval
from readiness.exceptions import InputError


# --------------------------------------------------------------------------- Shapley algebra


def shapley_coefficients(k: int) -> np.ndarray:
    """``(k, 2^k)`` matrix ``C`` with ``φ = C @ v`` for a game ``v`` indexed by bitmask.

    Examples
    --------
    >>> shapley_coefficients(2) @ np.array([0.0, 1.0, 2.0, 4.0])  # v(∅), v({0}), v({1}), v({0,1})
    array([1.5, 2.5])
    """
    masks = np.arange(2**k)
    member = ((masks[None, :] >> np.arange(k)[:, None]) & 1).astype(bool)
    size = member.sum(axis=0)
    fact = [math.factorial(i) for i in range(k + 1)]
    joins = np.array([fact[s - 1] * fact[k - s] / fact[k] if s >= 1 else 0.0 for s in size])
    stays = np.array([fact[s] * fact[k - s - 1] / fact[k] if s < k else 0.0 for s in size])
    return np.where(member, joins[None, :], -stays[None, :])


# --------------------------------------------------------------------------- mixed rows


def _combine(new: pd.Series, old: pd.Series):
    """One array holding the new column followed by the old one, dtype kept where both agree."""
    if isinstance(new.dtype, pd.CategoricalDtype) and isinstance(old.dtype, pd.CategoricalDtype):
        from pandas.api.types import union_categoricals

        return union_categoricals([new.array, old.array], ignore_order=True)
    if isinstance(new.dtype, np.dtype) and new.dtype == old.dtype and new.dtype.kind in "biufcmM?":
        return np.concatenate([new.to_numpy(), old.to_numpy()])
    return pd.concat([new, old], ignore_index=True).array


class Mixer:
    """Builds mixed rows: each column from the new row when its source is in the coalition."""

    def __init__(self, new: pd.DataFrame, old: pd.DataFrame, groups: list[list[Any]]):
        self.columns = list(new.columns)
        missing = [c for c in self.columns if c not in old.columns]
        if missing:
            raise InputError(f"columns {', '.join(repr(str(c)) for c in missing[:5])} are in one data set only; "
                             "attribution needs the same columns in both")
        group_of = {c: g for g, cols in enumerate(groups) for c in cols}
        self.group = [group_of[c] for c in self.columns]
        self.n_new = len(new)
        self.data = [_combine(new[c].reset_index(drop=True), old[c].reset_index(drop=True)) for c in self.columns]

    def mix(self, take_new: np.ndarray, new_rows: np.ndarray, old_rows: np.ndarray) -> pd.DataFrame:
        """Rows ``r``: source ``g``'s columns from new row ``new_rows[r]`` if ``take_new[r, g]``."""
        out = {}
        for position, (column, g) in enumerate(zip(self.columns, self.group)):
            index = np.where(take_new[:, g], new_rows, self.n_new + old_rows)
            out[position] = self.data[position].take(index)
        frame = pd.DataFrame(out)
        frame.columns = self.columns
        return frame


def _predict_chunks(mixer: Mixer, functions: list[Callable], take_new, new_rows, old_rows, chunk: int) -> list[np.ndarray]:
    """Every function on the mixed rows, building and predicting ``chunk`` rows at a time."""
    parts: list[list[np.ndarray]] = [[] for _ in functions]
    for start in range(0, len(new_rows), chunk):
        stop = start + chunk
        frame = mixer.mix(take_new[start:stop], new_rows[start:stop], old_rows[start:stop])
        for k, fn in enumerate(functions):
            parts[k].append(fn(frame))
    return [np.concatenate(p) if p else np.empty((0, 1)) for p in parts]


class Game:
    """Players ``[model] + sources``; values of coalitions on pairs (new row, old row).

    ``functions[m]`` maps a frame to ``(n, K)`` outputs for model state ``m`` (one
    state without a model player); ``new_values[m]`` / ``old_values[m]`` are those
    outputs on every new / old row (the coalitions that mix nothing).
    """

    def __init__(self, mixer: Mixer, n_sources: int, functions: list[Callable], new_values: list[np.ndarray],
                 old_values: list[np.ndarray], model_player: bool, chunk: int, value_of: Callable | None = None):
        self.mixer, self.G, self.functions = mixer, n_sources, functions
        self.new_values, self.old_values = new_values, old_values
        self.model_player, self.chunk = model_player, chunk
        self.k = n_sources + int(model_player)
        # how predictions of the functions become the game's value (Δ = f1 − f0 for a release)
        self.value_of = value_of or (lambda outs: outs[0])

    def _state_functions(self, m: int) -> list[Callable]:
        return [self.functions[m]] if self.model_player else self.functions

    def _row_value(self, m: int, all_new: bool, rows: np.ndarray) -> np.ndarray:
        return (self.new_values if all_new else self.old_values)[m][rows]

    def predicted_rows_exact(self, n_pairs: int) -> int:
        mixed = 2**self.G - 2
        return n_pairs * mixed * (2 if self.model_player else len(self.functions))

    def predicted_rows_permutation(self, n_pairs: int) -> int:
        return n_pairs * (self.k - 1) * (1 if self.model_player else len(self.functions))

    def exact(self, new_rows: np.ndarray, old_rows: np.ndarray) -> np.ndarray:
        """Values ``(L, 2^k, K)`` of every coalition on every pair (bit 0 = model if a player)."""
        L, G = len(new_rows), self.G
        subsets = np.arange(1, 2**G - 1)
        take = ((subsets[:, None] >> np.arange(G)[None, :]) & 1).astype(bool)  # (H, G)
        H = len(subsets)
        rows_take = np.repeat(take, L, axis=0)
        mixed: list[np.ndarray] = []
        if H:
            states = 2 if self.model_player else 1
            functions = [f for m in range(states) for f in self._state_functions(m)]
            outs = _predict_chunks(self.mixer, functions, rows_take, np.tile(new_rows, H), np.tile(old_rows, H), self.chunk)
            per_state = len(functions) // states
            mixed = [self.value_of(outs[m * per_state:(m + 1) * per_state]).reshape(H, L, -1) for m in range(states)]
        K = self.new_values[0].shape[1]
        values = np.empty((L, 2**self.k, K))
        full = 2**G - 1
        for mask in range(2**self.k):
            m = mask & 1 if self.model_player else 0
            s = mask >> 1 if self.model_player else mask
            if s == 0:
                values[:, mask] = self._row_value(m, False, old_rows)
            elif s == full:
                values[:, mask] = self._row_value(m, True, new_rows)
            else:
                values[:, mask] = mixed[m][s - 1]
        return values

    def permutation(self, new_rows: np.ndarray, old_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Marginal contributions ``(L, k, K)`` along one random player order per pair."""
        L, k, G = len(new_rows), self.k, self.G
        order = rng.permuted(np.tile(np.arange(k), (L, 1)), axis=1)
        rank = np.argsort(order, axis=1)
        K = self.new_values[0].shape[1]
        chain = np.empty((L, k + 1, K))
        chain[:, 0] = self._row_value(0, False, old_rows)
        chain[:, k] = self._row_value(-1 if self.model_player else 0, True, new_rows)
        levels = np.arange(1, k)
        member = rank[:, None, :] < levels[None, :, None]  # (L, k-1, k)
        model_in = member[:, :, 0] if self.model_player else np.zeros((L, k - 1), bool)
        take = member[:, :, int(self.model_player):]  # (L, k-1, G)
        n_taken = take.sum(axis=2)
        pair = np.repeat(np.arange(L), k - 1)
        level = np.tile(levels, L)
        flat_take, flat_model, flat_n = take.reshape(-1, G), model_in.ravel(), n_taken.ravel()
        for m in range(2 if self.model_player else 1):
            this = flat_model == bool(m)
            for all_new, where in ((False, this & (flat_n == 0)), (True, this & (flat_n == G))):
                rows = (new_rows if all_new else old_rows)[pair[where]]
                chain[pair[where], level[where]] = self._row_value(m, all_new, rows)
            mixed = this & (flat_n > 0) & (flat_n < G)
            if mixed.any():
                outs = _predict_chunks(self.mixer, self._state_functions(m), flat_take[mixed],
                                       new_rows[pair[mixed]], old_rows[pair[mixed]], self.chunk)
                chain[pair[mixed], level[mixed]] = self.value_of(outs)
        phi = np.empty((L, k, K))
        steps = np.diff(chain, axis=1)  # (L, k, K): step t adds player order[:, t]
        np.put_along_axis(phi, order[:, :, None], steps, axis=1)
        return phi


# --------------------------------------------------------------------------- designs


@dataclass
class Design:
    """Pairs of (new row, old row) with weights, grouped in clusters (the bootstrap units)."""

    new_rows: np.ndarray
    old_rows: np.ndarray
    weight: np.ndarray
    cluster: np.ndarray
    n_clusters: int


def coupling(n_new: int, n_old: int, rng: np.random.Generator) -> Design:
    """Random coupling of two row sets with exact uniform marginals (north-west corner rule).

    After shuffling both sides, new row ``a`` covers ``[a·n_old, (a+1)·n_old)`` and old row ``b``
    covers ``[b·n_new, (b+1)·n_new)`` on a line of length ``n_new·n_old``; every overlap is a pair
    weighted by its length. Each row's pairs weigh exactly ``1/n`` of its side, so any statistic
    linear in the rows has its full-data value; there are at most ``n_new + n_old − 1`` pairs. A
    cluster is a row of the smaller side with its partners.

    Examples
    --------
    >>> design = coupling(2, 3, np.random.default_rng(0))
    >>> len(design.weight), float(design.weight.sum())
    (4, 1.0)
    >>> np.bincount(design.old_rows, design.weight).round(6).tolist()  # each old row weighs 1/3
    [0.333333, 0.333333, 0.333333]
    """
    shuffled_new, shuffled_old = rng.permutation(n_new), rng.permutation(n_old)
    cuts = np.union1d(np.arange(n_new + 1, dtype=np.int64) * n_old, np.arange(n_old + 1, dtype=np.int64) * n_new)
    starts, lengths = cuts[:-1], np.diff(cuts)
    a, b = starts // n_old, starts // n_new
    cluster = a if n_new <= n_old else b
    return Design(shuffled_new[a], shuffled_old[b], lengths / (n_new * n_old), cluster, min(n_new, n_old))


def pick_pairs(design: Design, n_clusters_wanted: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One pair in each of ``n_clusters_wanted`` random clusters, drawn with probability ∝ weight."""
    chosen = np.sort(rng.choice(design.n_clusters, size=n_clusters_wanted, replace=False))
    first = np.searchsorted(design.cluster, np.arange(design.n_clusters))
    cumulative = np.cumsum(design.weight)
    before = np.r_[0.0, cumulative][first[chosen]]
    mass = np.bincount(design.cluster, weights=design.weight, minlength=design.n_clusters)[chosen]
    pick = np.searchsorted(cumulative, before + rng.random(len(chosen)) * mass, side="right")
    return chosen, np.minimum(pick, len(design.weight) - 1)


def per_cluster(design: Design, values: np.ndarray) -> np.ndarray:
    """Weighted mean of per-pair ``values`` (pairs, q) within each cluster → (clusters, q)."""
    mass = np.bincount(design.cluster, weights=design.weight, minlength=design.n_clusters)
    out = np.empty((design.n_clusters, values.shape[1]))
    for q in range(values.shape[1]):
        out[:, q] = np.bincount(design.cluster, weights=design.weight * values[:, q], minlength=design.n_clusters)
    return out / mass[:, None]


def ratio_mean(counts: np.ndarray, values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """Resampled means ``(B, q)`` of per-unit ``values`` (n, q) over the units ``rows`` (None = all)."""
    if rows is not None:
        counts, values = counts[:, rows], values[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts @ values.astype(counts.dtype)) / counts.sum(axis=1, keepdims=True)


class Blocks:
    """Bootstrap units: the units themselves, or groups of them (at most ``max_blocks``).

    Every mean resampled here is a ratio of sums over independent units (golden rows,
    clusters of a coupling). Resampling groups of units estimates the same variance as
    resampling the units, at a cost of resamples × groups instead of resamples × units.
    Golden rows come in file order, so they are grouped at random; clusters of a coupling
    are already in random order and are grouped with their neighbours (``neighbours``,
    at least ``min_size`` a group): with data sets of different sizes a row of the larger
    one is split between two neighbouring clusters, and keeping neighbours together keeps
    the covariance that split creates (resampled apart, the CIs came out 8% too narrow).

    Examples
    --------
    >>> blocks = Blocks(6, max_blocks=3, seed=0, neighbours=True)
    >>> blocks.of.tolist(), blocks.n
    ([0, 0, 1, 1, 2, 2], 3)
    >>> Blocks.mean(np.ones((1, 3)), blocks.sums(np.arange(6.0))).tolist()  # the plain mean
    [[2.5]]
    """

    def __init__(self, n_units: int, max_blocks: int, seed: int, neighbours: bool = False, min_size: int = 1):
        size = max(min_size, -(-n_units // max_blocks))
        if size <= 1:
            self.of, self.n = np.arange(n_units), n_units
        elif neighbours:
            self.of = np.arange(n_units) // size
            self.n = int(self.of[-1]) + 1
        else:
            self.n = -(-n_units // size)
            self.of = np.random.default_rng([seed, 17]).permutation(n_units) % self.n

    def sums(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Per block: the sums of ``values`` (one row per unit of ``rows``; all units if None), then the count."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        block = self.of if rows is None else self.of[rows]
        out = np.empty((self.n, values.shape[1] + 1))
        for q in range(values.shape[1]):
            out[:, q] = np.bincount(block, weights=values[:, q], minlength=self.n)
        out[:, -1] = np.bincount(block, minlength=self.n)
        return out

    @staticmethod
    def mean(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Resampled means ``(B, q)`` from block counts ``(B, blocks)`` and :meth:`sums`."""
        total = counts @ sums.astype(counts.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total[:, :-1].astype(np.float64) / total[:, -1:]


def interval(samples: np.ndarray, confidence: float) -> tuple[tuple[float, float] | None, float | None]:
    interval = percentile_interval(samples, confidence)
    if not math.isfinite(interval.low):
        return None, None
    finite = samples[np.isfinite(samples)]
    return (interval.low, interval.high), float(np.std(finite, ddof=1)) if finite.size > 1 else None
