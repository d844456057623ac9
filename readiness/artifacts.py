"""Model artifacts: format detection, trust decisions, loading.

Formats: ``.skops`` (preferred); ``.joblib``/``.pkl``/``.pickle`` (compressed
joblib included); MLflow model folders (the ``sklearn`` flavour, read from
``MLmodel`` without importing mlflow); ``module:function`` for a custom loader.

Loading a pickle runs code, so a pickle or joblib file the user has not trusted
by sha256 (``trust.sha256`` or ``--trust-artifact``) is loaded by
:mod:`readiness.safe_pickle`, whose unpickler admits only the scientific stack
while it loads: the loader is the gate. ``.skops`` files load with skops' safe
loader; types beyond skops' defaults must be listed in ``trust.skops_types``.
Trust comes only from the caller (:class:`TrustPolicy`), never from the artifact
or its manifest.

:func:`check_artifact` inspects an artifact without constructing anything from
it (safe in the driver process): path, format, size, hash, MLflow and skops
metadata, all bounded. :func:`load_model` loads it (notebook kernel only).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from readiness.exceptions import InputError, UntrustedArtifactError

FORMATS = {".skops": "skops", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle", ".onnx": "onnx"}
PICKLE_FORMATS = {"joblib", "pickle", "cloudpickle"}
#: Probabilities may stray this far outside [0, 1], and their row sums this far from 1,
#: through float32 arithmetic (ONNX, LightGBM) before a model counts as misbehaving.
PROBABILITY_TOLERANCE = 1e-6
ROW_SUM_TOLERANCE = 1e-3
_LOADER_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
DEFAULT_MAX_LOAD_BYTES = 4 * 1024**3
#: An MLmodel or skops schema larger than this is not metadata.
_MAX_METADATA_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TrustPolicy:
    """What the user trusts, from readiness.yaml ``trust:`` or the command line.

    Parameters
    ----------
    sha256 : iterable of str
        Hashes of pickle/joblib files loaded as they are, without the allow-list.
    skops_types : iterable of str
        skops types the user reviewed and trusts beyond skops' defaults.
    max_load_bytes : int
        Most bytes an untrusted artifact may decompress to (and memory loading may add).

    Examples
    --------
    >>> TrustPolicy.from_mapping({"sha256": ["AB" * 32]}).trusts_hash("ab" * 32)
    True
    """

    sha256: frozenset[str] = frozenset()
    skops_types: tuple[str, ...] = ()
    max_load_bytes: int = DEFAULT_MAX_LOAD_BYTES

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> "TrustPolicy":
        values = dict(values or {})
        return cls(
            sha256=frozenset(str(h).strip().lower() for h in values.get("sha256") or ()),
            skops_types=tuple(str(t) for t in values.get("skops_types") or ()),
            max_load_bytes=int(values.get("max_load_bytes") or DEFAULT_MAX_LOAD_BYTES),
        )

    def trusts_hash(self, digest: str) -> bool:
        return digest.lower() in self.sha256

    def to_mapping(self) -> dict[str, Any]:
        return {"sha256": sorted(self.sha256), "skops_types": list(self.skops_types), "max_load_bytes": self.max_load_bytes}


def _policy(trust: TrustPolicy | Mapping[str, Any] | None) -> TrustPolicy:
    return trust if isinstance(trust, TrustPolicy) else TrustPolicy.from_mapping(trust)


def is_loader_spec(value: str, base_dir: str | Path | None = None) -> bool:
    """True for ``package.module:function`` (a custom loader), not a file path.

    A value that names an existing file or folder (relative to ``base_dir``, the
    config file's folder, when given) is a path.
    """
    value = str(value)
    if not _LOADER_SPEC.match(value):
        return False
    candidate = Path(value) if base_dir is None else Path(base_dir) / value
    return not candidate.exists()


@dataclass
class ArtifactInfo:
    """What readiness knows about an artifact before and after loading it."""

    path: str
    format: str
    sha256: str
    size_bytes: int
    trusted_by: str  # how loading was allowed: "skops defaults", "trust.skops_types", "trust.sha256", "allow-list", "custom loader"
    extra_trusted_types: list[str] = field(default_factory=list)
    load_seconds: float | None = None
    loaded: dict | None = None  # what the allow-listing loader admitted (safe_pickle.LoadRecord)
    inner_path: str | None = None  # the file inside an MLflow model folder
    warnings: list[str] = field(default_factory=list)  # e.g. scikit-learn's InconsistentVersionWarning
    sandbox: list[str] | None = None  # the confinement layers of the worker the model runs in

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def artifact_format(path: Path, key: str = "model") -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported model format {path.suffix or '(no suffix)'!r} for {key!r}; "
            "use .skops, .joblib, .pkl, .onnx, an MLflow model folder or module:function"
        )
    return fmt


def sha256_of(handle) -> str:
    """sha256 of an open binary file, read from its start; leaves it at its start."""
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def check_artifact(path: str | Path, key: str = "model", trust: TrustPolicy | Mapping[str, Any] | None = None) -> ArtifactInfo:
    """Inspect an artifact without constructing anything from it (safe in the driver).

    Checks the path, format, size and metadata an artifact carries (an MLflow
    ``MLmodel`` file, a skops schema, ONNX external data), all read with bounds,
    and hashes the file. Whether a pickle's contents are acceptable is decided
    by the loader itself (:func:`load_model`), which enforces the allow-list as
    it loads.

    Parameters
    ----------
    path : str or Path
        The artifact file, an MLflow model folder, or ``module:function``.
    key : str
        Config key it came from (``model`` or ``baseline``), for messages.
    trust : TrustPolicy or mapping
        What the user trusts.

    Returns
    -------
    ArtifactInfo

    Raises
    ------
    InputError
        Missing, empty, unreadable or malformed artifact.
    UntrustedArtifactError
        A skops file needing types the user has not trusted.
    """
    policy = _policy(trust)
    if is_loader_spec(str(path)):
        return ArtifactInfo(str(path), "loader", "", 0, "custom loader (configured by you)")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model file not found; check the {key!r} path")
    if path.is_dir():
        return _check_mlflow(path, key, policy)
    fmt = artifact_format(path, key)
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: file is empty; re-save the {key} model")
    if size > policy.max_load_bytes and not policy.sha256:
        raise UntrustedArtifactError(
            f"{path}: the file is {size:,} bytes, beyond the limit of {policy.max_load_bytes:,} (trust.max_load_bytes); "
            "raise the limit for a model this large, or trust the file by its sha256")
    with open(path, "rb") as handle:
        digest = sha256_of(handle)
    if fmt == "onnx":
        from readiness.onnx_model import _require, check_external_data

        _require(key)
        check_external_data(path)
        return ArtifactInfo(str(path), fmt, digest, size, "ONNX (no code runs on load)")
    if fmt in PICKLE_FORMATS:
        trusted_by = "trust.sha256" if policy.trusts_hash(digest) else "allow-list (enforced while loading)"
        return ArtifactInfo(str(path), fmt, digest, size, trusted_by)
    untrusted = skops_untrusted_types(path, key, policy.max_load_bytes)
    missing = sorted(set(untrusted) - set(policy.skops_types))
    if missing:
        raise UntrustedArtifactError(
            f"{path}: skops file needs types that are not trusted: {', '.join(missing)}. "
            "Review them, then list them under trust.skops_types in readiness.yaml"
        )
    return ArtifactInfo(
        str(path), fmt, digest, size,
        "trust.skops_types" if untrusted else "skops defaults",
        extra_trusted_types=sorted(untrusted),
    )


def vet_in_child(path: str | Path, key: str, trust: TrustPolicy | Mapping[str, Any] | None, timeout_s: float) -> None:
    """Load an artifact in a sandboxed worker, exactly as a report will, and stop it; raise its one-line refusal.

    Called by the driver before any report runs, so that a refused, unloadable or
    crashing artifact ends the run at once. The check is the loader itself.

    Raises
    ------
    UntrustedArtifactError or InputError
        What loading raised in the worker, or that the worker crashed or hung.
    """
    from readiness.model_worker import SandboxedModel, SandboxViolation, WorkerFailed

    try:
        SandboxedModel.start(str(path), key, trust, deadline_s=timeout_s).close()
    except (WorkerFailed, SandboxViolation) as exc:
        raise UntrustedArtifactError(f"{path}: refusing to load the {key} artifact: {exc}") from None


def _mlflow_model_file(folder: Path, key: str) -> tuple[Path, str]:
    """The sklearn flavour's model file in an MLflow model folder, and its serialization format."""
    import yaml

    from readiness.safe_yaml import read_yaml_file

    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        raise InputError(f"{folder}: is a folder without an MLmodel file; {key!r} must be a model file or an MLflow model folder")
    try:
        spec = read_yaml_file(mlmodel, max_bytes=_MAX_METADATA_BYTES, max_nodes=10_000)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{mlmodel}: not a readable MLmodel file ({reason}); re-save the MLflow model") from None
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise InputError(f"{mlmodel}: must be a mapping with a flavors: key, not a {type(spec).__name__}; re-save the MLflow model")
    flavors = spec.get("flavors") or {}
    if not isinstance(flavors, dict):
        raise InputError(f"{mlmodel}: flavors: must be a mapping; re-save the MLflow model")
    flavor = flavors.get("sklearn")
    if not isinstance(flavor, dict) or not flavor.get("pickled_model"):
        names = ", ".join(str(f) for f in flavors) or "none"
        raise InputError(f"{mlmodel}: has no sklearn flavour (flavours: {names[:200]}); readiness loads MLflow sklearn models")
    pickled = flavor["pickled_model"]
    if not isinstance(pickled, str):
        raise InputError(f"{mlmodel}: sklearn pickled_model must be a file name, not {type(pickled).__name__}; re-save the MLflow model")
    fmt = flavor.get("serialization_format", "cloudpickle")
    if fmt not in ("skops", "pickle", "cloudpickle"):
        raise InputError(f"{mlmodel}: unsupported serialization_format {str(fmt)[:60]!r} (skops, pickle or cloudpickle)")
    inner = (folder / pickled).resolve()
    if folder.resolve() not in inner.parents:
        raise InputError(f"{mlmodel}: pickled_model points outside the model folder ({pickled[:200]}); refusing it")
    if not inner.is_file():
        raise InputError(f"{mlmodel}: pickled_model {pickled[:200]!r} is not a file in the model folder")
    return inner, fmt


def _check_mlflow(folder: Path, key: str, policy: TrustPolicy) -> ArtifactInfo:
    inner, fmt = _mlflow_model_file(folder, key)
    expected = (".skops",) if fmt == "skops" else (".pkl", ".pickle")
    if inner.suffix.lower() not in expected:
        raise InputError(f"{inner}: MLflow model file without the {expected[0]} suffix its serialization format implies")
    info = check_artifact(inner, key, policy)
    if fmt != "skops":
        info.format = fmt
    info.inner_path, info.path = info.path, str(folder)
    info.format = f"mlflow/{info.format}"
    return info


def skops_untrusted_types(path: Path, key: str = "model", max_bytes: int = DEFAULT_MAX_LOAD_BYTES) -> list[str]:
    """Types in a skops file outside skops' trusted defaults (reads its schema only, bounded)."""
    import skops.io

    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a valid skops file ({_first_line(exc)}); re-save the {key} with skops.io.dump") from None
    declared = sum(entry.file_size for entry in entries)
    schema = next((entry for entry in entries if entry.filename == "schema.json"), None)
    if declared > max_bytes or (schema is not None and schema.file_size > 64 * _MAX_METADATA_BYTES):
        raise UntrustedArtifactError(
            f"{path}: skops archive declares {declared:,} bytes of content, beyond the limit of {max_bytes:,} "
            "(trust.max_load_bytes); raise the limit only for a file you trust"
        )
    try:
        return list(skops.io.get_untrusted_types(file=path))
    except Exception as exc:
        raise InputError(f"{path}: not a valid skops file ({_first_line(exc)}); re-save the {key} with skops.io.dump") from None


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
        :class:`~readiness.model_worker.SandboxedModel` proxy (the default). The
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
    """
    import time
    import warnings

    policy = _policy(trust)
    info = check_artifact(path, key, policy)
    if sandbox and info.format != "loader" and info.trusted_by != "trust.sha256":
        from readiness.model_worker import SandboxedModel

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
                from readiness.onnx_model import OnnxModel

                model = OnnxModel(target)
            elif info.format.endswith("skops"):
                model = _load_skops(target, info, policy)
            else:
                model = _load_pickle(target, info, policy)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{path}: could not load the {key} model ({type(exc).__name__}: {_first_line(exc)})") from None
    info.load_seconds = time.perf_counter() - started
    info.warnings = sorted({f"{w.category.__name__}: {_first_line(w.message)}" for w in caught
                            if "Version" in w.category.__name__ or "version" in str(w.message).lower()})
    if not hasattr(model, "predict"):
        raise InputError(f"{path}: the {key} artifact holds a {type(model).__name__}, which has no predict(); save the fitted estimator")
    return model, info


def _load_pickle(target: str, info: ArtifactInfo, policy: TrustPolicy):
    """One open file: hashed, then loaded from the same handle (no swap between check and load)."""
    from readiness import safe_pickle

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

    from readiness.safe_pickle import address_space_limit

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
        raise InputError(f"{spec}: cannot import {module_name!r} for the {key} loader ({_first_line(exc)}); "
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
    """The uniform face of a fitted model that the checks use."""

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
            return np.asarray(self.estimator.time_calls(method, X, np.asarray(rows)), dtype=float)
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


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
