"""Gate decisions: absolute bounds and non-inferiority on paired bootstrap CIs.

A *regression* is signed so that positive means worse, whatever the metric's
direction: ``baseline − candidate`` when higher is better, ``candidate −
baseline`` when lower is better. The allowed margin is ``max_regression`` (in
metric units) or ``max_relative_regression × |baseline|`` (sign-safe, unlike
dividing by a signed baseline); when both are set the smaller one applies.

With ``CI`` the confidence interval of the regression:

* pass — the whole CI is within the margin (``CI.high <= margin``);
* fail — the whole CI is beyond it (``CI.low > margin``);
* warn — inconclusive: the golden set is too small to tell; the message states
  the smallest change this golden set resolves (the CI half-width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from readiness.bootstrap import Interval
from readiness.config import MetricThreshold
from readiness.metrics import Metric


def fmt(value: float | None, digits: int = 4) -> str:
    """Compact number for messages: 4 significant digits, 'n/a' for missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if value == 0:
        return "0"
    magnitude = abs(value)
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
    if margin is None and threshold.max_improvement is None:
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
        if regression.high <= allowed:
            statuses.append("pass")
            notes.append(f"worst case within the allowed regression ({source})")
        elif regression.low > allowed:
            statuses.append("fail")
            notes.append(f"worse than the allowed regression ({source}) across the whole CI")
        else:
            statuses.append("warn")
            notes.append(
                f"inconclusive against the allowed regression ({source}): this golden set only "
                f"resolves changes of about ±{fmt(delta.half_width)}; add rows to decide"
            )
    if threshold.max_improvement is not None:
        threshold_doc["max_improvement"] = threshold.max_improvement
        improvement_low, improvement_high = -regression.high, -regression.low
        if improvement_low > threshold.max_improvement:
            statuses.append("fail")
            notes.append(f"improves by more than max_improvement {fmt(threshold.max_improvement)}: too good to be true? check for leakage or label bugs")
        elif improvement_high > threshold.max_improvement:
            statuses.append("warn")
            notes.append(f"may improve by more than max_improvement {fmt(threshold.max_improvement)}: check for leakage or label bugs")
        else:
            statuses.append("pass")
            notes.append(f"improvement within max_improvement {fmt(threshold.max_improvement)}")
    order = {"pass": 0, "warn": 1, "fail": 2}
    status = max(statuses, key=order.__getitem__)
    return Decision(status, f"{head}; " + "; ".join(notes), threshold_doc)
