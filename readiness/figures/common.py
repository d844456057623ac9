"""What every figure shares: the PNG wrapper, the resolution, the colours, the text guard.

No figure module imports a report or an artifact (the import-linter contract
``figures-take-plain-data`` in pyproject.toml).

Figures are built without pyplot's global state, at a modest DPI, so the embedded
PNGs keep the HTML report small. Figure functions (``readiness.figures.golden``,
``.drift``, ``.checklist``) take plain data — arrays, lists of dicts, numbers,
strings — never a report object: the reports build that data, and the figures know
nothing of the reports.

Examples
--------
>>> from matplotlib.figure import Figure
>>> png = FigurePNG(Figure(figsize=(2, 1), dpi=DPI))._repr_png_()
>>> png[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from readiness.escape import plot_text

DPI = 80
COLOURS = {"candidate": "#0969da", "baseline": "#8c959f", "dummy": "#d4a72c"}
STATUS = {"pass": "#1a7f37", "warn": "#bf8700", "fail": "#cf222e", "skip": "#8c959f", "error": "#8250df"}
#: Scatter plots draw at most this many points (a seeded sample): the PNG stays small.
MAX_POINTS = 3000


class FigurePNG:
    """A figure shown as one embedded PNG, independent of the matplotlib backend.

    Notebooks display it through ``_repr_png_``; ``figure`` is the matplotlib
    Figure for anyone who wants to restyle or save it.

    Examples
    --------
    >>> FigurePNG(Figure(figsize=(4, 3)))
    <FigurePNG 4x3 in>
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


def subsample(n: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of at most :data:`MAX_POINTS` of ``n`` rows.

    Examples
    --------
    >>> len(subsample(10, 0)), len(subsample(10_000, 0))
    (10, 3000)
    """
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False))


def short(text: str, width: int = 18) -> str:
    """Every string from data reaches a figure through here: shortened, shown literally.

    Examples
    --------
    >>> short("price in $ from $0_to_$50", 40)
    'price in \\\\$ from \\\\$0_to_\\\\$50'
    """
    return plot_text(text, width)
