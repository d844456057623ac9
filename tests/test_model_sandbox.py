"""Untrusted models run in a confined worker: what they can no longer do, and what still works.

The attacks here were found by attacking readiness (see tests/pickle_corpus.py for the
load-time ones): every object in them passes the allow-list, and the harm comes from how
they are composed or from state that compiled code trusts.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from readiness.artifacts.loading import ModelAdapter, load_model
from readiness.artifacts.confine import landlock_abi
from readiness.exceptions import UntrustedArtifactError
from readiness.artifacts.worker import SandboxedModel, SandboxViolation, WorkerFailed
from readiness.artifacts.safe_pickle import RefusedArtifact, load_pickle

LINUX = sys.platform == "linux"


def dumps_with(obj, override) -> bytes:
    """pickle.dumps where ``override(o)`` may replace how an object is reduced (None: as usual)."""
    buffer = io.BytesIO()

    class Pickler(pickle.Pickler):
        def reducer_override(self, o):
            replaced = override(o)
            return NotImplemented if replaced is None else replaced

    Pickler(buffer, protocol=4).dump(obj)
    return buffer.getvalue()


def file_writing_pipeline(path: str, payload: bytes):
    """Admitted objects only: a pipeline whose predict writes ``payload`` to ``path`` (StackingClassifier
    calls ``getattr(estimator, stack_method)(X)``; earlier steps turn any X into the path)."""
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils.validation import check_array

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [3.0, 4.0, 5.0, 6.0]})
    stack = StackingClassifier([("lr", LogisticRegression())], cv=2).fit(X, [0, 1, 0, 1])
    stack.estimators_ = [np.array(payload, dtype=f"S{len(payload)}")]
    stack.stack_method_ = ["tofile"]
    return Pipeline([
        ("objects", FunctionTransformer(check_array, kw_args={"dtype": object, "ensure_all_finite": False})),
        ("path", FunctionTransformer(np.max, kw_args={"initial": path, "where": False})),
        ("write", stack),
    ]), X


def test_a_pipeline_that_writes_a_file_at_predict_time_is_stopped(tmp_path):
    marker = tmp_path / "pwned"
    model, X = file_writing_pipeline(str(marker), b"import os; os.system('id')\n")
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(Exception):  # the control: used in-process, the file is written
        model.predict(X)
    assert marker.exists()
    marker.unlink()
    loaded, info = load_model(path)
    assert isinstance(loaded, SandboxedModel) and info.sandbox
    with pytest.raises(SandboxViolation, match="open.*pwned.*Nothing was written or run"):
        ModelAdapter(loaded, "candidate").predict(X)
    assert not marker.exists()


@pytest.mark.skipif(not LINUX or landlock_abi() < 1, reason="needs Linux with Landlock")
def test_the_walls_hold_against_native_code():
    """After confine(), even calls straight into the C library cannot write, connect, fork or read secrets."""
    code = textwrap.dedent("""
        import ctypes, os, socket
        from readiness.artifacts.confine import confine, default_read_paths
        layers = confine(default_read_paths(), 2**31)
        libc = ctypes.CDLL(None, use_errno=True)
        results = {}
        results["open_write"] = libc.open(b"/tmp/readiness-confine-probe", os.O_WRONLY | os.O_CREAT, 0o644)
        results["socket"] = libc.socket(2, 1, 0)
        results["fork"] = libc.fork()
        results["read_etc_passwd"] = libc.open(b"/etc/passwd", os.O_RDONLY)
        results["kill_parent"] = libc.kill(os.getppid(), 0)
        print(len(layers), results)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    count, results = done.stdout.split(" ", 1)
    results = eval(results)  # noqa: S307 - our own child's dict of ints
    assert int(count) >= 4, done.stdout
    assert all(value == -1 for value in results.values()), results
    assert not Path("/tmp/readiness-confine-probe").exists()


def test_a_crashing_worker_is_a_one_line_error(tmp_path):
    from sklearn.linear_model import LinearRegression

    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])))
    model, _ = load_model(path)
    os.kill(model._process.pid, signal.SIGSEGV)
    with pytest.raises(WorkerFailed, match=r"ended during a predict call \(killed by signal 11 \(SIGSEGV\)\)"):
        model.predict(np.array([[2.0]]))


def test_a_model_that_never_answers_is_stopped_at_the_deadline(tmp_path):
    """2**40 calls from shared references in a 2 KB file: the worker is stopped, the run goes on."""
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    node = FunctionTransformer()
    for _ in range(40):
        node = Pipeline([("a", node), ("b", node)])
    path = tmp_path / "dag.pkl"
    path.write_bytes(pickle.dumps(Pipeline([("features", node), ("clf", DummyClassifier().fit([[0.0]], [0]))])))
    model = SandboxedModel.start(str(path), "model", {}, deadline_s=20)
    with pytest.raises(WorkerFailed, match="did not finish a predict call within 20 s"):
        model.predict(np.array([[1.0]]))
    assert model._process.poll() is not None


def test_sandboxed_models_answer_like_the_originals(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    y = np.where(X.a + rng.normal(size=500) > 0, "churn", "stay")
    original = HistGradientBoostingClassifier(max_iter=20).fit(X, y)
    path = tmp_path / "hgb.pkl"
    path.write_bytes(pickle.dumps(original))
    model, info = load_model(path)
    adapter = ModelAdapter(model, "candidate")
    assert list(adapter.classes) == ["churn", "stay"] and adapter.feature_names == ["a", "b"] and adapter.n_features == 2
    assert adapter.has_proba and adapter.has_decision_function == hasattr(original, "decision_function")
    np.testing.assert_array_equal(adapter.predict(X), original.predict(X))
    np.testing.assert_allclose(adapter.predict_proba(X), original.predict_proba(X))
    big = pd.concat([X] * 240, ignore_index=True)  # 120,000 rows: sent in chunks
    np.testing.assert_allclose(model.predict_proba(big), original.predict_proba(big))
    assert model.time_calls("predict", X, np.arange(5)).shape == (5,)
    assert info.loaded["trees_checked"] == original.n_iter_


# --------------------------------------------------------------------------- state that compiled code trusts


def refused(data: bytes, match: str) -> None:
    with pytest.raises(RefusedArtifact, match=match):
        load_pickle(io.BytesIO(data))


def test_arrays_are_never_built_from_arguments():
    """ndarray(shape, 'O', buffer) would read raw bytes as object pointers."""
    from pickle_corpus import op_call, op_global, op_text, stream

    refused(stream(op_call(op_global("numpy", "ndarray"), b"(I1\ntp0\n", op_text("O"), op_text("AAAAAAAA"))),
            "numpy.ndarray with arguments")


def test_state_is_set_once_on_objects_the_stream_built():
    from pickle_corpus import op_call, op_global, op_text, stream

    # BUILD on an admitted function: would patch the library for everyone in the process
    refused(stream(op_global("sklearn.utils.validation", "check_array") + b"(N}" + op_text("__kwdefaults__")
                   + b"}stb"), "did not build itself")
    # a second BUILD: frees a buffer that views may still point to
    array = op_call(op_global("numpy._core.multiarray", "_reconstruct"), op_global("numpy", "ndarray"),
                    b"(I0\ntp1\n", op_text("b"))
    state = b"(I1\n(I1\ntp2\n" + op_call(op_global("numpy", "dtype"), op_text("f8"), b"I00\n", b"I01\n") + b"I00\nC\x08" + b"\x00" * 8 + b"tp3\n"
    refused(stream(array + state + b"b" + state + b"b"), "BUILD twice")


def test_out_of_range_states_are_refused():
    import scipy.sparse as sp
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 1] * 5)
    # a decision tree splitting on more features than its estimator has
    tree = DecisionTreeClassifier().fit(X, y)
    tree.n_features_in_ = 1
    refused(pickle.dumps(tree), "tree splits on 2 features, not its 1")
    # a float feature count slips past integer comparisons in compiled code
    tree = DecisionTreeClassifier().fit(X, y)
    tree.n_features_in_ = 2.0
    refused(pickle.dumps(tree), "n_features_in_ is float")
    # sparse coefficients whose indices point past the matrix
    linear = LinearRegression().fit(X, np.arange(10.0))
    coef = sp.csr_matrix(np.array([[1.0, 2.0]]))
    coef.indices = coef.indices.copy()
    coef.indices[0] = 10**9
    linear.coef_ = coef
    refused(pickle.dumps(linear), "sparse matrix whose indices are inconsistent")
    # a neighbours tree whose index points outside its data
    knn = KNeighborsClassifier(n_neighbors=3, algorithm="kd_tree").fit(X, y)
    function, arguments, state = knn._tree.__reduce__()
    state = list(state)
    state[1] = state[1].copy()
    state[1][0] = 10**9
    refused(dumps_with(knn, lambda o: (function, arguments, tuple(state)) if o is knn._tree else None),
            "neighbours tree whose index points outside its data")
    # a pandas frame whose block is placed past its columns
    model = LogisticRegression().fit(X, y)
    model.classes_ = pd.DataFrame({0: [0.0, 1.0]})
    refused(dumps_with(model, lambda o: (slice, (10**11, 10**11 + 1, 1))
                       if isinstance(o, slice) and o == slice(0, 1, 1) else None),
            "blocks are placed outside its columns")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "sparse.pkl"
    with open(path, "wb") as handle:  # 8 GiB that take no disk space
        handle.truncate(8 * 1024**3)
    with pytest.raises(UntrustedArtifactError, match="beyond the limit"):
        load_model(path)
