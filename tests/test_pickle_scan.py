"""The static scan: every global found, nothing executed, joblib's blind spots covered."""

import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from readiness.pickle_scan import classify, scan_file


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class EvalPayload:
    def __reduce__(self):
        return eval, ("__import__('os').system('true')",)


@pytest.fixture(scope="module")
def pipelines():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.random(300), "c": rng.choice(["x", "y"], 300)})
    y = rng.integers(0, 2, 300)
    hgb = make_pipeline(make_column_transformer((SimpleImputer(), ["a"]), (FunctionTransformer(np.log1p), ["b"]),
                                                (OneHotEncoder(), ["c"])),
                        HistGradientBoostingClassifier(max_iter=10, random_state=0)).fit(X, y)
    simple = make_pipeline(make_column_transformer((StandardScaler(), ["a", "b"]), (OneHotEncoder(), ["c"])),
                           LogisticRegression()).fit(X, y)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X[["a", "b"]], y)
    return {"hgb": hgb, "simple": simple, "forest": forest}


DUMPS = {
    "pickle": lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=5)),
    "pickle-protocol-2": lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=2)),
    "joblib": lambda obj, path: joblib.dump(obj, path),
    "joblib-zlib": lambda obj, path: joblib.dump(obj, path, compress=3),
    "joblib-gzip": lambda obj, path: joblib.dump(obj, path, compress=("gzip", 3)),
    "joblib-xz": lambda obj, path: joblib.dump(obj, path, compress="xz"),
}


@pytest.mark.parametrize("dump", DUMPS, ids=list(DUMPS))
@pytest.mark.parametrize("name", ["hgb", "simple", "forest"])
def test_benign_scikit_learn_pipelines_pass(tmp_path, pipelines, dump, name):
    path = tmp_path / "model.bin"
    DUMPS[dump](pipelines[name], path)
    result = scan_file(path)
    assert result.clean, result.summary()
    assert any(g.startswith("sklearn.") for g in result.globals)


@pytest.mark.parametrize("where", ["after_arrays", "nested", "object_array", "first"])
@pytest.mark.parametrize("dump", DUMPS, ids=list(DUMPS))
def test_malicious_files_are_caught_and_never_run(tmp_path, pipelines, dump, where):
    marker = tmp_path / "pwned"
    payload = Payload(marker)
    obj = {
        "after_arrays": lambda: {"model": pipelines["hgb"], "weights": np.arange(50_000.0), "x": payload},
        "nested": lambda: {"model": pipelines["simple"], "deep": [1, {"k": (2, [payload])}]},
        "object_array": lambda: {"model": pipelines["hgb"], "objs": np.array([1, "a", payload], dtype=object)},
        "first": lambda: [payload, pipelines["forest"]],
    }[where]()
    path = tmp_path / "evil.bin"
    DUMPS[dump](obj, path)
    result = scan_file(path)
    assert not result.clean
    assert any(d.startswith(("posix.system", "nt.system", "os.system")) for d in result.dangerous), result.summary()
    assert not marker.exists()


def test_builtins_eval_is_dangerous(tmp_path):
    path = tmp_path / "e.pkl"
    path.write_bytes(pickle.dumps(EvalPayload()))
    assert scan_file(path).dangerous == ["builtins.eval (evaluates code or opens files)"]


@pytest.mark.parametrize("content,reason", [
    (lambda: pickle.dumps({"a": 1}) + b"extra", "data after the end"),
    (lambda: pickle.dumps(list(range(1000)))[:-40], "not a pickle stream"),
    (lambda: b"\x80\x05not really", "not a pickle stream"),
])
def test_files_that_cannot_be_followed_are_unscannable(tmp_path, content, reason):
    path = tmp_path / "x.pkl"
    path.write_bytes(content())
    result = scan_file(path)
    assert result.unscannable and reason in result.unscannable and not result.clean


def test_truncated_joblib_array_is_unscannable(tmp_path):
    path = tmp_path / "t.joblib"
    joblib.dump({"w": np.arange(10_000.0)}, path)
    path.write_bytes(path.read_bytes()[:-5000])
    assert "ends inside an array buffer" in scan_file(path).unscannable


@pytest.mark.parametrize("module,name,verdict", [
    ("sklearn.linear_model._logistic", "LogisticRegression", "allowed"),
    ("numpy", "log1p", "allowed"),
    ("numpy", "float64", "allowed"),
    ("numpy", "load", "dangerous"),
    ("numpy", "memmap", "dangerous"),
    ("builtins", "getattr", "dangerous"),
    ("builtins", "set", "allowed"),
    ("subprocess", "Popen", "dangerous"),
    ("importlib", "import_module", "dangerous"),
    ("_codecs", "encode", "dangerous"),
    ("operator", "attrgetter", "dangerous"),
    ("pandas.io.pickle", "read_pickle", "dangerous"),
    ("joblib", "load", "dangerous"),
    ("mycompany.features", "Transformer", "unknown"),
    ("scipy.special", "expit", "allowed"),
])
def test_classification(module, name, verdict):
    assert classify(module, name) == verdict


def test_codecs_are_allowed_only_for_protocol_2_bytes(tmp_path):
    path = tmp_path / "p2.pkl"
    path.write_bytes(pickle.dumps({"blob": b"\x00\xffbytes"}, protocol=2))
    result = scan_file(path)
    assert result.clean and "_codecs.encode" in result.globals

    class Rot13:
        def __reduce__(self):
            import codecs
            return codecs.encode, ("cevag", "rot13")

    path.write_bytes(pickle.dumps(Rot13(), protocol=2))
    result = scan_file(path)
    assert not result.clean and any("codecs.encode" in d for d in result.dangerous)
