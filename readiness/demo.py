"""A seeded synthetic churn scenario that tells a real deployment story.

Customers in four regions; churn depends non-linearly on tenure, usage and
support calls, and in the ``north`` region contract plans work the other way
round. Production is a gradient-boosting model trained on all regions. The
candidate adds a genuinely useful feature (support calls) and more capacity,
so it improves overall, but its new training extract silently dropped the
``north`` region: it regresses on that segment. The golden benchmark must FAIL on the segment.
The columns come from three feeds (``sources:``: accounts, crm_export, usage_feed) and the
north retention team bounds how far a release may move its customers' scores
(``consistency.segments``): the golden benchmark's release attribution says which feed's
columns moved region north's predictions — the accounts feed's (its region), which the
candidate never saw for north — and the guarantee fails on its CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = np.array(["north", "south", "east", "west"])
PLANS = np.array(["basic", "plus", "premium"])
CHANNELS = np.array(["web", "store", "phone"])
PRODUCTION_FEATURES = ["tenure_months", "monthly_spend", "usage_hours", "n_products", "region", "plan", "channel"]
CANDIDATE_FEATURES = PRODUCTION_FEATURES + ["support_calls"]
CATEGORICAL = ["region", "plan", "channel"]
#: skops types the demo's tree models need beyond skops' defaults (reviewed: scikit-learn's own).
DEMO_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
TARGET = "churned"


def make_customers(n: int, seed: int) -> pd.DataFrame:
    """Customers with a churn label drawn from a known logistic model.

    Examples
    --------
    >>> customers = make_customers(1000, seed=0)
    >>> customers.shape, round(float(customers["churned"].mean()), 3)
    ((1000, 10), 0.149)
    >>> customers[["tenure_months", "usage_hours", "region", "plan", "churned"]].head(3)
       tenure_months  usage_hours region     plan  churned
    0           19.0         21.7   east    basic        0
    1           11.0          7.5  south  premium        0
    2           24.0         39.7  north    basic        0
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n, p=[0.2, 0.3, 0.27, 0.23])
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2])
    channel = rng.choice(CHANNELS, n, p=[0.5, 0.3, 0.2])
    tenure = rng.gamma(2.0, 14.0, n).round()
    spend = np.exp(rng.normal(3.6, 0.5, n)).round(2)
    usage = np.clip(rng.normal(20, 8, n), 0, None).round(1)
    products = rng.poisson(1.2, n) + 1
    calls = rng.poisson(0.8 + 0.6 * (usage < 12), n)
    plan_effect = np.select([plan == "basic", plan == "plus"], [1.2, 0.0], -1.4)
    north = region == "north"
    logit = (
        -1.2
        - 0.035 * tenure
        + 0.9 * np.exp(-usage / 6)
        + 0.6 * (calls - 1)
        - 0.25 * (products - 1)
        + 0.004 * (spend - 40)
        + np.where(north, -0.4 * plan_effect, plan_effect)  # north: plans work the other way round
        + np.where(channel == "store", -0.3, 0.1)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({
        "customer_id": np.arange(n) + seed * 1_000_000,
        "tenure_months": tenure, "monthly_spend": spend, "usage_hours": usage, "n_products": products,
        "support_calls": calls, "region": region, "plan": plan, "channel": channel,
        TARGET: churned.astype(int),
    })


def _pipeline(features: list[str], max_iter: int, seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = [c for c in features if c in CATEGORICAL]
    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)],
        remainder="passthrough", verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.08, max_leaf_nodes=15, random_state=seed)
    return Pipeline([("encode", encode), ("model", model)])


def build_scenario(folder: str | Path, seed: int = 7, golden_rows: int = 6000) -> Path:
    """Write golden data, two models and a readiness.yaml into ``folder``; return the config path.

    Examples
    --------
    It trains two gradient-boosting models on 40,000 rows and writes eight weeks of
    prediction log (tens of seconds), so it is not run here:

    >>> import tempfile
    >>> config = build_scenario(tempfile.mkdtemp())  # doctest: +SKIP
    >>> sorted(path.name for path in config.parent.iterdir())  # doctest: +SKIP
    ['.gitlab-ci.yml', 'candidate.skops', 'candidate.skops.meta.json', 'checklist.yaml', 'current.parquet',
     'golden.parquet', 'predictions', 'production.skops', 'production.skops.meta.json', 'readiness.yaml',
     'reference.parquet', 'requirements.txt']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    train = make_customers(40_000, seed)
    golden = make_customers(golden_rows, seed + 1)

    production = _pipeline(PRODUCTION_FEATURES, 120, seed).fit(train[PRODUCTION_FEATURES], train[TARGET])
    # The candidate's new extract silently dropped the north region (a filter bug upstream).
    fresh = train[train["region"] != "north"]
    candidate = _pipeline(CANDIDATE_FEATURES, 250, seed).fit(fresh[CANDIDATE_FEATURES], fresh[TARGET])

    from readiness.artifacts.manifest import save_model

    golden.to_parquet(folder / "golden.parquet", index=False)
    # Drift: the training data as reference; this month's customers as current, where the
    # CRM export broke usage hours for 15% of rows, a new "app" channel appeared and
    # newer customers have shorter tenure.
    train.drop(columns=["customer_id"]).sample(20_000, random_state=seed).to_parquet(folder / "reference.parquet", index=False)
    current = make_customers(8000, seed + 2).drop(columns=["customer_id"])
    rng = np.random.default_rng(seed + 3)
    # a campaign brought new customers: 45% of this month's have joined within the last year
    # (a mixture, as real populations drift; scaling every tenure alike would read as other units)
    joined = rng.random(len(current)) < 0.45
    current.loc[joined, "tenure_months"] = rng.integers(0, 12, int(joined.sum())).astype(float)
    current.loc[rng.random(len(current)) < 0.15, "usage_hours"] = np.nan
    current.loc[rng.random(len(current)) < 0.2, "channel"] = "app"
    current.to_parquet(folder / "current.parquet", index=False)
    _write_prediction_log(folder / "predictions", production, seed)
    save_model(production, folder / "production.skops", training_data=train[PRODUCTION_FEATURES])
    save_model(candidate, folder / "candidate.skops", training_data=fresh[CANDIDATE_FEATURES])
    config = folder / "readiness.yaml"
    config.write_text(_DEMO_CONFIG.format(types="\n".join(f"    - {t}" for t in DEMO_TRUSTED_TYPES)), encoding="utf-8")
    (folder / "checklist.yaml").write_text(_DEMO_CHECKLIST, encoding="utf-8")
    # The team's project runs readiness in CI and pins its dependencies: evidence for the checklist.
    from readiness.resources import templates_dir

    (folder / ".gitlab-ci.yml").write_text((templates_dir() / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    (folder / "requirements.txt").write_text(_pinned_requirements(), encoding="utf-8")
    return config


#: The served model's releases in the demo's prediction log: v1.4 until day 35, then v1.5,
#: whose serving code reports churn probabilities in percent (a unit bug nothing raised on).
LOG_DAYS, RELEASE_DAY, LABELLED_DAYS, ROWS_PER_DAY = 56, 35, 28, 300


class _PercentServing:
    """Release v1.5's serving code: the churn probability reported in percent (×100)."""

    def __init__(self, model):
        self.model, self.classes_ = model, model.classes_

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        p = self.model.predict_proba(X)[:, 1] * 100.0
        return np.column_stack([1.0 - p, p])


def _write_prediction_log(folder: Path, model, seed: int) -> None:
    """Eight weeks of the production churn model's predictions, logged by :class:`readiness.PredictionLogger`.

    Each day the service answers two batch requests of 150 customers at random times;
    the logger writes a date-partitioned Parquet folder (request id = customer id).
    Labels (did the customer churn?) arrive four weeks later, so only the first 28 days
    have them: :func:`readiness.log_labels` adds them. On day 35 release v1.5 goes live:
    its serving code multiplies the probability by 100. The monitoring report finds that
    day and names the release.
    """
    from readiness.serving import PredictionLogger, log_labels

    if folder.exists():  # a rebuilt scenario starts a fresh log (the logger appends)
        import shutil

        shutil.rmtree(folder)
    rng = np.random.default_rng(seed + 11)
    start = pd.Timestamp("2026-09-01", tz="UTC").value
    now = [start]
    labelled_ids, labels = [], []
    for version, served_model, days in (("v1.4", model, range(0, RELEASE_DAY)),
                                        ("v1.5", _PercentServing(model), range(RELEASE_DAY, LOG_DAYS))):
        with PredictionLogger(served_model, folder, model_version=version, clock=lambda: now[0],
                              flush_seconds=3600) as served:
            for day in days:
                customers = make_customers(ROWS_PER_DAY, seed + 100 + day)
                seconds = np.sort(rng.integers(0, 86_400, 2))
                for second, request in zip(seconds, np.array_split(np.arange(ROWS_PER_DAY), 2)):
                    now[0] = start + (day * 86_400 + int(second)) * 1_000_000_000
                    batch = customers.iloc[request]
                    served.predict_proba(batch[PRODUCTION_FEATURES], request_ids=batch["customer_id"].to_numpy())
                served.flush()  # one file per day, as a service flushing on a timer would write
                if day < LABELLED_DAYS:
                    labelled_ids.append(customers["customer_id"].to_numpy())
                    labels.append(customers[TARGET].to_numpy(dtype=float))
        if served.stats.errors:
            raise RuntimeError(f"demo prediction log: {served.stats.last_error}")
    log_labels(folder, np.concatenate(labelled_ids), np.concatenate(labels))


def _pinned_requirements() -> str:
    from importlib import metadata

    names = ["scikit-learn", "numpy", "scipy", "pandas", "skops"]
    return "".join(f"{name}=={metadata.version(name)}\n" for name in names)


_DEMO_CONFIG = """\
# The readiness demo: a churn model retrained on a new data extract.
model: candidate.skops
baseline: production.skops
task: binary
target: churned
golden: golden.parquet
segments: [region, plan]
trust:
  # HistGradientBoosting stores its trees as TreePredictor objects.
  skops_types:
{types}
golden_benchmark:
  metrics:
    roc_auc: {{min: 0.70, max_regression: 0.01}}
    average_precision: {{max_regression: 0.02}}
    log_loss: {{max_relative_regression: 0.05}}
  required_segments: [region=north, region=south, region=east, region=west]
  robustness:
    # Missing values and new categories do arrive in production: a crash on them fails.
    expected: [nan, unseen_category]
    # support_calls comes from a new upstream feed that may be absent.
    optional_columns: [support_calls]
# Which upstream feed each column comes from: the golden benchmark and the drift report split
# a change in the mean churn score by feed.
sources:
  accounts: [region, plan, channel]
  crm_export: [tenure_months, monthly_spend, n_products]
  usage_feed: [usage_hours, support_calls]
consistency:
  segments:
    # The north retention team's acceptance criteria for a release: its customers' mean churn
    # score may move by at most 0.02, and at most 10% of them may change class.
    region=north: {{max_mean_shift: 0.02, max_flip_rate: 0.10}}
reference: reference.parquet
current: current.parquet
checklist: checklist.yaml
# The production model's prediction log, written by readiness.PredictionLogger (a Parquet
# folder partitioned by date; the labels logged with readiness.log_labels are joined).
predictions: predictions
monitoring:
  version: model_version
  chunk: 1d
# Every run is recorded in readiness-history.sqlite beside this file: `readiness history`.
history:
  model_name: churn
output: ../report
"""

_DEMO_CHECKLIST = """\
# The churn team's deployment workflow, ML Test Score answers and fears.
team: churn-data-science
workflow:
  - name: Export CRM snapshot
    mode: automated
    owner: crm-platform
    outputs: [crm_export.csv]
    depends_on:
      # The CRM vendor changes the export format in its releases; nobody pins or watches it.
      - {name: CRM vendor export API, pinned: false, notified: false}
    monitoring: [export job alerts]
  - name: Build training data
    mode: automated
    owner: data-engineering
    inputs: [crm_export.csv, support tickets]
    outputs: [train.parquet, golden.parquet]
    depends_on:
      - {name: support ticket warehouse, pinned: true, notified: true}
    tests: [row counts, schema check]
  - name: Train candidate
    mode: automated
    owner: data-science
    inputs: [train.parquet]
    outputs: [candidate.skops]
    tests: [unit tests]
  - name: Readiness reports in CI
    mode: automated
    owner: data-science
    inputs: [candidate.skops, production.skops, golden.parquet]
    tests: [readiness run]
    monitoring: [merge-request JUnit widget]
  - name: Copy model to the serving bucket
    mode: manual
    owner:
  - name: Serve churn scores
    mode: automated
    owner: platform
    depends_on:
      - {name: feature store, pinned: true, notified: true}
    tests: [smoke test]
    monitoring: [latency dashboard]
rubric:
  data.1: {answer: manual, note: schema written down in the wiki}
  data.2: {answer: manual, note: permutation importance at each retrain}
  data.3: {answer: no}
  data.4: {answer: manual, note: PII review by the privacy team}
  data.5: {answer: manual}
  data.6: {answer: no}
  data.7: {answer: automated, evidence: tests/test_features.py}
  model.1: {answer: manual, note: merge-request review}
  model.2: {answer: no, note: retention uplift never compared with AUC}
  model.3: {answer: manual}
  model.4: {answer: no}
  model.5: {answer: no}
  model.6: {answer: manual}
  model.7: {answer: n/a, reason: churn scores are not used for individual decisions}
  infra.1: {answer: manual}
  infra.2: {answer: automated}
  infra.3: {answer: no}
  infra.4: {answer: automated}
  infra.5: {answer: manual}
  infra.6: {answer: no}
  infra.7: {answer: manual, note: keep the previous file in the bucket}
  monitor.1: {answer: no}
  monitor.2: {answer: no}
  monitor.3: {answer: no}
  monitor.4: {answer: manual}
  monitor.5: {answer: no}
  monitor.6: {answer: automated}
  monitor.7: {answer: automated, note: 'claimed, but production labels arrive 3 months late'}
beyond:
  after_training_period: {answer: no}
fears:
  - fear: A code change silently shifts the average churn score and every retention budget moves
    severity: 9
    likelihood: 3
    detected_by: [golden.consistency.mean_prediction_ratio, golden.consistency.prediction_bias]
  - fear: The new model is worse for one region and its retention team loses trust
    severity: 8
    likelihood: 5
    detected_by: ['golden.segment.*']
  - fear: The CRM export changes format and features arrive empty
    severity: 8
    likelihood: 6
    detected_by: ['drift.schema.*', 'golden.robustness.nan*']
  - fear: Someone forgets the manual copy and production keeps an old model
    severity: 6
    likelihood: 5
    detected_by: []
  - fear: Scoring becomes too slow for the nightly batch
    severity: 4
    likelihood: 2
    detected_by: ['golden.latency.*']
gate:
  min_score: 1.0
  must_not_be_no: [infra.4]
"""


def release_sentence(report_dir: str | Path, segment: str = "region=north") -> str | None:
    """The sentence that explains the demo's release, read from the golden benchmark's results.

    Which source's columns carried ``segment``'s change in mean prediction (the largest
    contribution besides the model's), with its CI; None when the results do not hold it.

    Examples
    --------
    >>> release_sentence("readiness-demo/report")  # doctest: +SKIP
    "Region north's mean churn score moved +0.077 (95% CI 0.068 to 0.086): +0.015 is the release everywhere, +0.059 (95% CI 0.051 to 0.066) came through the accounts feed's columns (region, plan, channel)."
    """
    import json

    path = Path(report_dir) / "golden_benchmark.json"
    try:
        checks = {c["id"]: c for c in json.loads(path.read_text(encoding="utf-8"))["checks"]}
        found = checks["golden.attribution"]["details"]["segments"][segment]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    players = found["contributions"]
    sources = {name: c for name, c in players.items() if c.get("kind") == "source"}
    if not sources:
        return None
    name, top = max(sources.items(), key=lambda item: abs(item[1]["value"]))
    total, model = found["total"], players.get("model", {})

    def signed(value: float) -> str:
        return f"{value:+.3f}"

    def ci(interval) -> str:
        return "" if not interval else f" (95% CI {interval[0]:.3f} to {interval[1]:.3f})"

    column, value = segment.split("=", 1)
    columns = ", ".join(top.get("columns", []))
    return (f"{column.capitalize()} {value}'s mean churn score moved {signed(total['value'])}{ci(total.get('ci'))}: "
            f"{signed(model.get('value', 0.0))} is the release everywhere, {signed(top['value'])}{ci(top.get('ci'))} "
            f"came through the {name} feed's columns ({columns}).")


def default_scenario_dir() -> Path:
    """Where notebooks opened without parameters find (or build) the demo scenario.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"READINESS_DEMO_DIR": "/srv/readiness-demo"}):
    ...     print(default_scenario_dir().as_posix())
    /srv/readiness-demo
    >>> with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": "/home/ana/.cache"}):
    ...     _ = os.environ.pop("READINESS_DEMO_DIR", None)
    ...     print(default_scenario_dir().as_posix())
    /home/ana/.cache/readiness/demo-scenario
    """
    if os.environ.get("READINESS_DEMO_DIR"):
        return Path(os.environ["READINESS_DEMO_DIR"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "readiness" / "demo-scenario"


def scratch_results_path(report: str) -> Path:
    """Where a notebook run in place with an empty ``results_path`` writes its results JSON.

    Beside the demo scenario (``notebook-results/`` next to it), never beside the notebook:
    running a template in JupyterLab leaves nothing behind in the repository.

    Examples
    --------
    >>> scratch_results_path("golden_benchmark").name
    'golden_benchmark.json'
    """
    return default_scenario_dir().parent / "notebook-results" / f"{report}.json"


def ensure_scenario(folder: str | Path | None = None) -> Path:
    """Build the demo scenario on first use; return its readiness.yaml.

    Examples
    --------
    A folder that holds the scenario's files is used as it is:

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # a scenario built earlier: empty stand-ins are enough here
    >>> for name in ("golden.parquet", "candidate.skops", "production.skops", "reference.parquet",
    ...              "current.parquet", "checklist.yaml"):
    ...     (folder / name).touch()
    >>> (folder / "predictions").mkdir()
    >>> _ = (folder / "readiness.yaml").write_text("model: candidate.skops\\nbaseline: production.skops\\n"
    ...     "golden: golden.parquet\\ntarget: churned\\nreference: reference.parquet\\ncurrent: current.parquet\\n"
    ...     "checklist: checklist.yaml\\npredictions: predictions\\n")
    >>> ensure_scenario(folder) == folder / "readiness.yaml"
    True

    An empty one gets the scenario built (:func:`build_scenario`, tens of seconds):

    >>> ensure_scenario(tempfile.mkdtemp())  # doctest: +SKIP
    Building the demo scenario in /tmp/... (first use, ~10 s)…
    PosixPath('/tmp/.../readiness.yaml')
    """
    folder = Path(folder) if folder else default_scenario_dir()
    config = folder / "readiness.yaml"
    if not all((folder / name).is_file() for name in ("readiness.yaml", "golden.parquet", "candidate.skops", "production.skops",
                                                     "reference.parquet", "current.parquet", "checklist.yaml")) \
            or not (folder / "predictions").is_dir():
        print(f"Building the demo scenario in {folder} (first use, ~10 s)…", flush=True)
        build_scenario(folder)
    return config


def scenario_parameters(report: str, folder: str | Path | None = None) -> dict:
    """Notebook parameters of ``report`` for the demo scenario, from the registry like a real run.

    Used when a notebook is opened in Jupyter and run with its default parameters.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # a scenario built earlier: empty stand-ins are enough here
    >>> for name in ("golden.parquet", "candidate.skops", "production.skops", "reference.parquet",
    ...              "current.parquet", "checklist.yaml"):
    ...     (folder / name).touch()
    >>> (folder / "predictions").mkdir()
    >>> _ = (folder / "readiness.yaml").write_text("model: candidate.skops\\nbaseline: production.skops\\n"
    ...     "golden: golden.parquet\\ntarget: churned\\nreference: reference.parquet\\ncurrent: current.parquet\\n"
    ...     "checklist: checklist.yaml\\npredictions: predictions\\n")
    >>> parameters = scenario_parameters("golden_benchmark", folder)
    >>> Path(parameters["model_path"]).name, Path(parameters["golden_path"]).name, parameters["target"]
    ('candidate.skops', 'golden.parquet', 'churned')
    """
    from readiness.config import load_config
    from readiness.registry import RunContext, registry

    config = load_config(ensure_scenario(folder))
    return registry.get(report).parameters(config, RunContext(python_path=config._base_dir))


def demo_parameters(folder: str | Path | None = None) -> dict:
    """Golden benchmark notebook parameters for the demo scenario.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # a scenario built earlier: empty stand-ins are enough here
    >>> for name in ("golden.parquet", "candidate.skops", "production.skops", "reference.parquet",
    ...              "current.parquet", "checklist.yaml"):
    ...     (folder / name).touch()
    >>> (folder / "predictions").mkdir()
    >>> _ = (folder / "readiness.yaml").write_text("model: candidate.skops\\nbaseline: production.skops\\n"
    ...     "golden: golden.parquet\\ntarget: churned\\nreference: reference.parquet\\ncurrent: current.parquet\\n"
    ...     "checklist: checklist.yaml\\npredictions: predictions\\n")
    >>> sorted(demo_parameters(folder))
    ['baseline_path', 'consistency', 'golden_path', 'history', 'model_path', 'segments', 'settings', 'sources',
     'target', 'task', 'trust']
    """
    return scenario_parameters("golden_benchmark", folder)


def checklist_parameters(folder: str | Path | None = None) -> dict:
    """Checklist notebook parameters for the demo scenario (no gate: the demo shows, it does not block).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # a scenario built earlier: empty stand-ins are enough here
    >>> for name in ("golden.parquet", "candidate.skops", "production.skops", "reference.parquet",
    ...              "current.parquet", "checklist.yaml"):
    ...     (folder / name).touch()
    >>> (folder / "predictions").mkdir()
    >>> _ = (folder / "readiness.yaml").write_text("model: candidate.skops\\nbaseline: production.skops\\n"
    ...     "golden: golden.parquet\\ntarget: churned\\nreference: reference.parquet\\ncurrent: current.parquet\\n"
    ...     "checklist: checklist.yaml\\npredictions: predictions\\n")
    >>> parameters = checklist_parameters(folder)
    >>> Path(parameters["checklist_path"]).name, parameters["min_score"]
    ('checklist.yaml', -1.0)
    """
    return dict(scenario_parameters("workflow_risk_checklist", folder), min_score=-1.0)


def drift_parameters(folder: str | Path | None = None) -> dict:
    """Drift notebook parameters for the demo scenario.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # a scenario built earlier: empty stand-ins are enough here
    >>> for name in ("golden.parquet", "candidate.skops", "production.skops", "reference.parquet",
    ...              "current.parquet", "checklist.yaml"):
    ...     (folder / name).touch()
    >>> (folder / "predictions").mkdir()
    >>> _ = (folder / "readiness.yaml").write_text("model: candidate.skops\\nbaseline: production.skops\\n"
    ...     "golden: golden.parquet\\ntarget: churned\\nreference: reference.parquet\\ncurrent: current.parquet\\n"
    ...     "checklist: checklist.yaml\\npredictions: predictions\\n")
    >>> parameters = drift_parameters(folder)
    >>> Path(parameters["reference_path"]).name, Path(parameters["current_path"]).name, parameters["target"]
    ('reference.parquet', 'current.parquet', 'churned')
    """
    return scenario_parameters("drift_report", folder)


def monitoring_parameters(folder: str | Path | None = None) -> dict:
    """Monitoring notebook parameters for the demo scenario's prediction log.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # a scenario built earlier: empty stand-ins are enough here
    >>> for name in ("golden.parquet", "candidate.skops", "production.skops", "reference.parquet",
    ...              "current.parquet", "checklist.yaml"):
    ...     (folder / name).touch()
    >>> (folder / "predictions").mkdir()
    >>> _ = (folder / "readiness.yaml").write_text("model: candidate.skops\\nbaseline: production.skops\\n"
    ...     "golden: golden.parquet\\ntarget: churned\\nreference: reference.parquet\\ncurrent: current.parquet\\n"
    ...     "checklist: checklist.yaml\\npredictions: predictions\\n")
    >>> parameters = monitoring_parameters(folder)
    >>> Path(parameters["log_path"]).name, parameters["releases"]
    ('predictions', [])
    """
    return scenario_parameters("monitoring_report", folder)
