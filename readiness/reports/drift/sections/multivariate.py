"""Multivariate drift: can a classifier tell reference rows from current rows?

Owns ``drift.multivariate``: 2·AUC − 1 of a domain classifier on held-out rows
(0 = indistinguishable, 1 = fully separable) against the larger of the configured
threshold and what chance reaches at this size.

Examples
--------
>>> import numpy as np
>>> row_aucs(np.array([[0.1, 0.9, 0.2, 0.8], [0.9, 0.1, 0.8, 0.2]]), np.array([False, True, False, True]))
array([1., 0.])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from readiness.display import Section
from readiness.reports.drift.core import PREDICTION
from readiness.results import Check
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.drift.core import DriftCore

NAME = "multivariate"
_Z999 = 3.0902  # one-sided 99.9% normal quantile


def multivariate_section(core: "DriftCore") -> Section:
    """A gradient-boosting domain classifier tells reference rows from current rows: 2·AUC − 1, and the
    columns that separate them most (AUC lost when shuffled).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> for name, mean in (("train.csv", 40), ("today.csv", 50)):  # age moves, plan does not
    ...     pd.DataFrame({"age": rng.normal(mean, 10, 300).round(),
    ...                   "plan": rng.choice(["basic", "pro"], 300)}).to_csv(folder / name, index=False)
    >>> check = multivariate_section(DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))).checks[0]
    >>> check.status, round(check.value, 2)
    ('warn', 0.46)
    >>> print(check.message)
    2·AUC − 1 = 0.4625 (AUC 0.7312 on 180 held-out rows; ...); the columns separating them most (AUC lost when the
    column is shuffled): age (loses ...)
    """
    reference_rows = core.reference_rows()  # on Spark, the fit's seeded sample of the reference
    if not core.settings.multivariate or reference_rows is None:
        reason = "disabled" if not core.settings.multivariate else "needs the reference data, not a profile"
        return Section("Multivariate drift", checks=[Check("drift.multivariate", "Domain classifier", "skip", reason)],
                       name=NAME)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    # ids and time columns separate any two periods perfectly and say nothing about the population
    columns = [n for n, p in core.reference.items() if p.kind not in ("skipped", "datetime") and n in core.current_columns
               and n not in (PREDICTION, core.target)]
    cap = core.settings.multivariate_rows
    ref = reference_rows[columns].sample(min(cap, len(reference_rows)), random_state=core.settings.seed)
    cur = core.sample[columns].head(cap)
    both = pd.concat([ref, cur], ignore_index=True)
    categorical = [core.reference[c].kind in ("categorical", "boolean") for c in columns]
    encoded = np.empty((len(both), len(columns)))
    for j, column in enumerate(columns):  # integer codes once, instead of encoding at every predict
        if categorical[j]:
            codes, _ = pd.factorize(both[column].astype(str))
            encoded[:, j] = np.where(codes < 0, np.nan, codes % 250)  # HGB categories must be < 255
        else:
            encoded[:, j] = pd.to_numeric(both[column], errors="coerce")
    label = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
    X_train, X_test, y_train, y_test = train_test_split(encoded, label, test_size=0.3, random_state=core.settings.seed,
                                                        stratify=label)
    model = HistGradientBoostingClassifier(max_iter=50, max_depth=3, categorical_features=np.array(categorical),
                                           random_state=core.settings.seed).fit(X_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    score = max(2 * auc - 1, 0.0)
    # AUC of a classifier that cannot tell the sets apart is 0.5 ± sd (Mann-Whitney null):
    # at a few hundred held-out rows 2·AUC − 1 reaches 0.3 by chance alone
    n_ref_test, n_cur_test = int((y_test == 0).sum()), int((y_test == 1).sum())
    null_sd = np.sqrt((n_ref_test + n_cur_test + 1) / (12 * n_ref_test * n_cur_test))
    noise = 2 * _Z999 * null_sd
    separable = score >= max(core.settings.multivariate_threshold, noise)
    # permutation importance (how much each column separates the sets): every column's
    # shuffled copy of the held-out rows is scored in one predict call, which is
    # several times faster than one call per column
    rng = np.random.default_rng(core.settings.seed)
    rows = rng.choice(len(X_test), min(2000, len(X_test)), replace=False)
    X_check, y_check = X_test[rows], y_test[rows]
    shuffled = np.repeat(X_check[np.newaxis], len(columns) + 1, axis=0)
    for j in range(len(columns)):
        shuffled[j + 1, :, j] = rng.permutation(X_check[:, j])
    scored = model.predict_proba(shuffled.reshape(-1, len(columns)))[:, 1].reshape(len(columns) + 1, len(rows))
    aucs = row_aucs(scored, y_check.astype(bool))
    drops = {column: aucs[0] - aucs[j + 1] for j, column in enumerate(columns)}
    # shuffling a column that does not matter moves the AUC by noise only (about ±0.001 on 2,000 rows)
    top = [(c, d) for c, d in sorted(drops.items(), key=lambda kv: -kv[1]) if d >= 0.001][:5]
    if not separable:
        separating = "the sets are not distinguishable beyond chance, so no column is named"
    elif top:
        separating = ("the columns separating them most (AUC lost when the column is shuffled): "
                      + ", ".join(f"{c} (loses {fmt(d)})" for c, d in top))
    else:
        separating = "no single column separates them (shuffling any one costs < 0.001 AUC)"
    status = "warn" if separable else "pass"
    checks = [Check("drift.multivariate", "Domain classifier (reference vs current)", status,
                    f"2·AUC − 1 = {fmt(score)} (AUC {fmt(auc)} on {len(y_test):,} held-out rows; 0 = indistinguishable, "
                    f"1 = fully separable; chance alone reaches {fmt(noise)} at this size); {separating}",
                    severity="major", value=score, threshold={"max": max(core.settings.multivariate_threshold, noise)},
                    details={"auc": float(auc), "noise": float(noise),
                             "auc_lost_when_shuffled": {c: float(d) for c, d in drops.items()}})]
    return Section("Multivariate drift", checks=checks, name=NAME)


def row_aucs(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` against the same labels, all rows at once.

    The Mann-Whitney form with average ranks for ties equals ``roc_auc_score`` exactly,
    without its per-call input validation (50 calls cost more than the ranking).

    Examples
    --------
    >>> scores = np.array([[0.1, 0.9, 0.2, 0.8],   # separates the labels perfectly
    ...                    [0.9, 0.1, 0.8, 0.2],   # backwards
    ...                    [0.5, 0.5, 0.5, 0.5]])  # all tied
    >>> row_aucs(scores, np.array([False, True, False, True]))
    array([1. , 0. , 0.5])
    """
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    return (ranks[:, positive].sum(axis=1) - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)

