"""Data-chaos robustness: does the model survive the upstream noise it will meet?

Each perturbation changes one column of a capped sample of golden rows (or the
frame as a whole), scaled by the data itself, and the model predicts again. The
outcome is one of three words:

* **crash** — the model raised (the one-line error is kept);
* **changed** — some rows' predictions moved: the predicted class flipped, or the
  score moved by more than ``tolerance`` (probability units for classifiers,
  ``tolerance × std(prediction)`` for regressions); the share of such rows comes
  with a Wilson 95% CI;
* **unchanged** — no row moved beyond the tolerance.

Each perturbation is one :class:`Perturbation` in :data:`PERTURBATIONS`; adding
one touches only that registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from readiness.artifacts.loading import Scorer

UNSEEN_CATEGORY = "__readiness_unseen__"
EXTRA_COLUMN = "__readiness_extra__"
ALL_COLUMNS = "(all columns)"


@dataclass(frozen=True)
class ColumnStats:
    """What the perturbations scale by, measured on the golden sample."""

    kind: str  # "numeric", "categorical" (text), "boolean" or "datetime"
    low: float = np.nan
    high: float = np.nan
    iqr: float = np.nan


def column_stats(frame: pd.DataFrame) -> dict[str, ColumnStats]:
    stats = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                stats[name] = ColumnStats("numeric")
                continue
            q1, q3 = np.percentile(finite, [25, 75])
            spread = q3 - q1 if q3 > q1 else (finite.std() or 1.0)
            stats[name] = ColumnStats("numeric", float(finite.min()), float(finite.max()), float(spread))
        elif pd.api.types.is_bool_dtype(column):
            stats[name] = ColumnStats("boolean")
        elif pd.api.types.is_datetime64_any_dtype(column):
            stats[name] = ColumnStats("datetime")
        else:
            stats[name] = ColumnStats("categorical")
    return stats


@dataclass(frozen=True)
class Perturbation:
    """One kind of upstream chaos: where it applies and how it changes the data."""

    name: str
    title: str
    applies_to: tuple[str, ...]  # column kinds ("numeric", "categorical", "boolean", "datetime"), "dataset" or "optional"
    apply: Callable[..., pd.DataFrame]
    doc: str
    # Input a model will plausibly meet in production (missing values, new categories, columns
    # reordered or added, a declared-optional column absent): a crash on it is a finding. A crash
    # on implausible input (numbers as text, values far beyond any seen) is shown, not warned.
    plausible: bool = False


def _noise(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    width = noise_iqr * stats.iqr
    out[column] = frame[column] + rng.uniform(-width, width, len(frame))
    return out


def _nan(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    # Keep the column's kind: a categorical column with missing values stays object dtype
    # (a whole float-NaN column would test dtype inference, not missing-value handling).
    dtype = float if stats.kind == "numeric" else object  # a bool or datetime column with gaps is object too
    out[column] = pd.Series(np.full(len(frame), np.nan, dtype=dtype), index=frame.index)
    return out


def _unseen(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    out[column] = pd.Series([UNSEEN_CATEGORY] * len(frame), index=frame.index, dtype=frame[column].dtype
                            if pd.api.types.is_string_dtype(frame[column]) else object)
    return out


def _out_of_range(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    span = max(stats.high - stats.low, stats.iqr, 1e-12)
    beyond = np.where(np.arange(len(frame)) % 2 == 0, stats.high + span, stats.low - span)
    out[column] = beyond.astype(float)
    return out


def _as_string(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    out[column] = frame[column].map(lambda v: None if pd.isna(v) else str(v)).astype(object)
    return out


def _shuffled_columns(frame, column, stats, rng, noise_iqr):
    order = list(rng.permutation(frame.columns))
    if order == list(frame.columns) and len(order) > 1:
        order = order[1:] + order[:1]
    return frame[order]


def _extra_column(frame, column, stats, rng, noise_iqr):
    return frame.assign(**{EXTRA_COLUMN: rng.normal(size=len(frame))})


def _missing_column(frame, column, stats, rng, noise_iqr):
    return frame.drop(columns=[column])


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in [
        Perturbation("noise", "± k·IQR noise", ("numeric",), _noise,
                     "uniform noise of ± noise_iqr × the column's inter-quartile range"),
        Perturbation("nan", "NaN injected", ("numeric", "categorical", "boolean", "datetime"), _nan,
                     "every value of the column missing", plausible=True),
        # text columns only: a string injected into a boolean or a date column is not a category
        Perturbation("unseen_category", "unseen category", ("categorical",), _unseen,
                     "a category the model never saw", plausible=True),
        Perturbation("out_of_range", "beyond min/max", ("numeric",), _out_of_range,
                     "values one full range above the golden maximum / below the minimum"),
        Perturbation("as_string", "numbers as strings", ("numeric",), _as_string,
                     "the same numbers sent as text (a CSV or JSON upstream change)"),
        Perturbation("shuffled_columns", "columns reordered", ("dataset",), _shuffled_columns,
                     "the same columns in another order", plausible=True),
        Perturbation("extra_column", "extra column", ("dataset",), _extra_column,
                     "an unexpected additional column", plausible=True),
        Perturbation("missing_column", "optional column missing", ("optional",), _missing_column,
                     "a column declared optional is absent", plausible=True),
    ]
}
OUTCOME_RANK = {"crash": 0, "changed": 1, "unchanged": 2, "n/a": 3}


@dataclass
class Trial:
    column: str
    perturbation: str
    outcome: str  # crash, changed, unchanged
    share: float = 0.0
    ci: tuple[float, float] = (0.0, 0.0)
    error: str = ""
    mean_shift: float = 0.0


@dataclass
class RobustnessResult:
    trials: list[Trial]
    rules: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (scipy's binomtest)."""
    from scipy.stats import binomtest

    if trials == 0:
        return (float("nan"), float("nan"))
    interval = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:240]}" if text else type(exc).__name__


def changed_rows(reference, perturbed, task: str, tolerance: float, scale: float) -> np.ndarray:
    ref_scores, ref_labels = reference
    new_scores, new_labels = perturbed
    if task == "regression":
        return np.abs(new_scores - ref_scores) > tolerance * scale
    moved = np.abs(new_scores - ref_scores)
    moved = moved.max(axis=1) if moved.ndim == 2 else moved
    flipped = (new_labels != ref_labels) if ref_labels is not None else np.zeros(len(moved), bool)
    return flipped | (moved > tolerance)


def run_trials(scorer: Scorer, frame: pd.DataFrame, settings, seed: int) -> RobustnessResult:
    """Apply every configured perturbation to every column it applies to."""
    import time

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    stats = column_stats(frame)
    reference = scorer(frame)
    scale = (float(np.std(reference[0])) or 1.0) if scorer.task == "regression" else 1.0
    planned: list[tuple[str, str, pd.DataFrame]] = []
    for name in settings.perturbations:
        perturbation = PERTURBATIONS[name]
        targets: list[str]
        if "dataset" in perturbation.applies_to:
            targets = [ALL_COLUMNS]
        elif "optional" in perturbation.applies_to:
            targets = [c for c in settings.optional_columns if c in frame.columns]
        else:
            targets = [c for c in frame.columns if stats[c].kind in perturbation.applies_to]
        for column in targets:
            planned.append((column, name, perturbation.apply(frame, column, stats.get(column), rng, settings.noise_iqr)))
    outputs = _predict_all(scorer, frame, [p[2] for p in planned])
    trials: list[Trial] = []
    for (column, name, _), result in zip(planned, outputs):
        if isinstance(result, BaseException):  # the point: any exception the model raises is a finding
            trials.append(Trial(column, name, "crash", error=one_line(result)))
            continue
        changed = changed_rows(reference, result, scorer.task, settings.tolerance, scale)
        count = int(changed.sum())
        shift = float(np.mean(Scorer.positive_score(result[0])) - np.mean(Scorer.positive_score(reference[0])))
        trials.append(Trial(column, name, "changed" if count else "unchanged", count / len(frame),
                            wilson_interval(count, len(frame)), mean_shift=shift))
    rules = _invariant_rules(scorer, frame, settings, reference, scale, rng) + _direction_rules(scorer, frame, settings, stats, reference)
    return RobustnessResult(trials, rules, len(frame), time.perf_counter() - started)


def _predict_all(scorer: Scorer, frame: pd.DataFrame, frames: list[pd.DataFrame], max_rows: int = 200_000):
    """Predict every perturbed frame; an exception is returned in place of its outputs.

    Frames with exactly the original columns and dtypes are stacked into few large
    calls (one pipeline call per ~200k rows instead of one per trial); if a stacked
    call raises, its frames are retried one by one so each crash is attributed to its
    own perturbation.
    """
    results: list = [None] * len(frames)
    same = [i for i, f in enumerate(frames)
            if list(f.columns) == list(frame.columns) and (f.dtypes == frame.dtypes).all()]
    alone = [i for i in range(len(frames)) if i not in set(same)]
    per_call = max(1, max_rows // max(len(frame), 1))
    for start in range(0, len(same), per_call):
        group = same[start:start + per_call]
        try:
            scores, labels = scorer(pd.concat([frames[i] for i in group], ignore_index=True))
        except Exception:
            alone.extend(group)
            continue
        for k, i in enumerate(group):
            rows = slice(k * len(frame), (k + 1) * len(frame))
            results[i] = (scores[rows], None if labels is None else labels[rows])
    for i in alone:
        try:
            results[i] = scorer(frames[i])
        except Exception as exc:
            results[i] = exc
    return results


def _invariant_rules(scorer, frame, settings, reference, scale, rng) -> list[dict[str, Any]]:
    """A column declared invariant is shuffled across rows: predictions must not move."""
    out = []
    for column in settings.invariant:
        shuffled = frame.copy()
        shuffled[column] = rng.permutation(frame[column].to_numpy())
        try:
            changed = changed_rows(reference, scorer(shuffled), scorer.task, settings.tolerance, scale)
        except Exception as exc:
            out.append({"rule": "invariant", "column": column, "status": "fail",
                        "message": f"crash: shuffling {column!r} made the model raise {one_line(exc)}"})
            continue
        count = int(changed.sum())
        low, high = wilson_interval(count, len(frame))
        if count:
            out.append({"rule": "invariant", "column": column, "status": "fail", "value": count / len(frame),
                        "ci": [low, high],
                        "message": f"changed: shuffling {column!r} across rows moved {count} of {len(frame)} predictions "
                                   f"({count / len(frame):.1%}); the model uses a column declared invariant"})
        else:
            out.append({"rule": "invariant", "column": column, "status": "pass", "value": 0.0, "ci": [low, high],
                        "message": f"unchanged: shuffling {column!r} across rows moved no prediction beyond the tolerance"})
    return out


def _direction_rules(scorer, frame, settings, stats, reference) -> list[dict[str, Any]]:
    """Raising a column by one IQR must move the prediction the declared way (or not at all)."""
    out = []
    base = Scorer.positive_score(reference[0])
    for column, direction in settings.direction.items():
        raised = frame.copy()
        raised[column] = frame[column] + stats[column].iqr
        try:
            moved = Scorer.positive_score(scorer(raised)[0]) - base
        except Exception as exc:
            out.append({"rule": "direction", "column": column, "status": "fail",
                        "message": f"crash: raising {column!r} made the model raise {one_line(exc)}"})
            continue
        # a tiny epsilon absorbs floating-point noise; any larger move the wrong way counts
        wrong = moved < -1e-9 if direction == "increasing" else moved > 1e-9
        count = int(wrong.sum())
        low, high = wilson_interval(count, len(frame))
        verb = "rises" if direction == "increasing" else "falls"
        if count:
            out.append({"rule": "direction", "column": column, "status": "fail", "value": count / len(frame), "ci": [low, high],
                        "message": f"changed: raising {column!r} by one IQR ({stats[column].iqr:.4g}) moved {count} of "
                                   f"{len(frame)} predictions the wrong way; expected the prediction {verb} ({direction})"})
        else:
            out.append({"rule": "direction", "column": column, "status": "pass", "value": 0.0, "ci": [low, high],
                        "message": f"changed as declared: raising {column!r} by one IQR never moved a prediction against "
                                   f"'{direction}' ({int((np.abs(moved) > 1e-9).sum())} rows moved, all the right way)"})
    return out
