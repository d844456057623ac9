"""The attribution waterfall: a change split into the model and each source, with CIs.

Takes plain data (:meth:`readiness.stats.attribution.Attribution.to_dict` or the object
itself) and returns a small embedded PNG. Names come from users' configs and data,
so they are shown literally: ``$`` would start matplotlib mathtext and is escaped,
control characters are written as escapes, long names are shortened with an ellipsis.
"""

from __future__ import annotations

import functools
import math
import textwrap
from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from readiness.escape import plot_text, shorten, visible
from readiness.figures.common import DPI, FigurePNG

#: bars drawn before the rest is folded into one "N more" bar (the sum stays exact)
MAX_BARS = 12
_UP, _DOWN, _MODEL, _TOTAL = "#0969da", "#d4a72c", "#8250df", "#57606a"


def literal(text: Any, limit: int = 40) -> str:
    """``text`` as matplotlib will show it verbatim: no mathtext, no control characters, no tofu.

    :func:`readiness.escape.plot_text` writes invisible characters out and escapes ``$``;
    characters the default font cannot draw are written as escapes too.

    Examples
    --------
    >>> literal("cost_$usd")
    'cost_\\\\$usd'
    >>> literal("a\\nb")
    'a\\\\nb'
    """
    glyphs = _glyphs()
    text = visible(text)
    text = "".join(ch if ord(ch) < 128 or ord(ch) in glyphs else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
    return plot_text(shorten(text, limit))


@functools.lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    """Code points the default font can draw (others are written as escapes, never as tofu)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap())


def _number(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:+.2e}"


def waterfall_figure(attribution: Any, title: str | None = None, max_bars: int = MAX_BARS) -> FigurePNG:
    """Horizontal waterfall: each player's bar starts where the previous one ended.

    Parameters
    ----------
    attribution : Attribution or mapping
        Plain data with ``quantity``, ``start``, ``end``, ``total`` ({value, ci}) and
        ``contributions`` ({name: {value, ci, kind}}), as ``Attribution.to_dict()`` gives.
    title : str, optional
        Default: the one-line summary (``mean prediction +0.041 = model +0.006, …``).

    Examples
    --------
    >>> fig = waterfall_figure({"quantity": "mean prediction", "start": 0.1, "end": 0.141,
    ...     "total": {"value": 0.041, "ci": [0.03, 0.05]},
    ...     "contributions": {"model": {"value": 0.006, "ci": [0.0, 0.01], "kind": "model"},
    ...                       "crm_export": {"value": 0.029, "ci": [0.02, 0.04], "kind": "source"},
    ...                       "usage_feed": {"value": 0.006, "ci": None, "kind": "source"}}})
    >>> fig._repr_png_()[:4]
    b'\\x89PNG'
    """
    doc: Mapping[str, Any] = attribution.to_dict() if hasattr(attribution, "to_dict") else attribution
    items = [(str(name), float(c["value"]), c.get("ci"), c.get("kind", "source"))
             for name, c in doc["contributions"].items()]
    total = doc["total"]
    total_value = float(total["value"]) if isinstance(total, Mapping) else float(total)
    total_ci = total.get("ci") if isinstance(total, Mapping) else None
    if len(items) > max_bars:
        model = [i for i in items if i[3] == "model"]
        ranked = sorted((i for i in items if i[3] != "model"), key=lambda i: -abs(i[1]))
        keep = ranked[: max_bars - 1 - len(model)]
        rest = ranked[max_bars - 1 - len(model):]
        items = model + keep + [(f"{len(rest)} more", sum(i[1] for i in rest), None, "rest")]
        fold = True
    else:
        fold = False
    quantity = str(doc.get("quantity", "change"))
    if title is None:
        shown = ", ".join(f"{name} {_number(value)}" for name, value, _, _ in items)
        title = f"{quantity} {_number(total_value)} = {shown}"
    title_lines = textwrap.wrap(literal(title, 400), 95)
    if len(title_lines) > 3:
        title_lines = title_lines[:2] + [title_lines[2][:92] + " …"]

    rows = len(items) + 1
    fig = Figure(figsize=(8, 0.42 * rows + 1.3 + 0.2 * len(title_lines)), dpi=DPI, layout="constrained")
    ax, ax_text = fig.subplots(1, 2, sharey=True, width_ratios=[4, 1.4])
    labels, position = [], 0.0
    for row, (name, value, ci, kind) in enumerate(items):
        colour = _MODEL if kind == "model" else (_TOTAL if kind == "rest" else (_UP if value >= 0 else _DOWN))
        ax.barh(row, value, left=position, color=colour, height=0.6)
        if _finite(ci):
            ax.errorbar(position + value, row, xerr=[[max(value - ci[0], 0)], [max(ci[1] - value, 0)]],
                        color="black", capsize=3, linewidth=1)
        ax.plot([position + value] * 2, [row + 0.3, row + 0.7], color="#8c959f", linewidth=0.8)
        ax_text.text(0, row, _value_text(value, ci), va="center", ha="left", fontsize=9)
        labels.append(literal(name))
        position += value
    ax.barh(rows - 1, total_value, left=0, color=_TOTAL, height=0.6)
    if _finite(total_ci):
        ax.errorbar(total_value, rows - 1, xerr=[[max(total_value - total_ci[0], 0)], [max(total_ci[1] - total_value, 0)]],
                    color="black", capsize=3, linewidth=1)
    ax_text.text(0, rows - 1, _value_text(total_value, total_ci), va="center", ha="left", fontsize=9, fontweight="bold")
    labels.append("total")
    ax.set_yticks(np.arange(rows), labels=labels)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.axvline(0, color="black", linewidth=0.8)
    start, end = doc.get("start"), doc.get("end")
    span = ""
    if _finite([start, end]):
        span = f" (from {start:.4g} to {end:.4g})"
    ax.set_xlabel(literal(f"change in {quantity}{span}", 120))
    ax.grid(axis="x", alpha=0.3)
    ax_text.set_xlim(0, 1)
    ax_text.axis("off")
    ax_text.set_title("value [CI]", fontsize=9, loc="left")
    from matplotlib.patches import Patch

    kinds = {("model" if kind == "model" else "raises" if value >= 0 else "lowers")
             for _, value, _, kind in items if kind != "rest"}
    key = [Patch(color=colour, label=name) for name, colour in (("model", _MODEL), ("raises", _UP), ("lowers", _DOWN))
           if name in kinds]
    if fold:
        key.append(Patch(color=_TOTAL, label="smallest sources, folded"))
    ax.legend(handles=key, fontsize=8, loc="best", frameon=False)
    segment = doc.get("segment")
    heading = "\n".join(title_lines) + (f"\n[{literal(segment, 60)}]" if segment else "")
    fig.suptitle(heading, fontsize=10, x=0.01, ha="left")
    return FigurePNG(fig)


def _finite(values) -> bool:
    return values is not None and all(v is not None and math.isfinite(v) for v in values)


def _value_text(value: float, ci) -> str:
    text = _number(value)
    if _finite(ci):
        text += f"  [{ci[0]:.3g}, {ci[1]:.3g}]"
    return text
