"""Child process for the fresh-process reproducibility check.

Usage: python -m readiness.artifacts._fresh_predict REQUEST.json

Loads the artifact with the same trust as the report, predicts the sample the
kernel predicted, and saves the scores: a difference reveals a dependency on
state in the kernel (globals set by earlier code, monkey-patching, caches).
"""

import json
import sys


def main(request_path: str) -> int:
    import numpy as np
    import pandas as pd

    from readiness.artifacts.loading import ModelAdapter, load_model
    from readiness.artifacts.loading import Scorer

    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    model, _ = load_model(request["path"], "model", request["trust"])
    sample = pd.read_pickle(request["sample"])  # written by readiness itself a moment ago
    scores, _ = Scorer(ModelAdapter(model, "candidate"), request["task"])(sample)
    np.save(request["output"], np.asarray(scores, dtype=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
