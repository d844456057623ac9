"""Robustness: upstream noise the model will meet, one column at a time — crash, change or unchanged?

Owns ``golden.robustness.*``: one finding per perturbation
(``golden.robustness.<perturbation>``) and one per rule from the config
(``golden.robustness.invariant[column]``, ``golden.robustness.direction[column]``).
The trials themselves run in :mod:`readiness.reports.golden.robustness`.

Examples
--------
>>> section = robustness_section(core)  # doctest: +SKIP
>>> section.tables[0].to_dict()["columns"]  # doctest: +SKIP
['column', 'perturbation', 'outcome', 'rows changed', '95% CI', 'error']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from readiness.config import ConfigError
from readiness.display import Section, Table, percent
from readiness.reports.golden.robustness import ALL_COLUMNS, OUTCOME_RANK, PERTURBATIONS, RobustnessResult, Trial
from readiness.results import Check

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.golden.core import GoldenCore

NAME = "robustness"


def robustness_trials(core: "GoldenCore") -> RobustnessResult:
    """Run every configured perturbation once on a seeded sample of golden rows (cached on ``core``).

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
    ...                         settings={"robustness": {"perturbations": ["noise", "nan", "out_of_range"]}})
    >>> result = robustness_trials(bench)
    >>> result.rows, [(trial.column, trial.perturbation, trial.outcome) for trial in result.trials][:4]
    (200, [('age', 'noise', 'changed'), ('visits', 'noise', 'changed'),
           ('age', 'nan', 'crash'), ('visits', 'nan', 'crash')])
    >>> robustness_trials(bench) is result  # run once per benchmark
    True
    """
    if getattr(core, "_robustness_result", None) is None:
        from readiness.artifacts.loading import Scorer
        from readiness.reports.golden.robustness import run_trials

        settings = core.settings.robustness
        for key, columns in (("invariant", settings.invariant), ("direction", list(settings.direction)),
                             ("optional_columns", settings.optional_columns)):
            unknown = [c for c in columns if c not in core.X.columns]
            if unknown:
                raise ConfigError(f"golden_benchmark.robustness.{key}: {', '.join(map(repr, unknown))} "
                                  f"not among the model's features ({', '.join(map(repr, list(core.X.columns)[:12]))})")
        for column in settings.direction:
            if not pd.api.types.is_numeric_dtype(core.X[column]):
                raise ConfigError(f"golden_benchmark.robustness.direction: {column!r} is not numeric; "
                                  "direction rules need a number to raise")
        rng = np.random.default_rng(core.settings.seed)
        rows = np.sort(rng.choice(len(core.X), min(settings.max_rows, len(core.X)), replace=False))
        core._robustness_result = run_trials(Scorer(core.model, core.task), core.X.iloc[rows], settings,
                                             core.settings.seed)
    return core._robustness_result


def robustness_section(core: "GoldenCore") -> Section:
    """One finding per perturbation and per configured rule, and every trial in a table.

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
    ...                         settings={"robustness": {"perturbations": ["noise", "nan", "out_of_range"]}})
    >>> section = robustness_section(bench)
    >>> for check in section.checks:
    ...     print(check.status, check.id)
    pass golden.robustness.noise
    warn golden.robustness.nan
    pass golden.robustness.out_of_range
    >>> section.tables[0].to_dict()["columns"]
    ['column', 'perturbation', 'outcome', 'rows changed', '95% CI', 'error']
    """
    settings = core.settings.robustness
    if not settings.enabled:
        return Section("Robustness", name=NAME, note="Disabled (golden_benchmark.robustness.enabled: false).")
    result = robustness_trials(core)
    checks, rows = [], []
    by_perturbation: dict[str, list] = {}
    for trial in result.trials:
        by_perturbation.setdefault(trial.perturbation, []).append(trial)
    for name, trials in by_perturbation.items():
        checks.append(perturbation_check(core, name, trials))
        for trial in trials:
            rows.append({"column": trial.column, "perturbation": PERTURBATIONS[name].title, "outcome": trial.outcome,
                         "rows changed": None if trial.outcome == "crash" else trial.share,
                         "95% CI": list(trial.ci) if trial.outcome == "changed" else None,
                         "error": trial.error})
    for rule in result.rules:
        checks.append(Check(f"golden.robustness.{rule['rule']}[{rule['column']}]",
                            f"{rule['rule']} rule on {rule['column']}", rule["status"], rule["message"],
                            severity="critical", value=rule.get("value"), ci=rule.get("ci")))
    # most rows changed first, as the table shows them (to 0.1%)
    rows.sort(key=lambda r: (OUTCOME_RANK[r["outcome"]],
                             -float(f"{r['rows changed']:.1%}".rstrip("%")) if r["rows changed"] is not None else 0))
    fragile = [f"{r['column']} ({r['outcome']} on {r['perturbation']})" for r in rows if r["outcome"] != "unchanged"][:5]
    note = (f"{result.rows:,} golden rows (seeded sample), one column at a time, scaled by the data: noise "
            f"± {settings.noise_iqr:g}·IQR, values one range beyond the golden min/max. A row counts as changed when "
            f"its class flips or its score moves more than {settings.tolerance:g}"
            + (" × std of the predictions" if core.task == "regression" else "")
            + f". {len(result.trials)} trials in {result.seconds:.1f} s, one finding per perturbation: a crash on "
            "input production will plausibly hold (missing values, new categories, reordered, extra or optional "
            "columns) warns; predictions that move when a feature is replaced are expected and shown. Most fragile: "
            + (", ".join(fragile) if fragile else "none") + ".")
    formats = {"rows changed": percent(1), "95% CI": _share_interval}
    return Section("Robustness", checks=checks, tables=[Table(rows, name="trials", formats=formats)] if rows else [],
                   note=note, name=NAME)


def perturbation_check(core: "GoldenCore", name: str, trials: list[Trial]) -> Check:
    """One finding per perturbation, over every column it was applied to.

    Actionable only: a crash on input the model will plausibly meet (warn; fail when the
    perturbation is listed in ``expected``), or changes beyond ``max_changed_share`` when the
    user declared one. Predictions that move when a feature is replaced are expected (the
    model uses its features) and are shown, not warned.

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
    ...                         settings={"robustness": {"perturbations": ["noise", "nan", "out_of_range"]}})
    >>> trials = [trial for trial in robustness_trials(bench).trials if trial.perturbation == "nan"]
    >>> check = perturbation_check(bench, "nan", trials)
    >>> check.id, check.status
    ('golden.robustness.nan', 'warn')
    >>> print(check.message)
    crash in 2 of 2 columns (age, visits): every value of the column missing → ValueError: Input X contains NaN.; the
    pipeline has no imputer ...
    """
    settings = core.settings.robustness
    perturbation = PERTURBATIONS[name]
    expected = name in settings.expected
    crashed = [t for t in trials if t.outcome == "crash"]
    changed = [t for t in trials if t.outcome == "changed"]
    limit = settings.max_changed_share
    beyond = [t for t in changed if limit is not None and t.share > limit]
    whole = trials[0].column == ALL_COLUMNS
    where = "" if whole else f" in {len(crashed)} of {len(trials)} column{'s' if len(trials) > 1 else ''}"

    def listing(items):
        names = [t.column for t in items]
        return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")

    details = {"perturbation": name, "expected": expected, "plausible": perturbation.plausible,
               "columns": {t.column: {"outcome": t.outcome, "share": t.share, "error": t.error} for t in trials}}
    check_id, title = f"golden.robustness.{name}", perturbation.title
    if crashed and name in ("shuffled_columns", "extra_column") and core.model.feature_names is not None:
        # scikit-learn refuses columns that differ from feature_names_in_ by design: a schema
        # check working, not a fragility; serving code selects the declared columns by name
        return Check(check_id, title, "pass",
                     f"refused: {perturbation.doc} → {crashed[0].error}; the model checks its input columns by name, "
                     "so serving code must pass exactly its feature_names_in_, in order", severity="info",
                     value=len(crashed), details=details)
    if crashed:
        errors = list(dict.fromkeys(t.error for t in crashed))
        cause = errors[0] + (f" (and {len(errors) - 1} other error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else "")
        hint = ""
        if name == "nan" and len(crashed) == len(trials) and len(trials) > 1:
            hint = "; the pipeline has no imputer (add one, e.g. SimpleImputer, or a model that accepts missing values)"
        elif name == "unseen_category":
            hint = "; the encoder rejects new categories (e.g. OneHotEncoder(handle_unknown='ignore'))"
        columns = "" if whole else f" ({listing(crashed)})"
        text = f"crash{where}{columns}: {perturbation.doc} → {cause}{hint}"
        if expected:
            return Check(check_id, title, "fail", text + "; listed in robustness.expected, so it fails",
                         severity="major", value=len(crashed), details=details)
        if perturbation.plausible:
            return Check(check_id, title, "warn", text + "; production data will plausibly hold this (list it in "
                         "robustness.expected to fail on it)", severity="major", value=len(crashed), details=details)
        return Check(check_id, title, "pass", text + "; shown, not warned: production input is unlikely to look like "
                     "this (list it in robustness.expected to fail on it)", severity="info", value=len(crashed),
                     details=details)
    if beyond:
        worst = max(beyond, key=lambda t: t.share)
        return Check(check_id, title, "warn",
                     f"changed beyond max_changed_share {limit:.0%} in {len(beyond)} of {len(trials)} column(s) "
                     f"({listing(beyond)}); most: {worst.column}, {worst.share:.1%} of predictions (95% CI "
                     f"{worst.ci[0]:.1%} to {worst.ci[1]:.1%}) beyond the tolerance {settings.tolerance:g}",
                     severity="major", value=worst.share, ci=list(worst.ci), details=details)
    if changed:
        worst = max(changed, key=lambda t: t.share)
        return Check(check_id, title, "pass",
                     f"no crash; predictions moved in {len(changed)} of {len(trials)} column(s), most in {worst.column} "
                     f"({worst.share:.1%} of rows): expected of a model that uses its features"
                     + ("" if limit is None else f", within max_changed_share {limit:.0%}")
                     + "; set robustness.max_changed_share to gate on it", severity="info", value=worst.share,
                     details=details)
    return Check(check_id, title, "pass", f"no crash and no prediction moved beyond the tolerance {settings.tolerance:g}"
                 + ("" if whole else f" in any of {len(trials)} column(s)"), severity="info", value=0.0, details=details)


def robustness_figure_data(core: "GoldenCore") -> dict[str, Any] | None:
    """The arguments of :func:`readiness.figures.golden.robustness_figure`; None when disabled.

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
    ...                         settings={"robustness": {"perturbations": ["noise", "nan", "out_of_range"]}})
    >>> data = robustness_figure_data(bench)
    >>> data["perturbations"], data["trials"][0]
    ({'noise': '± k·IQR noise', 'nan': 'NaN injected', 'out_of_range': 'beyond min/max'},
     {'column': 'age', 'perturbation': 'noise', 'outcome': 'changed', 'share': 0.095})
    """
    settings = core.settings.robustness
    if not settings.enabled:
        return None
    result = robustness_trials(core)
    return {"trials": [{"column": t.column, "perturbation": t.perturbation, "outcome": t.outcome, "share": t.share}
                       for t in result.trials],
            "perturbations": {name: PERTURBATIONS[name].title for name in settings.perturbations},
            "max_changed_share": settings.max_changed_share}


def _share_interval(value, row) -> str:
    return "" if value is None else f"{value[0]:.1%} to {value[1]:.1%}"
