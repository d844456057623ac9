"""Plumbing shared by the two estimators."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from readiness.stats.attribution.outputs import Outputs
from readiness.stats.attribution.settings import MODEL_PLAYER, AttributionSettings
from readiness.exceptions import InputError


def _source_players(names: list[str], groups: list[list[Any]], model_player: bool) -> list[tuple[str, str, list[str]]]:
    players = [(MODEL_PLAYER, "model", [])] if model_player else []
    return players + [(name, "source", [str(c) for c in cols]) for name, cols in zip(names, groups)]


def _mode(game: Any, n_pairs: int, n_units: int, settings: AttributionSettings) -> str:
    """Exact while every coalition fits on enough pairs; one random order per pair otherwise.

    At a fixed budget exact mode evaluates ``budget / (2^k − 2)`` pairs and one order per
    pair ``budget / (k − 1)``: past a few players the row sample, not the order, limits
    precision (benchmarks/bench_attribution.py: 10 sources exact ±0.026, 12 by permutation ±0.003).
    """
    if game.k > settings.max_exact_players:
        return "permutation"
    affordable = settings.max_evaluations // max(game.predicted_rows_exact(1), 1)
    enough = n_pairs <= affordable or affordable >= min(settings.min_exact_pairs, n_units)
    return "exact" if enough else "permutation"


def _choose_output(outputs: Outputs, output: int | str | None, start: np.ndarray, end: np.ndarray) -> int:
    """Which output column the mean-prediction game follows (the one that moved most by default)."""
    if output is None:
        return int(np.argmax(np.abs(np.asarray(end) - np.asarray(start)))) if len(outputs.labels) > 1 else 0
    if isinstance(output, (int, np.integer)):
        if not 0 <= int(output) < len(outputs.labels):
            raise InputError(f"output {output} does not exist; the model has {len(outputs.labels)} output(s)")
        return int(output)
    for index, label in enumerate(outputs.labels):
        if output in (label, label[2:-1] if label.startswith("P(") else None):
            return index
    raise InputError(f"output {output!r} is not one of the model's outputs: {', '.join(outputs.labels)}")


def _frames(X_new: pd.DataFrame, X_old: pd.DataFrame, what: str) -> None:
    for frame, name in ((X_new, "new"), (X_old, "old")):
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"{what}: the {name} data must be a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0:
            raise InputError(f"{what}: the {name} data has no rows; attribution needs rows on both sides")


def _as_rows(rows: np.ndarray, n: int) -> np.ndarray:
    rows = np.asarray(rows)
    return np.flatnonzero(rows) if rows.dtype == bool and len(rows) == n else rows.astype(np.int64)


def _columns_used(frame: pd.DataFrame, models: list[tuple[Any, Sequence[Any] | None]], source: str) -> list[Any]:
    """Union of the columns the models read, in the order of ``frame`` (all columns if a model has no names)."""
    wanted: list[Any] = []
    for model, given in models:
        estimator = getattr(model, "estimator", model)
        names = list(given) if given is not None else getattr(estimator, "feature_names_in_", None)
        if names is None:
            return list(frame.columns)
        wanted.extend(names)
    missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: the data lacks column(s) the model reads: {', '.join(repr(str(c)) for c in missing[:5])}")
    wanted_set = set(wanted)
    return [c for c in frame.columns if c in wanted_set]
