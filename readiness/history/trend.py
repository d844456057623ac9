"""The golden benchmark's release trend: each metric over earlier releases, and slow decay.

A change gate compares a candidate with the production model only: a model may lose a
little at every release, each time within the margin, and lose a lot over a year. The
release history remembers; this module reads it.

**Releases** are earlier candidates of the same model name that the golden benchmark
judged ready (pass or warn), one per model sha256 (:meth:`HistoryStore.releases
<readiness.history.store.HistoryStore.releases>`), newest first.

**Slow decay** of a metric (:func:`slow_decay`), over the window of the last
``decay_releases`` values (this candidate and the releases before it, on the same golden
set, at least :data:`MIN_RELEASES`), oriented so that larger is better:

1. every release-to-release step is within the regression margin (no release would have
   failed its own change gate on its point estimate): ``worsening_i ≤ margin(v_{i-1})``;
2. the window's total fall is beyond the margin: ``v_first − v_last > margin(v_first)``;
3. the fall is steady: the one-sided Mann–Kendall test (Kendall's τ of value against
   release order, exact null distribution) gives ``p ≤ decay_p_value`` (default 0.05:
   with 6 values, at most two neighbouring releases out of order; with 4, none).

The margin is the metric's own change gate (``max_regression``, or
``max_relative_regression × |value|``, whichever is smaller, as the gate uses it); a
metric without one is not judged. A slow decay is a warning: no single release is at
fault, and the team decides whether to retrain.

The driver reads the history (:func:`trend_parameters`, from the golden benchmark's
parameters); the notebook kernel judges it (:class:`ReleaseTrend`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

#: Fewest values (this release included) in which a decay can be judged: with four, only a
#: perfectly monotone fall reaches p ≤ 0.05 (1/24 = 0.042).
MIN_RELEASES = 4
#: Earlier releases shown beside this one in the table ("this release against the last five").
TABLE_RELEASES = 5


@dataclass
class DecayResult:
    """The verdict of :func:`slow_decay` on one metric.

    ``status`` is ``warn`` (slow decay), ``pass`` (judged, none) or ``skip`` (not judged,
    ``reason`` says why). ``total`` and ``largest_step`` are worsenings in metric units
    (positive = worse); ``margin`` is the margin at the window's start.

    Examples
    --------
    >>> result = slow_decay([0.90, 0.895, 0.89, 0.885, 0.88, 0.875], True, 0.01)
    >>> result.status, result.window, round(result.total, 4), result.margin, result.steps_within
    ('warn', 6, 0.025, 0.01, True)
    >>> skipped = slow_decay([0.90, 0.89], True, 0.01)
    >>> skipped.status, skipped.reason
    ('skip', '2 release(s) with this metric on this golden set; slow decay needs at least 4 (this one included)')
    """

    status: str
    reason: str = ""
    window: int = 0
    total: float = float("nan")
    margin: float = float("nan")
    largest_step: float = float("nan")
    step_margin: float = float("nan")
    p_value: float = float("nan")
    steps_within: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def mann_kendall_p(values: Sequence[float] | np.ndarray) -> float:
    """One-sided p-value that ``values`` decrease with their order (Kendall's τ, exact when untied).

    Examples
    --------
    >>> round(mann_kendall_p([5, 4, 3, 2]), 4)    # 1 of 24 orders is this steep
    0.0417
    >>> round(mann_kendall_p([6, 5, 4, 3, 2, 1]), 4)
    0.0014
    >>> mann_kendall_p([1, 2, 3, 4]) > 0.9
    True
    """
    from scipy.stats import kendalltau

    y = np.asarray(values, dtype=float)
    x = np.arange(len(y))
    method = "exact" if len(np.unique(y)) == len(y) else "asymptotic"
    result = kendalltau(x, y, alternative="less", method=method)
    return float(result.pvalue) if np.isfinite(result.pvalue) else 1.0


def slow_decay(values: Sequence[float], higher_is_better: bool, margin: float | Callable[[float], float] | None,
               p_value: float = 0.05, min_releases: int = MIN_RELEASES) -> DecayResult:
    """Judge slow decay on ``values`` (oldest first, this release last); see the module docstring.

    Parameters
    ----------
    values : sequence of float
        The metric for each release in the window, oldest first, the candidate last.
    higher_is_better : bool
        The metric's direction.
    margin : float or callable
        The regression margin in metric units, or a function of the earlier value
        (relative margins); None: the metric has no change gate and is not judged.
    p_value : float
        Level of the one-sided Mann–Kendall test.
    min_releases : int
        Fewest values judged.

    Examples
    --------
    A metric that lost 0.005 at each of five releases (margin 0.01): each step passed,
    together they lost 0.025.

    >>> slow_decay([0.90, 0.895, 0.89, 0.885, 0.88, 0.875], True, 0.01).status
    'warn'

    One release that lost 0.03 at once is the change gate's business, not a slow decay:

    >>> slow_decay([0.90, 0.90, 0.90, 0.87, 0.87, 0.87], True, 0.01).status
    'pass'
    """
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if margin is None:
        return DecayResult("skip", "no regression margin is set for this metric (max_regression or "
                                   "max_relative_regression): slow decay is judged against it")
    if len(v) < min_releases:
        return DecayResult("skip", f"{len(v)} release(s) with this metric on this golden set; slow decay needs "
                                   f"at least {min_releases} (this one included)", window=len(v))
    margin_of = margin if callable(margin) else (lambda _value, m=float(margin): m)
    oriented = v if higher_is_better else -v
    steps = oriented[:-1] - oriented[1:]  # worsening at each release
    step_margins = np.array([margin_of(x) for x in v[:-1]], dtype=float)
    total = float(oriented[0] - oriented[-1])
    start_margin = float(margin_of(v[0]))
    p = mann_kendall_p(oriented)
    worst = int(np.argmax(steps - step_margins))
    result = DecayResult("pass", window=len(v), total=total, margin=start_margin, largest_step=float(steps.max()),
                         step_margin=float(step_margins[worst]), p_value=p,
                         steps_within=bool(np.all(steps <= step_margins + 1e-12)))
    if result.steps_within and total > start_margin and p <= p_value:
        result.status = "warn"
    return result


# ---------------------------------------------------------------------------- driver side


def trend_parameters(config) -> dict[str, Any]:
    """What the golden benchmark's notebook needs from the release history (read in the driver).

    Never raises: a history that cannot be read becomes ``error`` (shown in the report).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.config import parse_config
    >>> from readiness.history.store import HistoryStore
    >>> config = parse_config({"model": "models/churn.skops"}, base_dir=Path(tempfile.mkdtemp()))
    >>> trend_parameters(config)["releases"]  # no history yet
    []
    >>> with HistoryStore(config.history.store) as store:
    ...     _ = store.record({"run_uuid": "a" * 32, "created_at": "2024-05-01T10:00:00+00:00", "model_name": "churn",
    ...                       "model_sha256": "ab" * 32, "verdict": "pass"},
    ...                      reports=[{"report": "golden_benchmark", "status": "pass"}],
    ...                      checks=[{"report": "golden_benchmark", "check_id": "golden.metric.roc_auc",
    ...                               "status": "pass", "value": 0.91}])
    >>> history = trend_parameters(config)
    >>> history["model_name"], history["decay_releases"], [(r["released_at"], r["metrics"]) for r in history["releases"]]
    ('churn', 6, [('2024-05-01T10:00:00+00:00', {'roc_auc': 0.91})])
    >>> trend_parameters(parse_config({"history": False}))
    {'enabled': False}
    """
    from pathlib import Path

    from readiness.history.record import _short, model_name_for
    from readiness.history.store import HistoryStore, describe_store, is_url

    settings = config.history
    if not settings.enabled:
        return {"enabled": False}
    out: dict[str, Any] = {"enabled": True, "store": describe_store(settings.store),
                           "model_name": model_name_for(config), "releases": [],
                           "trend_releases": settings.trend_releases, "decay_releases": settings.decay_releases,
                           "decay_p_value": settings.decay_p_value}
    if not is_url(settings.store) and not Path(settings.store).is_file():
        return out
    try:
        with HistoryStore(settings.store, create=False) as store:
            # one more than shown: this candidate may itself be a recorded release (a re-run)
            out["releases"] = store.releases(out["model_name"], limit=settings.trend_releases + 1)
    except Exception as exc:
        out["error"] = _short(exc)
    return out


# ---------------------------------------------------------------------------- kernel side


class ReleaseTrend:
    """The golden benchmark's "Release trend" section (built after its metrics section).

    Parameters
    ----------
    bench : GoldenBenchmark
        The benchmark, after ``metrics_section()``: its ``golden.metric.*`` checks are this
        release's values, the same numbers the history records.
    history : dict
        :func:`trend_parameters` (the notebook's ``history`` parameter).

    Examples
    --------
    In the golden benchmark notebook::

        trend = ReleaseTrend(bench, history)
        trend.section()
        trend.figure()

    With a stand-in for the benchmark (this release's ROC AUC 0.875, gated at
    ``max_regression: 0.01``) and five earlier releases that each lost 0.005:

    >>> from types import SimpleNamespace
    >>> from readiness.config import MetricThreshold
    >>> from readiness.results import Check
    >>> bench = SimpleNamespace(model_info=SimpleNamespace(sha256="f1" * 32), golden_sha256="ee" * 32,
    ...                         checks=[Check("golden.metric.roc_auc", "ROC AUC", "pass", "0.875", value=0.875, severity="critical")],
    ...                         thresholds={"roc_auc": MetricThreshold(max_regression=0.01)})
    >>> releases = [{"model_sha256": sha * 32, "golden_sha256": "ee" * 32, "released_at": f"2024-0{month}-01",
    ...              "metrics": {"roc_auc": value}}  # newest first, as trend_parameters reads them
    ...             for month, sha, value in ((5, "e1", 0.88), (4, "d1", 0.885), (3, "c1", 0.89),
    ...                                       (2, "b1", 0.895), (1, "a1", 0.90))]
    >>> trend = ReleaseTrend(bench, {"enabled": True, "releases": releases})
    >>> [(check.id, check.status) for check in trend.checks()]
    [('golden.trend.roc_auc', 'warn')]
    >>> print(trend.checks()[0].message)  # doctest: +ELLIPSIS
    ROC AUC fell from 0.9000 (release a1a1a1a1a1a1 of 2024-01-01) to 0.8750 now over 5 releases: a worsening of 0.02500 against the margin 0.01000; ...
    >>> trend.table()[["metric", "this release", "Δ vs −1", "slow decay"]]
        metric this release    Δ vs −1 slow decay
    0  ROC AUC       0.8750  -0.005000        yes
    """

    def __init__(self, bench, history: dict[str, Any] | None):
        from readiness.stats.metrics import METRICS

        self.bench = bench
        self.history = history or {}
        self.enabled = bool(self.history.get("enabled"))
        self.model_sha256 = bench.model_info.sha256
        self.golden_sha256 = bench.golden_sha256
        self.current = {c.id.removeprefix("golden.metric."): float(c.value) for c in bench.checks
                        if c.id.startswith("golden.metric.") and c.value is not None and math.isfinite(c.value)}
        earlier = [r for r in self.history.get("releases", []) if r.get("model_sha256") != self.model_sha256]
        self.releases = earlier[: int(self.history.get("trend_releases", 20))]  # newest first
        self.metrics = [METRICS[name] for name in self.current if name in METRICS]
        self.results: dict[str, DecayResult] = {}
        self.windows: dict[str, list[dict]] = {}
        for metric in self.metrics:
            self.results[metric.name], self.windows[metric.name] = self._judge(metric)

    def _window(self, metric) -> list[dict]:
        """This release and the releases before it on the same golden set, oldest first."""
        size = int(self.history.get("decay_releases", 6))
        chain = []
        for release in self.releases:
            if release.get("golden_sha256") != self.golden_sha256:
                break
            if release.get("metrics", {}).get(metric.name) is None:
                continue
            chain.append(release)
            if len(chain) == size - 1:
                break
        return list(reversed(chain))

    def _judge(self, metric) -> tuple[DecayResult, list[dict]]:
        from readiness.config import MetricThreshold
        from readiness.stats.gates import allowed_margin

        threshold = self.bench.thresholds.get(metric.name, MetricThreshold())
        window = self._window(metric)
        values = [r["metrics"][metric.name] for r in window] + [self.current[metric.name]]
        gated = allowed_margin(threshold, 1.0) is not None
        margin = (lambda base, t=threshold: _margin(t, base)) if gated else None
        return slow_decay(values, metric.higher_is_better, margin, float(self.history.get("decay_p_value", 0.05))), window

    # ------------------------------------------------------------------ checks and section

    def checks(self) -> list:
        from readiness.results import Check
        from readiness.stats.gates import fmt

        if not self.enabled:
            return []
        out = []
        for metric in self.metrics:
            result, window = self.results[metric.name], self.windows[metric.name]
            check_id, title = f"golden.trend.{metric.name}", f"{metric.title}: no slow decay over releases"
            if result.status == "skip":
                if "margin" in result.reason:
                    continue  # not gated: shown in the table, not judged
                out.append(Check(check_id, title, "skip", result.reason, severity="minor"))
                continue
            first = window[0]
            since = f"release {first['model_sha256'][:12]} of {first['released_at'][:10]}"
            direction = "fell" if metric.higher_is_better else "rose"
            common = (f"{metric.title} {direction} from {fmt(self._value(first, metric))} ({since}) to "
                      f"{fmt(self.current[metric.name])} now over {result.window - 1} releases: a worsening of "
                      f"{fmt(result.total)} against the margin {fmt(result.margin)}; largest single step "
                      f"{fmt(result.largest_step)} (margin {fmt(result.step_margin)}); Mann-Kendall p = "
                      f"{fmt(result.p_value)}")
            details = {"window": [r["model_sha256"] for r in window] + [self.model_sha256],
                       "values": [self._value(r, metric) for r in window] + [self.current[metric.name]],
                       "p_value": result.p_value, "largest_step": result.largest_step}
            if result.status == "warn":
                message = (common + ": every release stayed within its margin, yet together they lost more than "
                           "it; compare with the first release of the window before shipping another small loss")
                out.append(Check(check_id, title, "warn", message, severity="major", value=result.total,
                                 threshold={"max": result.margin}, details=details))
            else:
                why = ("a single release moved it beyond the margin (the change gate's business)"
                       if not result.steps_within else
                       "within the margin" if result.total <= result.margin else
                       f"not a steady fall (p > {fmt(float(self.history.get('decay_p_value', 0.05)))})")
                out.append(Check(check_id, title, "pass", f"{common}: {why}", severity="info", value=result.total,
                                 threshold={"max": result.margin}, details=details))
        return out

    @staticmethod
    def _value(release: dict, metric) -> float:
        return float(release["metrics"][metric.name])

    def table(self):
        """This release against the last five, one row per metric."""
        import pandas as pd

        from readiness.stats.gates import fmt

        shown = self.releases[:TABLE_RELEASES]
        rows = []
        for metric in self.metrics:
            row = {"metric": metric.title, "this release": fmt(self.current[metric.name])}
            for number, release in enumerate(shown, 1):
                value = release.get("metrics", {}).get(metric.name)
                mark = "" if release.get("golden_sha256") == self.golden_sha256 else " *"
                row[f"−{number}: {release['model_sha256'][:8]} {release['released_at'][:10]}"] = (
                    "–" if value is None else fmt(value) + mark)
            previous = shown[0].get("metrics", {}).get(metric.name) if shown else None
            row["Δ vs −1"] = "–" if previous is None else fmt(self.current[metric.name] - previous)
            oldest = shown[-1].get("metrics", {}).get(metric.name) if shown else None
            row[f"Δ vs −{len(shown)}"] = "–" if oldest is None or len(shown) < 2 else fmt(self.current[metric.name] - oldest)
            row["higher is better"] = "yes" if metric.higher_is_better else "no"
            result = self.results[metric.name]
            row["slow decay"] = {"warn": "yes", "pass": "no"}.get(result.status, "not judged")
            rows.append(row)
        return pd.DataFrame(rows)

    def section(self):
        """The "Release trend" section (``trend``): the table and the slow-decay checks."""
        from readiness.display import Section, Table

        def shown(**parts):
            return self.bench._show(Section("Release trend", name="trend", **parts))

        if not self.enabled:
            return shown(note="Release history is off (history: false or --no-history): no trend is shown.")
        checks = self.checks()
        name = self.history.get("model_name") or "this model"
        if self.history.get("error"):
            return shown(checks=checks, note=f"The release history {self.history.get('store')} could not be read "
                                             f"({self.history['error']}); the trend is not shown.")
        if not self.releases:
            return shown(checks=checks,
                         note=f"No earlier release of {name} in the release history {self.history.get('store')} "
                              "(a release is a candidate the golden benchmark judged ready); this run will be the "
                              "first point of the trend.")
        others = sum(r.get("golden_sha256") != self.golden_sha256 for r in self.releases[:TABLE_RELEASES])
        note = (f"{name}: this release against the last {min(len(self.releases), TABLE_RELEASES)} of "
                f"{len(self.releases)} earlier releases in {self.history.get('store')} (newest first; a release is a "
                "model sha256 the golden benchmark judged ready). Slow decay: every release within the metric's "
                f"regression margin, yet over the last {self.history.get('decay_releases', 6)} releases on this "
                "golden set the metric fell by more than the margin, steadily (one-sided Mann-Kendall "
                f"p ≤ {self.history.get('decay_p_value', 0.05)}).")
        if others:
            note += " * evaluated on another golden set: not comparable, left out of the slow-decay judgement."
        return shown(checks=checks, tables=[Table(self.table(), name="trend")], note=note)

    def figure(self):
        """Each metric over the releases (oldest left), this release highlighted; None without releases."""
        if not self.enabled or not self.releases or not self.metrics:
            return None
        from matplotlib.figure import Figure

        from readiness.escape import plot_text
        from readiness.figures.common import DPI, STATUS, FigurePNG

        chain = list(reversed(self.releases))  # oldest first
        labels = [f"{r['model_sha256'][:7]}\n{r['released_at'][5:10]}" for r in chain] + ["this\nrelease"]
        columns = min(3, len(self.metrics))
        rows = math.ceil(len(self.metrics) / columns)
        fig = Figure(figsize=(3.8 * columns, 2.5 * rows), dpi=DPI, layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
        x = np.arange(len(labels))
        step = max(1, math.ceil(len(labels) / 8))
        for ax, metric in zip(axes, self.metrics):
            values = np.array([r.get("metrics", {}).get(metric.name, np.nan) for r in chain] + [self.current[metric.name]],
                              dtype=float)
            ax.plot(x, values, "o-", color="#8c959f", markersize=3, linewidth=1)
            result = self.results[metric.name]
            if result.status == "warn":
                start = len(labels) - result.window
                ax.plot(x[start:], values[start:], "o-", color=STATUS["warn"], markersize=3, linewidth=2,
                        label="slow decay")
                ax.legend(fontsize=7, loc="best")
            ax.plot(x[-1:], values[-1:], "o", color="#0969da", markersize=6)
            for i, release in enumerate(chain[1:], 1):  # a new golden set: values before are not comparable
                if release.get("golden_sha256") != chain[i - 1].get("golden_sha256"):
                    ax.axvline(i - 0.5, color="#8c959f", linestyle=":", linewidth=1)
            if chain and chain[-1].get("golden_sha256") != self.golden_sha256:
                ax.axvline(len(chain) - 0.5, color="#8c959f", linestyle=":", linewidth=1)
            ax.set_title(plot_text(metric.title + (" ↑" if metric.higher_is_better else " ↓")), fontsize=9)
            ax.set_xticks(x[::step], [plot_text(t) for t in labels[::step]], fontsize=6)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(alpha=0.3)
        for ax in axes[len(self.metrics):]:
            ax.set_visible(False)
        return FigurePNG(fig)


def _margin(threshold, baseline_value: float) -> float:
    from readiness.stats.gates import allowed_margin

    found = allowed_margin(threshold, baseline_value)
    return 0.0 if found is None else found[0]
