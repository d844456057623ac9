"""The training-environment manifest beside an artifact: ``<artifact>.meta.json``.

:func:`save_model` writes the artifact (skops by default, compressed) and the
manifest: sha256, format, Python, platform, package versions, expected feature
names and dtypes, creation time, git commit, a fingerprint of the training data.
:func:`compare_manifest` turns differences with the running environment into
findings. A manifest never widens trust: it is read only to compare.
"""

from __future__ import annotations

import json
import platform
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from readiness.data import sha256_file
from readiness.exceptions import InputError
from readiness.results import package_versions

MANIFEST_SCHEMA = "readiness-manifest/1"
MANIFEST_PACKAGES = ("scikit-learn", "numpy", "scipy", "pandas", "joblib", "skops")
#: How much of a version must match: scikit-learn exactly (no supported cross-version
#: loading), numpy by major version, the rest by major.minor.
VERSION_PARTS = {"scikit-learn": 3, "numpy": 1, "scipy": 2, "pandas": 2, "joblib": 2, "skops": 2}


def manifest_path(artifact: str | Path) -> Path:
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".meta.json")


def _versions() -> dict[str, str]:
    return package_versions(MANIFEST_PACKAGES)


def _git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def data_fingerprint(frame) -> dict[str, Any]:
    """Rows, columns, dtypes and a content hash (pandas' row hashes, order-sensitive)."""
    import hashlib

    import pandas as pd

    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return {"rows": int(len(frame)), "columns": [str(c) for c in frame.columns],
            "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
            "sha256": hashlib.sha256(row_hashes.tobytes()).hexdigest()}


def save_model(model, path: str | Path, training_data=None, format: str | None = None,
               extra: dict[str, Any] | None = None) -> Path:
    """Save a fitted model and its manifest.

    Parameters
    ----------
    model : estimator
        The fitted model or pipeline.
    path : str or Path
        Where to write it; the suffix picks the format (``.skops`` by default,
        ``.joblib``, ``.pkl``).
    training_data : DataFrame, optional
        The training features: their names, dtypes and a content fingerprint go
        into the manifest.
    format : {"skops", "joblib", "pickle"}, optional
        Overrides the suffix.
    extra : dict, optional
        Anything else worth recording (CV score, data reference...).

    Returns
    -------
    Path
        The manifest, ``<path>.meta.json``.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> meta = save_model(LinearRegression().fit([[0], [1]], [0, 1]), os.path.join(folder, "m.skops"))
    >>> meta.name
    'm.skops.meta.json'
    """
    path = Path(path)
    fmt = format or {".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle"}.get(path.suffix.lower(), "skops")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "skops":
        import skops.io

        skops.io.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    elif fmt == "joblib":
        import joblib

        joblib.dump(model, path, compress=3)
    elif fmt == "pickle":
        import pickle

        path.write_bytes(pickle.dumps(model, protocol=5))
    else:
        raise ValueError(f"format must be skops, joblib or pickle, not {fmt!r}")
    features = getattr(model, "feature_names_in_", None)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "artifact": path.name,
        "sha256": sha256_file(path),
        "format": fmt,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": _versions(),
        "features": [str(f) for f in features] if features is not None else None,
        "feature_dtypes": ({str(c): str(t) for c, t in training_data.dtypes.items()}
                           if training_data is not None else None),
        "training_data": data_fingerprint(training_data) if training_data is not None else None,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git_commit(path.parent.resolve()),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "extra": extra or {},
    }
    target = manifest_path(path)
    target.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target


def read_manifest(artifact: str | Path) -> dict[str, Any] | None:
    target = manifest_path(artifact)
    if not target.is_file():
        return None
    try:
        manifest = json.loads(target.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{target}: not valid JSON ({exc}); re-save with readiness.save_model or remove it") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        raise InputError(f"{target}: not a readiness manifest (schema {MANIFEST_SCHEMA}); re-save or remove it")
    return manifest


def _prefix(version: str, parts: int) -> tuple[str, ...]:
    return tuple(version.split("+")[0].split(".")[:parts])


def compare_manifest(manifest: dict[str, Any], sha256: str, features: list[str] | None) -> list[dict[str, str]]:
    """Findings ``{"status", "message"}`` from a manifest against this artifact and runtime.

    A hash mismatch is ``error``; version and feature differences are ``warn``.
    """
    findings: list[dict[str, str]] = []
    if manifest.get("sha256") != sha256:
        findings.append({"status": "error", "message": (
            f"the artifact's sha256 {sha256[:16]}… differs from its manifest's {str(manifest.get('sha256'))[:16]}…: "
            "the file changed after it was saved; re-save it with readiness.save_model")})
    running = _versions()
    python_then, python_now = manifest.get("python", ""), platform.python_version()
    if _prefix(python_then, 2) != _prefix(python_now, 2):
        findings.append({"status": "warn", "message": f"trained on Python {python_then}, running {python_now}"})
    for name, then in (manifest.get("packages") or {}).items():
        now = running.get(name)
        parts = VERSION_PARTS.get(name, 2)
        if now is None:
            findings.append({"status": "warn", "message": f"{name} {then} was used in training but is not installed here"})
        elif _prefix(then, parts) != _prefix(now, parts):
            findings.append({"status": "warn", "message": f"{name}: trained with {then}, running {now}"})
    expected = manifest.get("features")
    if expected is not None and features is not None and list(expected) != list(features):
        findings.append({"status": "warn", "message": "the manifest's feature names differ from the model's feature_names_in_"})
    return findings
