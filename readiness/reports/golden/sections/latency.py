"""Inference: single-row latency, batch throughput, artifact size and load time of the candidate.

Owns ``golden.latency.*`` and ``golden.artifact.size`` (the artifact's size is a cost of
serving it, shown beside the timings).

Examples
--------
>>> section = latency_section(core)  # doctest: +SKIP
>>> section.tables[0].to_dict()["rows"][0]  # doctest: +SKIP
['single-row latency p50', 0.412, 'ms', '200 calls of one row each']
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from readiness.display import Section, Table
from readiness.results import Check
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.core import GoldenCore

NAME = "latency"


def latency_section(core: "GoldenCore") -> Section:
    """Time the candidate after warm-up: single-row calls (p50, p95, the cold first call) and one batch call.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> import joblib, numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from readiness.reports.golden.benchmark import GoldenBenchmark
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> def churn(n):  # age and visits drive churn
    ...     age, visits = rng.normal(40, 10, n).round(), rng.poisson(3, n)
    ...     return pd.DataFrame({"age": age, "visits": visits, "region": rng.choice(["north", "south"], n),
    ...                          "churned": (rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 5 + visits - 3))).astype(int)})
    >>> train, golden = churn(300), churn(200)
    >>> golden.to_csv(folder / "golden.csv", index=False)
    >>> _ = joblib.dump(LogisticRegression().fit(train[["age", "visits"]], train["churned"]), folder / "candidate.joblib")
    >>> trust = {"sha256": [hashlib.sha256((folder / "candidate.joblib").read_bytes()).hexdigest()]}  # in-process
    >>> bench = GoldenBenchmark(str(folder / "candidate.joblib"), str(folder / "golden.csv"), "churned", trust=trust,
    ...                         settings={"latency": {"single_row_calls": 20, "max_p95_ms": 1000}})
    >>> section = latency_section(bench)  # timings differ from run to run and machine to machine
    >>> [(check.id, check.status) for check in section.checks]
    [('golden.latency.p95_ms', 'pass'), ('golden.latency.throughput', 'pass'), ('golden.artifact.size', 'pass')]
    >>> print(section.checks[0].message)
    p95 ... ms ≤ limit 1000 ms (p50 ... ms)
    >>> [row[0] for row in section.tables[0].to_dict()["rows"]]
    ['single-row latency p50', 'single-row latency p95', 'first (cold) single-row call', 'batch throughput',
     'artifact size', 'artifact load time']
    """
    settings = core.settings.latency
    predict = core.model.predict_proba if core.model.has_proba else core.model.predict
    rng = np.random.default_rng(core.settings.seed)
    rows = rng.integers(0, len(core.X), size=settings.single_row_calls)
    # warm-up: the first calls pay for lazy imports, caches and thread pools; time the first
    # one (the cold call) on its own, then warm up until a call costs no more than the one before
    start = time.perf_counter()
    predict(core.X.iloc[[0]])
    cold_ms = (time.perf_counter() - start) * 1000
    warm_ups, previous = 0, float("inf")
    while warm_ups < 20:
        start = time.perf_counter()
        predict(core.X.iloc[[warm_ups % len(core.X)]])
        took = time.perf_counter() - start
        warm_ups += 1
        if warm_ups >= 3 and took >= 0.9 * previous:
            break
        previous = took
    timings = core.model.single_call_seconds(core.X, rows)
    p50, p95 = np.quantile(timings * 1000, [0.5, 0.95])
    batch_s = core.candidate.batch_seconds
    if batch_s is None:  # the scores took several calls: time one batch call on its own
        start = time.perf_counter()
        predict(core.X)
        batch_s = time.perf_counter() - start
    throughput = len(core.X) / batch_s if batch_s > 0 else float("inf")
    checks = []
    if settings.max_p95_ms is None:
        checks.append(Check("golden.latency.p95_ms", "Single-row latency p95", "pass",
                            f"p50 {fmt(p50)} ms, p95 {fmt(p95)} ms over {len(rows)} warm single-row calls (the first, "
                            f"cold call took {fmt(cold_ms)} ms); no limit set",
                            severity="info", value=float(p95), details={"p50_ms": p50, "cold_ms": cold_ms}))
    else:
        ok = p95 <= settings.max_p95_ms
        checks.append(Check("golden.latency.p95_ms", "Single-row latency p95", "pass" if ok else "fail",
                            f"p95 {fmt(p95)} ms {'≤' if ok else '>'} limit {fmt(settings.max_p95_ms)} ms (p50 {fmt(p50)} ms)",
                            severity="major", value=float(p95), threshold={"max": settings.max_p95_ms}))
    if settings.min_rows_per_s is None:
        checks.append(Check("golden.latency.throughput", "Batch throughput", "pass",
                            f"{throughput:,.0f} rows/s predicting all {len(core.X):,} golden rows in one call; no limit set",
                            severity="info", value=float(throughput)))
    else:
        ok = throughput >= settings.min_rows_per_s
        checks.append(Check("golden.latency.throughput", "Batch throughput", "pass" if ok else "fail",
                            f"{throughput:,.0f} rows/s {'≥' if ok else '<'} minimum {settings.min_rows_per_s:,.0f} rows/s",
                            severity="major", value=float(throughput), threshold={"min": settings.min_rows_per_s}))
    info = core.model_info
    load_ms = (info.load_seconds or 0) * 1000
    checks.append(Check("golden.artifact.size", "Artifact size", "pass",
                        f"{info.size_bytes:,} bytes ({info.format}); loaded in {fmt(load_ms)} ms", severity="info",
                        value=info.size_bytes))
    where = ("where the model runs (its sandboxed worker, without the cost of sending rows to it)"
             if info.sandbox else "in this kernel")
    note = (f"Timed {where} on this machine after warm-up calls (the first, cold call is shown on its own); "
            "compare runs on the same hardware.")
    calls = f"{len(rows)} calls of one row each"
    table = Table([
        {"measure": "single-row latency p50", "value": p50, "unit": "ms", "how": calls},
        {"measure": "single-row latency p95", "value": p95, "unit": "ms", "how": calls},
        {"measure": "first (cold) single-row call", "value": cold_ms, "unit": "ms",
         "how": f"before {warm_ups} warm-up calls; lazy imports and caches"},
        {"measure": "batch throughput", "value": throughput, "unit": "rows/s", "how": f"one call on {len(core.X):,} rows"
         + (" (the scoring call, sending the rows to the worker included)" if info.sandbox else "")},
        {"measure": "artifact size", "value": info.size_bytes, "unit": "bytes", "how": info.format},
        {"measure": "artifact load time", "value": load_ms, "unit": "ms",
         "how": "starting the sandboxed worker included" if info.sandbox else "in this kernel"},
    ], name="inference", formats={"value": _with_unit}, hidden=("unit",))
    return Section("Inference", checks=checks, tables=[table], note=note, name=NAME)


def _with_unit(value, row) -> str:
    """A measure with its unit, as people read it: ``0.412 ms``, ``48,210 rows/s``, ``1,024 bytes``."""
    unit = row["unit"]
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "bytes":
        return f"{value:,} bytes"
    return f"{fmt(value)} {unit}"
