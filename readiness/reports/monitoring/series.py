"""Series of chunk values, their bands, what changed when, and the checks that judge them.

A :class:`Series` is plain data: one value per chunk (NaN where a chunk has none),
optionally a CI per chunk, the band learned from the reference chunks, and the
changepoints found in it. The band is a prediction interval for one more chunk from
the K reference chunks' values: mean ± t(K−1) · sd · √(1 + 1/K) at ``band_coverage``
(99.7% by default), so a stationary series leaves it about 0.3% of the time. A chunk
is outside the band when its whole CI is (so a chunk with few labels does not alarm on
noise alone).

:class:`VersionTimeline` says which model version served each chunk; anything with a
``releases_near(chunk)`` method (e.g. a release history) can name releases instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.special import stdtrit  # Student t quantile; scipy.stats costs a second of imports

from readiness.stats.gates import fmt
from readiness.reports.monitoring.changepoints import Changepoint
from readiness.results import Check


@dataclass
class Series:
    """One monitored quantity per chunk.

    Examples
    --------
    >>> s = Series("rows", "Rows", np.array([10.0, 11.0, 9.0, 30.0]))
    >>> s.latest_index
    3
    """

    key: str  # check id suffix: monitoring.<key>
    title: str
    values: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    band: tuple[float, float] | None = None
    changepoints: list[Changepoint] = field(default_factory=list)
    critical: bool = False
    direction: str = "both"  # "up": only rises are bad (drift, missing); "down": only falls (performance)
    relative: bool = False  # describe changes as ratios (mean prediction, quantiles, rows)
    unit: str = ""  # "%" for shares
    note: str = ""
    log_band: bool = False  # learn the band on log values (positive, skewed scores)
    margin: float = 0.0  # the band is at least ± margin around the reference mean

    @property
    def latest_index(self) -> int | None:
        present = np.flatnonzero(np.isfinite(self.values))
        return int(present[-1]) if present.size else None

    def outside(self, index: int) -> str | None:
        """"above", "below" or None: where chunk ``index`` lies against the band (its whole CI)."""
        if self.band is None or not np.isfinite(self.values[index]):
            return None
        low = self.low[index] if self.low is not None and np.isfinite(self.low[index]) else self.values[index]
        high = self.high[index] if self.high is not None and np.isfinite(self.high[index]) else self.values[index]
        if low > self.band[1] and self.direction != "down":
            return "above"
        if high < self.band[0] and self.direction != "up":
            return "below"
        return None

    def to_dict(self) -> dict:
        """The series as plain data: the results JSON's ``data.series`` and what its figure draws."""
        return {"key": self.key, "title": self.title, "values": self.values, "ci_low": self.low, "ci_high": self.high,
                "band": list(self.band) if self.band else None, "critical": self.critical, "direction": self.direction,
                "unit": self.unit,
                "changepoints": [{"index": c.index, "before": c.before, "after": c.after, "size_in_noise": c.size_in_noise}
                                 for c in self.changepoints]}


def learn_band(values: np.ndarray, reference: slice, coverage: float, log: bool = False,
               margin: float = 0.0) -> tuple[float, float] | None:
    """Prediction interval for one more chunk from the reference chunks' values; None with < 2 of them.

    ``log`` learns it on log values (for positive, right-skewed scores such as drift
    distances); ``margin`` widens it to at least ± margin around the reference mean
    (an effect too small to act on never leaves the band, however steady the reference).

    Examples
    --------
    >>> low, high = learn_band(np.array([1.0, 1.1, 0.9, 1.0, 1.05]), slice(0, 5), 0.997)
    >>> round(float(low), 2), round(float(high), 2)
    (0.49, 1.53)
    """
    known = values[reference]
    known = known[np.isfinite(known)]
    if log:
        known = np.log(known[known > 0])
    if known.size < 2:
        return None
    centre, spread = float(known.mean()), float(known.std(ddof=1))
    half = stdtrit(known.size - 1, 0.5 + coverage / 2) * spread * np.sqrt(1 + 1 / known.size)
    low, high = centre - half, centre + half
    if log:
        centre, low, high = float(np.exp(centre)), float(np.exp(low)), float(np.exp(high))
    return min(low, centre - margin), max(high, centre + margin)


# ------------------------------------------------------------------ versions and releases


@dataclass(frozen=True)
class Release:
    """A model version that went live: at which chunk, replacing which version.

    Examples
    --------
    >>> timeline = VersionTimeline("model_version", {"v1": np.array([90, 95, 10, 0]), "v2": np.array([0, 5, 90, 100])})
    >>> timeline.releases  # v2 first served 5% of chunk 1 (a canary), then most of chunk 2
    [Release(version='v2', previous='v1', chunk=1, share=0.05, source='version column')]
    """

    version: str
    previous: str | None
    chunk: int
    share: float  # the new version's share of the chunk's rows
    source: str  # "version column" or where a release history came from


class ReleaseLookup(Protocol):
    """Names the releases near a chunk; a release history can implement it later.

    Any object with a ``releases_near(chunk)`` method will do (a protocol, not a base class).

    Examples
    --------
    >>> class Deployments:  # e.g. read from a deployment tool
    ...     def releases_near(self, chunk: int) -> list[Release]:
    ...         return [Release("v7", "v6", 12, 1.0, "the deployment log")] if chunk in (12, 13) else []
    >>> series = Series("mean_prediction", "Mean prediction", np.zeros(20), relative=True)
    >>> change_sentence(series, Changepoint(12, 0.25, 0.2, 8.0), "2024-03-12", Deployments(), None)
    'Mean prediction 20.0% lower from 2024-03-12, when the model version changed from v6 to v7 (per the deployment log)'
    """

    def releases_near(self, chunk: int) -> list[Release]: ...


class ReleaseList:
    """Releases from outside the log (e.g. readiness's release history): version and when it went live.

    Parameters
    ----------
    releases : list of dict
        ``{"version": "v2", "deployed_at": "2017-03-01T09:00Z", "previous": "v1"}``
        (``previous`` optional; ``source`` optional, said in sentences).
    chunk_of : callable
        Maps int64 UTC nanoseconds to chunk indexes (the report passes its chunk grid).

    Examples
    --------
    >>> lookup = ReleaseList([{"version": "v2", "deployed_at": "1970-01-03"}], lambda ns: ns // 86_400_000_000_000)
    >>> [(r.version, r.chunk) for r in lookup.releases_near(2)]
    [('v2', 2)]
    """

    def __init__(self, releases: list[dict], chunk_of, source: str = "the release history"):
        import pandas as pd

        from readiness.exceptions import ConfigError

        def utc(entry) -> pd.Timestamp:  # naive times are UTC, like the log's
            try:
                when = pd.Timestamp(entry["deployed_at"])
                str(entry["version"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"releases: each release needs a version and a deployed_at time ({exc})") from None
            return when.tz_convert("UTC").tz_localize(None) if when.tzinfo else when

        self.releases = []
        for entry in sorted(releases, key=utc):
            when = utc(entry)
            chunk = int(chunk_of(np.array([when.value], dtype=np.int64))[0])
            previous = entry.get("previous", self.releases[-1].version if self.releases else None)
            self.releases.append(Release(str(entry["version"]), previous, chunk, 1.0, entry.get("source", source)))

    def releases_near(self, chunk: int) -> list[Release]:
        return [r for r in self.releases if chunk - 1 <= r.chunk <= chunk]


class VersionTimeline:
    """Which model version served each chunk, from the log's version column.

    Parameters
    ----------
    column : str
        The version column's name (said in sentences: "when model_version changed").
    counts : dict of str to ndarray
        Rows per version per chunk.

    Examples
    --------
    >>> timeline = VersionTimeline("model_version", {"v1": np.array([5, 5, 0]), "v2": np.array([0, 0, 5])})
    >>> [(r.version, r.previous, r.chunk) for r in timeline.releases]
    [('v2', 'v1', 2)]
    """

    def __init__(self, column: str, counts: dict[str, np.ndarray]):
        self.column = column
        self.names = list(counts)
        self.matrix = np.vstack([counts[v] for v in self.names]) if counts else np.zeros((0, 0))
        self.releases = self._releases()

    def dominant(self) -> list[str | None]:
        if not self.names:
            return []
        totals = self.matrix.sum(axis=0)
        top = self.matrix.argmax(axis=0)
        return [self.names[k] if totals[i] else None for i, k in enumerate(top)]

    def _releases(self) -> list[Release]:
        releases, previous = [], None
        dominant = self.dominant()
        seen: set[str] = set()
        for chunk, version in enumerate(dominant):
            if version is None:
                continue
            totals = self.matrix[:, chunk].sum()
            # a version appearing for the first time with a real share of rows (a rollout or a canary)
            for k in np.flatnonzero(self.matrix[:, chunk]):
                name = self.names[k]
                share = self.matrix[k, chunk] / totals
                if name not in seen and previous is not None and name != version and share >= 0.05:
                    releases.append(Release(name, previous, chunk, float(share), "version column"))
                seen.add(name)
            if previous is not None and version != previous:
                if not any(r.version == version and r.chunk >= chunk - 1 for r in releases):
                    share = self.matrix[self.names.index(version), chunk] / totals
                    releases.append(Release(version, previous, chunk, float(share), "version column"))
            previous = version
        return releases

    def releases_near(self, chunk: int) -> list[Release]:
        """Releases at ``chunk`` or the chunk before (a release mid-chunk moves that chunk's level partly)."""
        return [r for r in self.releases if chunk - 1 <= r.chunk <= chunk]

    def serving(self, chunk: int) -> str | None:
        dominant = self.dominant()
        return dominant[chunk] if 0 <= chunk < len(dominant) else None


# ------------------------------------------------------------------ sentences and checks


def describe_change(series: Series, change: Changepoint) -> str:
    """"100× higher", "5.2% lower", "down by 0.052 (0.81 → 0.76)": the size of a level change.

    Examples
    --------
    >>> s = Series("mean_prediction", "Mean prediction", np.zeros(3), relative=True)
    >>> describe_change(s, Changepoint(2, 0.2, 20.0, 50.0))
    '100× higher'
    """
    before, after = change.before, change.after
    if series.relative and before and np.sign(before) == np.sign(after) and after:
        ratio = after / before
        if ratio >= 2:
            return f"{ratio:.3g}× higher"
        if ratio <= 0.5:
            return f"{1 / ratio:.3g}× lower"
        return f"{abs(ratio - 1):.1%} {'higher' if ratio > 1 else 'lower'}"
    scale = 100.0 if series.unit == "%" else 1.0
    suffix = " pp" if series.unit == "%" else ""
    word = "up" if after > before else "down"
    return f"{word} by {fmt(abs(after - before) * scale)}{suffix} ({fmt(before * scale)} → {fmt(after * scale)})"


def change_sentence(series: Series, change: Changepoint, chunk_label: str, lookup: ReleaseLookup | None,
                    version_column: str | None) -> str:
    """The report's point: "Mean prediction 100× higher from 2017-03-01, when model_version changed from v1 to v2".

    Examples
    --------
    >>> from readiness.reports.monitoring.changepoints import detect_changepoints
    >>> noise = np.random.default_rng(0).normal(0, 0.001, 25)
    >>> values = np.r_[np.full(20, 0.2), np.full(5, 20.0)] + noise  # ×100 from chunk 20 on
    >>> series = Series("mean_prediction", "Mean prediction", values, relative=True, critical=True,
    ...                 band=learn_band(values, slice(0, 10), 0.997), changepoints=detect_changepoints(values))
    >>> timeline = VersionTimeline("model_version", {"v1": np.r_[np.full(20, 100), np.zeros(5)],
    ...                                               "v2": np.r_[np.zeros(20), np.full(5, 100)]})
    >>> change_sentence(series, series.changepoints[0], "2017-01-21", timeline, "model_version")
    'Mean prediction 100× higher from 2017-01-21, when model_version changed from v1 to v2'
    >>> change_sentence(series, series.changepoints[0], "2017-01-21", None, None)  # nothing names a release
    'Mean prediction 100× higher from 2017-01-21'
    """
    sentence = f"{series.title} {describe_change(series, change)} from {chunk_label}"
    releases = lookup.releases_near(change.index) if lookup is not None else []
    if releases:
        release = releases[-1]
        column = version_column or "the model version"
        if release.previous is not None:
            sentence += f", when {column} changed from {release.previous} to {release.version}"
        else:
            sentence += f", when {column} {release.version} went live"
        if release.share < 0.95:
            sentence += f" ({release.share:.0%} of that chunk's rows)"
        if release.source != "version column":
            sentence += f" (per {release.source})"
    elif isinstance(lookup, VersionTimeline) and lookup.serving(change.index):
        sentence += f", with no change of {version_column} ({lookup.serving(change.index)} served before and after)"
    return sentence


def actionable(series: Series, change: Changepoint, min_relative_change: float) -> bool:
    """Is a level change big enough to act on? Statistically real changes can still be tiny at
    millions of rows: a change must exceed the series' margin (drift, missing values) or,
    for ratio-like series, ``min_relative_change`` of the level before.

    Examples
    --------
    >>> from readiness.reports.monitoring.changepoints import Changepoint
    >>> series = Series("mean_prediction", "Mean prediction", np.zeros(30), relative=True)
    >>> actionable(series, Changepoint(20, 0.200, 0.260, 40.0), min_relative_change=0.02)  # 30% higher
    True
    >>> actionable(series, Changepoint(20, 0.200, 0.201, 40.0), min_relative_change=0.02)  # real, but 0.5%
    False
    """
    size = abs(change.after - change.before)
    if series.margin:
        return size >= series.margin
    if series.relative and change.before:
        return size / abs(change.before) >= min_relative_change
    return True


def judge(series: Series, n_chunks: int, recent: int, sentences: list[str], reference_chunks: int,
          extra_problems: list[str] = (), min_relative_change: float = 0.02) -> Check:
    """The check of one series: the latest chunk against its band, and recent changepoints.

    Fails (critical series) or warns (others) when the latest chunk with a value lies
    outside the band, or an actionable changepoint (see :func:`actionable`) lies within
    the last ``recent`` chunks.

    Examples
    --------
    >>> from readiness.reports.monitoring.changepoints import detect_changepoints
    >>> noise = np.random.default_rng(0).normal(0, 0.001, 25)
    >>> values = np.r_[np.full(20, 0.2), np.full(5, 20.0)] + noise  # ×100 from chunk 20 on
    >>> series = Series("mean_prediction", "Mean prediction", values, relative=True, critical=True,
    ...                 band=learn_band(values, slice(0, 10), 0.997), changepoints=detect_changepoints(values))
    >>> timeline = VersionTimeline("model_version", {"v1": np.r_[np.full(20, 100), np.zeros(5)],
    ...                                               "v2": np.r_[np.zeros(20), np.full(5, 100)]})
    >>> sentence = change_sentence(series, series.changepoints[0], "2017-01-21", timeline, "model_version")
    >>> check = judge(series, n_chunks=25, recent=3, sentences=[sentence], reference_chunks=10)
    >>> check.id, check.status, check.severity
    ('monitoring.mean_prediction', 'fail', 'critical')
    >>> print(check.message)
    latest chunk above its band: latest chunk 20.00; band 0.1968 to 0.2034 (learned from 10 reference chunks). Mean
    prediction 100× higher from 2017-01-21, when model_version changed from v1 to v2
    """
    check_id = f"monitoring.{series.key}"
    severity = "critical" if series.critical else "major"
    bad = "fail" if series.critical else "warn"
    latest = series.latest_index
    if latest is None:
        return Check(check_id, series.title, "skip", f"no chunk has a value for {series.title.lower()}", severity=severity)
    scale, suffix = (100.0, "%") if series.unit == "%" else (1.0, "")
    value = series.values[latest]
    shown = f"{fmt(value * scale)}{suffix}"
    if series.low is not None and np.isfinite(series.low[latest]):
        shown += f" (CI {fmt(series.low[latest] * scale)} to {fmt(series.high[latest] * scale)}{suffix})"
    where = series.outside(latest)
    problems = list(extra_problems)
    if series.band is None:
        band_text = (f"no band: the reference has fewer than 2 chunks with a value ({reference_chunks} reference chunk(s))")
    else:
        low, high = f"{fmt(series.band[0] * scale)}{suffix}", f"{fmt(series.band[1] * scale)}{suffix}"
        span = {"up": f"up to {high}", "down": f"from {low}"}.get(series.direction, f"{low} to {high}")
        band_text = f"band {span} (learned from {reference_chunks} reference chunks)"
        if where:
            problems.append(f"latest chunk {where} its band")
    recent_changes = [c for c in series.changepoints
                      if c.index >= n_chunks - recent and actionable(series, c, min_relative_change)]
    if recent_changes:
        problems.append(f"a changepoint in the last {recent} chunks")
    message = f"latest chunk {shown}; {band_text}" + (f"; {series.note}" if series.note and series.key == "rows" else "")
    if problems:
        message = f"{'; '.join(problems)}: " + message
    if sentences:
        message += ". " + "; ".join(sentences)
    status = bad if problems else "pass"
    ci = None
    if series.low is not None and np.isfinite(series.low[latest]):
        ci = [float(series.low[latest]), float(series.high[latest])]
    threshold = {"min": series.band[0], "max": series.band[1]} if series.band else None
    return Check(check_id, series.title, status, message, severity=severity, value=float(value), ci=ci,
                 threshold=threshold, details={"chunk": latest, "changepoints": [c.index for c in series.changepoints]})
