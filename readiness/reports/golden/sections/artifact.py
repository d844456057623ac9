"""Artifact: what was loaded, why it was trusted, and whether its predictions can be reproduced.

Owns ``golden.artifact.*`` except ``golden.artifact.size`` (shown with the latency):
how the artifact was loaded (``load``, ``sandbox``, ``scan``), the training-environment
manifest against this runtime (``manifest``, ``version_warnings``), deterministic
predictions (``determinism``, ``batch_vs_single``, ``fresh_process``) and code beyond
the scientific stack (``hidden_dependencies``).

Examples
--------
>>> [c.id for c in artifact_section(core).checks][:2]  # doctest: +SKIP
['golden.artifact.load', 'golden.artifact.sandbox']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from readiness.display import Section
from readiness.reports.golden.core import PREDICTION_TOLERANCE
from readiness.results import Check
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.core import GoldenCore

NAME = "artifact"


def artifact_section(core: "GoldenCore") -> Section:
    """What was loaded and why it was trusted, the manifest against this runtime, and whether predictions
    are deterministic, the same one row at a time as in a batch, and the same in a fresh process.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "candidate.joblib").read_bytes()).hexdigest()]}  # in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned", trust=trust,
    ...                         settings={"artifact": {"fresh_process": False}})
    >>> for check in artifact_section(bench).checks:  # fresh_process: False spares the example a new Python process
    ...     print(check.status, check.id)
    pass golden.artifact.load
    pass golden.artifact.scan
    skip golden.artifact.manifest
    pass golden.artifact.determinism
    pass golden.artifact.batch_vs_single
    pass golden.artifact.hidden_dependencies
    """
    settings = core.settings.artifact
    info = core.model_info
    problem = "fail" if settings.strict else "warn"
    checks = []
    described = f"{info.format}, {info.size_bytes:,} bytes, loaded in {fmt((info.load_seconds or 0) * 1000)} ms; allowed by {info.trusted_by}"
    checks.append(Check("golden.artifact.load", "Artifact loaded", "pass", described, severity="info",
                        value=info.size_bytes, details={"sha256": info.sha256, "format": info.format}))
    if info.sandbox:
        checks.append(Check("golden.artifact.sandbox", "Model runs confined", "pass",
                            "loaded and used only in a separate worker process: " + "; ".join(info.sandbox),
                            severity="info", details={"layers": info.sandbox}))
    if info.loaded is not None:
        from readiness.artifacts.safe_pickle import LoadRecord

        record = LoadRecord(**info.loaded)
        checks.append(Check("golden.artifact.scan", "Pickle loaded through the allow-list", "pass",
                            f"every global was judged while loading ({fmt(record.seconds * 1000)} ms): {record.summary()}; "
                            f"{record.trees_checked} fitted tree(s) validated",
                            severity="critical", details={"globals": record.globals}))
    elif info.trusted_by == "trust.sha256":
        checks.append(Check("golden.artifact.scan", "Pickle trusted by hash", "pass",
                            "loaded as it is, without the allow-list, because you listed its sha256 in trust.sha256 "
                            "(loading a pickle runs whatever code it names; readiness.save_model writes skops instead)",
                            severity="info"))
    elif info.format.endswith("skops"):
        extra = ", ".join(info.extra_trusted_types) or "none"
        checks.append(Check("golden.artifact.scan", "skops types", "pass",
                            f"skops loader: no code runs on load; types trusted beyond skops' defaults: {extra}",
                            severity="critical"))
    if core.manifest_findings is None:
        checks.append(Check("golden.artifact.manifest", "Training-environment manifest", "skip",
                            "no manifest beside the artifact; save with readiness.save_model to record the training environment"))
    elif core.manifest_findings:
        checks.append(Check("golden.artifact.manifest", "Training-environment manifest", problem,
                            "differs from this runtime: " + "; ".join(f["message"] for f in core.manifest_findings)
                            + ("" if settings.strict else " (strict mode would fail)"), severity="major"))
    else:
        checks.append(Check("golden.artifact.manifest", "Training-environment manifest", "pass",
                            "sha256, Python, package versions and feature names match this runtime", severity="major"))
    if info.warnings:
        checks.append(Check("golden.artifact.version_warnings", "Warnings while loading", problem,
                            "; ".join(info.warnings), severity="major"))
    checks.extend(prediction_checks(core))
    hidden = hidden_dependencies(core)
    checks.append(Check("golden.artifact.hidden_dependencies", "Code beyond the scientific stack",
                        "warn" if hidden else "pass",
                        ("the model needs modules beyond the scientific stack: " + ", ".join(hidden)
                         + "; ship them with the model and pin their versions") if hidden
                        else "the model uses only scikit-learn, numpy, scipy and pandas code", severity="major",
                        details={"modules": hidden}))
    return Section("Artifact", checks=checks, name=NAME)


def sample_rows(core: "GoldenCore", rows: int) -> pd.DataFrame:
    """A seeded sample of at most ``rows`` golden rows (the model's features), in file order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> core = SimpleNamespace(settings=SimpleNamespace(seed=0), X=pd.DataFrame({"age": range(20, 30)}))
    >>> sample_rows(core, 4)
       age
    3   23
    4   24
    6   26
    9   29
    """
    rng = np.random.default_rng(core.settings.seed + 1)
    return core.X.iloc[np.sort(rng.choice(len(core.X), min(rows, len(core.X)), replace=False))]


def prediction_checks(core: "GoldenCore") -> list[Check]:
    """``golden.artifact.determinism``, ``batch_vs_single`` and ``fresh_process``.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "candidate.joblib").read_bytes()).hexdigest()]}  # in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned", trust=trust,
    ...                         settings={"artifact": {"fresh_process": False}})
    >>> for check in prediction_checks(bench):
    ...     print(check.status, check.id, "-", check.message)
    pass golden.artifact.determinism - predicting 200 rows twice: largest difference 0 (identical)
    pass golden.artifact.batch_vs_single - 50 rows predicted one at a time vs in one batch: largest difference 0
    """
    from readiness.artifacts.loading import Scorer

    scorer = Scorer(core.model, core.task)
    sample = sample_rows(core, core.settings.artifact.sample_rows)
    first, second = scorer(sample)[0], scorer(sample)[0]
    checks = []
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    difference = float(np.max(np.abs(a - b))) if a.size and a.shape == b.shape else (0.0 if a.shape == b.shape else float("inf"))
    # parallel tree ensembles (n_jobs > 1) sum in varying order: differences of ~1e-16 are rounding
    same = difference <= PREDICTION_TOLERANCE
    checks.append(Check("golden.artifact.determinism", "Same rows, same predictions", "pass" if same else "fail",
                        f"predicting {len(sample)} rows twice: largest difference {difference:.3g}"
                        + (" (identical)" if difference == 0 else f" (≤ {PREDICTION_TOLERANCE:g}: floating-point rounding)"
                           if same else f" > {PREDICTION_TOLERANCE:g}: the model's output is random between calls"),
                        severity="critical", value=difference, threshold={"max": PREDICTION_TOLERANCE}))
    count = min(50, len(sample))
    singles = np.stack([np.asarray(scorer(sample.iloc[[i]])[0], dtype=float)[0] for i in range(count)])
    batch = np.asarray(first, dtype=float)[:count]
    gap = float(np.max(np.abs(singles - batch))) if count else 0.0
    ok = gap <= PREDICTION_TOLERANCE
    checks.append(Check("golden.artifact.batch_vs_single", "Batch and single-row predictions agree",
                        "pass" if ok else "fail",
                        f"{len(singles)} rows predicted one at a time vs in one batch: largest difference {gap:.3g}"
                        + ("" if ok else " (the model's output depends on the other rows in the batch)"),
                        severity="critical", value=gap))
    if core.settings.artifact.fresh_process:
        checks.append(fresh_process_check(core, sample, np.asarray(first, dtype=float)))
    return checks


def fresh_process_check(core: "GoldenCore", sample: pd.DataFrame, expected: np.ndarray) -> Check:
    """Load the artifact and predict ``sample`` in a new Python process: hidden global state shows as a difference.

    Examples
    --------
    It starts a new Python process, so the example is not run here (``bench`` as in :func:`artifact_section`):

    >>> from readiness.artifacts.loading import Scorer
    >>> sample = sample_rows(bench, 200)  # doctest: +SKIP
    >>> expected = Scorer(bench.model, bench.task)(sample)[0]  # doctest: +SKIP
    >>> check = fresh_process_check(bench, sample, expected)  # doctest: +SKIP
    >>> check.status, check.message  # doctest: +SKIP
    ('pass', 'a new Python process loaded the artifact and predicted 200 rows: largest difference 0')
    """
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="readiness-fresh-") as work:
        work = Path(work)
        sample.to_pickle(work / "sample.pkl")
        request = {"path": core.model_info.path, "task": core.task, "sample": str(work / "sample.pkl"),
                   "output": str(work / "scores.npy"), "trust": core.trust.to_mapping()}
        (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "readiness.artifacts._fresh_predict", str(work / "request.json")],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return Check("golden.artifact.fresh_process", "Reproducible in a fresh process", "fail",
                         f"loading and predicting in a new Python process failed: {last[:300]}", severity="critical")
        fresh = np.load(work / "scores.npy")
    gap = float(np.max(np.abs(fresh - expected))) if fresh.shape == expected.shape else float("inf")
    ok = gap <= PREDICTION_TOLERANCE
    return Check("golden.artifact.fresh_process", "Reproducible in a fresh process", "pass" if ok else "fail",
                 f"a new Python process loaded the artifact and predicted {len(sample)} rows: largest difference "
                 f"{gap:.3g}" + ("" if ok else "; the model depends on state of this kernel (hidden global state)"),
                 severity="critical", value=gap)


def hidden_dependencies(core: "GoldenCore") -> list[str]:
    """Modules beyond the scientific stack the model's objects come from.

    Examples
    --------
    >>> import textwrap
    >>> from types import SimpleNamespace
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from readiness.artifacts.loading import ModelAdapter
    >>> hidden_dependencies(SimpleNamespace(model=ModelAdapter(LogisticRegression(), "candidate")))
    []
    >>> pipeline = make_pipeline(FunctionTransformer(textwrap.dedent), LogisticRegression())  # code from textwrap
    >>> hidden_dependencies(SimpleNamespace(model=ModelAdapter(pipeline, "candidate")))
    ['textwrap']
    """
    from readiness.artifacts.loading import hidden_dependencies as modules_beyond_the_stack

    return modules_beyond_the_stack(core.model.estimator)
