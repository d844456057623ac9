"""Untrusted models live in a confined worker process; the checks talk to it through a proxy.

A model loaded from an artifact the user has not trusted by hash can be hostile in
ways no allow-list of types can see: a pipeline of admitted scikit-learn objects can
be composed to write a file when ``predict`` is called, and compiled code can be fed
states that corrupt memory. So such a model is never loaded, nor used, in the
notebook kernel (nor in the ``readiness`` process): a worker process confines itself
(:mod:`readiness.artifacts.confine`: Landlock, seccomp, resource limits, an audit hook), loads
the artifact with the allow-listing loader, and answers ``predict``,
``predict_proba`` and ``decision_function`` requests. :class:`SandboxedModel` is
the kernel's side: it looks like a fitted estimator to the rest of readiness.

The kernel sends the worker data (pickled: the worker trusts the kernel). The worker
answers in a format the kernel parses without running anything: a JSON header and
``.npy`` arrays read with ``allow_pickle=False``, each bounded in size. Every request
has a deadline; a worker that crashes, hangs or tries something the sandbox denies
ends with a one-line error naming what happened.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from typing import Any

import numpy as np

#: Rows sent per request: bounds the memory of one exchange.
CHUNK_ROWS = 100_000
#: Seconds a single load or request may take.
DEFAULT_DEADLINE_S = 600.0
_MAX_HEADER = 4 * 1024 * 1024
_LENGTH = struct.Struct("<Q")


class SandboxViolation(BaseException):
    """The model tried something the sandbox denies (write a file, run a program...).

    A ``BaseException``, so that code catching a model's ordinary exceptions (the
    robustness trials count a crash as an outcome) cannot swallow it.
    """


class WorkerFailed(BaseException):
    """The worker crashed, hung, or answered something malformed: the model is gone, the report cannot go on."""


class ModelCallError(Exception):
    """The model raised an ordinary exception in the worker (shown with its type and first line)."""


# --------------------------------------------------------------------------- framing


def write_message(fd: int, payload: bytes) -> None:
    data = _LENGTH.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, max_bytes: int, deadline: float | None = None) -> bytes:
    size = _LENGTH.unpack(read_exactly(fd, _LENGTH.size, deadline))[0]
    if size > max_bytes:
        raise WorkerFailed(f"the model worker sent {size:,} bytes where at most {max_bytes:,} were expected")
    return read_exactly(fd, size, deadline)


def encode_reply(header: dict[str, Any], arrays: list[np.ndarray] = ()) -> bytes:
    """A reply the kernel can parse without running anything: JSON, then .npy arrays."""
    parts = [json.dumps(dict(header, arrays=len(arrays))).encode()]
    for array in arrays:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        parts.append(buffer.getvalue())
    return b"".join(_LENGTH.pack(len(p)) + p for p in parts)


def decode_reply(data: bytes, max_array_bytes: int) -> tuple[dict[str, Any], list[np.ndarray]]:
    view, offset = memoryview(data), 0

    def part() -> bytes:
        nonlocal offset
        if offset + _LENGTH.size > len(view):
            raise WorkerFailed("the model worker sent a truncated reply")
        size = _LENGTH.unpack(view[offset:offset + _LENGTH.size])[0]
        offset += _LENGTH.size
        if offset + size > len(view):
            raise WorkerFailed("the model worker sent a truncated reply")
        chunk = bytes(view[offset:offset + size])
        offset += size
        return chunk

    header_bytes = part()
    if len(header_bytes) > _MAX_HEADER:
        raise WorkerFailed("the model worker sent an oversized reply header")
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise WorkerFailed("the model worker sent a reply that is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), int):
        raise WorkerFailed("the model worker sent a malformed reply")
    arrays = []
    for _ in range(header["arrays"]):
        chunk = part()
        if len(chunk) > max_array_bytes:
            raise WorkerFailed(f"the model worker sent an array of {len(chunk):,} bytes, beyond {max_array_bytes:,}")
        try:
            array = np.load(io.BytesIO(chunk), allow_pickle=False)
        except ValueError as exc:
            raise WorkerFailed(f"the model worker sent an array readiness will not read ({exc})") from None
        arrays.append(array)
    return header, arrays


# --------------------------------------------------------------------------- the kernel's side


class SandboxedModel:
    """A fitted model running in a confined worker process, with an estimator's face.

    It has ``predict`` (and ``predict_proba`` / ``decision_function`` when the model
    has them), ``classes_``, ``feature_names_in_`` and ``n_features_in_`` as the model
    reported them when it was loaded. Use :meth:`start`.

    Examples
    --------
    >>> import pickle, tempfile, numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> path = tempfile.mktemp(suffix=".pkl")
    >>> _ = open(path, "wb").write(pickle.dumps(LinearRegression().fit([[0], [1]], [0, 2])))
    >>> model = SandboxedModel.start(path, "model", {})
    >>> model.predict(np.array([[3.0]]))
    array([6.])
    >>> model.close()
    """

    def __init__(self, process: subprocess.Popen, to_worker: int, from_worker: int,
                 description: dict[str, Any], arrays: dict[str, np.ndarray], deadline_s: float):
        self._process = process
        self._to_worker = to_worker
        self._from_worker = from_worker
        self._deadline_s = deadline_s
        self.description = description
        self.sandbox = description.get("sandbox", [])
        self.load_record = description.get("load_record")
        self.load_seconds = description.get("load_seconds")
        self.load_warnings = description.get("warnings", [])
        self.hidden_modules = description.get("hidden_modules", [])
        self._methods = set(description.get("methods", []))
        self._attributes: dict[str, Any] = {}
        if "classes" in arrays:
            self._attributes["classes_"] = arrays["classes"]
        elif description.get("classes") is not None:
            self._attributes["classes_"] = np.asarray(description["classes"], dtype=object)
        if description.get("feature_names") is not None:
            self._attributes["feature_names_in_"] = np.asarray(description["feature_names"], dtype=object)
        if description.get("n_features") is not None:
            self._attributes["n_features_in_"] = int(description["n_features"])
        if description.get("estimator_type") is not None:
            self._attributes["_estimator_type"] = str(description["estimator_type"])

    # ------------------------------------------------------------ starting

    @classmethod
    def start(cls, path: str, key: str, trust: Any, deadline_s: float = DEFAULT_DEADLINE_S) -> "SandboxedModel":
        """Start a worker, have it confine itself and load ``path``; raise its one-line refusal."""
        from readiness.artifacts.trust import TrustPolicy
        from readiness.exceptions import InputError, UntrustedArtifactError

        policy = trust if isinstance(trust, TrustPolicy) else TrustPolicy.from_mapping(trust)
        to_read, to_worker = os.pipe()
        from_worker, to_write = os.pipe()
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", LOKY_MAX_CPU_COUNT=str(os.cpu_count() or 1),
                   PYTHONWARNINGS="ignore")
        process = subprocess.Popen(
            [sys.executable, "-m", "readiness.artifacts._worker_main", str(to_read), str(to_write)],
            # the model's own output (and any native library's) is not readiness's to show
            pass_fds=(to_read, to_write), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, close_fds=True)
        for fd in (to_read, to_write):
            os.close(fd)
        request = {"op": "load", "path": str(path), "key": key, "trust": policy.to_mapping()}
        try:
            write_message(to_worker, _pickle(request))
            header, arrays = _receive(from_worker, process, time.monotonic() + deadline_s, 64 * 1024**2,
                                      f"loading the {key} artifact", deadline_s)
        except BaseException:
            _stop(process)
            for fd in (to_worker, from_worker):
                os.close(fd)
            raise
        if not header.get("ok"):
            _stop(process)
            for fd in (to_worker, from_worker):
                os.close(fd)
            kind = header.get("error_kind")
            message = str(header.get("message", "the model worker failed"))
            if kind == "violation":
                raise UntrustedArtifactError(f"{path}: while loading, the {key} artifact tried something readiness's "
                                             f"sandbox denies ({message}); refusing it")
            raise (UntrustedArtifactError if kind == "refused" else InputError)(message)
        named = dict(zip(header.get("array_names", []), arrays))
        return cls(process, to_worker, from_worker, header, named, deadline_s)

    # ------------------------------------------------------------ the estimator's face

    def __getattr__(self, name: str) -> Any:
        attributes = self.__dict__.get("_attributes", {})
        if name in attributes:
            return attributes[name]
        if name in ("predict_proba", "decision_function") and name in self.__dict__.get("_methods", ()):
            return lambda X: self._call(name, X)
        raise AttributeError(name)

    def predict(self, X):
        return self._call("predict", X)

    def __repr__(self) -> str:
        return f"<{self.description.get('type', 'model')} in readiness's sandboxed worker>"

    def _call(self, method: str, X) -> np.ndarray:
        rows = len(X)
        if rows <= CHUNK_ROWS:
            return self._request({"op": "call", "method": method, "X": X}, rows)[1][0]
        parts = [self._request({"op": "call", "method": method, "X": _rows(X, start, start + CHUNK_ROWS)},
                               min(CHUNK_ROWS, rows - start))[1][0] for start in range(0, rows, CHUNK_ROWS)]
        return np.concatenate(parts)

    def time_calls(self, method: str, X, rows: np.ndarray) -> np.ndarray:
        """Seconds each single-row call took, timed inside the worker (no transfer cost)."""
        return self._request({"op": "time", "method": method, "X": X, "rows": np.asarray(rows)}, len(rows))[1][0]

    def _request(self, request: dict[str, Any], rows: int) -> tuple[dict, list[np.ndarray]]:
        if self._process.poll() is not None:
            raise WorkerFailed("the model's sandboxed worker is no longer running")
        limit = max(64 * 1024**2, rows * 8 * 4096)
        write_message(self._to_worker, _pickle(request))
        header, arrays = _receive(self._from_worker, self._process, time.monotonic() + self._deadline_s, limit,
                                  f"a {request.get('method', 'prediction')} call", self._deadline_s)
        if header.get("ok"):
            return header, arrays
        message = str(header.get("message", ""))
        if header.get("error_kind") == "violation":
            self.close()
            raise SandboxViolation(f"the model tried something readiness's sandbox denies while running "
                                   f"{request.get('method')}: {message}. Nothing was written or run; this artifact "
                                   "is hostile or broken")
        raise ModelCallError(message)

    def close(self) -> None:
        if getattr(self, "_process", None) is None:
            return
        _stop(self._process)
        for fd in (self._to_worker, self._from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        self._process = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self):
        raise TypeError("a sandboxed model cannot be pickled; save the original artifact instead")


def _rows(X, start: int, stop: int):
    return X.iloc[start:stop] if hasattr(X, "iloc") else X[start:stop]


def _pickle(obj) -> bytes:
    import pickle

    return pickle.dumps(obj, protocol=5)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _receive(fd: int, process: subprocess.Popen, deadline: float, max_bytes: int, what: str, deadline_s: float):
    try:
        data = read_message(fd, max_bytes + _MAX_HEADER, deadline)
    except TimeoutError:
        _stop(process)
        raise WorkerFailed(f"the model did not finish {what} within {deadline_s:g} s; its worker was stopped") from None
    except (EOFError, OSError):
        code = process.wait(timeout=10) if process.poll() is None else process.returncode
        if code is not None and code < 0 and -code in signal.Signals._value2member_map_:
            reason = f"killed by signal {-code} ({signal.Signals(-code).name})"
        else:
            reason = f"exit code {code}"
        raise WorkerFailed(f"the model's sandboxed worker ended during {what} ({reason}); "
                           "a crash in compiled code on this artifact's state, or it ran out of memory") from None
    return decode_reply(data, max_bytes)
