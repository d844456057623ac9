"""Figures of the monitoring report, drawn from plain data (series, bands, changepoints,
releases, label counts); small PNGs like the other reports (:class:`readiness.figures.common.FigurePNG`).

Text that comes from data (column names, version names) is drawn literally: a ``$`` in
a name would otherwise start matplotlib's mathtext.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from readiness.figures.common import DPI, STATUS, FigurePNG

LINE, BAND, CHANGE, RELEASE, REFERENCE = "#0969da", "#dafbe1", STATUS["fail"], "#57606a", "#f6f8fa"


def plain(text: object, width: int = 60) -> str:
    """Data-derived text safe for matplotlib: ``$`` escaped (no mathtext), shortened.

    Examples
    --------
    >>> plain("price $ in $")
    'price \\\\$ in \\\\$'
    """
    text = str(text)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _ticks(ax, labels: Sequence[str]) -> None:
    n = len(labels)
    step = max(1, int(np.ceil(n / 8)))
    positions = list(range(0, n, step))
    ax.set_xticks(positions, labels=[plain(labels[i], 16) for i in positions], rotation=30, ha="right", fontsize=7)
    ax.set_xlim(-0.5, n - 0.5)


def series_figure(series: Sequence, chunk_labels: Sequence[str], reference_chunks: int,
                  releases: Sequence[tuple[int, str]] = (), columns: int = 2, title: str = "") -> FigurePNG | None:
    """Each series over the chunks: its values (with CI), band, changepoints and releases.

    Parameters
    ----------
    series : sequence of dict
        Plain data, as in the results JSON's ``data.series``: ``title``, ``values``,
        ``ci_low``/``ci_high`` (None or one value per chunk), ``band`` (None or
        ``[low, high]``), ``changepoints`` (each a dict with ``index``), ``unit``
        (``"%"``: shares, drawn as percentages).
    chunk_labels : sequence of str
        One label per chunk (its start date or first row).
    reference_chunks : int
        The first chunks that taught the bands (shaded grey).
    releases : sequence of (chunk, text)
        Where a model version went live, drawn as dotted lines with the text.

    Returns
    -------
    FigurePNG or None
        None when no series has a value.

    Examples
    --------
    >>> rows = {"title": "Rows", "values": [1.0, 2.0, 3.0], "band": [0.5, 2.5], "changepoints": [{"index": 2}]}
    >>> figure = series_figure([rows], ["a", "b", "c"], 1)
    >>> float(figure.figure.get_size_inches()[0])
    11.0
    """
    shown = [s for s in series if np.isfinite(np.asarray(s["values"], float)).any()]
    if not shown:
        return None
    columns = min(columns, len(shown))
    rows = int(np.ceil(len(shown) / columns))
    height = 2.4 * rows + 0.7
    fig = Figure(figsize=(11, height), dpi=DPI)
    fig.subplots_adjust(left=0.07, right=0.99, top=1 - 0.7 / height, bottom=0.75 / height, hspace=0.9, wspace=0.18)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    x = np.arange(len(chunk_labels))
    for ax, item in zip(axes, shown):
        percent = item.get("unit") == "%"
        scale = 100.0 if percent else 1.0
        values = np.asarray(item["values"], float) * scale
        ax.axvspan(-0.5, reference_chunks - 0.5, color=REFERENCE, zorder=0)
        band = item.get("band")
        if band is not None:
            ax.axhspan(band[0] * scale, band[1] * scale, color=BAND, zorder=1)
        if item.get("ci_low") is not None:
            ax.fill_between(x, np.asarray(item["ci_low"], float) * scale, np.asarray(item["ci_high"], float) * scale,
                            color=LINE, alpha=0.18, linewidth=0, zorder=2)
        ax.plot(x, values, "-o", color=LINE, markersize=2.5, linewidth=1.2, zorder=3)
        for chunk, text in releases:
            ax.axvline(chunk - 0.5, color=RELEASE, linestyle=":", linewidth=1.2, zorder=4)
        for change in item.get("changepoints", ()):
            ax.axvline(change["index"] - 0.5, color=CHANGE, linestyle="--", linewidth=1.4, zorder=5)
        finite = values[np.isfinite(values)]
        if finite.size and finite.min() > 0 and finite.max() / finite.min() > 50:
            ax.set_yscale("log")  # a 100× shift would flatten everything else
        ax.set_title(plain(item["title"] + (" (%)" if percent else "")), fontsize=9, usetex=False)
        ax.tick_params(axis="y", labelsize=7)
        _ticks(ax, chunk_labels)
        ax.grid(alpha=0.25)
    for ax in axes[: len(shown)]:
        for chunk, text in releases:
            ax.text(chunk - 0.35, 0.96, plain(text, 24), transform=ax.get_xaxis_transform(), fontsize=7,
                    color=RELEASE, va="top", usetex=False)
    for ax in axes[len(shown):]:
        ax.axis("off")
    fig.suptitle(plain(title or "Grey: reference chunks · green: band · red dashes: changepoints · "
                       "dotted: model versions going live", 120), fontsize=9, usetex=False)
    return FigurePNG(fig)


def label_coverage_figure(chunk_labels: Sequence[str], rows: Sequence[float], labelled: Sequence[float]) -> FigurePNG | None:
    """Rows and labelled rows per chunk (labels often arrive weeks later).

    Examples
    --------
    >>> label_coverage_figure(["a", "b"], [10, 10], [10, 0]) is not None
    True
    """
    rows, labelled = np.asarray(rows, float), np.asarray(labelled, float)
    if not rows.size:
        return None
    fig = Figure(figsize=(11, 2.6), dpi=DPI)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.85, bottom=0.3)
    ax = fig.subplots()
    x = np.arange(rows.size)
    ax.bar(x, rows, color="#d0d7de", width=0.9, label="rows")
    ax.bar(x, labelled, color=LINE, width=0.9, label="with a label")
    ax.set_title(f"Label coverage: {labelled.sum() / max(rows.sum(), 1):.1%} of rows labelled", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    ax.tick_params(axis="y", labelsize=7)
    _ticks(ax, chunk_labels)
    return FigurePNG(fig)
