"""Figures of the drift report, drawn from plain data (lists of dicts of numbers and strings).

The drift report builds the data (:meth:`readiness.reports.drift.report.DriftReport.scores_figure_data`
and ``distributions_figure_data``); these functions only draw it.

Examples
--------
>>> drift_scores_figure([{"column": "age", "ratio": 1.7, "missing_change": 0.0},
...                      {"column": "plan", "ratio": 0.2, "missing_change": 0.0}])
<FigurePNG 12x1.5 in>
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from readiness.figures.common import COLOURS, DPI, STATUS, FigurePNG, short


def drift_scores_figure(columns: list[dict[str, Any]]) -> FigurePNG | None:
    """Every column's deciding score relative to its threshold, and missing-rate changes
    (that panel only when some column's missing rate moved).

    Parameters
    ----------
    columns : list of dict
        One per scored column: ``column`` (its name), ``ratio`` (score ÷ threshold; ≥ 1 is
        drift) and ``missing_change`` (missing-value rate now − in the reference, in
        percentage points). Drawn largest ratio on top.

    Returns
    -------
    FigurePNG or None
        None when no column was scored.
    """
    if not columns:
        return None
    rows = sorted(columns, key=lambda c: -c["ratio"])
    changes = [c["missing_change"] for c in rows]
    missing_moved = any(np.isfinite(c) and c != 0 for c in changes)
    height = min(1.1 + 0.2 * len(rows), 16)
    # A fixed grid instead of constrained layout: the figure is drawn once, not twice.
    fig = Figure(figsize=(12, height), dpi=DPI)
    names = [short(c["column"], 26) for c in rows][::-1]
    left = 0.03 + max(len(n) for n in names) * 6 / (12 * DPI)  # room for the longest label at fontsize 8
    fig.subplots_adjust(left=left, right=0.98, top=1 - 0.4 / height, bottom=0.55 / height, wspace=0.05)
    if missing_moved:
        ax_scores, ax_missing = fig.subplots(1, 2, width_ratios=[3, 2], sharey=True)
    else:
        ax_scores = fig.subplots()
    ratios = [c["ratio"] for c in rows][::-1]
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


def drift_distributions_figure(panels: list[dict[str, Any]]) -> FigurePNG | None:
    """Reference vs current distributions of a few columns, one panel each, three per row.

    Parameters
    ----------
    panels : list of dict
        One per column, in the order drawn: ``column``, ``symbol`` (the deciding method's),
        ``score``, ``threshold``, and either ``edges`` with ``reference`` and ``current``
        densities per bin (numbers: drawn as steps) or ``categories`` with ``reference`` and
        ``current`` shares per category (drawn as bars).

    Returns
    -------
    FigurePNG or None
        None when there is no panel.

    Examples
    --------
    >>> drift_distributions_figure([{"column": "plan", "symbol": "JS", "score": 0.4, "threshold": 0.1,
    ...     "categories": ["basic", "plus"], "reference": [0.5, 0.5], "current": [0.9, 0.1]}])
    <FigurePNG 12x2.7 in>
    """
    if not panels:
        return None
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    height = 2.3 * rows + 0.4
    # A fixed grid instead of constrained layout: the figure is drawn once, not twice.
    fig = Figure(figsize=(12, height), dpi=DPI)
    fig.subplots_adjust(left=0.04, right=0.99, top=1 - 0.55 / height, bottom=0.6 / height, hspace=0.6, wspace=0.18)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax, panel in zip(axes, panels):
        if "edges" in panel:
            edges = np.asarray(panel["edges"], float)
            for key, colour in (("reference", COLOURS["baseline"]), ("current", COLOURS["candidate"])):
                # values beyond the reference range sit in the outer bins, drawn at the range's ends
                ax.stairs(np.asarray(panel[key], float), edges, color=colour, label=key, fill=key == "reference",
                          alpha=0.5 if key == "reference" else 1)
            ax.set_yticks([])
        else:
            labels = [short(c, 12) for c in panel["categories"]]
            x = np.arange(len(labels))
            ax.bar(x - 0.2, panel["reference"], 0.4, color=COLOURS["baseline"], label="reference")
            ax.bar(x + 0.2, panel["current"], 0.4, color=COLOURS["candidate"], label="current")
            ax.set_xticks(x, labels=labels, rotation=30, ha="right", fontsize=7)
        score, threshold = panel["score"], panel["threshold"]
        verdict = f"≥ {threshold:.3g}, drift" if score >= threshold else f"< {threshold:.3g}"
        ax.set_title(f"{short(panel['column'], 32)}: {panel['symbol']} {score:.3g} ({verdict})", fontsize=9,
                     color=STATUS["warn"] if score >= threshold else "black")
        ax.tick_params(labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncols=2, fontsize=9, frameon=False)
    for ax in axes[len(panels):]:
        ax.axis("off")
    return FigurePNG(fig)
