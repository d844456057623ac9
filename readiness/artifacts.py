"""Model artifacts: format detection, trust decisions, loading.

Formats: ``.skops`` (preferred); ``.joblib``/``.pkl``/``.pickle`` (compressed
joblib included); MLflow model folders (the ``sklearn`` flavour, read from
``MLmodel`` without importing mlflow); ``module:function`` for a custom loader.

Loading a pickle runs code. A pickle or joblib file is first scanned statically
(:mod:`readiness.pickle_scan`): it loads only when every global it names comes
from the scientific stack, or when the user trusts its sha256 (``trust.sha256``
or ``--trust-artifact``). ``.skops`` files load with skops' safe loader; types
beyond skops' defaults must be listed in ``trust.skops_types``. Trust comes
only from the caller, never from the artifact or its manifest.

:func:`check_artifact` decides without constructing any object (safe in the
driver process); :func:`load_model` re-checks and loads (notebook kernel only).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from readiness.data import sha256_file
from readiness.exceptions import InputError, UntrustedArtifactError

FORMATS = {".skops": "skops", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle", ".onnx": "onnx"}
PICKLE_FORMATS = {"joblib", "pickle", "cloudpickle"}
#: Probabilities may stray this far outside [0, 1], and their row sums this far from 1,
#: through float32 arithmetic (ONNX, LightGBM) before a model counts as misbehaving.
PROBABILITY_TOLERANCE = 1e-6
ROW_SUM_TOLERANCE = 1e-3
_LOADER_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_loader_spec(value: str) -> bool:
    """True for ``package.module:function`` (a custom loader), not a file path."""
    return bool(_LOADER_SPEC.match(str(value))) and not Path(str(value)).exists()


@dataclass
class ArtifactInfo:
    """What readiness knows about an artifact before and after loading it."""

    path: str
    format: str
    sha256: str
    size_bytes: int
    trusted_by: str  # how loading was allowed: "skops defaults", "trust.skops_types", "trust.sha256", "static scan", "custom loader"
    extra_trusted_types: list[str] = field(default_factory=list)
    load_seconds: float | None = None
    scan: dict | None = None  # what the static pickle scan found
    inner_path: str | None = None  # the file inside an MLflow model folder
    warnings: list[str] = field(default_factory=list)  # e.g. scikit-learn's InconsistentVersionWarning

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


def check_artifact(
    path: str | Path,
    key: str = "model",
    trusted_sha256: Iterable[str] = (),
    trusted_skops_types: Iterable[str] = (),
) -> ArtifactInfo:
    """Decide whether an artifact may be loaded, without loading it.

    Parameters
    ----------
    path : str or Path
        The artifact file, an MLflow model folder, or ``module:function``.
    key : str
        Config key it came from (``model`` or ``baseline``), for messages.
    trusted_sha256 : iterable of str
        Hashes of pickle/joblib files the user trusts even when the scan is not clean.
    trusted_skops_types : iterable of str
        skops types the user reviewed and trusts beyond skops' defaults.

    Returns
    -------
    ArtifactInfo

    Raises
    ------
    InputError
        Missing, empty or unreadable file.
    UntrustedArtifactError
        A pickle naming dangerous, unknown or unscannable content whose hash is
        not trusted, or a skops file needing untrusted types.
    """
    if is_loader_spec(str(path)):
        return ArtifactInfo(str(path), "loader", "", 0, "custom loader (configured by you)")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model file not found; check the {key!r} path")
    if path.is_dir():
        return _check_mlflow(path, key, trusted_sha256, trusted_skops_types)
    fmt = artifact_format(path, key)
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: file is empty; re-save the {key} model")
    digest = sha256_file(path)
    trusted_hashes = {h.lower() for h in trusted_sha256}
    if fmt == "onnx":
        from readiness.onnx_model import _require, check_external_data

        _require(key)
        check_external_data(path)
        return ArtifactInfo(str(path), fmt, digest, size, "ONNX (no code runs on load)")
    if fmt in PICKLE_FORMATS:
        from readiness.pickle_scan import scan_file

        scan = scan_file(path)
        if digest in trusted_hashes:
            return ArtifactInfo(str(path), fmt, digest, size, "trust.sha256", scan=scan.to_dict())
        if not scan.clean:
            raise UntrustedArtifactError(
                f"{path}: refusing to load this {fmt} file: loading it would run code and its static scan found "
                f"{_scan_problem(scan)}. If you trust it, add its sha256 {digest} to trust.sha256 in readiness.yaml "
                f"or pass --trust-artifact {digest}; better, re-save it with readiness.save_model (skops)"
            )
        return ArtifactInfo(str(path), fmt, digest, size, "static scan (scientific stack only)", scan=scan.to_dict())
    untrusted = skops_untrusted_types(path, key)
    missing = sorted(set(untrusted) - set(trusted_skops_types))
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


def _scan_problem(scan) -> str:
    if scan.unscannable:
        return f"a file it could not follow to the end ({scan.unscannable})"
    parts = []
    if scan.dangerous:
        parts.append("dangerous globals " + ", ".join(scan.dangerous))
    if scan.unknown:
        parts.append("globals outside the scientific stack " + ", ".join(scan.unknown[:8])
                     + (f" and {len(scan.unknown) - 8} more" if len(scan.unknown) > 8 else ""))
    return "; ".join(parts)


def _mlflow_model_file(folder: Path, key: str) -> tuple[Path, str]:
    """The sklearn flavour's model file in an MLflow model folder, and its serialization format."""
    import yaml

    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        raise InputError(f"{folder}: is a folder without an MLmodel file; {key!r} must be a model file or an MLflow model folder")
    try:
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{mlmodel}: not valid YAML ({str(exc).splitlines()[0]}); re-save the MLflow model") from None
    flavor = (spec.get("flavors") or {}).get("sklearn")
    if not isinstance(flavor, dict) or not flavor.get("pickled_model"):
        flavors = ", ".join(spec.get("flavors") or {}) or "none"
        raise InputError(f"{mlmodel}: has no sklearn flavour (flavours: {flavors}); readiness loads MLflow sklearn models")
    fmt = str(flavor.get("serialization_format", "cloudpickle"))
    inner = (folder / flavor["pickled_model"]).resolve()
    if folder.resolve() not in inner.parents:
        raise InputError(f"{mlmodel}: pickled_model points outside the model folder ({flavor['pickled_model']}); refusing it")
    if fmt not in ("skops", "pickle", "cloudpickle"):
        raise InputError(f"{mlmodel}: unsupported serialization_format {fmt!r}")
    return inner, fmt


def _check_mlflow(folder: Path, key: str, trusted_sha256, trusted_skops_types) -> ArtifactInfo:
    inner, fmt = _mlflow_model_file(folder, key)
    if fmt == "skops":
        info = check_artifact(inner if inner.suffix == ".skops" else _as_suffix(inner, ".skops"), key,
                              trusted_sha256, trusted_skops_types)
    else:
        info = check_artifact(inner if inner.suffix in (".pkl", ".pickle") else _as_suffix(inner, ".pkl"), key,
                              trusted_sha256, trusted_skops_types)
        info.format = fmt
    info.inner_path, info.path = info.path, str(folder)
    info.format = f"mlflow/{info.format}"
    return info


def _as_suffix(path: Path, suffix: str) -> Path:
    raise InputError(f"{path}: MLflow model file without the {suffix} suffix its serialization format implies")


def skops_untrusted_types(path: Path, key: str = "model") -> list[str]:
    """Types in a skops file outside skops' trusted defaults (reads its schema only)."""
    import skops.io

    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a valid skops file (not a zip archive); re-save the {key} with skops.io.dump")
    try:
        return list(skops.io.get_untrusted_types(file=path))
    except Exception as exc:
        raise InputError(f"{path}: not a valid skops file ({_first_line(exc)}); re-save the {key} with skops.io.dump") from None


def load_model(
    path: str | Path,
    key: str = "model",
    trusted_sha256: Iterable[str] = (),
    trusted_skops_types: Iterable[str] = (),
) -> tuple[Any, ArtifactInfo]:
    """Load an artifact after the same trust decision as :func:`check_artifact`.

    Returns
    -------
    estimator : object
        The fitted model.
    info : ArtifactInfo
        Format, hash, size, what allowed the load, how long it took, and any
        version warnings scikit-learn raised while loading.
    """
    import time
    import warnings

    info = check_artifact(path, key, trusted_sha256, trusted_skops_types)
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
                import skops.io

                model = skops.io.load(target, trusted=info.extra_trusted_types or None)
            elif info.format == "joblib":
                import joblib

                model = joblib.load(target)
            else:
                import pickle

                with open(target, "rb") as handle:
                    model = pickle.load(handle)  # noqa: S301 - scanned clean or hash-trusted above
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
