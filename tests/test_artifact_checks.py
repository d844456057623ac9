"""Manifest, MLflow folders, custom loaders and the artifact section's checks."""

import json
import os
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from sklearn.linear_model import LinearRegression, LogisticRegression

import helpers
from readiness.artifacts.trust import check_artifact, is_loader_spec
from readiness.artifacts.loading import load_model
from readiness.data import sha256_file
from readiness.exceptions import InputError, UntrustedArtifactError
from readiness.reports.golden.benchmark import GoldenBenchmark
from readiness.artifacts.manifest import compare_manifest, manifest_path, read_manifest, save_model

FAST = {"n_bootstrap": 100, "latency": {"single_row_calls": 10}, "robustness": {"enabled": False}}
TESTS = str(Path(__file__).parent)


@pytest.fixture
def regression(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"pred": rng.normal(10, 2, 300), "other": rng.normal(size=300)})
    frame.assign(y=frame.pred + rng.normal(0, 0.5, 300)).to_csv(tmp_path / "g.csv", index=False)
    return tmp_path, frame


def artifact_checks(tmp_path, model_path, trusted=(), **settings):
    bench = GoldenBenchmark(str(model_path), str(tmp_path / "g.csv"), "y", trust={"sha256": list(trusted)},
                            settings={**FAST, "artifact": settings})
    return {c.id: c for c in bench.artifact_section().checks}


def test_save_model_writes_a_compressed_skops_artifact_and_its_manifest(regression):
    tmp_path, frame = regression
    model = LinearRegression().fit(frame, frame.pred)
    meta = save_model(model, tmp_path / "m.skops", training_data=frame, extra={"cv_rmse": 0.5})
    manifest = json.loads(meta.read_text())
    assert meta == manifest_path(tmp_path / "m.skops")
    assert manifest["sha256"] == sha256_file(tmp_path / "m.skops") and manifest["format"] == "skops"
    assert set(manifest["packages"]) >= {"scikit-learn", "numpy", "scipy", "pandas", "joblib", "skops"}
    assert manifest["features"] == ["pred", "other"] and manifest["feature_dtypes"]["pred"] == "float64"
    assert manifest["training_data"]["rows"] == 300 and len(manifest["training_data"]["sha256"]) == 64
    assert manifest["extra"] == {"cv_rmse": 0.5} and manifest["created_at"]
    assert compare_manifest(manifest, manifest["sha256"], ["pred", "other"]) == []
    import zipfile

    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zipfile.ZipFile(tmp_path / "m.skops").infolist())


def test_manifest_checks_in_the_report(regression):
    tmp_path, frame = regression
    path = tmp_path / "m.skops"
    save_model(LinearRegression().fit(frame, frame.pred), path, training_data=frame)
    checks = artifact_checks(tmp_path, path)
    assert checks["golden.artifact.manifest"].status == "pass"
    manifest = read_manifest(path)
    manifest["packages"]["scikit-learn"] = "1.5.2"
    manifest["python"] = "3.9.1"
    manifest_path(path).write_text(json.dumps(manifest))
    warned = artifact_checks(tmp_path, path)["golden.artifact.manifest"]
    assert warned.status == "warn" and "scikit-learn: trained with 1.5.2" in warned.message and "Python 3.9.1" in warned.message
    assert artifact_checks(tmp_path, path, strict=True)["golden.artifact.manifest"].status == "fail"


def test_a_tampered_artifact_is_an_error(regression):
    tmp_path, frame = regression
    path = tmp_path / "m.skops"
    save_model(LinearRegression().fit(frame, frame.pred), path)
    skops.io.dump(LinearRegression().fit(frame, frame.other), path)  # replaced after saving
    with pytest.raises(InputError, match="differs from its manifest's"):
        GoldenBenchmark(str(path), str(tmp_path / "g.csv"), "y", settings=FAST)


def test_a_manifest_cannot_widen_trust(tmp_path):
    """Even a manifest whose hash matches does not let a pickle outside the allow-list load."""
    path = tmp_path / "m.joblib"
    joblib.dump(helpers.ColumnRegressor("pred"), path)
    manifest_path(path).write_text(json.dumps({"schema": "readiness-manifest/1", "sha256": sha256_file(path),
                                              "trusted": True, "trust": {"sha256": [sha256_file(path)]}}))
    with pytest.raises(UntrustedArtifactError, match="helpers.ColumnRegressor"):
        load_model(path)


def test_inconsistent_version_warning_is_a_finding(regression, monkeypatch):
    import sklearn.base

    tmp_path, frame = regression
    monkeypatch.setattr(sklearn.base, "__version__", "1.5.2")
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(LinearRegression().fit(frame, frame.pred)))
    monkeypatch.undo()
    _, info = load_model(path)
    assert any(w.startswith("InconsistentVersionWarning") for w in info.warnings)
    check = artifact_checks(tmp_path, path)["golden.artifact.version_warnings"]
    assert check.status == "warn" and "1.5.2" in check.message


@pytest.mark.parametrize("model_class,check_id", [
    (helpers.NoisyRegressor, "golden.artifact.determinism"),
    (helpers.BatchCenteredRegressor, "golden.artifact.batch_vs_single"),
])
def test_prediction_consistency_checks_fail_for_models_that_break_them(regression, model_class, check_id):
    tmp_path, frame = regression
    path = tmp_path / "m.joblib"
    joblib.dump(model_class("pred").fit(frame, None), path)
    checks = artifact_checks(tmp_path, path, trusted=[sha256_file(path)], fresh_process=False)
    assert checks[check_id].status == "fail"
    assert checks["golden.artifact.hidden_dependencies"].status == "warn"
    assert "helpers" in checks["golden.artifact.hidden_dependencies"].message


def test_fresh_process_catches_hidden_global_state(regression, monkeypatch):
    tmp_path, frame = regression
    monkeypatch.setenv("PYTHONPATH", TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    path = tmp_path / "m.joblib"
    joblib.dump(helpers.GlobalStateRegressor("pred").fit(frame, None), path)
    trusted = [sha256_file(path)]
    assert artifact_checks(tmp_path, path, trusted=trusted)["golden.artifact.fresh_process"].status == "pass"
    monkeypatch.setitem(helpers.SCALE, "factor", 2.0)  # state set in this process only
    check = artifact_checks(tmp_path, path, trusted=trusted)["golden.artifact.fresh_process"]
    assert check.status == "fail" and "hidden global state" in check.message


def test_scan_results_are_in_the_report(regression):
    tmp_path, frame = regression
    path = tmp_path / "m.joblib"
    joblib.dump(LinearRegression().fit(frame, frame.pred), path, compress=3)
    checks = artifact_checks(tmp_path, path, fresh_process=False)
    scan = checks["golden.artifact.scan"]
    assert scan.status == "pass" and "zlib" in scan.message and "sklearn.linear_model._base.LinearRegression" in scan.details["globals"]
    assert "allowed by allow-list (enforced while loading)" in checks["golden.artifact.load"].message


def write_mlflow(folder: Path, model, fmt: str, pickled: str):
    folder.mkdir()
    if fmt == "skops":
        skops.io.dump(model, folder / pickled)
    else:
        (folder / pickled).write_bytes(pickle.dumps(model))
    spec = {"flavors": {"python_function": {"loader_module": "mlflow.sklearn"},
                        "sklearn": {"pickled_model": pickled, "serialization_format": fmt, "sklearn_version": "1.9.1"}}}
    (folder / "MLmodel").write_text(yaml.safe_dump(spec))


@pytest.mark.parametrize("fmt,pickled", [("skops", "model.skops"), ("cloudpickle", "model.pkl"), ("pickle", "model.pkl")])
def test_mlflow_model_folders_load_through_the_same_gate(regression, fmt, pickled):
    tmp_path, frame = regression
    model = LinearRegression().fit(frame, frame.pred)
    write_mlflow(tmp_path / "mlflow_model", model, fmt, pickled)
    loaded, info = load_model(tmp_path / "mlflow_model")
    assert info.format == f"mlflow/{fmt}" and info.inner_path.endswith(pickled)
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))


def test_mlflow_pickle_with_a_payload_is_refused(tmp_path):
    write_mlflow(tmp_path / "evil", {"x": helpers.ColumnRegressor()}, "cloudpickle", "model.pkl")
    with pytest.raises(UntrustedArtifactError, match="helpers.ColumnRegressor"):
        load_model(tmp_path / "evil")


@pytest.mark.parametrize("mlmodel,message", [
    ({"flavors": {"python_function": {}}}, "has no sklearn flavour"),
    ({"flavors": {"sklearn": {"pickled_model": "../outside.pkl", "serialization_format": "pickle"}}}, "outside the model folder"),
])
def test_bad_mlflow_folders(tmp_path, mlmodel, message):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(InputError, match=message):
        check_artifact(tmp_path / "m")


def test_real_mlflow_sklearn_folder(regression):
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn", reason="mlflow not installed (optional extra ml-readiness[mlflow])")
    tmp_path, frame = regression
    model = LinearRegression().fit(frame, frame.pred)
    mlflow_sklearn.save_model(model, str(tmp_path / "real"), serialization_format="skops")
    loaded, info = load_model(tmp_path / "real")
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))


def test_custom_loader(tmp_path, monkeypatch):
    (tmp_path / "team_models.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n"
        "def load():\n    return LogisticRegression().fit([[0], [1], [2], [3]], [0, 0, 1, 1])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert is_loader_spec("team_models:load") and not is_loader_spec("model.skops")
    model, info = load_model("team_models:load")
    assert isinstance(model, LogisticRegression) and info.trusted_by.startswith("custom loader")
    with pytest.raises(InputError, match="cannot import 'no_such_module'"):
        load_model("no_such_module:load")
    with pytest.raises(InputError, match="has no function 'nope'"):
        load_model("team_models:nope")


def test_onnx_models_load_through_the_same_adapter(tmp_path):
    skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx not installed (test extra)")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X.a + 0.2 * rng.normal(size=300) > 0).astype(int)
    classifier = LogisticRegression().fit(X, y)
    (tmp_path / "c.onnx").write_bytes(skl2onnx.to_onnx(classifier, X.to_numpy(np.float32)[:1]).SerializeToString())
    model, info = load_model(tmp_path / "c.onnx")
    assert info.format == "onnx" and list(model.classes_) == [0, 1]
    np.testing.assert_allclose(model.predict_proba(X), classifier.predict_proba(X), atol=1e-5)
    X.assign(y=y).to_csv(tmp_path / "g.csv", index=False)
    bench = GoldenBenchmark(str(tmp_path / "c.onnx"), str(tmp_path / "g.csv"), "y", settings=FAST)
    checks = {c.id: c for c in bench.metrics_section().checks + bench.artifact_section().checks}
    assert bench.task == "binary" and checks["golden.metric.roc_auc"].value > 0.9
    assert checks["golden.artifact.fresh_process"].status == "pass"


def test_onnx_external_data_outside_the_folder_is_refused(tmp_path):
    pytest.importorskip("onnx", reason="onnx not installed (optional extra ml-readiness[onnx])")
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])
    weight.data_location = TensorProto.EXTERNAL
    del weight.float_data[:]
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    graph = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])], [weight])
    (tmp_path / "m.onnx").write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(InputError, match="points outside the model's folder"):
        check_artifact(tmp_path / "m.onnx")


def test_lightgbm_in_a_pipeline_goes_through_the_pickle_path(tmp_path):
    lightgbm = pytest.importorskip("lightgbm", reason="lightgbm not installed (test extra)")
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "c": rng.choice(["x", "y"], 300)})
    y = (X.a > 0).astype(int)
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
                          lightgbm.LGBMClassifier(n_estimators=10, verbose=-1)).fit(X, y)
    joblib.dump(model, tmp_path / "lgbm.joblib")
    loaded, info = load_model(tmp_path / "lgbm.joblib")
    assert info.trusted_by.startswith("allow-list") and any(g.startswith("lightgbm.") for g in info.loaded["globals"])
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
