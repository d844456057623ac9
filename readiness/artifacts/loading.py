"""Loading a model artifact and the uniform face the checks use (notebook kernel and model worker only).

The driver (the ``readiness`` process) never imports this module: the import-linter
contract ``driver-never-loads-models`` in pyproject.toml holds it to that (tests/test_layers.py). An artifact the user has not trusted by
hash is loaded by :func:`load_model` in a confined worker process
(:mod:`readiness.artifacts.worker`); one trusted by hash, a ``module:function`` loader,
and the worker's own load run here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from readiness.artifacts.trust import (ArtifactInfo, TrustPolicy, _policy, check_artifact,
                                       sha256_of)
from readiness.exceptions import InputError, UntrustedArtifactError, first_line

#: Probabilities may stray this far outside [0, 1], and their row sums this far from 1,
#: through float32 arithmetic (ONNX, LightGBM) before a model counts as misbehaving.
PROBABILITY_TOLERANCE = 1e-6
ROW_SUM_TOLERANCE = 1e-3


def _refusal(path, fmt: str, digest: str, reason: str) -> UntrustedArtifactError:
    return UntrustedArtifactError(
        f"{path}: refusing to load this {fmt} file: {reason}. Nothing it names was run. If you trust the file, "
        f"add its sha256 {digest} to trust.sha256 in readiness.yaml or pass --trust-artifact {digest}; "
        "better, re-save the model with readiness.save_model (skops)"
    )


def load_model(
    path: str | Path,
    key: str = "model",
    trust: TrustPolicy | Mapping[str, Any] | None = None,
    sandbox: bool = True,
) -> tuple[Any, ArtifactInfo]:
    """Load an artifact; one the user has not trusted by hash runs in a confined worker.

    Parameters
    ----------
    path : str or Path
        The artifact file, an MLflow model folder, or ``module:function``.
    key : str
        Config key it came from, for messages.
    trust : TrustPolicy or mapping
        What the user trusts (``trust:`` in readiness.yaml).
    sandbox : bool
        Load an untrusted artifact in a confined worker process and return a
        :class:`~readiness.artifacts.worker.SandboxedModel` proxy (the default). The
        worker itself loads with ``sandbox=False``.

    Returns
    -------
    estimator : object
        The fitted model, or its sandboxed proxy.
    info : ArtifactInfo
        Format, hash, size, what allowed the load (and, for pickles, every global
        the allow-list admitted), how long it took, and any version warnings
        scikit-learn raised while loading.

    Raises
    ------
    UntrustedArtifactError
        The file names or calls something outside the allow-list, or passes a
        size limit, and its hash is not trusted. Nothing it names was run.
    InputError
        Missing, malformed or unloadable artifact.

    Examples
    --------
    A pickle the user trusts by its sha256 (``--trust-artifact``) is loaded here, as it is:

    >>> import hashlib, tempfile
    >>> import joblib
    >>> from sklearn.linear_model import LogisticRegression
    >>> path = Path(tempfile.mkdtemp()) / "model.joblib"
    >>> _ = joblib.dump(LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]), path)
    >>> digest = hashlib.sha256(path.read_bytes()).hexdigest()
    >>> model, info = load_model(path, trust={"sha256": [digest]})
    >>> type(model).__name__, info.format, info.trusted_by
    ('LogisticRegression', 'joblib', 'trust.sha256')

    Any other artifact is loaded in the confined worker (a subprocess) and returned as its proxy:

    >>> model, info = load_model(path)  # doctest: +SKIP
    >>> type(model).__name__, info.trusted_by  # doctest: +SKIP
    ('SandboxedModel', 'allow-list (enforced while loading)')
    """
    import time
    import warnings

    policy = _policy(trust)
    info = check_artifact(path, key, policy)
    if sandbox and info.format != "loader" and info.trusted_by != "trust.sha256":
        from readiness.artifacts.worker import SandboxedModel

        started = time.perf_counter()
        model = SandboxedModel.start(str(path), key, policy)
        info.load_seconds = time.perf_counter() - started
        info.loaded, info.warnings, info.sandbox = model.load_record, list(model.load_warnings), list(model.sandbox)
        info.sha256, info.trusted_by = model.description.get("sha256", info.sha256), model.description.get("trusted_by", info.trusted_by)
        return model, info
    target = info.inner_path or info.path
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if info.format == "loader":
                model = _call_loader(str(path), key)
            elif info.format == "onnx":
                from readiness.artifacts.onnx_model import OnnxModel

                model = OnnxModel(target)
            elif info.format.endswith("skops"):
                model = _load_skops(target, info, policy)
            else:
                model = _load_pickle(target, info, policy)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{path}: could not load the {key} model ({type(exc).__name__}: {first_line(exc)})") from None
    info.load_seconds = time.perf_counter() - started
    info.warnings = sorted({f"{w.category.__name__}: {first_line(w.message)}" for w in caught
                            if "Version" in w.category.__name__ or "version" in str(w.message).lower()})
    if not hasattr(model, "predict"):
        raise InputError(f"{path}: the {key} artifact holds a {type(model).__name__}, which has no predict(); save the fitted estimator")
    return model, info


def _load_pickle(target: str, info: ArtifactInfo, policy: TrustPolicy):
    """One open file: hashed, then loaded from the same handle (no swap between check and load)."""
    from readiness.artifacts import safe_pickle

    fmt = info.format.split("/")[-1]
    with open(target, "rb") as handle:
        digest = sha256_of(handle)
        if policy.trusts_hash(digest):
            import joblib

            info.sha256, info.trusted_by = digest, "trust.sha256"
            return joblib.load(handle)  # trusted by the user: loaded as it is (joblib also reads plain pickles)
        try:
            model, record = safe_pickle.load_pickle(handle, max_bytes=policy.max_load_bytes)
        except safe_pickle.RefusedArtifact as exc:
            raise _refusal(info.inner_path or info.path, fmt, digest, str(exc)) from None
    info.sha256, info.trusted_by, info.loaded = digest, "allow-list (enforced while loading)", record.to_dict()
    return model


def _load_skops(target: str, info: ArtifactInfo, policy: TrustPolicy):
    import skops.io

    from readiness.artifacts.safe_pickle import address_space_limit

    try:
        with address_space_limit(policy.max_load_bytes + 1024**3):
            return skops.io.load(target, trusted=info.extra_trusted_types or None)
    except MemoryError:
        raise UntrustedArtifactError(f"{target}: loading needed more memory than trust.max_load_bytes "
                                     f"({policy.max_load_bytes:,} bytes)") from None


def _call_loader(spec: str, key: str):
    import importlib

    module_name, function_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"{spec}: cannot import {module_name!r} for the {key} loader ({first_line(exc)}); "
                         "put the module next to readiness.yaml or on PYTHONPATH") from None
    loader = getattr(module, function_name, None)
    if not callable(loader):
        raise InputError(f"{spec}: {module_name} has no function {function_name!r}")
    return loader()


_STACK_ROOTS = {"sklearn", "numpy", "scipy", "pandas", "builtins", "joblib", "collections", "functools",
                "lightgbm", "xgboost", "catboost"}


def hidden_dependencies(estimator: Any) -> list[str]:
    """Modules beyond the scientific stack whose code a fitted model uses (walked through its parameters).

    A model running in the sandboxed worker reports the list the worker computed.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> hidden_dependencies(LinearRegression())
    []
    """
    reported = getattr(estimator, "hidden_modules", None) if type(estimator).__name__ == "SandboxedModel" else None
    if reported is not None:
        return list(reported)
    modules: set[str] = set()
    visited: set[int] = set()
    pending = [estimator]
    while pending:
        obj = pending.pop()
        if id(obj) in visited or obj is None or isinstance(obj, (str, bytes, int, float, bool, np.ndarray)):
            continue
        visited.add(id(obj))
        module = getattr(obj, "__module__", None) if callable(obj) and not hasattr(obj, "get_params") else type(obj).__module__
        if isinstance(module, str):
            modules.add(module)
        if hasattr(obj, "get_params"):
            try:
                pending.extend(obj.get_params(deep=False).values())
            except Exception:
                pass
        elif isinstance(obj, (list, tuple)):
            pending.extend(obj)
        elif isinstance(obj, dict):
            pending.extend(obj.values())
    return sorted(m for m in modules if m.split(".")[0] not in _STACK_ROOTS)


class ModelAdapter:
    """The uniform face of a fitted model that the checks use.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"tenure": [1.0, 2, 3, 4, 5, 6], "calls": [3.0, 2, 4, 0, 1, 0]})
    >>> model = ModelAdapter(LogisticRegression().fit(X, [1, 1, 1, 0, 0, 0]), "candidate")
    >>> model.classes, model.feature_names, model.has_proba
    (array([0, 1]), ['tenure', 'calls'], True)
    >>> model.predict_proba(X.head(2)).round(3)
    array([[0.045, 0.955],
           [0.187, 0.813]])

    A model whose outputs are not finite numbers stops the report with one line:

    >>> class Broken:
    ...     def predict(self, X):
    ...         return np.array([0.5, np.nan])
    >>> ModelAdapter(Broken(), "candidate").predict(X.head(2))
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: the candidate model's predict returned NaN for 1 of 2 rows (first: row 1: nan); it must return finite numbers; fix or re-train the model
    """

    def __init__(self, estimator: Any, name: str):
        self.estimator = estimator
        self.name = name

    @property
    def classes(self) -> np.ndarray | None:
        classes = getattr(self.estimator, "classes_", None)
        return None if classes is None else np.asarray(classes)

    @property
    def feature_names(self) -> list[str] | None:
        names = getattr(self.estimator, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    @property
    def n_features(self) -> int | None:
        return getattr(self.estimator, "n_features_in_", None)

    @property
    def has_proba(self) -> bool:
        return hasattr(self.estimator, "predict_proba")

    @property
    def has_decision_function(self) -> bool:
        return hasattr(self.estimator, "decision_function")

    # Outputs are checked where they are obtained: a model returning NaN or a
    # "probability" of 1.7 must stop the report with one line saying so (exit 2),
    # like a model that raises, instead of failing somewhere downstream.

    def predict(self, X):
        pred = np.asarray(self.estimator.predict(X))
        if pred.dtype.kind in "fc":
            self._check_finite(pred, "predict", len(X))
        return pred

    def predict_proba(self, X):
        proba = np.asarray(self.estimator.predict_proba(X), dtype=np.float64)
        self._check_finite(proba, "predict_proba", len(X))
        rows = len(X)
        if proba.ndim != 2 or proba.shape[0] != rows:
            raise InputError(f"the {self.name} model's predict_proba returned an array of shape {proba.shape} "
                             f"for {rows} rows; expected ({rows}, number of classes)")
        outside = (proba < -PROBABILITY_TOLERANCE) | (proba > 1 + PROBABILITY_TOLERANCE)
        if outside.any():
            self._refuse("predict_proba", proba, outside.any(axis=1),
                         f"values outside [0, 1] (from {proba.min():.4g} to {proba.max():.4g})")
        off = np.abs(proba.sum(axis=1) - 1) > ROW_SUM_TOLERANCE
        if off.any():
            self._refuse("predict_proba", proba, off, "rows that do not sum to 1")
        return proba

    def decision_function(self, X):
        scores = np.asarray(self.estimator.decision_function(X), dtype=np.float64)
        self._check_finite(scores, "decision_function", len(X))
        return scores

    def single_call_seconds(self, X, rows: np.ndarray) -> np.ndarray:
        """Seconds each one-row call on ``X.iloc[[row]]`` takes, timed where the model runs.

        A model in the sandboxed worker is timed inside the worker, so the figures are
        the model's own, without the cost of sending each row to it.
        """
        import time

        method = "predict_proba" if self.has_proba else "predict"
        if hasattr(self.estimator, "time_calls"):
            # send the worker only the rows it times, not the whole golden set
            rows = np.asarray(rows)
            return np.asarray(self.estimator.time_calls(method, X.iloc[rows], np.arange(len(rows))), dtype=float)
        call = getattr(self.estimator, method)
        timings = np.empty(len(rows))
        for k, row in enumerate(rows):  # timing single calls is the point of this loop
            start = time.perf_counter()
            call(X.iloc[[int(row)]])
            timings[k] = time.perf_counter() - start
        return timings

    def _check_finite(self, values: np.ndarray, method: str, rows: int) -> None:
        if values.size and not np.isfinite(values).all():
            bad = ~np.isfinite(values)
            per_row = bad.reshape(len(values), -1).any(axis=1) if values.ndim and len(values) == rows else bad.ravel()
            kinds = " or ".join(k for k, found in (("NaN", np.isnan(values).any()), ("infinite values", np.isinf(values).any())) if found)
            self._refuse(method, values, per_row, kinds)

    def _refuse(self, method: str, values: np.ndarray, bad_rows: np.ndarray, what: str) -> None:
        first = int(np.flatnonzero(bad_rows)[0])
        shown = np.array2string(np.asarray(values[first]), precision=4, threshold=6, separator=", ")
        raise InputError(f"the {self.name} model's {method} returned {what} for {int(bad_rows.sum())} of "
                         f"{len(bad_rows)} rows (first: row {first}: {shown}); it must return finite "
                         + ("probabilities in [0, 1] that sum to 1 per row" if method == "predict_proba" else "numbers")
                         + "; fix or re-train the model")


class Scorer:
    """Predictions of one model as a number per row (or a probability row) plus the class.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression, LogisticRegression
    >>> X = pd.DataFrame({"tenure": [1.0, 2, 3, 4, 5, 6], "calls": [3.0, 2, 4, 0, 1, 0]})
    >>> classifier = ModelAdapter(LogisticRegression().fit(X, [1, 1, 1, 0, 0, 0]), "candidate")
    >>> scores, labels = Scorer(classifier, "binary")(X.head(3))
    >>> Scorer.positive_score(scores).round(3), labels
    (array([0.955, 0.813, 0.899]), array([1, 1, 1]))
    >>> regressor = ModelAdapter(LinearRegression().fit(X, [1.0, 2, 3, 4, 5, 6]), "candidate")
    >>> values, labels = Scorer(regressor, "regression")(X.head(2))
    >>> values.round(3), labels
    (array([1., 2.]), None)
    """

    def __init__(self, model, task: str):
        self.model = model
        self.task = task

    def __call__(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        if self.task == "regression":
            return np.asarray(self.model.predict(frame), dtype=float).ravel(), None
        if self.model.has_proba:
            proba = self.model.predict_proba(frame)
            return proba, proba.argmax(axis=1)
        labels = np.asarray(self.model.predict(frame))
        score = self.model.decision_function(frame) if self.model.has_decision_function else None
        return (np.asarray(score, dtype=float) if score is not None else np.zeros(len(frame))), labels

    @staticmethod
    def positive_score(scores: np.ndarray) -> np.ndarray:
        """The number a direction rule follows: P(positive) / the prediction."""
        return scores[:, -1] if scores.ndim == 2 else scores
