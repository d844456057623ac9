"""The allow-listing loader: models load, attacks do not run, everything the file controls is bounded.

Each attack class from the security review has cases here, across plain pickle (protocols
0-5), joblib (uncompressed, zlib, gzip, bz2, xz, lzma), nested object arrays and MLflow
folders. Where an attack can be shown to work against an unprotected loader, a control
runs that loader in a child process and sees the marker file appear.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import yaml

import pickle_corpus as corpus
from readiness.artifacts.loading import load_model
from readiness.exceptions import InputError, UntrustedArtifactError
from readiness.artifacts.safe_pickle import (ALLOWED_FUNCTIONS, BLOCKED_SEGMENTS, LoadLimitError,
                                   RefusedArtifact, judge, load_pickle)

STACK_ROOTS = ("sklearn", "numpy", "scipy", "pandas", "lightgbm", "xgboost", "joblib")


def load_bytes(data: bytes, **kwargs):
    return load_pickle(io.BytesIO(data), **kwargs)


def predictions(model, X):
    return model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)


def unprotected_load_runs_payload(path: Path, marker: Path, loader: str) -> bool:
    """Load with plain joblib/pickle in a child process: does the payload run? (the control)"""
    code = {"joblib": "import joblib,sys; joblib.load(sys.argv[1])",
            "pickle": "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))"}[loader]
    marker.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=60)
    ran = marker.exists()
    marker.unlink(missing_ok=True)
    return ran


# --------------------------------------------------------------------------- benign


@pytest.fixture(scope="module")
def benign():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return corpus.benign_models()


@pytest.mark.parametrize("dump", list(corpus.DUMPS))
def test_models_teams_ship_load_unchanged_through_the_allow_list(tmp_path, benign, dump):
    suffix, write = corpus.DUMPS[dump]
    for name, (model, X) in benign.items():
        path = tmp_path / f"{name}{suffix}"
        write(model, path)
        with open(path, "rb") as handle:
            loaded, record = load_pickle(handle)
        np.testing.assert_allclose(predictions(loaded, X), predictions(model, X), err_msg=name)
        assert record.globals and all(kind in ("class", "function", "ufunc") for kind in record.globals.values())
        if "joblib" in dump and dump not in ("joblib", "joblib-as-pkl"):
            assert record.compression == dump.split("-")[1]


def test_the_loaded_record_says_what_was_admitted(tmp_path, benign):
    model, _ = benign["hist_gradient_boosting"]
    joblib.dump(model, tmp_path / "m.joblib", compress=3)
    loaded, info = load_model(tmp_path / "m.joblib")
    globals_ = info.loaded["globals"]
    assert globals_["sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier"] == "class"
    assert info.loaded["trees_checked"] == model[-1].n_iter_
    assert info.loaded["compression"] == "zlib" and info.loaded["bytes_read"] > 0


# --------------------------------------------------------------------------- class 1: the allow-list


@pytest.fixture(scope="module")
def stack_attributes():
    """Every attribute of every module the loader would import (tests and excluded modules aside)."""
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for root in STACK_ROOTS:
            try:
                package = importlib.import_module(root)
            except ImportError:
                continue
            names = [root] + [m.name for m in pkgutil.walk_packages(package.__path__, root + ".", onerror=lambda _: None)
                              if not BLOCKED_SEGMENTS.intersection(m.name.split(".")[1:])]
            for name in names:
                try:
                    module = importlib.import_module(name)
                except BaseException as exc:  # noqa: BLE001 - a module may raise anything at import, even pytest.skip
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    continue
                for attribute in dir(module):
                    try:
                        found.append((name, attribute, getattr(module, attribute)))
                    except Exception:
                        continue
    return found


def test_every_admitted_object_is_of_the_allowed_kinds(stack_attributes):
    """Enumerate the stack: whatever the allow-list admits is an allowed class, a ufunc or an enumerated function."""
    from readiness.artifacts.safe_pickle import _PLAIN_CLASSES, _is_cython_unpickler

    admitted = {}
    for module, attribute, obj in stack_attributes:
        reason, kind = judge(obj)
        if reason is not None:
            continue
        admitted[id(obj)] = obj
        defining = getattr(obj, "__module__", "") or ""
        if kind == "class":
            assert defining.split(".")[0] in STACK_ROOTS or (defining, obj.__qualname__) in _PLAIN_CLASSES, (module, attribute)
            assert not BLOCKED_SEGMENTS.intersection(defining.split(".")), (module, attribute)
        elif kind == "function":
            key = (defining, getattr(obj, "__qualname__", ""))
            assert key in ALLOWED_FUNCTIONS or _is_cython_unpickler(*key), (module, attribute, key)
        else:
            assert kind == "ufunc" and isinstance(obj, np.ufunc)
    # the figure quoted in the README and the closing note
    assert 500 < len(admitted) < 2500, len(admitted)


def test_every_reexported_outside_callable_is_refused(stack_attributes, tmp_path):
    """A callable defined outside the stack is judged where it is defined, whatever name it is found under."""
    from readiness.artifacts.safe_pickle import _PLAIN_CLASSES

    marker = tmp_path / "pwned"
    reexports = []
    for module, attribute, obj in stack_attributes:
        defining = getattr(obj, "__module__", None)
        if not callable(obj) or not isinstance(defining, str) or defining.split(".")[0] in STACK_ROOTS:
            continue
        if isinstance(obj, type) and (defining, obj.__qualname__) in _PLAIN_CLASSES:
            continue  # datetime, OrderedDict... re-exported: plain data, admitted as themselves
        reexports.append((module, attribute, defining))
        assert judge(obj)[0] is not None, (module, attribute, defining)
    assert len(reexports) > 200  # importlib, operator, functools, os... are re-exported all over the stack
    dangerous = [(m, a) for m, a, d in reexports if d.split(".")[0] in ("importlib", "operator", "os", "posix",
                                                                         "subprocess", "builtins", "functools", "pickle")]
    assert dangerous, "expected re-exports of dangerous standard-library callables to test against"
    for module, attribute in dangerous:
        with pytest.raises(RefusedArtifact, match="outside the allow-list|not a class"):
            load_bytes(corpus.reexported_payload(module, attribute, marker))
    assert not marker.exists()


def test_the_issue_s_reexports_by_name(tmp_path):
    """operator.attrgetter re-exported by lightgbm, importlib.import_module by scikit-learn's helpers."""
    marker = tmp_path / "pwned"
    candidates = [("lightgbm.engine", "attrgetter"), ("sklearn.utils._param_validation", "signature")]
    for module, name in candidates:
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        with pytest.raises(RefusedArtifact, match=rf"{module}.{name}: really"):
            load_bytes(corpus.reexported_payload(module, name, marker))
    assert not marker.exists()


@pytest.mark.parametrize("name", list(corpus.direct_payloads(Path("/x"))))
def test_dangerous_globals_are_refused_and_never_run(tmp_path, name):
    marker = tmp_path / "pwned"
    data = corpus.direct_payloads(marker)[name]
    with pytest.raises(RefusedArtifact) as err:
        load_bytes(data)
    assert not marker.exists()
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("container", ["zlib", "gzip", "bz2", "xz", "lzma"])
def test_payloads_in_compressed_joblib_are_refused(tmp_path, container):
    marker = tmp_path / "pwned"
    with pytest.raises(RefusedArtifact, match="os.system"):
        load_bytes(corpus.compressed(corpus.system_payload(marker), container))
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(0, 6))
@pytest.mark.parametrize("fmt", ["pickle", "joblib", "joblib-zlib"])
def test_reduce_payloads_at_every_protocol_are_refused(tmp_path, protocol, fmt):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (corpus.touch(marker),)

    obj = {"weights": np.arange(1000.0), "labels": np.array(["a", "b"], dtype=object), "x": Payload()}
    path = tmp_path / "evil.bin"
    if fmt == "pickle":
        path.write_bytes(pickle.dumps(obj, protocol=protocol))
    else:
        joblib.dump(obj, path, compress=3 if fmt.endswith("zlib") else 0, protocol=protocol)
    with open(path, "rb") as handle, pytest.raises(RefusedArtifact, match=r"(posix|os)\.system"):
        load_pickle(handle)
    assert not marker.exists()


@pytest.mark.parametrize("builder,message", [
    (corpus.call_built_object_payload, "built itself"),
    (corpus.callable_argument_payload, "callable argument"),
    (lambda marker: corpus.build_on_class_payload(), "attributes on a class"),
    (lambda marker: corpus.persistent_id_payload(), "persistent ids"),
])
def test_only_admitted_globals_are_ever_called(tmp_path, builder, message):
    marker = tmp_path / "pwned"
    with pytest.raises(RefusedArtifact, match=message):
        load_bytes(builder(marker))
    assert not marker.exists()
    from sklearn.pipeline import Pipeline

    assert Pipeline.predict.__qualname__ == "Pipeline.predict"  # not monkey-patched


# --------------------------------------------------------------------------- class 2: no separate model of the stream


def test_bytes_behind_an_array_header_are_data_not_opcodes(tmp_path):
    """The attack runs under pickle.load; readiness's loader reads those bytes as the array they claim to be."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    corpus.hidden_behind_array_header(path, marker)
    assert unprotected_load_runs_payload(path, marker, "pickle")  # the control: the attack is real
    with open(path, "rb") as handle:
        loaded, record = load_pickle(handle)
    assert isinstance(loaded, np.ndarray) and loaded.dtype == np.uint8 and record.arrays == 1
    assert not marker.exists()


@pytest.mark.parametrize("builder", [corpus.joblib_nested_wrapper, corpus.joblib_nested_payload,
                                     corpus.nested_object_array_payload])
def test_nested_object_array_streams_are_read_by_the_same_rules(tmp_path, builder):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    builder(path, marker)
    assert unprotected_load_runs_payload(path, marker, "joblib")  # the control
    with open(path, "rb") as handle, pytest.raises(RefusedArtifact, match="NumpyArrayWrapper|system"):
        load_pickle(handle)
    assert not marker.exists()


def test_an_mlflow_pickle_goes_through_the_same_loader(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "mlflow_model"
    folder.mkdir()
    corpus.hidden_behind_array_header(folder / "model.pkl", marker)
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": {
        "pickled_model": "model.pkl", "serialization_format": "cloudpickle"}}}))
    with pytest.raises(InputError, match="has no predict"):  # loaded as the harmless array it is
        load_model(folder)
    (folder / "model.pkl").write_bytes(corpus.system_payload(marker))
    with pytest.raises(UntrustedArtifactError, match="os.system.*trust.sha256"):
        load_model(folder)
    assert not marker.exists()


# --------------------------------------------------------------------------- class 3: bounded


def run_bounded(code: str, tmp_path: Path) -> tuple[str, int]:
    """Run a load in a child process: its output and its peak memory in MB."""
    script = tmp_path / "load.py"
    script.write_text("import io, sys\nsys.path.insert(0, %r)\n" % str(Path(__file__).parent) + code
                      + "\nprint('peak_mb', [int(l.split()[1]) // 1024 for l in open('/proc/self/status')"
                        " if l.startswith('VmHWM')][0])\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    peak = int(done.stdout.rsplit("peak_mb", 1)[1]) if "peak_mb" in done.stdout else -1
    return done.stdout + done.stderr, peak


@pytest.mark.parametrize("builder,message", [
    ("declared_huge_array", "would take the data read past the limit"),
    ("zlib_zeros_bomb", "decompresses more than 200-fold"),
    ("bz2_multistream_bomb", "decompresses more than 200-fold"),
])
def test_decompression_bombs_stop_early_with_little_memory(tmp_path, builder, message):
    path = tmp_path / "bomb.joblib"
    getattr(corpus, builder)(path)
    assert path.stat().st_size < 2 * 1024**2
    output, peak = run_bounded(
        "from readiness.artifacts.safe_pickle import load_pickle, RefusedArtifact\n"
        f"try:\n    load_pickle(open({str(path)!r}, 'rb'))\nexcept RefusedArtifact as exc:\n    print('refused', exc)\n",
        tmp_path)
    assert "refused" in output and message in output, output
    assert 0 < peak < 512, peak  # the default limit is 4 GiB; the bomb is stopped long before


@pytest.mark.parametrize("data,message", [
    (corpus.bytearray_bomb(), "more memory than the limit"),
    (corpus.binbytes8_bomb(), "past the limit"),
])
def test_memory_asked_for_by_the_stream_is_bounded(data, message):
    with pytest.raises(LoadLimitError, match=message):
        load_bytes(data, max_bytes=256 * 1024**2)


def test_the_byte_limit_is_configurable(tmp_path, benign):
    model, _ = benign["random_forest"]
    joblib.dump(model, tmp_path / "rf.joblib")
    with pytest.raises(UntrustedArtifactError, match="trust.max_load_bytes"):
        load_model(tmp_path / "rf.joblib", trust={"max_load_bytes": 64 * 1024})
    assert load_model(tmp_path / "rf.joblib")[0] is not None


def test_malformed_files_are_one_line_errors(tmp_path, benign):
    model, _ = benign["linear_regression"]
    corpus.truncated_zlib(tmp_path / "t.joblib", model)
    corpus.legacy_zf(tmp_path / "zf.joblib")
    (tmp_path / "lz4.joblib").write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 32)
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x05not a pickle")
    (tmp_path / "trailing.pkl").write_bytes(pickle.dumps(model) + b"extra")
    for name, message in [("t.joblib", "not a complete pickle stream|could not load"),
                          ("zf.joblib", "joblib < 0.10"), ("lz4.joblib", "lz4"),
                          ("junk.pkl", "not a complete pickle stream|could not load"),
                          ("trailing.pkl", "data after the end")]:
        with pytest.raises(InputError, match=message) as err:
            load_model(tmp_path / name)
        assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("mlmodel,message", [
    ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "alias bomb"),
    ("- a list\n- not a mapping\n", "must be a mapping"),
    ("flavors: {sklearn: {pickled_model: 42}}\n", "must be a file name"),
    ("flavors: [sklearn]\n", "flavors: must be a mapping"),
    ("flavors: {sklearn: {pickled_model: model.pkl, serialization_format: [x]}}\n", "unsupported serialization_format"),
    ("flavors: {sklearn: {pickled_model: gone.pkl}}\n", "is not a file"),
    ("\x00\x01 not yaml: [", "not a readable MLmodel"),
])
def test_hostile_mlmodel_files_are_one_line_errors(tmp_path, mlmodel, message):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "MLmodel").write_text(mlmodel)
    with pytest.raises(InputError, match=message) as err:
        load_model(folder)
    assert len(str(err.value).splitlines()) == 1


def test_fitted_trees_are_validated_before_any_prediction(tmp_path, benign):
    from sklearn.tree import DecisionTreeClassifier

    model, X = benign["random_forest"]
    tree = model.estimators_[0].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    internal = np.flatnonzero(nodes["left_child"] != -1)[0]
    nodes["left_child"][internal] = internal  # a loop: predict would never end
    state["nodes"] = nodes
    tampered = type(tree)(tree.n_features, np.asarray(tree.n_classes), tree.n_outputs)
    tampered.__setstate__(state)
    estimator = DecisionTreeClassifier().fit(X, np.arange(len(X)) % 2)
    estimator.tree_ = tampered
    with pytest.raises(RefusedArtifact, match="decision tree with a child outside its nodes or before its parent"):
        load_bytes(pickle.dumps(estimator))


def test_trusting_the_hash_loads_as_it_is(tmp_path):
    """The escape hatch: a file the user trusts by sha256 is loaded by joblib, payload and all."""
    from readiness.data import sha256_file

    marker = tmp_path / "pwned"
    path = tmp_path / "custom.pkl"
    path.write_bytes(corpus.system_payload(marker))
    with pytest.raises(UntrustedArtifactError):
        load_model(path)
    assert not marker.exists()
    with pytest.raises(InputError, match="has no predict"):
        load_model(path, trust={"sha256": [sha256_file(path)]})
    assert marker.exists()  # trust means exactly this: documented in the README
