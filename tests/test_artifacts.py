"""Trust decisions: nothing that runs code on load is loaded unless the user trusts it."""

import os
import pickle

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from readiness.artifacts.trust import check_artifact
from readiness.artifacts.loading import ModelAdapter, load_model
from readiness.data import sha256_file
from readiness.exceptions import InputError, UntrustedArtifactError

TREE_TYPE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


class Payload:
    """Unpickling this runs os.system: the marker file proves whether code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_skops_loads_without_extra_trust(tmp_path, fitted):
    model, X = fitted
    skops.io.dump(model, tmp_path / "m.skops")
    loaded, info = load_model(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert info.format == "skops" and info.trusted_by == "skops defaults" and len(info.sha256) == 64


@pytest.mark.parametrize("suffix,dump", [
    (".pkl", lambda obj, path: path.write_bytes(pickle.dumps(obj))),
    (".joblib", lambda obj, path: joblib.dump(obj, path)),
    (".joblib", lambda obj, path: joblib.dump(obj, path, compress=3)),
])
def test_malicious_pickles_are_refused_and_never_run(tmp_path, fitted, suffix, dump):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    dump({"model": fitted[0], "weights": np.arange(1000.0), "x": Payload(marker)}, path)
    with pytest.raises(UntrustedArtifactError) as err:
        load_model(path)
    message = str(err.value)
    assert "refusing to load" in message and sha256_file(path) in message and "--trust-artifact" in message
    assert not marker.exists()


def test_a_pickle_of_the_scientific_stack_loads_through_the_allow_list(tmp_path, fitted):
    model, X = fitted
    path = tmp_path / "m.joblib"
    joblib.dump(model, path, compress=3)
    loaded, info = load_model(path)
    assert info.trusted_by == "allow-list (enforced while loading)" and info.loaded["compression"] == "zlib"
    assert info.loaded["globals"]["sklearn.linear_model._logistic.LogisticRegression"] == "class"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_unknown_globals_need_the_hash_and_a_wrong_hash_is_no_trust(tmp_path, fitted):
    from helpers import ColumnScoreClassifier  # a class from "the user's repository"

    path = tmp_path / "custom.joblib"
    joblib.dump(ColumnScoreClassifier("x"), path)
    with pytest.raises(UntrustedArtifactError) as err:
        load_model(path)
    assert "helpers.ColumnScoreClassifier: module helpers is outside the scientific stack" in str(err.value)
    with pytest.raises(UntrustedArtifactError):
        load_model(path, trust={"sha256": ["0" * 64]})
    loaded, info = load_model(path, trust={"sha256": [sha256_file(path).upper()]})
    assert info.trusted_by == "trust.sha256" and info.loaded is None and loaded.column == "x"


def test_skops_tree_models_need_their_types_trusted(tmp_path, fitted):
    _, X = fitted
    model = HistGradientBoostingClassifier(max_iter=5).fit(X, (X[:, 1] > 0).astype(int))
    path = tmp_path / "hgb.skops"
    skops.io.dump(model, path)
    with pytest.raises(UntrustedArtifactError) as err:
        check_artifact(path)
    assert TREE_TYPE in str(err.value) and "trust.skops_types" in str(err.value)
    loaded, info = load_model(path, trust={"skops_types": [TREE_TYPE]})
    assert info.trusted_by == "trust.skops_types" and info.extra_trusted_types == [TREE_TYPE]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("name,content,expected", [
    ("m.skops", b"", "file is empty"),
    ("m.skops", b"not a zip", "not a valid skops file"),
    ("m.h5", b"x", "unsupported model format '.h5'"),
    ("m.onnx", b"garbage", "not a readable ONNX model"),
])
def test_unreadable_artifacts(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=expected):
        check_artifact(tmp_path / name)


def test_missing_artifact_names_the_key(tmp_path):
    with pytest.raises(InputError, match="model file not found; check the 'baseline' path"):
        check_artifact(tmp_path / "gone.skops", "baseline")


def test_artifact_without_predict_is_refused(tmp_path):
    skops.io.dump({"not": "a model"}, tmp_path / "d.skops")
    with pytest.raises(InputError, match="has no predict"):
        load_model(tmp_path / "d.skops")


def test_adapter_exposes_classes_and_features(fitted):
    adapter = ModelAdapter(fitted[0], "candidate")
    assert list(adapter.classes) == [0, 1] and adapter.feature_names is None and adapter.n_features == 3
    assert adapter.has_proba and adapter.predict_proba(fitted[1]).shape == (200, 2)
