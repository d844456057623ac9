"""Model artifacts: format detection, trust decisions, loading.

Loading a pickle runs code, so ``.joblib``/``.pkl``/``.pickle`` files are refused
unless the user lists their sha256 in ``trust.sha256`` (or passes
``--trust-artifact``). ``.skops`` files load with skops' safe loader; types
beyond skops' defaults must be listed in ``trust.skops_types``. Trust comes
only from the caller, never from the artifact.

:func:`check_artifact` decides without constructing any object (safe in the
driver process); :func:`load_model` re-checks and loads (notebook kernel only).
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from readiness.data import sha256_file
from readiness.exceptions import InputError, UntrustedArtifactError

FORMATS = {".skops": "skops", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle"}
PICKLE_FORMATS = {"joblib", "pickle"}


@dataclass
class ArtifactInfo:
    """What readiness knows about an artifact before and after loading it."""

    path: str
    format: str
    sha256: str
    size_bytes: int
    trusted_by: str  # how loading was allowed: "skops defaults", "trust.skops_types", "trust.sha256"
    extra_trusted_types: list[str] = field(default_factory=list)
    load_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def artifact_format(path: Path, key: str = "model") -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported model format {path.suffix or '(no suffix)'!r} for {key!r}; "
            "save it with skops (.skops) or joblib (.joblib)"
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
        The artifact file.
    key : str
        Config key it came from (``model`` or ``baseline``), for messages.
    trusted_sha256 : iterable of str
        Hashes of pickle/joblib files the user trusts.
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
        A pickle whose hash is not trusted, or a skops file needing untrusted types.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model file not found; check the {key!r} path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; {key!r} must be a .skops or .joblib file")
    fmt = artifact_format(path, key)
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: file is empty; re-save the {key} model")
    digest = sha256_file(path)
    trusted_hashes = {h.lower() for h in trusted_sha256}
    if fmt in PICKLE_FORMATS:
        if digest not in trusted_hashes:
            raise UntrustedArtifactError(
                f"{path}: refusing to load a {fmt} file: loading it can run arbitrary code. "
                f"If you trust it, add its sha256 {digest} to trust.sha256 in readiness.yaml "
                f"or pass --trust-artifact {digest}; better, re-save it with skops"
            )
        return ArtifactInfo(str(path), fmt, digest, size, "trust.sha256")
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
        Format, hash, size, what allowed the load and how long it took.
    """
    import time

    info = check_artifact(path, key, trusted_sha256, trusted_skops_types)
    started = time.perf_counter()
    try:
        if info.format == "skops":
            import skops.io

            model = skops.io.load(path, trusted=info.extra_trusted_types or None)
        elif info.format == "joblib":
            import joblib

            model = joblib.load(path)
        else:
            import pickle

            with open(path, "rb") as handle:
                model = pickle.load(handle)  # noqa: S301 - hash-trusted by the user above
    except Exception as exc:
        raise InputError(f"{path}: could not load the {key} model ({type(exc).__name__}: {_first_line(exc)})") from None
    info.load_seconds = time.perf_counter() - started
    if not hasattr(model, "predict"):
        raise InputError(f"{path}: the {key} artifact holds a {type(model).__name__}, which has no predict(); save the fitted estimator")
    return model, info


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

    def predict(self, X):
        return np.asarray(self.estimator.predict(X))

    def predict_proba(self, X):
        return np.asarray(self.estimator.predict_proba(X), dtype=np.float64)

    def decision_function(self, X):
        return np.asarray(self.estimator.decision_function(X), dtype=np.float64)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
