"""Every task and model kind through every section and figure (in-process)."""

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import LinearSVC

from readiness.reports.golden.benchmark import GoldenBenchmark

FAST = {"n_bootstrap": 200, "latency": {"single_row_calls": 10}, "min_segment_rows": 20}


def scenario(tmp_path, task):
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    group = rng.choice(["g1", "g2"], n)
    if task == "multiclass":
        y = np.select([X.a > 0.5, X.b > 0], ["cat", "dog"], "eel")
        models = LogisticRegression().fit(X, y), LogisticRegression(C=0.01).fit(X, y)
    elif task == "binary-decision":
        y = (X.a + 0.3 * rng.normal(size=n) > 0).astype(int)
        models = LinearSVC().fit(X, y), LinearSVC(C=0.001).fit(X, y)
    else:
        y = 3 * X.a - X.b + rng.normal(size=n) + 10
        models = Ridge().fit(X, y), Ridge(alpha=100).fit(X, y)
    X.assign(target=y, group=group).to_parquet(tmp_path / "g.parquet")
    skops.io.dump(models[0], tmp_path / "c.skops")
    skops.io.dump(models[1], tmp_path / "b.skops")
    return dict(model_path=str(tmp_path / "c.skops"), baseline_path=str(tmp_path / "b.skops"),
                golden_path=str(tmp_path / "g.parquet"), target="target", segments=["group"])


@pytest.mark.parametrize("task,expected_task,primary", [
    ("multiclass", "multiclass", "log_loss"),
    ("binary-decision", "binary", "roc_auc"),
    ("regression", "regression", "rmse"),
])
def test_every_section_and_figure_renders(tmp_path, task, expected_task, primary):
    bench = GoldenBenchmark(**scenario(tmp_path, task), settings=FAST)
    assert bench.task == expected_task and bench.primary.name == primary
    sections = [bench.inputs_section(), bench.metrics_section(), bench.consistency_section(),
                bench.segments_section(), bench.latency_section()]
    for section in sections:
        assert section._repr_html_()
    for figure in (bench.performance_figure(), bench.scores_figure(), bench.segments_figure()):
        assert figure is not None and figure._repr_png_().startswith(b"\x89PNG")
    checks = {c.id: c for c in bench.checks}
    assert checks[f"golden.dummy.{primary}"].status in ("pass", "warn", "fail")
    assert "golden.consistency.mean_prediction_ratio" in checks
    if task == "binary-decision":
        # no probabilities: calibrated-probability metrics are explained, rank metrics still computed
        assert checks["golden.metric.roc_auc"].value > 0.8
        assert checks["golden.consistency.mean_prediction_ratio"].status in ("pass", "fail")
    errors = [c for c in bench.checks if c.status == "error"]
    assert not errors, errors


def test_png_output_is_deterministic(tmp_path):
    bench = GoldenBenchmark(**scenario(tmp_path, "regression"), settings=FAST)
    assert bench.performance_figure()._repr_png_() == bench.performance_figure()._repr_png_()
