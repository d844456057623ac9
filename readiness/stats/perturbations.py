"""The perturbations of the golden benchmark's robustness section: names, what they do, where they apply.

Each :class:`Perturbation` changes one column of a frame (or the frame as a whole), scaled by
the data itself (:func:`column_stats`); :data:`PERTURBATIONS` is the vocabulary the config
validates ``golden_benchmark.robustness.perturbations`` against, the figures name and the
check ids use (``golden.robustness.<perturbation>``). Adding one touches only that dict.
Light enough for the driver: pandas is imported by the functions that transform frames.
:mod:`readiness.reports.golden.robustness` runs them against a model.

Examples
--------
>>> PERTURBATIONS["nan"].title
'NaN injected'
>>> sorted(p.name for p in PERTURBATIONS.values() if p.plausible)[:2]
['extra_column', 'missing_column']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

UNSEEN_CATEGORY = "__readiness_unseen__"
EXTRA_COLUMN = "__readiness_extra__"


@dataclass(frozen=True)
class ColumnStats:
    """What the perturbations scale by, measured on the golden sample."""

    kind: str  # "numeric", "categorical" (text), "boolean" or "datetime"
    low: float = np.nan
    high: float = np.nan
    iqr: float = np.nan


def column_stats(frame: "pd.DataFrame") -> dict[str, ColumnStats]:
    """Kind, range and inter-quartile range of each column of the golden sample."""
    import pandas as pd

    stats = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                stats[name] = ColumnStats("numeric")
                continue
            q1, q3 = np.percentile(finite, [25, 75])
            spread = q3 - q1 if q3 > q1 else (finite.std() or 1.0)
            stats[name] = ColumnStats("numeric", float(finite.min()), float(finite.max()), float(spread))
        elif pd.api.types.is_bool_dtype(column):
            stats[name] = ColumnStats("boolean")
        elif pd.api.types.is_datetime64_any_dtype(column):
            stats[name] = ColumnStats("datetime")
        else:
            stats[name] = ColumnStats("categorical")
    return stats


@dataclass(frozen=True)
class Perturbation:
    """One kind of upstream chaos: where it applies and how it changes the data."""

    name: str
    title: str
    applies_to: tuple[str, ...]  # column kinds ("numeric", "categorical", "boolean", "datetime"), "dataset" or "optional"
    apply: Callable[..., "pd.DataFrame"]
    doc: str
    # Input a model will plausibly meet in production (missing values, new categories, columns
    # reordered or added, a declared-optional column absent): a crash on it is a finding. A crash
    # on implausible input (numbers as text, values far beyond any seen) is shown, not warned.
    plausible: bool = False


def _noise(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    width = noise_iqr * stats.iqr
    out[column] = frame[column] + rng.uniform(-width, width, len(frame))
    return out


def _nan(frame, column, stats, rng, noise_iqr):
    import pandas as pd

    out = frame.copy()
    # Keep the column's kind: a categorical column with missing values stays object dtype
    # (a whole float-NaN column would test dtype inference, not missing-value handling).
    dtype = float if stats.kind == "numeric" else object  # a bool or datetime column with gaps is object too
    out[column] = pd.Series(np.full(len(frame), np.nan, dtype=dtype), index=frame.index)
    return out


def _unseen(frame, column, stats, rng, noise_iqr):
    import pandas as pd

    out = frame.copy()
    out[column] = pd.Series([UNSEEN_CATEGORY] * len(frame), index=frame.index, dtype=frame[column].dtype
                            if pd.api.types.is_string_dtype(frame[column]) else object)
    return out


def _out_of_range(frame, column, stats, rng, noise_iqr):
    out = frame.copy()
    span = max(stats.high - stats.low, stats.iqr, 1e-12)
    beyond = np.where(np.arange(len(frame)) % 2 == 0, stats.high + span, stats.low - span)
    out[column] = beyond.astype(float)
    return out


def _as_string(frame, column, stats, rng, noise_iqr):
    import pandas as pd

    out = frame.copy()
    out[column] = frame[column].map(lambda v: None if pd.isna(v) else str(v)).astype(object)
    return out


def _shuffled_columns(frame, column, stats, rng, noise_iqr):
    order = list(rng.permutation(frame.columns))
    if order == list(frame.columns) and len(order) > 1:
        order = order[1:] + order[:1]
    return frame[order]


def _extra_column(frame, column, stats, rng, noise_iqr):
    return frame.assign(**{EXTRA_COLUMN: rng.normal(size=len(frame))})


def _missing_column(frame, column, stats, rng, noise_iqr):
    return frame.drop(columns=[column])


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in [
        Perturbation("noise", "± k·IQR noise", ("numeric",), _noise,
                     "uniform noise of ± noise_iqr × the column's inter-quartile range"),
        Perturbation("nan", "NaN injected", ("numeric", "categorical", "boolean", "datetime"), _nan,
                     "every value of the column missing", plausible=True),
        # text columns only: a string injected into a boolean or a date column is not a category
        Perturbation("unseen_category", "unseen category", ("categorical",), _unseen,
                     "a category the model never saw", plausible=True),
        Perturbation("out_of_range", "beyond min/max", ("numeric",), _out_of_range,
                     "values one full range above the golden maximum / below the minimum"),
        Perturbation("as_string", "numbers as strings", ("numeric",), _as_string,
                     "the same numbers sent as text (a CSV or JSON upstream change)"),
        Perturbation("shuffled_columns", "columns reordered", ("dataset",), _shuffled_columns,
                     "the same columns in another order", plausible=True),
        Perturbation("extra_column", "extra column", ("dataset",), _extra_column,
                     "an unexpected additional column", plausible=True),
        Perturbation("missing_column", "optional column missing", ("optional",), _missing_column,
                     "a column declared optional is absent", plausible=True),
    ]
}
