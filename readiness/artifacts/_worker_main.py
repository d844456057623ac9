"""The confined model worker: ``python -m readiness.artifacts._worker_main IN_FD OUT_FD``.

Reads a load request, confines itself (:func:`readiness.artifacts.confine.confine`), loads the
artifact with readiness's in-process loaders, then answers prediction requests until
its input closes. Replies are JSON headers and ``.npy`` arrays only (see
:mod:`readiness.artifacts.worker`). Never started by hand; :class:`SandboxedModel` does it.
"""

import os
import pickle
import sys
import time
import warnings


def _as_plain_array(values):
    """An array .npy can carry without pickle: numbers, booleans or text."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype.hasobject:
        flat = array.ravel().tolist()
        if all(isinstance(v, str) for v in flat):
            return array.astype(str)
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            return array.astype(str)
    return array


def _die_with_parent() -> None:
    """Linux: the worker is killed when the process that started it ends, however it ends."""
    if sys.platform == "linux":
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the line above
            sys.exit(0)


def main(fd_in: int, fd_out: int) -> int:
    from readiness.artifacts.worker import encode_reply, read_message, write_message

    _die_with_parent()

    request = pickle.loads(read_message(fd_in, 1 << 20))  # from the kernel: trusted
    path, key = request["path"], request["key"]
    trust = request["trust"]

    def reply(header, arrays=()):
        write_message(fd_out, encode_reply(header, list(arrays)))

    from readiness.artifacts import confine
    from readiness.artifacts.trust import TrustPolicy
    from readiness.artifacts.loading import hidden_dependencies, load_model
    from readiness.exceptions import UntrustedArtifactError, UsageError, first_line

    warnings.simplefilter("ignore")
    policy = TrustPolicy.from_mapping(trust)
    layers = confine.confine(confine.default_read_paths([os.path.abspath(path)]), policy.max_load_bytes + 2 * 1024**3)
    started = time.perf_counter()
    try:
        model, info = load_model(path, key, policy, sandbox=False)
    except UsageError as exc:
        kind = "violation" if confine.VIOLATIONS else ("refused" if isinstance(exc, UntrustedArtifactError) else "input")
        reply({"ok": False, "error_kind": kind, "message": confine.VIOLATIONS[-1] if confine.VIOLATIONS else str(exc)})
        return 0
    except BaseException as exc:  # noqa: BLE001 - anything at all is reported, not raised
        kind = "violation" if confine.VIOLATIONS else "input"
        message = confine.VIOLATIONS[-1] if confine.VIOLATIONS else f"{path}: could not load the {key} model ({type(exc).__name__}: {str(exc)[:200]})"
        reply({"ok": False, "error_kind": kind, "message": message})
        return 0
    classes = getattr(model, "classes_", None)
    names = getattr(model, "feature_names_in_", None)
    n_features = getattr(model, "n_features_in_", None)
    arrays, array_names = [], []
    if classes is not None:
        arrays.append(_as_plain_array(classes))
        array_names.append("classes")
    description = {
        "ok": True, "array_names": array_names, "sandbox": layers,
        "type": f"{type(model).__module__}.{type(model).__qualname__}",
        "methods": [m for m in ("predict_proba", "decision_function") if hasattr(model, m)],
        "feature_names": None if names is None else [str(n) for n in names],
        "n_features": None if n_features is None else int(n_features),
        "hidden_modules": hidden_dependencies(model),
        "load_record": info.loaded, "load_seconds": time.perf_counter() - started, "warnings": info.warnings,
        "format": info.format, "sha256": info.sha256, "trusted_by": info.trusted_by,
    }
    reply(description, arrays)
    while True:
        try:
            request = pickle.loads(read_message(fd_in, 1 << 40))
        except EOFError:
            return 0
        seen = len(confine.VIOLATIONS)
        try:
            method = getattr(model, request["method"])
            if request["op"] == "time":
                X, rows = request["X"], request["rows"]
                timings = []
                for row in rows:
                    single = X.iloc[[int(row)]] if hasattr(X, "iloc") else X[[int(row)]]
                    begin = time.perf_counter()
                    method(single)
                    timings.append(time.perf_counter() - begin)
                import numpy as np

                reply({"ok": True}, [np.asarray(timings)])
            else:
                reply({"ok": True}, [_as_plain_array(method(request["X"]))])
        except BaseException as exc:  # noqa: BLE001 - reported to the kernel, which decides
            if len(confine.VIOLATIONS) > seen or isinstance(exc, PermissionError):
                reply({"ok": False, "error_kind": "violation",
                       "message": confine.VIOLATIONS[-1] if len(confine.VIOLATIONS) > seen else str(exc)[:300]})
            else:
                reply({"ok": False, "error_kind": "model", "message": first_line(exc, 300, with_type=True)})


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
