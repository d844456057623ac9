"""Demo scenario (6,000 golden rows): change-gate decisions with the bootstrap (as before) vs ci_method auto.

    .venv/bin/python benchmarks/compare_ci_methods.py SCENARIO_FOLDER [ROWS]

SCENARIO_FOLDER holds the demo models (readiness.demo.build_scenario); the golden rows are drawn as the demo draws them.
"""
import sys
import numpy as np
import skops.io
from readiness.demo import make_customers, CANDIDATE_FEATURES, PRODUCTION_FEATURES, TARGET
from readiness.artifacts.loading import ModelAdapter
from readiness.reports.golden.benchmark import model_outputs
from readiness.config import GoldenBenchmarkConfig
from readiness.stats.intervals import Statistic, estimate_intervals
from readiness.stats.gates import change_decision
from readiness.stats.metrics import METRICS
folder = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
golden = make_customers(rows, 8)


def load(name):
    path = f"{folder}/{name}.skops"
    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))



y = golden[TARGET].to_numpy()
cand = model_outputs(ModelAdapter(load("candidate"), "candidate"), golden[CANDIDATE_FEATURES], y, "binary", 0.5)
base = model_outputs(ModelAdapter(load("production"), "baseline"), golden[PRODUCTION_FEATURES], y, "binary", 0.5)
settings = GoldenBenchmarkConfig.model_validate({"metrics": {"roc_auc": {"min": 0.70, "max_regression": 0.01},
    "average_precision": {"max_regression": 0.02}, "log_loss": {"max_relative_regression": 0.05}}})
thresholds = settings.thresholds_for("binary")
stats, sets = [], [("", None)]
for col in ["region", "plan"]:
    for v in sorted(golden[col].unique()):
        sets.append((f"[{col}={v}]", np.flatnonzero(golden[col].to_numpy() == v)))
for suffix, idx in sets:
    for name in thresholds:
        for role, out in (("candidate", cand), ("baseline", base)):
            stats.append(Statistic(f"{role}:{name}{suffix}", METRICS[name], out.data, idx, group=suffix))
same = total = 0
results = {}
for method in ("bootstrap", "auto"):
    found = estimate_intervals(len(y), stats, 1000, 0, 0.95, method)
    for suffix, idx in sets:
        for name, th in thresholds.items():
            m = METRICS[name]
            d = cand.data if idx is None else cand.data.subset(idx)
            b = base.data if idx is None else base.data.subset(idx)
            vc, vb = m(np.ones(len(d.y)), d)[0], m(np.ones(len(b.y)), b)[0]
            delta = found.difference(f"candidate:{name}{suffix}", f"baseline:{name}{suffix}")
            dec = change_decision(m, vc, vb, delta, th)
            results.setdefault((name, suffix), []).append((dec.status if dec else None, delta.low, delta.high, found.method_of(f"candidate:{name}{suffix}")))
for k, (a, b) in results.items():
    total += 1
    same += a[0] == b[0]
    print(f"{k[0]:<18} {k[1]:<18} bootstrap {a[0]:<5} [{a[1]:+.4f}, {a[2]:+.4f}]   auto/{b[3]:<9} {b[0]:<5} [{b[1]:+.4f}, {b[2]:+.4f}]")
print(f"same decision: {same} of {total}")
