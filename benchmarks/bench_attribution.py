"""Benchmark attribution (readiness.stats.attribution). Not part of the test run.

    .venv/bin/python benchmarks/bench_attribution.py                 # target run + scaling + peer
    .venv/bin/python benchmarks/bench_attribution.py --coverage 400  # CI coverage simulation

Prints:
* the target: 100k reference × 100k current rows, 20 columns in 5 sources, a
  gradient-boosting classifier; data attribution through one model, the full split
  with two models, and a release on 100k golden rows (mean, 3 segments, ROC AUC,
  flip rate), each with 1,000-resample CIs. Target: ≤ 10 s. Median of --repeats runs,
  with the time spent in the model's own predict calls and the rows it predicted;
* how cost grows with sources (2…20 at 100k rows) and rows (10k…300k at 5 sources),
  with the CI half-width of the largest contribution (precision at a fixed budget);
* the peer: shap's TreeExplainer (interventional, reference background) answering the
  same question — mean per-feature SHAP over current rows, summed by source — when
  shap is installed (it is not a dependency);
* with --coverage N: coverage of the 95% CIs over N simulated data sets whose
  population Shapley values are known in closed form.

The machine is shared: timings are noisy, hence medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd

from readiness.stats.attribution import data_attribution, release_attribution, shapley_coefficients

N_COLUMNS = 20


class Timed:
    """Wraps a fitted classifier: counts the rows it predicts and the time it spends predicting."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_
        self.feature_names_in_ = model.feature_names_in_
        self.rows = 0
        self.seconds = 0.0

    def predict_proba(self, X):
        start = time.perf_counter()
        out = self.model.predict_proba(X)
        self.seconds += time.perf_counter() - start
        self.rows += len(X)
        return out

    def reset(self):
        self.rows, self.seconds = 0, 0.0


def make_rows(n: int, seed: int, shifted: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_COLUMNS))
    X[:, 1::4] = X[:, 0::4] * 0.6 + X[:, 1::4] * 0.8  # dependence inside each source
    if shifted:
        X[:, 8:10] *= 2.0  # source s2 switched units on two columns
        X[:, 16] += 0.3    # source s4 drifted a little
    return pd.DataFrame(X, columns=[f"c{j:02d}" for j in range(N_COLUMNS)])


def label(X: pd.DataFrame, seed: int) -> np.ndarray:
    v = X.to_numpy()
    logit = v[:, 0] - 0.8 * v[:, 4] + 0.7 * v[:, 8] * (v[:, 9] > 0) + 0.5 * np.sin(2 * v[:, 12]) - 0.6 * v[:, 16] ** 2 + 0.4
    return (np.random.default_rng(seed).random(len(v)) < 1 / (1 + np.exp(-logit))).astype(int)


def sources_of(k: int) -> dict[str, list[str]]:
    """k feeds of contiguous columns (s2 holds the columns switched to other units when k = 5)."""
    columns = [f"c{j:02d}" for j in range(N_COLUMNS)]
    return {f"s{g}": list(part) for g, part in enumerate(np.array_split(columns, k))}


def fit_models():
    from sklearn.ensemble import HistGradientBoostingClassifier

    train = make_rows(20_000, 1)
    y = label(train, 2)
    old = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(train, y)
    new = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=1).fit(train, y)
    return Timed(old), Timed(new)


def timed(fn, repeats: int, models) -> tuple[float, float, float, int, object]:
    """Median wall time, CPU time (all threads) and time inside the models' predict calls."""
    walls, cpus, predicts, rows, result = [], [], [], 0, None
    for _ in range(repeats):
        for m in models:
            m.reset()
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        predicts.append(sum(m.seconds for m in models))
        rows = sum(m.rows for m in models)
    return statistics.median(walls), statistics.median(cpus), statistics.median(predicts), rows, result


def bench_target(rows: int, repeats: int, resamples: int) -> None:
    old, new = fit_models()
    reference, current = make_rows(rows, 10), make_rows(rows, 11, shifted=True)
    golden = make_rows(rows, 12)
    y = label(golden, 13)
    golden["segment"] = np.where(golden["c03"] > 1, "high", np.where(golden["c03"] < -1, "low", "mid"))
    sources = sources_of(5)
    print(f"target: {rows:,} × {rows:,} rows, {N_COLUMNS} columns in 5 sources, HistGradientBoostingClassifier "
          f"(100 and 150 trees), {resamples:,} resamples; median of {repeats}")
    runs = [
        ("data, one model", lambda: data_attribution(old, reference, current, "binary", sources=sources,
                                                      n_bootstrap=resamples).mean_prediction, [old]),
        ("data, full split (model + sources)", lambda: data_attribution(
            old, reference, current, "binary", sources=sources, new_model=new, n_bootstrap=resamples).mean_prediction,
         [old, new]),
        ("release: mean, 3 segments, ROC AUC, flips", lambda: release_attribution(
            new, old, golden.drop(columns="segment"), "binary", y=y, sources=sources, metric="roc_auc",
            segments={v: (golden["segment"] == v).to_numpy() for v in ("high", "low", "mid")},
            n_bootstrap=resamples), [old, new]),
    ]
    for name, fn, models in runs:
        wall, cpu, predict, predicted, result = timed(fn, repeats, models)
        attribution = result if not hasattr(result, "mean_prediction") else result.mean_prediction
        print(f"  {name}: {wall:.2f} s wall, {cpu:.2f} s CPU (model predict {predict:.2f} s wall, "
              f"{predicted:,} rows predicted; {attribution.evaluated_pairs:,} pairs with mixed coalitions); "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"    {attribution.summary(4)}")
        print("    CI half-widths: " + ", ".join(f"{c.name} {(c.ci[1] - c.ci[0]) / 2:.4f}" for c in attribution.contributions))
        if hasattr(result, "metric") and result.metric is not None:
            print(f"    {result.metric.summary(4)}; {result.flips.summary(4)}")


def bench_scaling(repeats: int, resamples: int) -> None:
    old, _ = fit_models()
    print("\nscaling (data attribution through one model, default max_evaluations 250,000):")
    print("  sources  rows      mode         wall s  predict s  rows predicted  pairs   largest CI half-width")
    grid = [(k, 100_000) for k in (2, 5, 8, 10, 12, 20)] + [(5, n) for n in (10_000, 30_000, 300_000)]
    for k, rows in grid:
        reference, current = make_rows(rows, 10), make_rows(rows, 11, shifted=True)
        wall, _, predict, predicted, a = timed(
            lambda: data_attribution(old, reference, current, "binary", sources=sources_of(k),
                                     n_bootstrap=resamples).mean_prediction, repeats, [old])
        widest = max((c.ci[1] - c.ci[0]) / 2 for c in a.contributions)
        print(f"  {k:7d}  {rows:8,}  {a.method.split(' ')[0]:11s}  {wall:6.2f}  {predict:9.2f}  {predicted:14,}  "
              f"{a.evaluated_pairs:6,}  {widest:.4f}")


def bench_peer(rows: int) -> None:
    try:
        import shap
    except ImportError:
        print("\npeer: shap is not installed (pip install shap) — skipped")
        return
    old, _ = fit_models()
    reference, current = make_rows(rows, 10), make_rows(rows, 11, shifted=True)
    sources = sources_of(5)
    background = reference.sample(100, random_state=0)
    explainer = shap.TreeExplainer(old.model, data=background, feature_perturbation="interventional",
                                   model_output="probability")
    sample = current.iloc[:2000]
    start = time.perf_counter()
    values = explainer.shap_values(sample)
    seconds = time.perf_counter() - start
    values = np.asarray(values)
    positive = values[:, :, -1] if values.ndim == 3 else values  # (rows, features[, classes])
    per_feature = positive.mean(axis=0)
    by_source = {s: float(sum(per_feature[int(c[1:])] for c in cols)) for s, cols in sources.items()}
    print(f"\npeer: shap {shap.__version__} TreeExplainer, interventional, 100 background rows: "
          f"{seconds:.2f} s for 2,000 current rows → about {seconds * rows / 2000:.0f} s for {rows:,} "
          f"(no CIs; the background is 100 rows, not the reference; per-feature values summed by source "
          f"are not the sources' Shapley values when features interact across sources)")
    change = old.model.predict_proba(sample)[:, 1].mean() - explainer.expected_value[-1] if np.ndim(
        explainer.expected_value) else old.model.predict_proba(sample)[:, 1].mean() - explainer.expected_value
    print("    mean SHAP by source (2,000 current rows vs the 100-row background, change "
          f"{change:+.4f}): " + ", ".join(f"{s} {v:+.4f}" for s, v in by_source.items()))


# --------------------------------------------------------------------------- coverage


COLUMNS = ["x0", "x1", "x2", "x3", "x4", "x5"]
SOURCES = {"crm": ["x0", "x1"], "usage": ["x2", "x3"], "billing": ["x4", "x5"]}
SHIFT = np.array([0.5, 0.0, -1.0, 0.2, 0.0, 0.3])


class Fixed:
    """``c + X @ beta + gamma · x0 · x3`` (x0 and x3 in different sources: a cross-source interaction)."""

    def __init__(self, beta, intercept, gamma):
        self.beta, self.intercept, self.gamma = np.asarray(beta), intercept, gamma
        self.feature_names_in_ = np.asarray(COLUMNS, dtype=object)

    def predict(self, X):
        v = X[COLUMNS].to_numpy(dtype=float)
        return self.intercept + v @ self.beta + self.gamma * v[:, 0] * v[:, 3]


def population_truth(old: Fixed, new: Fixed) -> dict[str, float]:
    names = ["model"] + list(SOURCES)
    values = np.empty(2 ** len(names))
    for mask in range(len(values)):
        members = {n for p, n in enumerate(names) if mask >> p & 1}
        model = new if "model" in members else old
        taken = {c for s in members - {"model"} for c in SOURCES[s]}
        mu = np.where([c in taken for c in COLUMNS], SHIFT, 0.0)
        values[mask] = model.intercept + mu @ model.beta + model.gamma * mu[0] * mu[3]
    return dict(zip(names, shapley_coefficients(len(names)) @ values))


def bench_coverage(replications: int) -> None:
    beta0 = np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0])
    old = Fixed(beta0, 1.0, 2.0)
    new = Fixed(beta0 + np.array([0.3, 0.0, 0.0, -0.5, 1.0, 0.0]), 1.5, -1.0)
    truth = population_truth(old, new)
    hits = {name: 0 for name in truth}
    release_hits = {name: 0 for name in SOURCES}
    gap = {"x0": 0.7978845608}  # E[x0 | x0 > 0] for a standard normal
    release_truth = {s: float(sum((new.beta - old.beta)[COLUMNS.index(c)] * gap.get(c, 0.0) for c in cols))
                     for s, cols in SOURCES.items()}
    start = time.perf_counter()
    for r in range(replications):
        rng = np.random.default_rng(10_000 + r)
        reference = pd.DataFrame(rng.normal(size=(300, 6)), columns=COLUMNS)
        current = pd.DataFrame(rng.normal(size=(250, 6)) + SHIFT, columns=COLUMNS)
        a = data_attribution(old, reference, current, "regression", sources=SOURCES, new_model=new,
                             n_bootstrap=500, seed=r).mean_prediction
        for name, value in truth.items():
            low, high = a.by_name[name].ci
            hits[name] += low <= value <= high
        golden = pd.DataFrame(rng.normal(size=(600, 6)), columns=COLUMNS)
        positive = golden["x0"].to_numpy() > 0
        release = release_attribution(new, old, golden, "regression", sources=SOURCES,
                                      segments={"x0>0": positive}, n_bootstrap=500, seed=r)
        segment = release.segments["x0>0"]
        for name, value in release_truth.items():
            low, high = segment.by_name[name].ci
            release_hits[name] += low <= value <= high
    seconds = time.perf_counter() - start
    total = sum(hits.values()) / (replications * len(hits))
    print(f"\ncoverage of 95% CIs over {replications} simulated data sets ({seconds:.0f} s; "
          f"Monte Carlo error ±{1.96 * np.sqrt(0.95 * 0.05 / replications):.3f} per player):")
    print("  full split (300 reference × 250 current rows, cross-source interaction): "
          + ", ".join(f"{n} {h / replications:.3f}" for n, h in hits.items()) + f"; all {total:.3f}")
    release_total = sum(release_hits.values()) / (replications * len(release_hits))
    print("  release segment x0>0 of 600 golden rows: "
          + ", ".join(f"{n} {h / replications:.3f}" for n, h in release_hits.items()) + f"; all {release_total:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--coverage", type=int, default=0, help="replications of the coverage simulation (0: skip)")
    parser.add_argument("--only", choices=["target", "scaling", "peer", "coverage"], default=None)
    args = parser.parse_args()
    if args.only in (None, "target"):
        bench_target(args.rows, args.repeats, args.resamples)
    if args.only in (None, "scaling"):
        bench_scaling(args.repeats, args.resamples)
    if args.only in (None, "peer"):
        bench_peer(args.rows)
    if args.coverage or args.only == "coverage":
        bench_coverage(args.coverage or 200)


if __name__ == "__main__":
    main()
