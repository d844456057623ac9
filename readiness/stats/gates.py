"""Gate decisions: absolute bounds and non-inferiority on paired bootstrap CIs.

A *regression* is signed so that positive means worse, whatever the metric's
direction: ``baseline − candidate`` when higher is better, ``candidate −
baseline`` when lower is better. The allowed margin is ``max_regression`` (in
metric units) or ``max_relative_regression × |baseline|`` (sign-safe, unlike
dividing by a signed baseline); when both are set the smaller one applies.

With ``CI`` the confidence interval of the regression:

* pass — the whole CI is within the margin (``CI.high <= margin``), or the CI
  straddles it while the point estimate is within it (inconclusive, but nothing
  points to a regression: the message states the smallest change this golden
  set resolves, the CI half-width, so the team knows when to add rows);
* warn — the point estimate is beyond the margin but the CI is not wholly: a
  probable regression the golden set cannot yet prove;
* fail — the whole CI is beyond it (``CI.low > margin``).

"Too good to be true" gates (``max_improvement`` in metric units,
``max_relative_improvement`` as a fraction of |baseline|, e.g. an error halved)
fail when the whole CI of the improvement is beyond them and warn when the point
estimate is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from readiness.stats.bootstrap import Interval
from readiness.config import MetricThreshold
from readiness.results import worst_status
from readiness.stats.metrics import Metric


def fmt(value: float | None, digits: int = 4) -> str:
    """Compact number for messages: 4 significant digits, 'n/a' for missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    magnitude = abs(value)
    if magnitude < 1e-12:  # floating-point residue (a dummy model's R² of 2.2e-16) reads as 0
        return "0"
    if magnitude >= 1e4:
        return f"{value:,.0f}" if magnitude < 1e15 else f"{value:.{digits - 1}e}"
    if magnitude >= 1e-4:
        decimals = max(0, digits - 1 - int(math.floor(math.log10(magnitude))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits - 1}e}"


def fmt_ci(interval: Interval | None) -> str:
    if interval is None or not math.isfinite(interval.low):
        return "CI n/a"
    return f"CI {fmt(interval.low)} to {fmt(interval.high)}"


@dataclass(frozen=True)
class Decision:
    status: str
    message: str
    threshold: dict[str, Any]


def absolute_decision(metric: Metric, value: float, interval: Interval | None, threshold: MetricThreshold) -> Decision | None:
    """Inclusive ``min``/``max`` bounds on the point estimate; None when neither is set."""
    if threshold.min is None and threshold.max is None:
        return None
    bounds = {k: v for k, v in (("min", threshold.min), ("max", threshold.max)) if v is not None}
    ci_text = f" ({fmt_ci(interval)})" if interval is not None else ""
    if not math.isfinite(value):
        return Decision("error", f"{metric.title} could not be computed", bounds)
    if threshold.min is not None and value < threshold.min:
        return Decision("fail", f"{metric.title} {fmt(value)}{ci_text} is below the minimum {fmt(threshold.min)}", bounds)
    if threshold.max is not None and value > threshold.max:
        return Decision("fail", f"{metric.title} {fmt(value)}{ci_text} is above the maximum {fmt(threshold.max)}", bounds)
    parts = []
    if threshold.min is not None:
        parts.append(f"≥ {fmt(threshold.min)}")
    if threshold.max is not None:
        parts.append(f"≤ {fmt(threshold.max)}")
    return Decision("pass", f"{metric.title} {fmt(value)}{ci_text} {' and '.join(parts)}", bounds)


def allowed_margin(threshold: MetricThreshold, baseline_value: float) -> tuple[float, str] | None:
    """The regression margin in metric units and where it came from; None when not gated."""
    options = []
    if threshold.max_regression is not None:
        options.append((threshold.max_regression, f"max_regression {fmt(threshold.max_regression)}"))
    if threshold.max_relative_regression is not None:
        margin = threshold.max_relative_regression * abs(baseline_value)
        options.append((margin, f"max_relative_regression {threshold.max_relative_regression:g} × |{fmt(baseline_value)}| = {fmt(margin)}"))
    return min(options, key=lambda o: o[0]) if options else None


def regression_interval(metric: Metric, delta: Interval) -> Interval:
    """CI of the signed regression (positive = worse) from the CI of candidate − baseline."""
    if metric.higher_is_better:
        return Interval(-delta.high, -delta.low, delta.valid_resamples)
    return delta


def change_decision(
    metric: Metric,
    candidate: float,
    baseline: float,
    delta: Interval,
    threshold: MetricThreshold,
    confidence: float = 0.95,
) -> Decision | None:
    """Decide candidate vs baseline on the paired CI of their difference.

    Returns None when the threshold sets no change gate.
    """
    margin = allowed_margin(threshold, baseline)
    if margin is None and threshold.max_improvement is None and threshold.max_relative_improvement is None:
        return None
    level = f"{confidence:.0%}"
    change = candidate - baseline
    head = f"{metric.title} {fmt(candidate)} vs baseline {fmt(baseline)}: Δ {fmt(change)} ({level} {fmt_ci(delta)})"
    if not (math.isfinite(delta.low) and math.isfinite(delta.high)):
        return Decision("skip", f"{head}; the difference could not be estimated on these rows", {})
    regression = regression_interval(metric, delta)
    statuses: list[str] = []
    notes: list[str] = []
    threshold_doc: dict[str, Any] = {}
    if margin is not None:
        allowed, source = margin
        threshold_doc["max_regression"] = allowed
        point = change if not metric.higher_is_better else -change  # the point estimate, positive = worse
        if regression.high <= allowed:
            statuses.append("pass")
            notes.append(f"worst case within the allowed regression ({source})")
        elif regression.low > allowed:
            statuses.append("fail")
            notes.append(f"worse than the allowed regression ({source}) across the whole CI")
        elif point > allowed + 1e-12:  # exactly at the margin is within it (inclusive), whatever the rounding
            statuses.append("warn")
            notes.append(
                f"probably worse than the allowed regression ({source}), but this golden set only "
                f"resolves changes of about ±{fmt(delta.half_width)}; add rows to decide"
            )
        else:
            statuses.append("pass")
            notes.append(
                f"within the allowed regression ({source}) at the point estimate; the CI is wider than the margin "
                f"(this golden set resolves changes of about ±{fmt(delta.half_width)})"
            )
    improvement_limits = []
    if threshold.max_improvement is not None:
        improvement_limits.append((threshold.max_improvement, f"max_improvement {fmt(threshold.max_improvement)}"))
    if threshold.max_relative_improvement is not None:
        limit = threshold.max_relative_improvement * abs(baseline)
        improvement_limits.append((limit, f"max_relative_improvement {threshold.max_relative_improvement:g} × "
                                          f"|{fmt(baseline)}| = {fmt(limit)}"))
    if improvement_limits:
        limit, source = min(improvement_limits, key=lambda item: item[0])
        threshold_doc["max_improvement"] = limit
        improvement_low = -regression.high
        improvement = -(change if not metric.higher_is_better else -change)
        if improvement_low > limit:
            statuses.append("fail")
            notes.append(f"improves by more than {source} across the whole CI: too good to be true? "
                         "check for a feature computed from the label (leakage) or label bugs")
        elif improvement > limit:
            statuses.append("warn")
            notes.append(f"probably improves by more than {source}: check for leakage or label bugs")
        else:
            statuses.append("pass")
            notes.append(f"improvement within {source}")
    return Decision(worst_status(statuses), f"{head}; " + "; ".join(notes), threshold_doc)
