"""Time the robustness section on 1,000 golden rows × 20 columns. Not part of the test run.

    .venv/bin/python benchmarks/bench_robustness.py [--rows 1000]

The model is a realistic pipeline (one-hot encoding + HistGradientBoosting) on 14
numeric and 6 categorical columns. Target: under 10 s for the whole section.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from readiness.artifacts.loading import ModelAdapter
from readiness.config import RobustnessConfig
from readiness.artifacts.loading import Scorer
from readiness.reports.golden.robustness import run_trials


def main(rows: int) -> None:
    rng = np.random.default_rng(0)
    n = 5000
    numeric = {f"num_{i}": rng.normal(i, 1 + i / 5, n) for i in range(14)}
    categorical = {f"cat_{i}": rng.choice([f"v{k}" for k in range(3 + i)], n) for i in range(6)}
    frame = pd.DataFrame({**numeric, **categorical})
    y = ((frame.num_0 + frame.num_3 / 3 + (frame.cat_0 == "v1")) + rng.normal(0, 1, n) > 1.5).astype(int)
    model = Pipeline([
        ("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), list(categorical))],
                                   remainder="passthrough")),
        ("model", HistGradientBoostingClassifier(max_iter=100, random_state=0)),
    ]).fit(frame, y)
    sample = frame.iloc[:rows]
    settings = RobustnessConfig(optional_columns=["num_13"], invariant=["num_12"], direction={"num_0": "increasing"})
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = run_trials(Scorer(ModelAdapter(model, "candidate"), "binary"), sample, settings, seed=0)
        best = min(best, time.perf_counter() - start)
    outcomes = pd.Series([t.outcome for t in result.trials]).value_counts().to_dict()
    print(f"robustness on {rows:,} rows × {frame.shape[1]} columns: {len(result.trials)} trials + "
          f"{len(result.rules)} rules in {best:.2f} s (best of 3); outcomes {outcomes}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    main(parser.parse_args().rows)
