"""Figures of the golden benchmark, drawn from plain data (arrays, lists of dicts, numbers).

The golden benchmark's sections build the data
(:mod:`readiness.reports.golden.sections`); these functions only draw it.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 0, 1]); score = np.array([0.2, 0.9, 0.4, 0.6])
>>> figure = performance_figure("binary", y, {"candidate": {"pred": (score >= 0.5).astype(int),
...                             "proba": np.c_[1 - score, score], "score": score}}, ["no", "yes"], 0.5, 0)
>>> figure._repr_png_()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from readiness.figures.common import COLOURS, DPI, STATUS, FigurePNG, short, subsample

#: One model's predictions on the golden rows: ``pred`` (class index or value), ``proba``
#: (rows × classes, or None) and ``score`` (positive-class score of a binary model, or None).
ModelPredictions = Mapping[str, Any]


def performance_figure(task: str, y: np.ndarray, models: Mapping[str, ModelPredictions], classes: list[str] | None,
                       decision_threshold: float, seed: int) -> FigurePNG:
    """ROC, precision-recall and calibration curves and the confusion matrix (classifiers), or
    predicted vs actual and residuals (regressions).

    Parameters
    ----------
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    y : ndarray
        Labels: class indices for classifiers, values for regressions.
    models : mapping
        ``candidate`` (and ``baseline`` when there is one) → :data:`ModelPredictions`.
    classes : list of str, optional
        Class labels in index order (classifiers).
    decision_threshold : float
        The binary threshold the confusion matrix was cut at.
    seed : int
        Seed of the sample of points a regression scatter shows.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0])
    >>> performance_figure("regression", y, {"candidate": {"pred": y + 0.1}}, None, 0.5, 0)
    <FigurePNG 11x4.5 in>
    """
    if task == "regression":
        return FigurePNG(_regression_figure(y, models, seed))
    from sklearn.metrics import confusion_matrix

    fig = Figure(figsize=(11, 8.5), dpi=DPI, layout="constrained")
    axes = fig.subplots(2, 2)
    candidate = models["candidate"]
    if task == "binary":
        from sklearn.calibration import calibration_curve
        from sklearn.metrics import precision_recall_curve, roc_curve

        ax_roc, ax_pr, ax_cal, ax_cm = axes.ravel()
        for role, outputs in models.items():
            score = outputs.get("score")
            if score is None:
                continue
            fpr, tpr, _ = roc_curve(y, score)
            ax_roc.plot(fpr, tpr, color=COLOURS[role], label=role)
            precision, recall, _ = precision_recall_curve(y, score)
            ax_pr.plot(recall, precision, color=COLOURS[role], label=role, drawstyle="steps-post")
            if outputs.get("proba") is not None:
                frac, mean = calibration_curve(y, outputs["proba"][:, 1], n_bins=10, strategy="quantile")
                ax_cal.plot(mean, frac, "o-", color=COLOURS[role], label=role, markersize=4)
        ax_roc.plot([0, 1], [0, 1], ":", color=COLOURS["dummy"], label="dummy")
        ax_roc.set(title="ROC curve", xlabel="False positive rate", ylabel="True positive rate")
        ax_pr.axhline(y.mean(), linestyle=":", color=COLOURS["dummy"], label="dummy")
        ax_pr.set(title="Precision-recall curve", xlabel="Recall", ylabel="Precision")
        ax_cal.plot([0, 1], [0, 1], ":", color="black", label="perfect calibration")
        ax_cal.set(title="Calibration (10 quantile bins)", xlabel="Mean predicted probability", ylabel="Observed positive rate")
        for ax in (ax_roc, ax_pr, ax_cal):
            ax.legend(loc="best", fontsize=9)
            ax.grid(alpha=0.3)
    else:
        ax_cm, ax_cal, ax_a, ax_b = axes.ravel()
        proba = candidate.get("proba")
        true_class = proba[np.arange(len(y)), y] if proba is not None else None
        if true_class is not None:
            ax_cal.hist(true_class, bins=30, color=COLOURS["candidate"])
            ax_cal.set(title="Candidate: probability of the true class", xlabel="probability", ylabel="rows")
        ax_a.axis("off")
        ax_b.axis("off")
    labels = [str(c) for c in classes]
    matrix = confusion_matrix(y, candidate["pred"], labels=np.arange(len(labels)))
    ax_cm.imshow(matrix, cmap="Blues")
    ax_cm.set_xticks(range(len(labels)), labels=[short(s) for s in labels], rotation=45 if len(labels) > 4 else 0)
    ax_cm.set_yticks(range(len(labels)), labels=[short(s) for s in labels])
    for (i, j), count in np.ndenumerate(matrix):
        ax_cm.text(j, i, f"{count:,}", ha="center", va="center",
                   color="white" if count > matrix.max() / 2 else "black")
    threshold = f" at threshold {decision_threshold:g}" if task == "binary" else ""
    ax_cm.set(title=f"Candidate confusion matrix{threshold}", xlabel="Predicted", ylabel="Actual")
    return FigurePNG(fig)


def _regression_figure(y: np.ndarray, models: Mapping[str, ModelPredictions], seed: int) -> Figure:
    fig = Figure(figsize=(11, 4.5), dpi=DPI, layout="constrained")
    ax_pa, ax_res = fig.subplots(1, 2)
    rows = subsample(len(y), seed)
    shown = y[rows]
    for role, outputs in models.items():
        pred = np.asarray(outputs["pred"])
        ax_pa.scatter(shown, pred[rows], s=6, alpha=0.4, color=COLOURS[role], label=role)
        ax_res.hist(pred - y, bins=40, alpha=0.5, color=COLOURS[role], label=role)
    low, high = float(np.min(shown)), float(np.max(shown))
    ax_pa.plot([low, high], [low, high], ":", color="black", label="perfect")
    ax_pa.set(title="Predicted vs actual", xlabel="actual", ylabel="predicted")
    ax_res.set(title="Residuals (predicted − actual)", xlabel="residual", ylabel="rows")
    for ax in (ax_pa, ax_res):
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
    return fig


def scores_figure(candidate: np.ndarray, baseline: np.ndarray, what: str, seed: int) -> FigurePNG:
    """Candidate vs baseline predictions, row by row, with the identity line, and both distributions.

    Parameters
    ----------
    candidate, baseline : ndarray
        One number per golden row (a score, a probability or a prediction).
    what : str
        What the numbers are (``score``, ``prediction``), for the titles.
    seed : int
        Seed of the sample of points the scatter shows.

    Examples
    --------
    >>> scores_figure(np.array([0.1, 0.8]), np.array([0.2, 0.7]), "score", 0)
    <FigurePNG 11x4.5 in>
    """
    fig = Figure(figsize=(11, 4.5), dpi=DPI, layout="constrained")
    ax_scatter, ax_hist = fig.subplots(1, 2)
    cand, base = np.asarray(candidate, float), np.asarray(baseline, float)
    rows = subsample(len(cand), seed)
    ax_scatter.scatter(base[rows], cand[rows], s=6, alpha=0.35, color=COLOURS["candidate"])
    low, high = float(min(base.min(), cand.min())), float(max(base.max(), cand.max()))
    ax_scatter.plot([low, high], [low, high], ":", color="black")
    ax_scatter.set(title=f"Candidate vs baseline {what} per row", xlabel="baseline", ylabel="candidate")
    ax_scatter.grid(alpha=0.3)
    bins = np.histogram_bin_edges(np.r_[cand, base], bins=40)
    ax_hist.hist(base, bins=bins, alpha=0.5, color=COLOURS["baseline"], label=f"baseline (mean {base.mean():.4g})")
    ax_hist.hist(cand, bins=bins, alpha=0.5, color=COLOURS["candidate"], label=f"candidate (mean {cand.mean():.4g})")
    ax_hist.set(title=f"Distribution of {what}s", xlabel=what, ylabel="rows")
    ax_hist.legend(fontsize=9)
    return FigurePNG(fig)


def segments_figure(segments: list[dict[str, Any]], metric_title: str, higher_is_better: bool,
                    allowed_change: float | None = None) -> FigurePNG | None:
    """Per segment: candidate − baseline on one metric, with its paired CI, coloured by the gate's status.

    Parameters
    ----------
    segments : list of dict
        One per segment, top to bottom: ``label`` (``region=north``), ``rows``, ``delta``
        (candidate − baseline), ``low`` and ``high`` (its CI) and ``status``.
    metric_title : str
        The metric's name.
    higher_is_better : bool
        Which side of zero is an improvement.
    allowed_change : float, optional
        The signed Δ at which a regression fails (a dashed line).

    Returns
    -------
    FigurePNG or None
        None when there is no segment to draw.

    Examples
    --------
    >>> segments_figure([{"label": "region=north", "rows": 812, "delta": -0.04, "low": -0.07, "high": -0.01,
    ...                   "status": "fail"}], "ROC AUC", True, -0.01)
    <FigurePNG 11x1.28 in>
    """
    if not segments:
        return None
    labels = [short(f"{s['label']} (n={s['rows']:,})", 40) for s in segments]
    deltas = [s["delta"] for s in segments]
    lows = [s["delta"] - s["low"] for s in segments]
    highs = [s["high"] - s["delta"] for s in segments]
    colours = [STATUS[s["status"]] for s in segments]
    fig = Figure(figsize=(11, 0.9 + 0.38 * len(labels)), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    positions = np.arange(len(labels))[::-1]
    ax.barh(positions, deltas, xerr=[lows, highs], color=colours, alpha=0.85, capsize=3)
    ax.set_yticks(positions, labels=labels)
    ax.axvline(0, color="black", linewidth=1)
    if allowed_change is not None:
        ax.axvline(allowed_change, color=STATUS["fail"], linestyle="--", label=f"allowed regression ({allowed_change:+g})")
        ax.legend(fontsize=9, loc="best")
    better = "right" if higher_is_better else "left"
    ax.set(title=f"{metric_title}: candidate − baseline per segment ({better} is better; bars = paired CI)",
           xlabel=f"Δ {metric_title}")
    ax.grid(axis="x", alpha=0.3)
    return FigurePNG(fig)


def robustness_figure(trials: list[dict[str, Any]], perturbations: Mapping[str, str],
                      max_changed_share: float | None = None) -> FigurePNG | None:
    """Columns × perturbations: red = crash, orange by share of rows changed, green = unchanged.

    Parameters
    ----------
    trials : list of dict
        One per trial: ``column``, ``perturbation`` (its name), ``outcome`` (``crash``,
        ``changed``, ``unchanged``) and ``share`` (of rows changed).
    perturbations : mapping
        Perturbation name → title, in the order of the figure's columns.
    max_changed_share : float, optional
        The share that is fully orange is four times this (0.2 when unset).

    Examples
    --------
    >>> robustness_figure([{"column": "age", "perturbation": "nan", "outcome": "crash", "share": 0.0}],
    ...                   {"nan": "NaN injected"})
    <FigurePNG 3.25x1.54 in>
    """
    from matplotlib.colors import LinearSegmentedColormap

    if not trials:
        return None
    columns = list(dict.fromkeys(t["column"] for t in trials))
    names = [p for p in perturbations if any(t["perturbation"] == p for t in trials)]
    grey, red = np.array([0.92, 0.92, 0.92]), np.array([0.81, 0.13, 0.18])
    shade = LinearSegmentedColormap.from_list("change", ["#dafbe1", "#f9c74f", "#e76f51"])
    image = np.tile(grey, (len(columns), len(names), 1))
    labels = [["n/a"] * len(names) for _ in columns]
    for trial in trials:
        i, j = columns.index(trial["column"]), names.index(trial["perturbation"])
        if trial["outcome"] == "crash":
            image[i, j], labels[i][j] = red, "crash"
        else:
            image[i, j] = shade(min(trial["share"] / max((max_changed_share or 0.05) * 4, 1e-9), 1.0))[:3]
            labels[i][j] = f"{trial['share']:.0%}" if trial["outcome"] == "changed" else "–"
    fig = Figure(figsize=(min(2.0 + 1.25 * len(names), 13), 1.2 + 0.34 * len(columns)), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.imshow(image, aspect="auto")
    ax.set_xticks(range(len(names)), labels=[perturbations[n] for n in names], rotation=30, ha="right")
    ax.set_yticks(range(len(columns)), labels=[short(c, 28) for c in columns])
    for i in range(len(columns)):
        for j in range(len(names)):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8,
                    color="white" if labels[i][j] == "crash" else "black")
    ax.set_title("Robustness: crash (red), share of rows changed (orange), unchanged (–), not applicable (grey)")
    return FigurePNG(fig)
