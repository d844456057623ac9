"""Prediction and target drift: did the model's outputs move, and the labels?

Owns ``drift.prediction.*`` (the distribution of the model's scores and the
mean-prediction shift; skipped without a model) and ``drift.target`` (when both
sets have labels).

Examples
--------
>>> [c.id for c in prediction_section(core).checks]  # doctest: +SKIP
['drift.prediction.distribution', 'drift.prediction.mean_shift']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readiness.display import Section
from readiness.reports.drift.core import PREDICTION
from readiness.results import Check
from readiness.stats.drift_scores import METHODS, column_scores
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.drift.core import DriftCore

NAME = "prediction"


def prediction_section(core: "DriftCore") -> Section:
    """Drift of the model's scores and the mean-prediction shift (with a model), target drift (with labels).

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # older customers now: more churn
    ...     age = rng.normal(mean, 10, 300).round()
    ...     churned = (rng.random(300) < 1 / (1 + np.exp(-(age - 40) / 10))).astype(int)
    ...     pd.DataFrame({"age": age, "churned": churned}).to_csv(folder / name, index=False)
    >>> train = pd.read_csv(folder / "train.csv")
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age"]], train["churned"]), folder / "model.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()]}  # load in-process
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"), model_path=str(folder / "model.joblib"),
    ...                  target="churned", trust=trust)
    >>> for check in prediction_section(core).checks:
    ...     print(check.status, check.id, "-", check.message)
    warn drift.prediction.distribution - Wasserstein / reference std of the model's scores 0.9592 ≥ threshold 0.1680 (KS
    0.4100)
    fail drift.prediction.mean_shift - mean prediction 0.6977 now vs 0.4667 on the reference: ratio ×1.495, outside
    [0.8000, 1.250]
    warn drift.target - Jensen-Shannon distance (base 2) of the labels 0.2235 (threshold 0.1000)
    """
    checks = []
    if PREDICTION not in core.reference:
        reason = ("no model given" if core.model is None
                  else "the reference is a profile without predictions (profile it with --model)")
        checks.append(Check("drift.prediction.mean_shift", "Mean prediction shift", "skip", reason, severity="critical"))
    else:
        ref, cur = core.reference[PREDICTION], core.current[PREDICTION]
        scores = core.scores.get(PREDICTION, column_scores(ref, cur))
        method = "wasserstein_norm"
        score = scores[method]
        threshold = core.thresholds.get(PREDICTION, METHODS[method].threshold)
        drift = score >= threshold
        checks.append(Check("drift.prediction.distribution", "Prediction distribution", "warn" if drift else "pass",
                            f"{METHODS[method].title} of the model's scores {fmt(score)} {'≥' if drift else '<'} "
                            f"threshold {fmt(threshold)} (KS {fmt(scores['ks'])})",
                            severity="critical", value=score, threshold={"max": threshold}))
        low, high = core.settings.mean_prediction_ratio
        ratio = cur.mean / ref.mean if ref.mean else float("inf")
        ok = low <= ratio <= high
        checks.append(Check("drift.prediction.mean_shift", "Mean prediction shift", "pass" if ok else "fail",
                            f"mean prediction {fmt(cur.mean)} now vs {fmt(ref.mean)} on the reference: ratio ×{fmt(ratio)}"
                            + ("" if ok else f", outside [{fmt(low)}, {fmt(high)}]"), severity="critical", value=ratio,
                            threshold={"min": low, "max": high}))
    if core.target and core.target in core.reference and core.target in core.current_columns:
        ref = core.reference[core.target]
        method = core.method_for(ref.kind)
        score = core.scores[core.target][method]
        drift = score >= core.thresholds[core.target]
        checks.append(Check("drift.target", "Target drift", "warn" if drift else "pass",
                            f"{METHODS[method].title_for(ref.kind)} of the labels {fmt(score)} "
                            f"(threshold {fmt(core.thresholds[core.target])})", severity="major", value=score))
    return Section("Prediction and target drift", checks=checks, name=NAME)
