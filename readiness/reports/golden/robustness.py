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

The perturbations themselves (:data:`readiness.stats.perturbations.PERTURBATIONS`) live
apart, light enough for the driver's config validation and for the figures; this module
runs them against a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from readiness.artifacts.loading import Scorer
from readiness.exceptions import first_line
from readiness.stats.perturbations import PERTURBATIONS, column_stats

ALL_COLUMNS = "(all columns)"
OUTCOME_RANK = {"crash": 0, "changed": 1, "unchanged": 2, "n/a": 3}


@dataclass
class Trial:
    """One perturbation of one column and what the model did: crash, changed (with the share of rows that
    moved and its Wilson 95% CI) or unchanged.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> from readiness.config import section_settings
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(40, 10, 20).round(), "visits": rng.poisson(3, 20).astype(float)})
    >>> scorer = Scorer(ModelAdapter(LogisticRegression().fit(X, X["age"] > 40), "candidate"), "binary")
    >>> settings = section_settings("golden_benchmark", {"robustness": {
    ...     "perturbations": ["nan", "noise"], "direction": {"age": "increasing"}}}, "settings").robustness
    >>> result = run_trials(scorer, X, settings, seed=0)
    >>> [(trial.column, trial.perturbation, trial.outcome) for trial in result.trials]
    [('age', 'nan', 'crash'), ('visits', 'nan', 'crash'), ('age', 'noise', 'changed'), ('visits', 'noise', 'unchanged')]
    >>> result.trials[0].error
    'ValueError: Input X contains NaN.'
    >>> trial = result.trials[2]
    >>> trial.share, tuple(round(bound, 3) for bound in trial.ci)  # 3 of 20 rows moved beyond the tolerance
    (0.15, (0.052, 0.36))
    """

    column: str
    perturbation: str
    outcome: str  # crash, changed, unchanged
    share: float = 0.0
    ci: tuple[float, float] = (0.0, 0.0)
    error: str = ""
    mean_shift: float = 0.0


@dataclass
class RobustnessResult:
    """Every trial of a robustness run, the outcomes of the configured rules, the rows used and the seconds taken.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> from readiness.config import section_settings
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(40, 10, 20).round(), "visits": rng.poisson(3, 20).astype(float)})
    >>> scorer = Scorer(ModelAdapter(LogisticRegression().fit(X, X["age"] > 40), "candidate"), "binary")
    >>> settings = section_settings("golden_benchmark", {"robustness": {
    ...     "perturbations": ["nan", "noise"], "direction": {"age": "increasing"}}}, "settings").robustness
    >>> result = run_trials(scorer, X, settings, seed=0)
    >>> result.rows, len(result.trials)
    (20, 4)
    >>> rule = result.rules[0]
    >>> rule["rule"], rule["column"], rule["status"]
    ('direction', 'age', 'pass')
    >>> print(rule["message"])
    changed as declared: raising 'age' by one IQR never moved a prediction against 'increasing' (20 rows moved, all the
    right way)
    """

    trials: list[Trial]
    rules: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (scipy's binomtest).

    Examples
    --------
    >>> low, high = wilson_interval(3, 20)  # 3 of 20 rows changed
    >>> round(low, 3), round(high, 3)
    (0.052, 0.36)
    >>> wilson_interval(0, 0)
    (nan, nan)
    """
    from scipy.stats import binomtest

    if trials == 0:
        return (float("nan"), float("nan"))
    interval = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def changed_rows(reference, perturbed, task: str, tolerance: float, scale: float) -> np.ndarray:
    """Rows whose prediction moved: the class flipped or a score moved more than ``tolerance`` (classifiers),
    or the prediction moved more than ``tolerance × scale`` (regressions). Each argument is a (scores, labels)
    pair as :class:`~readiness.artifacts.loading.Scorer` returns it.

    Examples
    --------
    >>> before = (np.array([[0.9, 0.1], [0.45, 0.55], [0.2, 0.8]]), np.array([0, 1, 1]))
    >>> after = (np.array([[0.88, 0.12], [0.52, 0.48], [0.1, 0.9]]), np.array([0, 0, 1]))
    >>> changed_rows(before, after, "binary", tolerance=0.05, scale=1.0)  # row 1 flipped, row 2 moved by 0.1
    array([False,  True,  True])
    >>> changed_rows((np.array([10.0, 20.0]), None), (np.array([10.5, 23.0]), None), "regression", 0.1, scale=5.0)
    array([False,  True])
    """
    ref_scores, ref_labels = reference
    new_scores, new_labels = perturbed
    if task == "regression":
        return np.abs(new_scores - ref_scores) > tolerance * scale
    moved = np.abs(new_scores - ref_scores)
    moved = moved.max(axis=1) if moved.ndim == 2 else moved
    flipped = (new_labels != ref_labels) if ref_labels is not None else np.zeros(len(moved), bool)
    return flipped | (moved > tolerance)


def run_trials(scorer: Scorer, frame: pd.DataFrame, settings, seed: int) -> RobustnessResult:
    """Apply every configured perturbation to every column it applies to.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> from readiness.config import section_settings
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(40, 10, 20).round(), "visits": rng.poisson(3, 20).astype(float)})
    >>> scorer = Scorer(ModelAdapter(LogisticRegression().fit(X, X["age"] > 40), "candidate"), "binary")
    >>> settings = section_settings("golden_benchmark", {"robustness": {
    ...     "perturbations": ["nan", "noise"], "direction": {"age": "increasing"}}}, "settings").robustness
    >>> result = run_trials(scorer, X, settings, seed=0)
    >>> [(trial.column, trial.perturbation, trial.outcome) for trial in result.trials]
    [('age', 'nan', 'crash'), ('visits', 'nan', 'crash'), ('age', 'noise', 'changed'), ('visits', 'noise', 'unchanged')]
    >>> [(rule["rule"], rule["column"], rule["status"]) for rule in result.rules]
    [('direction', 'age', 'pass')]
    """
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
            trials.append(Trial(column, name, "crash", error=first_line(result, 240, with_type=True)))
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
                        "message": f"crash: shuffling {column!r} made the model raise {first_line(exc, 240, with_type=True)}"})
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
                        "message": f"crash: raising {column!r} made the model raise {first_line(exc, 240, with_type=True)}"})
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
