"""Checks from attributions, and release guarantees per key segment.

* ``golden.attribution`` / ``drift.attribution`` — informative (status pass,
  severity info): what moved the mean prediction, from where. ``details.contributions``
  maps each player (``model`` where it applies, then each source) to its value, CI
  and standard error; ``details.total`` holds the total change with its CI;
  segments, the primary metric and the flip rate follow in ``details``.
* ``golden.guarantee.mean_shift[<column=value>]`` and
  ``golden.guarantee.flip_rate[<column=value>]`` — the user's release
  acceptance criteria (``consistency.segments``), decided on CIs like every gate:
  pass when the CI is within the limit, fail when it is wholly beyond, warn
  (inconclusive) otherwise.

The mean shift's CI is a paired percentile bootstrap over the golden rows; the flip
rate's is the exact (Clopper–Pearson) binomial interval, because a bootstrap of a
rare event says "0 to 0" whenever no row flipped, which proves nothing on few rows.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from readiness.stats.attribution.decomposition import Attribution, DataAttribution, ReleaseAttribution
from readiness.stats.attribution.settings import SegmentCriterion, parse_segment_key, segment_rows
from readiness.stats.bootstrap import bootstrap, percentile_interval
from readiness.exceptions import InputError
from readiness.stats.gates import fmt
from readiness.results import Check

#: contributions named in a message before the rest are summed up
MESSAGE_PLAYERS = 6


def signed(value: float | None) -> str:
    """``+0.041`` / ``−0.006`` (house digits), ``n/a`` when missing.

    Examples
    --------
    >>> signed(0.0412), signed(-0.006)
    ('+0.04120', '−0.006000')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    return ("+" if value >= 0 else "−") + fmt(abs(value))


def _ci_text(ci, confidence: float) -> str:
    return f"{confidence:.0%} CI n/a" if ci is None else f"{confidence:.0%} CI {fmt(ci[0])} to {fmt(ci[1])}"


def describe(attribution: Attribution, players: int = MESSAGE_PLAYERS) -> str:
    """A sentence: the total with its CI, then the largest contributions.

    Examples
    --------
    >>> from readiness.stats.attribution.decomposition import Contribution
    >>> a = Attribution("mean P(1)", 0.1, 0.141, [Contribution("model", "model", 0.006),
    ...                 Contribution("crm_export", "source", 0.029), Contribution("usage_feed", "source", 0.006)])
    >>> describe(a)
    'mean P(1) +0.04100 (95% CI n/a) = model +0.006000, crm_export +0.02900, usage_feed +0.006000'
    """
    contributions = list(attribution.contributions)
    shown = contributions
    rest: list = []
    if len(contributions) > players:
        model = [c for c in contributions if c.kind == "model"]
        ranked = sorted((c for c in contributions if c.kind != "model"), key=lambda c: -abs(c.value))
        keep = set(id(c) for c in model + ranked[: players - len(model)])
        shown = [c for c in contributions if id(c) in keep]
        rest = [c for c in contributions if id(c) not in keep]
    parts = [f"{c.name} {signed(c.value)}" for c in shown]
    if rest:
        parts.append(f"{len(rest)} more {signed(sum(c.value for c in rest))}")
    head = f"{attribution.quantity} {signed(attribution.total)} ({_ci_text(attribution.total_ci, attribution.confidence)})"
    return f"{head} = {', '.join(parts)}"


def _leading(attribution: Attribution) -> str:
    """Name the player whose contribution's CI excludes zero and is largest, if any."""
    clear = [c for c in attribution.contributions if c.ci is not None and (c.ci[0] > 0 or c.ci[1] < 0)]
    if not clear:
        return "no single player's share is distinguishable from zero"
    top = max(clear, key=lambda c: abs(c.value))
    share = top.value / attribution.total if attribution.total else float("nan")
    tail = f" ({share:.0%} of the change)" if math.isfinite(share) and 0 < share <= 1.5 else ""
    return f"largest clear share: {top.name} {signed(top.value)}{tail}"


def release_attribution_check(result: ReleaseAttribution | None, reason: str = "") -> Check:
    """``golden.attribution`` from :func:`readiness.stats.attribution.release_attribution`.

    Examples
    --------
    >>> release_attribution_check(None, "no baseline model configured").status
    'skip'
    """
    title = "What moved the predictions: model and sources (candidate vs baseline)"
    if result is None:
        return Check("golden.attribution", title, "skip", reason or "not computed", severity="info")
    overall = result.mean_prediction
    sentences = [describe(overall)]
    segments = sorted(result.segments.items(), key=lambda item: -abs(item[1].total))
    for label, attribution in segments[:3]:
        sources = [c for c in attribution.contributions if c.kind == "source"]
        top = max(sources, key=lambda c: abs(c.value)) if sources else None
        if top is not None:
            sentences.append(f"[{label}] {signed(attribution.total)}, of which {top.name} {signed(top.value)}")
    if result.metric is not None:
        sentences.append(describe(result.metric, 4))
    if result.flips is not None:
        sentences.append(describe(result.flips, 4))
    return Check("golden.attribution", title, "pass", "; ".join(sentences), severity="info",
                 value=overall.total, ci=None if overall.total_ci is None else list(overall.total_ci),
                 details=_details(overall, result.segments, {"output": result.output,
                                                             "metric": _maybe(result.metric),
                                                             "flips": _maybe(result.flips),
                                                             "segment_metrics": {k: a.to_dict() for k, a in
                                                                                 result.segment_metrics.items()},
                                                             "segment_flips": {k: a.to_dict() for k, a in
                                                                               result.segment_flips.items()},
                                                             "skipped": dict(result.skipped)}))


def data_attribution_check(result: DataAttribution | None, reason: str = "") -> Check:
    """``drift.attribution`` from :func:`readiness.stats.attribution.data_attribution`.

    Examples
    --------
    >>> data_attribution_check(None, "no model given").status
    'skip'
    """
    title = "What moved the predictions: data sources (and model) from reference to current"
    if result is None:
        return Check("drift.attribution", title, "skip", reason or "not computed", severity="info")
    overall = result.mean_prediction
    message = f"{describe(overall)}; {_leading(overall)}"
    return Check("drift.attribution", title, "pass", message, severity="info", value=overall.total,
                 ci=None if overall.total_ci is None else list(overall.total_ci),
                 details=_details(overall, result.segments, {"output": result.output, "skipped": dict(result.skipped)}))


def _maybe(attribution: Attribution | None):
    return None if attribution is None else attribution.to_dict()


def _details(overall: Attribution, segments: Mapping[str, Attribution], extra: dict[str, Any]) -> dict[str, Any]:
    doc = overall.to_dict()
    return {"contributions": doc["contributions"], "total": doc["total"], "start": doc["start"], "end": doc["end"],
            "quantity": doc["quantity"], "method": doc["method"], "background": doc["background"],
            "rows": doc["rows"], "evaluated_pairs": doc["evaluated_pairs"], "note": doc["note"],
            "segments": {label: a.to_dict() for label, a in segments.items()}, **extra}


# --------------------------------------------------------------------------- segment guarantees


def _flip_interval(flips: int, rows: int, confidence: float) -> tuple[float, float]:
    from scipy.stats import binomtest

    interval = binomtest(flips, rows).proportion_ci(confidence_level=confidence, method="exact")
    return float(interval.low), float(interval.high)


def _decide_band(low: float, high: float, limit: float) -> str:
    """pass when [low, high] ⊂ [−limit, limit]; fail when wholly outside; warn otherwise."""
    if -limit <= low and high <= limit:
        return "pass"
    if low > limit or high < -limit:
        return "fail"
    return "warn"


def segment_consistency_checks(
    criteria: Mapping[str, SegmentCriterion | Mapping[str, Any]],
    frame: pd.DataFrame,
    candidate_scores: np.ndarray,
    baseline_scores: np.ndarray,
    candidate_classes: np.ndarray | None = None,
    baseline_classes: np.ndarray | None = None,
    output_labels: list[str] | None = None,
    attributions: Mapping[str, Attribution] | None = None,
    prefix: str = "golden.guarantee",
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    source: str = "golden",
) -> list[Check]:
    """Release guarantees for key segments: mean-prediction shift and flip rate, on CIs.

    Parameters
    ----------
    criteria : mapping ``column=value`` → :class:`SegmentCriterion` (or its dict)
    frame : DataFrame
        The golden rows (segment columns looked up here).
    candidate_scores, baseline_scores : array (n,) or (n, K)
        Per-row outputs (probabilities or predictions) of the two models; the mean
        shift is judged per output and the worst one decides.
    candidate_classes, baseline_classes : array (n,), optional
        Predicted classes; without them a flip-rate criterion is skipped.
    output_labels : names of the K outputs, for messages.
    attributions : segment key → Attribution, optional
        Release attribution of the segment; its largest source is named in the message.

    Returns
    -------
    list of Check, ids ``<prefix>.mean_shift[<key>]`` and ``<prefix>.flip_rate[<key>]``.

    Examples
    --------
    >>> frame = pd.DataFrame({"region": ["north"] * 400 + ["south"] * 400})
    >>> base = np.full(800, 0.30); cand = base + np.r_[np.full(400, 0.05), np.zeros(400)]
    >>> checks = segment_consistency_checks({"region=north": {"max_mean_shift": 0.02},
    ...                                      "region=south": {"max_mean_shift": 0.02}}, frame, cand, base,
    ...                                     n_bootstrap=200)
    >>> [(c.id, c.status) for c in checks]
    [('golden.guarantee.mean_shift[region=north]', 'fail'), ('golden.guarantee.mean_shift[region=south]', 'pass')]
    """
    new = np.asarray(candidate_scores, dtype=np.float64)
    old = np.asarray(baseline_scores, dtype=np.float64)
    new = new[:, None] if new.ndim == 1 else new
    old = old[:, None] if old.ndim == 1 else old
    if new.shape != old.shape or len(new) != len(frame):
        raise InputError(f"{source}: candidate {new.shape} and baseline {old.shape} outputs must both have one row per "
                         f"golden row ({len(frame):,})")
    labels = output_labels or (["prediction"] if new.shape[1] == 1 else [f"output {k}" for k in range(new.shape[1])])
    parsed = {key: c if isinstance(c, SegmentCriterion) else SegmentCriterion.model_validate(c) for key, c in criteria.items()}
    delta = new - old
    rows: dict[str, np.ndarray | None] = {}
    problems: dict[str, str] = {}
    for key in parsed:
        column, _ = parse_segment_key(key)
        if column not in frame.columns:
            problems[key] = (f"segment {key}: column {column!r} is not in the {source} data; "
                             f"fix consistency.segments in readiness.yaml (columns: "
                             f"{', '.join(repr(str(c)) for c in list(frame.columns)[:10])})")
            rows[key] = None
        else:
            rows[key] = segment_rows(frame, key, source)
    statistics = {key: (lambda w, index=index: _weighted_shift(w, delta, index))
                  for key, index in rows.items() if index is not None and len(index) > 0}
    samples = bootstrap(len(frame), statistics, n_bootstrap, seed) if statistics else {}
    checks: list[Check] = []
    for key, criterion in parsed.items():
        index = rows[key]
        for kind, limit in (("mean_shift", criterion.max_mean_shift), ("flip_rate", criterion.max_flip_rate)):
            if limit is None:
                continue
            check_id = f"{prefix}.{kind}[{key}]"
            title = f"{'Mean-prediction shift' if kind == 'mean_shift' else 'Flip rate'} in segment {key}"
            if index is None:
                checks.append(Check(check_id, title, "error", problems[key], severity="critical"))
                continue
            if len(index) == 0:
                checks.append(Check(check_id, title, "fail",
                                    f"segment {key} has no rows in the {source} data: its guarantee cannot be shown; "
                                    "add its rows to the golden set", severity="critical", threshold={"max": limit}))
                continue
            if kind == "mean_shift":
                checks.append(_mean_shift_check(check_id, title, key, index, delta, samples[key], limit, labels,
                                                confidence, (attributions or {}).get(key)))
            elif candidate_classes is None or baseline_classes is None:
                checks.append(Check(check_id, title, "skip", "flip rate applies to classifiers (no predicted classes given)",
                                    severity="critical", threshold={"max": limit}))
            else:
                flipped = np.asarray(candidate_classes)[index] != np.asarray(baseline_classes)[index]
                checks.append(_flip_check(check_id, title, key, int(flipped.sum()), len(index), limit, confidence))
    return checks


def _weighted_shift(weights: np.ndarray, delta: np.ndarray, index: np.ndarray) -> np.ndarray:
    w = weights[:, index]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ delta[index].astype(w.dtype)) / w.sum(axis=1, keepdims=True)


def _mean_shift_check(check_id, title, key, index, delta, samples, limit, labels, confidence, attribution) -> Check:
    shift = delta[index].mean(axis=0)
    order = {"pass": 0, "warn": 1, "fail": 2}
    per_output = []
    for k, label in enumerate(labels):
        interval = percentile_interval(samples[:, k], confidence)
        status = _decide_band(interval.low, interval.high, limit) if math.isfinite(interval.low) else "warn"
        per_output.append({"output": label, "shift": float(shift[k]), "ci": [interval.low, interval.high],
                           "status": status, "half_width": interval.half_width})
    worst = max(per_output, key=lambda r: (order[r["status"]], abs(r["shift"])))
    which = "" if len(labels) == 1 else f" ({worst['output']})"
    head = (f"{key}: mean prediction{which} moved {signed(worst['shift'])} "
            f"({confidence:.0%} CI {fmt(worst['ci'][0])} to {fmt(worst['ci'][1])}) on {len(index):,} rows")
    status = worst["status"]
    if status == "pass":
        text = f"{head}; within ±{fmt(limit)} across the whole CI"
    elif status == "fail":
        text = f"{head}; beyond the allowed ±{fmt(limit)} across the whole CI"
    else:
        text = (f"{head}; inconclusive against ±{fmt(limit)}: the CI straddles the limit (this golden set resolves "
                f"shifts of about ±{fmt(worst['half_width'])} in this segment); add rows to decide")
    details: dict[str, Any] = {"rows": len(index), "per_output": per_output}
    if attribution is not None:
        sources = sorted((c for c in attribution.contributions if c.kind == "source"), key=lambda c: -abs(c.value))
        if sources:
            model = attribution.by_name.get("model")
            everywhere = f"the release everywhere {signed(model.value)}, " if model is not None else ""
            text += f"; carried by: {everywhere}this segment's {sources[0].name} values {signed(sources[0].value)}"
        details["attribution"] = attribution.to_dict()
    return Check(check_id, title, status, text, severity="critical", value=worst["shift"], ci=list(worst["ci"]),
                 threshold={"max_abs": limit}, details=details)


def _flip_check(check_id, title, key, flips, rows, limit, confidence) -> Check:
    low, high = _flip_interval(flips, rows, confidence)
    rate = flips / rows
    head = (f"{key}: {flips:,} of {rows:,} rows change class ({fmt(rate)}; {confidence:.0%} exact CI "
            f"{fmt(low)} to {fmt(high)})")
    if high <= limit:
        status, text = "pass", f"{head}; within {fmt(limit)} across the whole CI"
    elif low > limit:
        status, text = "fail", f"{head}; above the allowed {fmt(limit)} across the whole CI"
    else:
        status, text = "warn", (f"{head}; inconclusive against {fmt(limit)}: the CI straddles the limit; "
                                "add rows to decide")
    return Check(check_id, title, status, text, severity="critical", value=rate, ci=[low, high],
                 threshold={"max": limit}, details={"rows": rows, "flips": flips})
