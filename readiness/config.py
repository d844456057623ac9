"""readiness.yaml: schema, validation with one-line errors, CLI overrides.

(Over 400 lines on purpose: every key is validated here, once, with one error formatter;
each report's own settings model lives with its report.)

Unknown keys and bad values raise :class:`ConfigError` naming the dotted key
(``golden_benchmark.metrics.roc_auc.min``) and the fix. Relative paths are
resolved against the folder of the config file; paths given on the command
line against the working directory.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from readiness.engines import SparkConfig
from readiness.exceptions import ConfigError
from readiness.reports.monitoring.settings import MonitoringConfig
from readiness.safe_yaml import read_yaml_file
from readiness.stats.attribution.settings import (AttributionSettings, SegmentCriterion, check_segment_keys,
                                                  check_sources)
from readiness.stats.metrics import METRICS
from readiness.stats.perturbations import PERTURBATIONS

Task = Literal["auto", "binary", "multiclass", "regression"]
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # data locations only Spark reads (s3a://, hdfs://)


def is_url(location) -> bool:
    """True for ``s3a://…``, ``hdfs://…``, ``file://…`` (data the Spark engine reads) and database
    URLs such as ``sqlite:///log.sqlite`` (a prediction log's table): kept as given, never made a path.

    Examples
    --------
    >>> is_url("s3a://lake/reference/"), is_url("sqlite:///log.sqlite"), is_url("data/reference.parquet")
    (True, True, False)
    """
    return isinstance(location, str) and bool(_URL.match(location))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class MetricThreshold(_Strict):
    """Gates for one metric. All optional; a metric with none is reported, not gated.

    Examples
    --------
    >>> threshold = MetricThreshold(min=0.7, max_regression=0.01)
    >>> threshold.min, threshold.max_regression, threshold.is_empty(), MetricThreshold().is_empty()
    (0.7, 0.01, False, True)
    >>> parse_config({"golden_benchmark": {"metrics": {"roc_auc": {"min": 0.9, "max": 0.8}}}})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: readiness.yaml: golden_benchmark.metrics.roc_auc: min (0.9) is above max (0.8)
    """

    min: float | None = None
    max: float | None = None
    max_regression: float | None = Field(None, ge=0)
    max_relative_regression: float | None = Field(None, ge=0)
    max_improvement: float | None = Field(None, ge=0)
    max_relative_improvement: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class ConsistencyConfig(_Strict):
    """``golden_benchmark.consistency``: how far the candidate's predictions may move from the baseline's.

    Examples
    --------
    >>> ConsistencyConfig(max_flip_rate=0.05)
    ConsistencyConfig(mean_prediction_ratio=(0.8, 1.25), max_flip_rate=0.05, max_negative_flip_rate=None, top_changed_rows=10)
    >>> section_settings("golden_benchmark", {"consistency": {"mean_prediction_ratio": [1.1, 1.2]}})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: golden_benchmark.consistency.mean_prediction_ratio: must be [low, high] with 0 < low <= 1 <= high, e.g. [0.8, 1.25]
    """

    mean_prediction_ratio: tuple[float, float] = (0.8, 1.25)
    max_flip_rate: float | None = Field(None, ge=0, le=1)
    max_negative_flip_rate: float | None = Field(None, ge=0, le=1)
    top_changed_rows: int = Field(10, ge=0, le=1000)

    @field_validator("mean_prediction_ratio")
    @classmethod
    def _bounds(cls, value):
        low, high = value
        if not (0 < low <= 1 <= high):
            raise ValueError("must be [low, high] with 0 < low <= 1 <= high, e.g. [0.8, 1.25]")
        return value


class LatencyConfig(_Strict):
    """``golden_benchmark.latency``: single-row calls timed, and optional limits on them.

    Examples
    --------
    >>> LatencyConfig(max_p95_ms=50)
    LatencyConfig(single_row_calls=200, max_p95_ms=50.0, min_rows_per_s=None)
    >>> section_settings("golden_benchmark", {"latency": {"single_row_calls": 5}})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: golden_benchmark.latency.single_row_calls: Input should be greater than or equal to 10 (got 5)
    """

    single_row_calls: int = Field(200, ge=10, le=100_000)
    max_p95_ms: float | None = Field(None, gt=0)
    min_rows_per_s: float | None = Field(None, gt=0)


#: Every perturbation runs unless the config names some.
DEFAULT_PERTURBATIONS = list(PERTURBATIONS)


class RobustnessConfig(_Strict):
    """``golden_benchmark.robustness``: the perturbations run, and those production is expected to send.

    Examples
    --------
    >>> settings = RobustnessConfig(expected=["nan", "unseen_category"])
    >>> settings.expected, settings.perturbations[:3]
    (['nan', 'unseen_category'], ['noise', 'nan', 'unseen_category'])
    >>> section_settings("golden_benchmark", {"robustness": {"expected": ["nosie"]}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: golden_benchmark.robustness.expected: unknown perturbation 'nosie' (did you mean 'noise'?); known: noise, nan, ...
    """

    enabled: bool = True
    max_rows: int = Field(1000, ge=10, le=1_000_000)
    perturbations: list[str] = list(DEFAULT_PERTURBATIONS)
    noise_iqr: float = Field(0.1, gt=0)
    tolerance: float = Field(0.05, ge=0)
    max_changed_share: float | None = Field(None, ge=0, le=1)  # None: changes are shown, not warned
    expected: list[str] = []
    optional_columns: list[str] = []
    invariant: list[str] = []
    direction: dict[str, Literal["increasing", "decreasing"]] = {}

    @field_validator("perturbations", "expected")
    @classmethod
    def _known(cls, value):
        for name in value:
            if name not in PERTURBATIONS:
                raise ValueError(f"unknown perturbation {name!r}{_suggest(name, PERTURBATIONS)}; known: {', '.join(PERTURBATIONS)}")
        return value


class ArtifactChecksConfig(_Strict):
    """``golden_benchmark.artifact``: the artifact checks (fresh-process reload, strict mode, rows sampled).

    Examples
    --------
    >>> ArtifactChecksConfig(strict=True)
    ArtifactChecksConfig(strict=True, fresh_process=True, sample_rows=200)
    >>> section_settings("golden_benchmark", {"artifact": {"fresh_proces": False}})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: unknown key 'golden_benchmark.artifact.fresh_proces' under 'golden_benchmark.artifact' (did you mean 'fresh_process'?); remove or rename it (see `readiness init`)
    """

    strict: bool = False
    fresh_process: bool = True
    sample_rows: int = Field(200, ge=1, le=100_000)


#: Thresholds used when readiness.yaml sets no ``golden_benchmark.metrics``.
#: A release that halves the production model's error (log loss, RMSE) is too good to be true
#: far more often than it is real: the usual cause is a feature computed from the label.
DEFAULT_METRIC_THRESHOLDS: dict[str, dict[str, dict[str, float]]] = {
    "binary": {"roc_auc": {"max_regression": 0.01}, "average_precision": {"max_regression": 0.02},
               "log_loss": {"max_relative_improvement": 0.5}},
    "multiclass": {"accuracy": {"max_regression": 0.01},
                   "log_loss": {"max_relative_regression": 0.05, "max_relative_improvement": 0.5}},
    "regression": {"rmse": {"max_relative_regression": 0.05, "max_relative_improvement": 0.5},
                   "r2": {"max_regression": 0.02}},
}


class GoldenBenchmarkConfig(_Strict):
    """``golden_benchmark:``: metric gates, intervals, segments and the settings of each of its checks.

    Examples
    --------
    Without ``metrics`` the task's default gates apply:

    >>> thresholds = GoldenBenchmarkConfig().thresholds_for("binary")
    >>> {name: t.model_dump(exclude_none=True) for name, t in thresholds.items()}
    {'roc_auc': {'max_regression': 0.01}, 'average_precision': {'max_regression': 0.02}, 'log_loss': {'max_relative_improvement': 0.5}}
    >>> list(GoldenBenchmarkConfig(metrics={"roc_auc": {"min": 0.8}}).thresholds_for("binary"))
    ['roc_auc']
    >>> section_settings("golden_benchmark", {"required_segments": ["north"]})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: golden_benchmark.required_segments: 'north' must be written column=value, e.g. region=EU
    """

    metrics: dict[str, MetricThreshold] | None = None
    decision_threshold: float = Field(0.5, gt=0, lt=1)
    n_bootstrap: int = Field(1000, ge=100, le=100_000)
    #: auto: bootstrap on row sets under 5,000 rows, influence-function (delta-method) intervals above
    ci_method: Literal["auto", "bootstrap", "analytic"] = "auto"
    confidence: float = Field(0.95, gt=0.5, lt=1)
    seed: int = 0
    min_segment_rows: int = Field(50, ge=1)
    max_segment_values: int = Field(50, ge=1, le=10_000)
    required_segments: list[str] = []
    consistency: ConsistencyConfig = ConsistencyConfig()
    latency: LatencyConfig = LatencyConfig()
    robustness: RobustnessConfig = RobustnessConfig()
    artifact: ArtifactChecksConfig = ArtifactChecksConfig()
    leakage_threshold: float | None = Field(0.95, gt=0, le=1)
    #: release attribution (what moved the predictions, from which source) and its cost
    attribution: AttributionSettings = AttributionSettings()
    timeout_s: float = Field(900, gt=0)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value):
        for name in value or {}:
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r}{_suggest(name, METRICS)}; known: {', '.join(METRICS)}")
        return value

    @field_validator("required_segments")
    @classmethod
    def _segment_form(cls, value):
        for item in value:
            if "=" not in item or not item.split("=", 1)[0].strip():
                raise ValueError(f"{item!r} must be written column=value, e.g. region=EU")
        return value

    def thresholds_for(self, task: str) -> dict[str, MetricThreshold]:
        if self.metrics is not None:
            return dict(self.metrics)
        return {k: MetricThreshold(**v) for k, v in DEFAULT_METRIC_THRESHOLDS[task].items()}


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DriftConfig(_Strict):
    """``drift:``: the drift report's methods, thresholds and the shares that warn or fail.

    Examples
    --------
    >>> settings = DriftConfig(methods={"numeric": "psi"}, drift_share=0.3)
    >>> settings.methods, settings.drift_share, settings.engine
    ({'numeric': 'psi'}, 0.3, 'pandas')
    >>> section_settings("drift", {"unseen_share": 0.3})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: drift: unseen_share (0.3) must be below fail_share (0.25): it is the level that warns, fail_share the one that fails
    """

    methods: dict[str, str] = {}  # kind -> method deciding that kind
    thresholds: Literal["auto", "default", "learned"] | dict[str, float] = "auto"
    fail_thresholds: dict[str, float] = {}  # method -> score at which one column's drift fails
    drift_share: float = Field(0.5, gt=0, le=1)
    missing_change: float = Field(0.05, ge=0, le=1)
    unseen_share: float = Field(0.01, ge=0, le=1)
    out_of_range_share: float = Field(0.01, ge=0, le=1)
    fail_share: float = Field(0.25, gt=0, le=1)
    mean_prediction_ratio: tuple[float, float] = (0.8, 1.25)
    multivariate: bool = True
    multivariate_rows: int = Field(10_000, ge=100)
    multivariate_threshold: float = Field(0.25, gt=0, le=1)
    kinds: dict[str, Literal["numeric", "categorical", "boolean", "datetime", "skipped"]] = {}
    bins: int = Field(100, ge=10, le=1000)
    max_categories: int = Field(50, ge=2, le=10_000)
    top_plots: int = Field(12, ge=0, le=100)
    batch_rows: int = Field(250_000, ge=1000)
    learned_samples: int = Field(100, ge=10, le=1000)
    seed: int = 0
    #: data attribution (the change in mean prediction split by source) and its cost; CIs use n_bootstrap
    attribution: AttributionSettings = AttributionSettings()
    n_bootstrap: int = Field(500, ge=50, le=100_000)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    # pandas reads local files on this machine; spark profiles files, folders, globs and URLs
    # (s3a://, hdfs://) where they live (readiness.engines.spark)
    engine: Literal["pandas", "spark"] = "pandas"
    spark: SparkConfig = SparkConfig()
    timeout_s: float = Field(900, gt=0)

    @field_validator("thresholds")
    @classmethod
    def _threshold_methods(cls, value):
        if isinstance(value, dict):
            from readiness.stats.drift_scores import METHODS

            for method, level in value.items():
                if method not in METHODS:
                    raise ValueError(f"unknown drift method {method!r}{_suggest(method, METHODS)}; "
                                     f"known: {', '.join(METHODS)}")
                if not level > 0:
                    raise ValueError(f"{method}: must be above 0")
        return value

    @model_validator(mode="after")
    def _warn_below_fail(self):
        for key in ("missing_change", "unseen_share", "out_of_range_share"):
            if getattr(self, key) >= self.fail_share:
                raise ValueError(f"{key} ({getattr(self, key)}) must be below fail_share ({self.fail_share}): "
                                 "it is the level that warns, fail_share the one that fails")
        return self

    @field_validator("fail_thresholds")
    @classmethod
    def _fail_methods(cls, value):
        from readiness.stats.drift_scores import METHODS

        for method, level in value.items():
            if method not in METHODS:
                raise ValueError(f"unknown drift method {method!r}{_suggest(method, METHODS)}; known: {', '.join(METHODS)}")
            if not level > 0:
                raise ValueError(f"{method}: must be above 0")
        return value

    @field_validator("methods")
    @classmethod
    def _methods(cls, value):
        from readiness.stats.drift_scores import METHODS

        for kind, method in value.items():
            if method not in METHODS:
                raise ValueError(f"unknown drift method {method!r}; known: {', '.join(METHODS)}")
            if kind not in METHODS[method].kinds:
                raise ValueError(f"{method} does not apply to {kind} columns")
        return value


class ReleaseConsistencyConfig(_Strict):
    """``consistency:`` — release acceptance criteria for key customers and categories.

    ``segments`` maps ``column=value`` to its limits (``max_mean_shift`` in prediction
    units, ``max_flip_rate`` as a share of the segment's rows); the golden benchmark
    decides each on its CI.

    Examples
    --------
    >>> ReleaseConsistencyConfig(segments={"region=north": {"max_mean_shift": 0.02}}).segments
    {'region=north': SegmentCriterion(max_mean_shift=0.02, max_flip_rate=None)}
    >>> section_settings("consistency", {"segments": {"north": {"max_mean_shift": 0.02}}})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: consistency.segments: 'north' must be written column=value, e.g. region=north
    """

    segments: dict[str, SegmentCriterion] = {}

    @field_validator("segments")
    @classmethod
    def _keys(cls, value):
        return check_segment_keys(value)


class TrustConfig(_Strict):
    """``trust:``: artifacts trusted by sha256, skops types trusted, and the memory an untrusted load may use.

    Examples
    --------
    >>> TrustConfig(sha256=["AB" * 32]).sha256 == ["ab" * 32]  # hashes are kept in lower case
    True
    >>> section_settings("trust", {"sha256": ["abc"]})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: trust.sha256: 'abc' is not a sha256 hex digest (64 characters 0-9a-f); get it with `sha256sum FILE`
    """

    sha256: list[str] = []
    skops_types: list[str] = []
    #: Most bytes an untrusted pickle may decompress to, and memory its loading may add (4 GiB).
    max_load_bytes: int = Field(4 * 1024**3, ge=1024**2)

    @field_validator("sha256", mode="before")
    @classmethod
    def _hashes(cls, value):
        value = [str(v).strip().lower() for v in (value or [])]
        for item in value:
            if not _SHA256.match(item):
                raise ValueError(f"{item!r} is not a sha256 hex digest (64 characters 0-9a-f); get it with `sha256sum FILE`")
        return value


# --------------------------------------------------------------------------- release history (issue 16)

#: Where runs are recorded when readiness.yaml names no ``history``: beside the config file.
DEFAULT_HISTORY_FILE = "readiness-history.sqlite"


class HistoryConfig(_Strict):
    """``history:``: where every run is recorded, and how the golden benchmark reads its trend.

    ``history: path.sqlite`` or ``history: postgresql+psycopg://…`` sets ``store``;
    ``history: false`` turns recording off (like ``--no-history``).

    Examples
    --------
    >>> HistoryConfig(store="team-history.sqlite", model_name="churn")
    HistoryConfig(enabled=True, store='team-history.sqlite', model_name='churn', trend_releases=20, decay_releases=6, decay_p_value=0.05)
    >>> parse_config({"history": "postgresql+psycopg://ci@db/history"}).history.store
    'postgresql+psycopg://ci@db/history'
    >>> parse_config({"history": False}).history.enabled
    False
    """

    enabled: bool = True
    #: An SQLite file (relative to the config file) or any SQLAlchemy URL.
    store: str = Field(DEFAULT_HISTORY_FILE, min_length=1)
    #: Releases of the same model name are compared; default: the model artifact's file name without suffix.
    model_name: str | None = Field(None, min_length=1, max_length=200)
    #: Releases shown in the golden benchmark's trend chart.
    trend_releases: int = Field(20, ge=2, le=1000)
    #: Releases (this one included) over which slow decay is judged.
    decay_releases: int = Field(6, ge=4, le=50)
    #: One-sided Mann-Kendall p-value at or under which a decline counts as steady.
    decay_p_value: float = Field(0.05, gt=0, lt=0.5)

    @field_validator("store")
    @classmethod
    def _store(cls, value):
        from readiness.history.store import check_store_spec

        return check_store_spec(value)


class MlflowConfig(_Strict):
    """``mlflow:``: record every run into MLflow tracking too (optional; ``pip install 'ml-readiness[mlflow]'``).

    Examples
    --------
    >>> MlflowConfig(tracking_uri="sqlite:///mlflow.db").experiment
    'readiness'
    """

    #: Where MLflow tracking lives: http(s)://server, databricks, or sqlite:///mlflow.db;
    #: ``${NAME}`` reads an environment variable (a CI secret).
    tracking_uri: str = Field(min_length=1, max_length=2000)
    experiment: str = Field("readiness", min_length=1, max_length=500)
    #: Where a new experiment keeps its artifacts (default: the tracking server's choice).
    artifact_location: str | None = Field(None, min_length=1)
    #: Default: "<model name> · <VERDICT>".
    run_name: str | None = Field(None, min_length=1, max_length=250)
    #: Upload the output folder (HTML reports, JSON, JUnit) as the run's artifacts.
    artifacts: bool = True


class Config(_Strict):
    """The whole of readiness.yaml, validated; :func:`parse_config` also resolves its paths.

    Examples
    --------
    >>> config = Config(model="candidate.skops", target="churned", segments=["region"])
    >>> config.task, config.target, config.golden_benchmark.n_bootstrap, config.history.enabled
    ('auto', 'churned', 1000, True)
    >>> Config(history=False).history.enabled  # `history: false` records nothing
    False
    """

    _base_dir: Path | None = PrivateAttr(default=None)  # the config file's folder (custom loaders import from it)
    model: Path | None = None
    baseline: Path | None = None
    task: Task = "auto"
    target: str | None = Field(None, min_length=1)
    golden: Path | None = None
    reference: Path | str | None = None  # str: a URL (s3a://…), which only the Spark engine reads
    current: Path | str | None = None
    segments: list[str] = []
    #: which upstream feed each feature column comes from (attribution players); default: each column alone
    sources: dict[str, list[str]] | None = None
    consistency: ReleaseConsistencyConfig = ReleaseConsistencyConfig()
    trust: TrustConfig = TrustConfig()
    golden_benchmark: GoldenBenchmarkConfig = GoldenBenchmarkConfig()
    drift: DriftConfig = DriftConfig()
    checklist: Path | None = None
    project: Path | None = None
    output: Path = Path("readiness-report")
    history: HistoryConfig = HistoryConfig()
    mlflow: MlflowConfig | None = None
    #: Wall-clock limit of a report without a limit of its own (the checklist), in seconds.
    timeout_s: float = Field(900, gt=0)
    #: The monitoring report: a prediction log (file, folder or glob), late labels, settings.
    predictions: str | None = Field(None, min_length=1)
    labels: Path | None = None
    monitoring: MonitoringConfig = MonitoringConfig()

    @field_validator("history", mode="before")
    @classmethod
    def _history_shorthand(cls, value):
        if value is False or value is None:  # `history: false` / `history: null`: record nothing
            return {"enabled": False}
        if isinstance(value, (str, Path)):
            return {"store": str(value)}
        return value

    @field_validator("reference", "current", mode="before")
    @classmethod
    def _path_or_url(cls, value):
        if isinstance(value, str) and _URL.match(value):
            return value
        return None if value is None else Path(value)

    @field_validator("segments")
    @classmethod
    def _unique_segments(cls, value):
        if len(set(value)) != len(value):
            raise ValueError("lists a column twice")
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value):
        return None if value is None else check_sources(value)

    @model_validator(mode="after")
    def _metrics_fit_the_task(self):
        if self.task != "auto":
            check_metrics_for_task(self.golden_benchmark.metrics, self.task)
        return self


def check_metrics_for_task(metrics: dict[str, Any] | None, task: str) -> None:
    """Raise ValueError naming the first configured metric that does not apply to ``task``.

    Called at config time when ``task`` is set, and in the kernel once ``task: auto``
    has been resolved from the model, so both say the same.

    Examples
    --------
    >>> check_metrics_for_task({"rmse": {}}, "regression")
    >>> check_metrics_for_task({"roc_auc": {}}, "regression")
    Traceback (most recent call last):
    ...
    ValueError: golden_benchmark.metrics.roc_auc: does not apply to regression models (it applies to binary, multiclass); use one of: rmse, mae, r2, mape
    """
    for name in metrics or {}:
        metric = METRICS.get(name)
        if metric is not None and task not in metric.tasks:
            usable = ", ".join(m.name for m in METRICS.values() if task in m.tasks)
            raise ValueError(f"golden_benchmark.metrics.{name}: does not apply to {task} models "
                             f"(it applies to {', '.join(metric.tasks)}); use one of: {usable}")


def section_settings(section: str, data: Any, source: str = "settings") -> BaseModel:
    """Validate one section of readiness.yaml (``golden_benchmark``, ``drift``...) with the same messages.

    The notebook kernel receives settings already validated by the driver; it validates
    them again here (a notebook can be run by hand) and says the same thing the CLI would.

    Examples
    --------
    >>> drift = section_settings("drift", {"drift_share": 0.3})
    >>> type(drift).__name__, drift.drift_share, drift.bins
    ('DriftConfig', 0.3, 100)
    >>> section_settings("drift", {"bins": 5})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: settings: drift.bins: Input should be greater than or equal to 10 (got 5)
    """
    try:  # through Config, so a section's own validators (sources:) run too and errors carry its key
        return getattr(Config.model_validate({section: data or {}}), section)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, dict(exc.errors()[0]))) from None


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the key at ``loc`` (to suggest spellings)."""
    model: Any = Config
    parts = list(loc[:-1])
    while parts:
        part = parts.pop(0)
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        if (part, model) in ((("metrics", GoldenBenchmarkConfig)), ("segments", ReleaseConsistencyConfig)):
            if not parts:
                return None
            parts.pop(0)  # the metric name, the segment key
            model = MetricThreshold if part == "metrics" else SegmentCriterion
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _unwrap_optional(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap_optional(annotation: Any) -> Any:
    """``MlflowConfig | None`` → ``MlflowConfig`` (to suggest spellings under optional sections)."""
    import typing

    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    return arguments[0] if len(arguments) == 1 else annotation


def _format_error(source: str, error: dict) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = _model_at(loc)
        hint = _suggest(loc[-1], owner.model_fields) if owner else ""
        where = ".".join(str(p) for p in loc[:-1])
        place = f" under {where!r}" if where else ""
        return f"{source}: unknown key {key!r}{place}{hint}; remove or rename it (see `readiness init`)"
    if kind == "missing":
        return f"{source}: missing required key {key!r}; set it in the config or on the command line"
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith(key + ": ") or (kind == "value_error" and message.startswith("golden_benchmark.")):
        return f"{source}: {message}"  # the message names its own key
    given = error.get("input")
    shown = f" (got {given!r})" if given is not None and not isinstance(given, (dict, list)) else ""
    return f"{source}: {key}: {message}{shown}"


def parse_config(data: Any, source: str = "readiness.yaml", base_dir: Path | None = None) -> Config:
    """Validate a config mapping and resolve its relative paths.

    Parameters
    ----------
    data : mapping
        The parsed YAML (plus any CLI overrides).
    source : str
        Name of the file, used in error messages.
    base_dir : Path, optional
        Folder that relative paths are relative to (the config file's folder).

    Raises
    ------
    ConfigError
        With one line naming the key and the fix.

    Examples
    --------
    >>> config = parse_config({"model": "models/candidate.skops", "golden": "golden.csv", "target": "churned"},
    ...                       base_dir=Path("/srv/churn"))
    >>> config.model.as_posix(), config.golden.as_posix(), config.target, config.history.store
    ('/srv/churn/models/candidate.skops', '/srv/churn/golden.csv', 'churned', '/srv/churn/readiness-history.sqlite')
    >>> parse_config({"golden_benchmark": {"n_bootstrapp": 500}})
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: readiness.yaml: unknown key 'golden_benchmark.n_bootstrapp' under 'golden_benchmark' (did you mean 'n_bootstrap'?); remove or rename it (see `readiness init`)
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a mapping of keys (model:, golden:, ...), not {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        extra = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(_format_error(source, errors[0]) + extra) from None
    from readiness.artifacts.trust import is_loader_spec

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    updates = {}
    for key in ("model", "baseline", "golden", "reference", "current", "output", "checklist", "project"):
        value = getattr(config, key)
        if value is None or isinstance(value, str) or (key in ("model", "baseline") and is_loader_spec(str(value), base)):
            continue  # module:function loaders are imported, not resolved as paths
        updates[key] = (base / value.expanduser()).resolve()
    from readiness.history.store import resolve_store

    updates["history"] = config.history.model_copy(update={"store": resolve_store(config.history.store, base)})
    if config.predictions is not None and is_url(config.predictions):
        from readiness.serving.sinks import anchored_url

        updates["predictions"] = anchored_url(config.predictions, base)
    elif config.predictions is not None:
        # a file, folder or glob: kept as text, relative to the config's folder (a database URL as given)
        predictions = Path(config.predictions).expanduser()
        updates["predictions"] = str(predictions if predictions.is_absolute() else base / predictions)
    if config.labels is not None:
        updates["labels"] = (base / config.labels.expanduser()).resolve()
    if config.monitoring.reference is not None:
        reference = Path(config.monitoring.reference).expanduser()
        updates["monitoring"] = config.monitoring.model_copy(
            update={"reference": str(reference if reference.is_absolute() else (base / reference).resolve())})
    resolved = config.model_copy(update=updates)
    resolved._base_dir = base.resolve()
    return resolved


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Read readiness.yaml (optional) and apply command-line overrides on top.

    Overrides hold already-resolved absolute paths; nested keys use dicts.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "readiness.yaml"
    >>> _ = path.write_text("model: candidate.skops\\ntarget: churned\\ndrift: {drift_share: 0.3}\\n")
    >>> config = load_config(path, {"target": "label", "drift": {"bins": 50}})
    >>> config.model == path.parent.resolve() / "candidate.skops", config.target, config.drift.drift_share, config.drift.bins
    (True, 'label', 0.3, 50)
    >>> load_config("missing.yaml")
    Traceback (most recent call last):
    ...
    readiness.exceptions.ConfigError: missing.yaml: config file not found; create one with `readiness init`
    """
    data: dict[str, Any] = {}
    source = "command line"
    base_dir = Path.cwd()
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found; create one with `readiness init`")
        try:
            data = read_yaml_file(path)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{line}: not valid YAML ({exc.problem}); fix the syntax there") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc}); fix the syntax") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: must be a mapping of keys (model:, golden:, ...)")
        base_dir = path.resolve().parent
    merged = _deep_merge(data, overrides or {})
    return parse_config(merged, source=source, base_dir=base_dir)


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def starter_config_text() -> str:
    """The commented readiness.yaml that ``readiness init`` writes.

    Examples
    --------
    >>> print(starter_config_text().splitlines()[0])
    # readiness.yaml: what `readiness run` checks before you deploy.
    >>> parse_config(yaml.safe_load(starter_config_text())).task  # it validates as it stands
    'auto'
    """
    from readiness.resources import templates_dir

    return (templates_dir() / "readiness.yaml").read_text(encoding="utf-8")
