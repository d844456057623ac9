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

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "mean_prediction": self.mean_prediction.to_dict(),
                "segments": {k: v.to_dict() for k, v in self.segments.items()},
                "metric": None if self.metric is None else self.metric.to_dict(),
                "flips": None if self.flips is None else self.flips.to_dict(), "skipped": dict(self.skipped)}


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
