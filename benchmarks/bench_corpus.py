"""The calibration corpus as a table: healthy models must pass, planted faults must fail.

Real data sets shipped inside packages (see tests/corpus.py), each with a healthy
scenario and the planted faults. Healthy scenarios run through the real runner
(`readiness run`: papermill, kernels, HTML) with --cli, else through the package
API the notebooks call; faults run through the API.

    .venv/bin/python benchmarks/bench_corpus.py [--cli] [--only flights] [--healthy-only]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", action="store_true", help="run the healthy scenarios through `readiness run`")
    parser.add_argument("--only", action="append", help="data set(s) to run")
    parser.add_argument("--healthy-only", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="readiness-corpus-") as work:
        for name in args.only or corpus.DATASETS:
            prepared = corpus.prepare(name)
            scenario = corpus.healthy(prepared)
            rows.append(corpus.evaluate(scenario, Path(work) / name / "healthy", "cli" if args.cli else "api"))
            print(corpus.table(rows[-1:]).splitlines()[2], flush=True)
            if args.healthy_only:
                continue
            for kind in corpus.FAULTS:
                planted = corpus.fault(prepared, kind)
                if isinstance(planted, str):
                    rows.append(corpus.Row(name, kind, "n/a", {}, {}, {}, 0.0, planted))
                else:
                    rows.append(corpus.evaluate(planted, Path(work) / name / kind))
                print(corpus.table(rows[-1:]).splitlines()[2], flush=True)
    print()
    print(corpus.table(rows))
    print()
    print(corpus.figures(rows))
    print(f"\nCorpus: {len(rows)} rows in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
