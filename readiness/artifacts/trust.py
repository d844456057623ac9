"""Model artifacts before loading: formats, trust, bounded metadata, the pre-flight vet (driver-safe).

Formats: ``.skops`` (preferred); ``.joblib``/``.pkl``/``.pickle`` (compressed
joblib included); MLflow model folders (the ``sklearn`` flavour, read from
``MLmodel`` without importing mlflow); ``module:function`` for a custom loader.

Loading a pickle runs code, so a pickle or joblib file the user has not trusted
by sha256 (``trust.sha256`` or ``--trust-artifact``) is loaded by
:mod:`readiness.artifacts.safe_pickle`, whose unpickler admits only the scientific stack
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
from typing import Any, Mapping


from readiness.exceptions import InputError, UntrustedArtifactError, first_line

FORMATS = {".skops": "skops", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle", ".onnx": "onnx"}
PICKLE_FORMATS = {"joblib", "pickle", "cloudpickle"}
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

    The config decides once, when it is read: with ``base_dir`` (the config file's
    folder, or the working directory for a command-line flag) a value that names an
    existing file there is a path. Paths are absolute after that, so later callers
    (the kernel, whatever its working directory) need no ``base_dir``.

    Examples
    --------
    >>> is_loader_spec("team_models:load"), is_loader_spec("/models/candidate.skops")
    (True, False)
    """
    value = str(value)
    if not _LOADER_SPEC.match(value):
        return False
    return base_dir is None or not (Path(base_dir) / value).exists()


@dataclass
class ArtifactInfo:
    """What readiness knows about an artifact before and after loading it.

    Examples
    --------
    >>> info = ArtifactInfo("model.skops", "skops", "ab" * 32, 2048, "skops defaults")
    >>> info.to_dict()["trusted_by"], info.loaded is None
    ('skops defaults', True)
    """

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
    """The format of a model file from its suffix; one line naming the file and the formats readiness reads otherwise.

    Examples
    --------
    >>> artifact_format(Path("model.SKOPS")), artifact_format(Path("model.pkl"))
    ('skops', 'pickle')
    >>> artifact_format(Path("model.h5"), "baseline")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: model.h5: unsupported model format '.h5' for 'baseline'; use .skops, ...
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported model format {path.suffix or '(no suffix)'!r} for {key!r}; "
            "use .skops, .joblib, .pkl, .onnx, an MLflow model folder or module:function"
        )
    return fmt


def sha256_of(handle) -> str:
    """sha256 of an open binary file, read from its start; leaves it at its start.

    Examples
    --------
    >>> import io
    >>> sha256_of(io.BytesIO(b"abc"))
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
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

    Examples
    --------
    >>> import tempfile
    >>> import skops.io
    >>> from sklearn.linear_model import LogisticRegression
    >>> path = Path(tempfile.mkdtemp()) / "model.skops"
    >>> skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    >>> info = check_artifact(path)
    >>> info.format, info.trusted_by, len(info.sha256)
    ('skops', 'skops defaults', 64)
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
        require_onnx(key)
        check_onnx_external_data(path)
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


def require_onnx(key: str) -> None:
    """Raise a one-line :class:`InputError` naming the extra when onnx or onnxruntime is missing.

    Examples
    --------
    >>> require_onnx("model")  # doctest: +SKIP
    """
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise InputError(f"{key}: ONNX models need the optional extra: pip install 'ml-readiness[onnx]'") from None


def check_onnx_external_data(path: Path) -> None:
    """Refuse an ONNX model whose external-data locations point outside the artifact's folder.

    Reads the graph without its external data (no tensor is loaded, no code runs).

    Examples
    --------
    >>> check_onnx_external_data(Path("model.onnx"))  # doctest: +SKIP
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise InputError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {str(exc)[:150]})") from None
    folder = path.resolve().parent
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                target = (folder / entry.value).resolve()
                if folder not in target.parents and target != folder:
                    raise InputError(f"{path}: external data {entry.value!r} points outside the model's folder; refusing it")


def vet_in_child(path: str | Path, key: str, trust: TrustPolicy | Mapping[str, Any] | None, timeout_s: float) -> None:
    """Load an artifact in a sandboxed worker, exactly as a report will, and stop it; raise its one-line refusal.

    Called by the driver before any report runs, so that a refused, unloadable or
    crashing artifact ends the run at once. The check is the loader itself.

    Raises
    ------
    UntrustedArtifactError or InputError
        What loading raised in the worker, or that the worker crashed or hung.

    Examples
    --------
    >>> vet_in_child("model.skops", "model", None, timeout_s=60)  # doctest: +SKIP
    """
    from readiness.artifacts.worker import SandboxedModel, SandboxViolation, WorkerFailed

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
        raise InputError(f"{mlmodel}: not a readable MLmodel file ({first_line(exc)}); re-save the MLflow model") from None
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
    """Types in a skops file outside skops' trusted defaults (reads its schema only, bounded).

    Examples
    --------
    >>> import tempfile
    >>> import skops.io
    >>> from sklearn.linear_model import LogisticRegression
    >>> path = Path(tempfile.mkdtemp()) / "model.skops"
    >>> skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    >>> skops_untrusted_types(path)
    []
    """
    import skops.io

    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a valid skops file ({first_line(exc)}); re-save the {key} with skops.io.dump") from None
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
        raise InputError(f"{path}: not a valid skops file ({first_line(exc)}); re-save the {key} with skops.io.dump") from None

