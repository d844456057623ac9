"""Result types: a change split into contributions that sum to it, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

@dataclass
class Contribution:
    """One player's share of the change: value, CI and bootstrap standard error."""

    name: str
    kind: str  # "model" or "source"
    value: float
    ci: tuple[float, float] | None = None
    standard_error: float | None = None
    columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "ci": None if self.ci is None else list(self.ci),
                               "standard_error": self.standard_error, "kind": self.kind}
        if self.columns:
            out["columns"] = list(self.columns)
        return out


@dataclass
class Attribution:
    """A change ``end − start`` split into contributions that sum to it exactly.

    Examples
    --------
    >>> a = Attribution("mean prediction", 0.10, 0.141, [Contribution("model", "model", 0.006),
    ...     Contribution("crm_export", "source", 0.029), Contribution("usage_feed", "source", 0.006)])
    >>> a.summary()
    'mean prediction +0.041 = model +0.006, crm_export +0.029, usage_feed +0.006'
    """

    quantity: str
    start: float
    end: float
    contributions: list[Contribution]
    total_ci: tuple[float, float] | None = None
    segment: str | None = None
    method: str = "exact"
    players: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    evaluated_pairs: int = 0
    model_rows_predicted: int = 0
    background: str = ""
    confidence: float = 0.95
    note: str = ""

    @property
    def total(self) -> float:
        return self.end - self.start

    @property
    def by_name(self) -> dict[str, Contribution]:
        return {c.name: c for c in self.contributions}

    def summary(self, digits: int = 3) -> str:
        """One line: ``mean prediction +0.041 = model +0.006, crm_export +0.029``."""
        parts = ", ".join(f"{c.name} {c.value:+.{digits}f}" for c in self.contributions)
        return f"{self.quantity} {self.total:+.{digits}f} = {parts}"

    def rows_table(self) -> list[dict[str, Any]]:
        """One plain row per player, then the total: what a report's table shows.

        Examples
        --------
        >>> a = Attribution("mean prediction", 0.1, 0.141, [Contribution("model", "model", 0.006, (0.0, 0.01))])
        >>> a.rows_table()[0]["player"], a.rows_table()[-1]["player"]
        ('model', 'total')
        """
        rows = []
        for c in self.contributions:
            share = c.value / self.total if self.total else float("nan")
            rows.append({"player": c.name, "kind": c.kind, "columns": ", ".join(c.columns), "value": c.value,
                         "ci_low": None if c.ci is None else c.ci[0], "ci_high": None if c.ci is None else c.ci[1],
                         "share_of_total": share})
        rows.append({"player": "total", "kind": "total", "columns": "", "value": self.total,
                     "ci_low": None if self.total_ci is None else self.total_ci[0],
                     "ci_high": None if self.total_ci is None else self.total_ci[1], "share_of_total": 1.0})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a check's details (JSON-ready apart from NaN handling)."""
        return {
            "quantity": self.quantity, "segment": self.segment, "start": self.start, "end": self.end,
            "total": {"value": self.total, "ci": None if self.total_ci is None else list(self.total_ci)},
            "contributions": {c.name: c.to_dict() for c in self.contributions},
            "method": self.method, "players": self.players, "rows": dict(self.rows),
            "evaluated_pairs": self.evaluated_pairs, "model_rows_predicted": self.model_rows_predicted,
            "background": self.background, "confidence": self.confidence, "note": self.note,
        }


@dataclass
class ReleaseAttribution:
    """Candidate vs baseline on the same rows: mean output, segments, primary metric, flips."""

    output: str
    mean_prediction: Attribution
    segments: dict[str, Attribution]
    metric: Attribution | None
    flips: Attribution | None
    skipped: dict[str, str] = field(default_factory=dict)
    segment_metrics: dict[str, Attribution] = field(default_factory=dict)
    segment_flips: dict[str, Attribution] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "mean_prediction": self.mean_prediction.to_dict(),
                "segments": {k: v.to_dict() for k, v in self.segments.items()},
                "metric": None if self.metric is None else self.metric.to_dict(),
                "flips": None if self.flips is None else self.flips.to_dict(),
                "segment_metrics": {k: v.to_dict() for k, v in self.segment_metrics.items()},
                "segment_flips": {k: v.to_dict() for k, v in self.segment_flips.items()},
                "skipped": dict(self.skipped)}


@dataclass
class DataAttribution:
    """Reference vs current data (through one model, or old vs new model): overall and per segment."""

    output: str
    mean_prediction: Attribution
    segments: dict[str, Attribution]
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "mean_prediction": self.mean_prediction.to_dict(),
                "segments": {k: v.to_dict() for k, v in self.segments.items()}, "skipped": dict(self.skipped)}
