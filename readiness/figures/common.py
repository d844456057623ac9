"""Figures for the golden benchmark. Each function returns a matplotlib Figure.

Figures are built without pyplot's global state, at a modest DPI, so the
embedded PNGs keep the HTML report small.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from readiness.escape import plot_text

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.benchmark import GoldenBenchmark

DPI = 80


class FigurePNG:
    """A figure shown as one embedded PNG, independent of the matplotlib backend.

    Notebooks display it through ``_repr_png_``; ``figure`` is the matplotlib
    Figure for anyone who wants to restyle or save it.
    """

    def __init__(self, figure: Figure):
        self.figure = figure

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        # No software/date metadata: the same inputs give byte-identical reports.
        self.figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"<FigurePNG {self.figure.get_size_inches()[0]:g}x{self.figure.get_size_inches()[1]:g} in>"
COLOURS = {"candidate": "#0969da", "baseline": "#8c959f", "dummy": "#d4a72c"}
STATUS = {"pass": "#1a7f37", "warn": "#bf8700", "fail": "#cf222e", "skip": "#8c959f", "error": "#8250df"}
_MAX_POINTS = 3000


def _subsample(n: int, seed: int) -> np.ndarray:
    if n <= _MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, _MAX_POINTS, replace=False))


def performance_figure(bench: "GoldenBenchmark") -> FigurePNG:
    if bench.task == "regression":
        return FigurePNG(_regression_figure(bench))
    from sklearn.metrics import confusion_matrix

    fig = Figure(figsize=(11, 8.5), dpi=DPI, layout="constrained")
    axes = fig.subplots(2, 2)
    models = [("candidate", bench.candidate)] + ([("baseline", bench.reference)] if bench.reference else [])
    if bench.task == "binary":
        from sklearn.calibration import calibration_curve
        from sklearn.metrics import precision_recall_curve, roc_curve

        ax_roc, ax_pr, ax_cal, ax_cm = axes.ravel()
        for role, outputs in models:
            score = outputs.data.score
            if score is None:
                continue
            fpr, tpr, _ = roc_curve(bench.y, score)
            ax_roc.plot(fpr, tpr, color=COLOURS[role], label=role)
            precision, recall, _ = precision_recall_curve(bench.y, score)
            ax_pr.plot(recall, precision, color=COLOURS[role], label=role, drawstyle="steps-post")
            if outputs.data.proba is not None:
                frac, mean = calibration_curve(bench.y, outputs.data.proba[:, 1], n_bins=10, strategy="quantile")
                ax_cal.plot(mean, frac, "o-", color=COLOURS[role], label=role, markersize=4)
        ax_roc.plot([0, 1], [0, 1], ":", color=COLOURS["dummy"], label="dummy")
        ax_roc.set(title="ROC curve", xlabel="False positive rate", ylabel="True positive rate")
        ax_pr.axhline(bench.y.mean(), linestyle=":", color=COLOURS["dummy"], label="dummy")
        ax_pr.set(title="Precision-recall curve", xlabel="Recall", ylabel="Precision")
        ax_cal.plot([0, 1], [0, 1], ":", color="black", label="perfect calibration")
        ax_cal.set(title="Calibration (10 quantile bins)", xlabel="Mean predicted probability", ylabel="Observed positive rate")
        for ax in (ax_roc, ax_pr, ax_cal):
            ax.legend(loc="best", fontsize=9)
            ax.grid(alpha=0.3)
    else:
        ax_cm, ax_cal, ax_a, ax_b = axes.ravel()
        true_class = bench.candidate.data.proba[np.arange(len(bench.y)), bench.y] if bench.candidate.data.proba is not None else None
        if true_class is not None:
            ax_cal.hist(true_class, bins=30, color=COLOURS["candidate"])
            ax_cal.set(title="Candidate: probability of the true class", xlabel="probability", ylabel="rows")
        ax_a.axis("off")
        ax_b.axis("off")
    labels = [str(c) for c in bench.classes]
    matrix = confusion_matrix(bench.y, bench.candidate.data.pred, labels=np.arange(len(labels)))
    ax_cm.imshow(matrix, cmap="Blues")
    ax_cm.set_xticks(range(len(labels)), labels=[_short(s) for s in labels], rotation=45 if len(labels) > 4 else 0)
    ax_cm.set_yticks(range(len(labels)), labels=[_short(s) for s in labels])
    for (i, j), count in np.ndenumerate(matrix):
        ax_cm.text(j, i, f"{count:,}", ha="center", va="center",
                   color="white" if count > matrix.max() / 2 else "black")
    threshold = f" at threshold {bench.settings.decision_threshold:g}" if bench.task == "binary" else ""
    ax_cm.set(title=f"Candidate confusion matrix{threshold}", xlabel="Predicted", ylabel="Actual")
    return FigurePNG(fig)


def _regression_figure(bench: "GoldenBenchmark") -> Figure:
    fig = Figure(figsize=(11, 4.5), dpi=DPI, layout="constrained")
    ax_pa, ax_res = fig.subplots(1, 2)
    rows = _subsample(len(bench.y), bench.settings.seed)
    y = bench.y[rows]
    for role, outputs in [("candidate", bench.candidate)] + ([("baseline", bench.reference)] if bench.reference else []):
        pred = outputs.data.pred[rows]
        ax_pa.scatter(y, pred, s=6, alpha=0.4, color=COLOURS[role], label=role)
        ax_res.hist(outputs.data.pred - bench.y, bins=40, alpha=0.5, color=COLOURS[role], label=role)
    low, high = float(np.min(y)), float(np.max(y))
    ax_pa.plot([low, high], [low, high], ":", color="black", label="perfect")
    ax_pa.set(title="Predicted vs actual", xlabel="actual", ylabel="predicted")
    ax_res.set(title="Residuals (predicted − actual)", xlabel="residual", ylabel="rows")
    for ax in (ax_pa, ax_res):
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
    return fig


def scores_figure(bench: "GoldenBenchmark") -> FigurePNG:
    """Candidate vs baseline predictions, row by row, with the identity line."""
    fig = Figure(figsize=(11, 4.5), dpi=DPI, layout="constrained")
    ax_scatter, ax_hist = fig.subplots(1, 2)
    cand = np.asarray(bench.candidate.change_score, float)
    base = np.asarray(bench.reference.change_score, float)
    if cand.ndim == 2:  # multiclass: probability of the true class
        index = np.arange(len(bench.y))
        cand, base = cand[index, bench.y], base[index, bench.y]
    rows = _subsample(len(cand), bench.settings.seed)
    ax_scatter.scatter(base[rows], cand[rows], s=6, alpha=0.35, color=COLOURS["candidate"])
    low, high = float(min(base.min(), cand.min())), float(max(base.max(), cand.max()))
    ax_scatter.plot([low, high], [low, high], ":", color="black")
    what = "prediction" if bench.task == "regression" else "score"
    ax_scatter.set(title=f"Candidate vs baseline {what} per row", xlabel="baseline", ylabel="candidate")
    ax_scatter.grid(alpha=0.3)
    bins = np.histogram_bin_edges(np.r_[cand, base], bins=40)
    ax_hist.hist(base, bins=bins, alpha=0.5, color=COLOURS["baseline"], label=f"baseline (mean {base.mean():.4g})")
    ax_hist.hist(cand, bins=bins, alpha=0.5, color=COLOURS["candidate"], label=f"candidate (mean {cand.mean():.4g})")
    ax_hist.set(title=f"Distribution of {what}s", xlabel=what, ylabel="rows")
    ax_hist.legend(fontsize=9)
    return FigurePNG(fig)


def segments_figure(bench: "GoldenBenchmark") -> FigurePNG | None:
    """Per segment: candidate − baseline on the first gated metric, with paired CIs."""
    if not bench.segments or bench.reference is None:
        return None
    metric = bench.gated_metrics[0]
    labels, deltas, lows, highs, colours = [], [], [], [], []
    status_of = {c.id: c.status for c in bench.checks}
    for column, value, index in bench.segments:
        label = f"{column}={value}"
        suffix = f"[{label}]"
        delta = bench.delta_interval(metric, suffix)
        if delta is None:
            continue
        point = bench.point("candidate", metric, index) - bench.point("baseline", metric, index)
        labels.append(_short(f"{label} (n={len(index):,})", 40))
        deltas.append(point)
        lows.append(point - delta.low)
        highs.append(delta.high - point)
        statuses = [status_of.get(f"golden.segment.{metric.name}{suffix}"), status_of.get(f"golden.segment.{metric.name}.bounds{suffix}")]
        worst = max((s for s in statuses if s), key=["skip", "pass", "warn", "fail", "error"].index, default="pass")
        colours.append(STATUS[worst])
    if not labels:
        return None
    fig = Figure(figsize=(11, 0.9 + 0.38 * len(labels)), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    positions = np.arange(len(labels))[::-1]
    ax.barh(positions, deltas, xerr=[lows, highs], color=colours, alpha=0.85, capsize=3)
    ax.set_yticks(positions, labels=labels)
    ax.axvline(0, color="black", linewidth=1)
    threshold = bench.thresholds.get(metric.name)
    if threshold is not None and threshold.max_regression is not None:
        limit = -threshold.max_regression if metric.higher_is_better else threshold.max_regression
        ax.axvline(limit, color=STATUS["fail"], linestyle="--", label=f"allowed regression ({limit:+g})")
        ax.legend(fontsize=9, loc="best")
    better = "right" if metric.higher_is_better else "left"
    ax.set(title=f"{metric.title}: candidate − baseline per segment ({better} is better; bars = paired CI)",
           xlabel=f"Δ {metric.title}")
    ax.grid(axis="x", alpha=0.3)
    return FigurePNG(fig)


def _short(text: str, width: int = 18) -> str:
    """Every string from data reaches a figure through here: shortened, shown literally."""
    return plot_text(text, width)


def robustness_figure(result, settings) -> FigurePNG | None:
    """Columns × perturbations: red = crash, orange by share of rows changed, green = unchanged."""
    from matplotlib.colors import LinearSegmentedColormap

    from readiness.reports.golden.robustness import PERTURBATIONS

    if not result.trials:
        return None
    columns = list(dict.fromkeys(t.column for t in result.trials))
    names = [p for p in settings.perturbations if any(t.perturbation == p for t in result.trials)]
    grey, red = np.array([0.92, 0.92, 0.92]), np.array([0.81, 0.13, 0.18])
    shade = LinearSegmentedColormap.from_list("change", ["#dafbe1", "#f9c74f", "#e76f51"])
    image = np.tile(grey, (len(columns), len(names), 1))
    labels = [["n/a"] * len(names) for _ in columns]
    for trial in result.trials:
        i, j = columns.index(trial.column), names.index(trial.perturbation)
        if trial.outcome == "crash":
            image[i, j], labels[i][j] = red, "crash"
        else:
            image[i, j] = shade(min(trial.share / max((settings.max_changed_share or 0.05) * 4, 1e-9), 1.0))[:3]
            labels[i][j] = f"{trial.share:.0%}" if trial.outcome == "changed" else "–"
    fig = Figure(figsize=(min(2.0 + 1.25 * len(names), 13), 1.2 + 0.34 * len(columns)), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.imshow(image, aspect="auto")
    ax.set_xticks(range(len(names)), labels=[PERTURBATIONS[n].title for n in names], rotation=30, ha="right")
    ax.set_yticks(range(len(columns)), labels=[_short(c, 28) for c in columns])
    for i in range(len(columns)):
        for j in range(len(names)):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8,
                    color="white" if labels[i][j] == "crash" else "black")
    ax.set_title("Robustness: crash (red), share of rows changed (orange), unchanged (–), not applicable (grey)")
    return FigurePNG(fig)


RISK_COLOURS = {"high": "#ffebe9", "medium": "#fff8c5", "low": "#dafbe1"}
RISK_EDGES = {"high": "#cf222e", "medium": "#bf8700", "low": "#1a7f37"}


def workflow_figure(step_risks: list[dict]) -> FigurePNG | None:
    """The workflow as a left-to-right flow of boxes, coloured by risk (wrapping every 4 steps)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if not step_risks:
        return None
    per_row = 4
    rows = (len(step_risks) + per_row - 1) // per_row
    fig = Figure(figsize=(12, 0.6 + 2.3 * rows), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(0, per_row * 3)
    ax.set_ylim(-rows * 2.3, 0.4)
    ax.axis("off")
    centres = []
    for index, entry in enumerate(step_risks):
        row, column = divmod(index, per_row)
        x, y = column * 3 + 0.15, -row * 2.3 - 1.9
        step, level = entry["step"], entry["level"]
        ax.add_patch(FancyBboxPatch((x, y), 2.5, 1.8, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=RISK_COLOURS[level], edgecolor=RISK_EDGES[level], linewidth=2))
        owner = step.owner or "NO OWNER"
        ax.text(x + 1.25, y + 1.5, _short(step.name, 36), ha="center", va="center", fontsize=9, fontweight="bold")
        ax.text(x + 1.25, y + 1.12, f"{step.mode} · {_short(owner, 20)}", ha="center", va="center", fontsize=9)
        risks = [r for r in entry["risks"] if r != "manual"][:3]
        ax.text(x + 1.25, y + 0.5, "\n".join(_short(r, 32) for r in risks) or "no flagged risk", ha="center",
                va="center", fontsize=8, color=RISK_EDGES[level])
        centres.append((x, y))
    for (x0, y0), (x1, y1) in zip(centres, centres[1:]):
        start, end = ((x0 + 2.5, y0 + 0.9), (x1, y1 + 0.9)) if y0 == y1 else ((x0 + 1.25, y0), (x1 + 1.25, y1 + 1.8))
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color="#57606a"))
    ax.set_title("Deployment workflow: red = high risk (manual without owner, unpinned dependency), "
                 "yellow = medium, green = low", fontsize=10)
    return FigurePNG(fig)


def drift_scores_figure(report) -> FigurePNG | None:
    """Every column's deciding score relative to its threshold, and missing-rate changes
    (that panel only when some column's missing rate moved)."""
    from readiness.stats.drift_scores import quality_shifts

    rows = []
    for name, scores in report.scores.items():
        if name.startswith("__") or name == report.target:  # predictions and labels have their own section
            continue
        method = report.method_for(report.reference[name].kind)
        rows.append((name, scores[method] / report.thresholds[name] if report.thresholds[name] else 0.0))
    if not rows:
        return None
    rows.sort(key=lambda r: -r[1])
    changes = []
    for name, _ in rows:
        shifts = quality_shifts(report.reference[name], report.current[name])
        changes.append(100 * (shifts["missing_current"] - shifts["missing_reference"]))
    missing_moved = any(np.isfinite(c) and c != 0 for c in changes)
    height = min(1.1 + 0.2 * len(rows), 16)
    # A fixed grid instead of constrained layout: the figure is drawn once, not twice.
    fig = Figure(figsize=(12, height), dpi=DPI)
    names = [_short(n, 26) for n, _ in rows][::-1]
    left = 0.03 + max(len(n) for n in names) * 6 / (12 * DPI)  # room for the longest label at fontsize 8
    fig.subplots_adjust(left=left, right=0.98, top=1 - 0.4 / height, bottom=0.55 / height, wspace=0.05)
    if missing_moved:
        ax_scores, ax_missing = fig.subplots(1, 2, width_ratios=[3, 2], sharey=True)
    else:
        ax_scores = fig.subplots()
    ratios = [r for _, r in rows][::-1]
    ax_scores.barh(names, ratios, color=[STATUS["warn"] if r >= 1 else STATUS["pass"] for r in ratios])
    ax_scores.axvline(1, color=STATUS["fail"], linestyle="--")
    ax_scores.set_ylim(-0.6, len(names) - 0.4)
    ax_scores.set(title="Drift score / threshold per column (≥ 1 = drift)"
                        + ("" if missing_moved else "; missing-value rates unchanged"), xlabel="score ÷ threshold")
    ax_scores.tick_params(axis="y", labelsize=8)
    if missing_moved:
        ax_missing.barh(names, changes[::-1], color="#0969da")
        ax_missing.axvline(0, color="black", linewidth=1)
        ax_missing.set(title="Missing values: change in percentage points", xlabel="now − reference (pp)")
        ax_missing.tick_params(axis="y", labelleft=False)
    return FigurePNG(fig)


def drift_distributions_figure(report) -> FigurePNG | None:
    """Reference vs current distributions of the most drifted columns, drawn from the profiles.

    Numeric columns are drawn as densities (share ÷ bin width) on about 30 bins grouped
    from the profile's edges, so unequal bin widths do not distort the shape.
    """
    from readiness.stats.drift_scores import METHODS

    ranked = []
    for name, scores in report.scores.items():
        if name.startswith("__") or name == report.target:  # predictions and labels have their own section
            continue
        method = report.method_for(report.reference[name].kind)
        ranked.append((scores[method] / report.thresholds[name], name))
    ranked = [name for _, name in sorted(ranked, reverse=True)[: report.settings.top_plots]]
    if not ranked:
        return None
    columns = 3
    rows = (len(ranked) + columns - 1) // columns
    height = 2.3 * rows + 0.4
    # A fixed grid instead of constrained layout: the figure is drawn once, not twice.
    fig = Figure(figsize=(12, height), dpi=DPI)
    fig.subplots_adjust(left=0.04, right=0.99, top=1 - 0.55 / height, bottom=0.6 / height, hspace=0.6, wspace=0.18)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax, name in zip(axes, ranked):
        ref, cur = report.reference[name], report.current[name]
        if ref.kind in ("numeric", "datetime") and ref.edges:
            knots = np.array([ref.ref_minimum, *ref.edges, ref.ref_maximum])
            groups = np.unique(np.linspace(0, len(knots) - 1, 31).astype(int))
            edges = knots[groups]
            for profile, colour, label in ((ref, COLOURS["baseline"], "reference"), (cur, COLOURS["candidate"], "current")):
                # values beyond the reference range sit in the outer bins, drawn at the range's ends
                counts = np.add.reduceat(np.asarray(profile.counts, float), groups[:-1])
                density = counts / max(profile.present, 1) / np.maximum(np.diff(edges), 1e-300)
                ax.stairs(density, edges, color=colour, label=label, fill=label == "reference", alpha=0.5 if label == "reference" else 1)
            ax.set_yticks([])
        else:
            labels = [_short(c, 12) for c in ref.categories]
            x = np.arange(len(labels))
            ax.bar(x - 0.2, np.asarray(ref.counts) / max(ref.present, 1), 0.4, color=COLOURS["baseline"], label="reference")
            ax.bar(x + 0.2, np.asarray(cur.counts) / max(cur.present, 1), 0.4, color=COLOURS["candidate"], label="current")
            ax.set_xticks(x, labels=labels, rotation=30, ha="right", fontsize=7)
        method = report.method_for(ref.kind)
        score, threshold = report.scores[name][method], report.thresholds[name]
        verdict = f"≥ {threshold:.3g}, drift" if score >= threshold else f"< {threshold:.3g}"
        ax.set_title(f"{_short(name, 32)}: {METHODS[method].symbol} {score:.3g} ({verdict})", fontsize=9,
                     color=STATUS["warn"] if score >= threshold else "black")
        ax.tick_params(labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncols=2, fontsize=9, frameon=False)
    for ax in axes[len(ranked):]:
        ax.axis("off")
    return FigurePNG(fig)
