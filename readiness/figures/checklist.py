"""Figures of the workflow risk checklist, drawn from plain data.

Examples
--------
>>> workflow_figure([{"name": "train", "mode": "manual", "owner": "", "risks": ["manual", "no owner"],
...                   "level": "high"}])
<FigurePNG 12x2.9 in>
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from readiness.figures.common import DPI, FigurePNG, short

RISK_COLOURS = {"high": "#ffebe9", "medium": "#fff8c5", "low": "#dafbe1"}
RISK_EDGES = {"high": "#cf222e", "medium": "#bf8700", "low": "#1a7f37"}


def workflow_figure(steps: list[dict[str, Any]]) -> FigurePNG | None:
    """The workflow as a left-to-right flow of boxes, coloured by risk (wrapping every 4 steps).

    Parameters
    ----------
    steps : list of dict
        In workflow order: ``name``, ``mode`` (``manual`` or ``automated``), ``owner``
        (empty when nobody owns it), ``risks`` (short phrases) and ``level``
        (``high``, ``medium`` or ``low``).

    Returns
    -------
    FigurePNG or None
        None when the workflow has no step.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if not steps:
        return None
    per_row = 4
    rows = (len(steps) + per_row - 1) // per_row
    fig = Figure(figsize=(12, 0.6 + 2.3 * rows), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(0, per_row * 3)
    ax.set_ylim(-rows * 2.3, 0.4)
    ax.axis("off")
    centres = []
    for index, step in enumerate(steps):
        row, column = divmod(index, per_row)
        x, y = column * 3 + 0.15, -row * 2.3 - 1.9
        level = step["level"]
        ax.add_patch(FancyBboxPatch((x, y), 2.5, 1.8, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=RISK_COLOURS[level], edgecolor=RISK_EDGES[level], linewidth=2))
        owner = step["owner"] or "NO OWNER"
        ax.text(x + 1.25, y + 1.5, short(step["name"], 36), ha="center", va="center", fontsize=9, fontweight="bold")
        ax.text(x + 1.25, y + 1.12, f"{step['mode']} · {short(owner, 20)}", ha="center", va="center", fontsize=9)
        risks = [r for r in step["risks"] if r != "manual"][:3]
        ax.text(x + 1.25, y + 0.5, "\n".join(short(r, 32) for r in risks) or "no flagged risk", ha="center",
                va="center", fontsize=8, color=RISK_EDGES[level])
        centres.append((x, y))
    for (x0, y0), (x1, y1) in zip(centres, centres[1:]):
        start, end = ((x0 + 2.5, y0 + 0.9), (x1, y1 + 0.9)) if y0 == y1 else ((x0 + 1.25, y0), (x1 + 1.25, y1 + 1.8))
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color="#57606a"))
    ax.set_title("Deployment workflow: red = high risk (manual without owner, unpinned dependency), "
                 "yellow = medium, green = low", fontsize=10)
    return FigurePNG(fig)
