"""Child process: load a model artifact exactly as the notebook kernel will, and report.

Usage: python -m readiness._vet_artifact REQUEST.json

The driver never loads a model itself. Before any report starts, it asks this child
to load each pickle artifact with the same loader the kernel uses
(:func:`readiness.artifacts.load_model`), under the run's timeout, so that a refused
or unloadable artifact ends the run at once with one line (exit 2) instead of
failing inside every report.
"""

import json
import sys


def main(request_path: str) -> int:
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    outcome: dict = {"ok": True}
    try:
        from readiness.artifacts import load_model
        from readiness.exceptions import UsageError

        try:
            load_model(request["path"], request["key"], request["trust"])
        except UsageError as exc:
            outcome = {"ok": False, "usage_error": True, "message": str(exc)}
    except Exception as exc:  # anything else: reported, never a traceback on the user's terminal
        outcome = {"ok": False, "usage_error": False, "message": f"{type(exc).__name__}: {str(exc)[:300]}"}
    with open(request["output"], "w", encoding="utf-8") as handle:
        json.dump(outcome, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
