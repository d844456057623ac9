"""Data quality shifts: missing values, unseen categories and out-of-range values, as signals of their own.

Owns ``drift.missing.<name>``, ``drift.unseen.<name>``, ``drift.range.<name>`` and
``drift.units.<name>`` (values that look like the reference's in other units). Each
share is judged beyond sampling noise (:func:`share_status`).

Examples
--------
>>> status, low = share_status(30, 1000, expected=0.0, warn_share=0.01, fail_share=0.25)
>>> status, round(float(low), 4)
('warn', 0.0198)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from readiness.display import Section, Table, percent
from readiness.reports.drift.core import PREDICTION
from readiness.results import Check
from readiness.stats.drift_scores import quality_shifts
from readiness.stats.gates import fmt

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.drift.core import DriftCore

NAME = "quality"
_Z99 = 2.3263  # one-sided 99% normal quantile


def quality_section(core: "DriftCore") -> Section:
    """Missing values, unseen categories and out-of-range values per column, each judged beyond sampling noise.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> train = pd.DataFrame({"height": rng.normal(170, 10, 500).round(1), "plan": rng.choice(["basic", "pro"], 500)})
    >>> today = pd.DataFrame({"height": (train["height"] / 2.54).round(1),  # the same people, in inches
    ...                       "plan": rng.choice(["basic", "pro", "trial"], 500)})  # a new plan
    >>> today.loc[:99, "plan"] = None  # and a fifth of the plans missing
    >>> train.to_csv(folder / "train.csv", index=False); today.to_csv(folder / "today.csv", index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> section = quality_section(core)
    >>> [(check.id, check.status) for check in section.checks]
    [('drift.missing.height', 'pass'), ('drift.range.height', 'fail'), ('drift.units.height', 'fail'),
     ('drift.missing.plan', 'warn'), ('drift.unseen.plan', 'fail')]
    >>> print(section.checks[3].message)
    missing 0.0% in reference, 20.0% now (change +20.0%, of which ±4.2% is sampling noise; ...)
    """
    checks, rows = [], []
    settings = core.settings
    for name, ref in core.reference.items():
        if name == PREDICTION or ref.kind == "skipped" or name not in core.current_columns:
            continue
        cur = core.current[name]
        shifts = quality_shifts(ref, cur)
        change = shifts["missing_current"] - shifts["missing_reference"]
        # the change beyond what sampling explains (99% one-sided, normal approximation)
        noise = _Z99 * np.sqrt(binomial_variance(shifts["missing_reference"], ref.n)
                               + binomial_variance(shifts["missing_current"], cur.n))
        beyond = max(abs(change) - noise, 0.0)
        status = "fail" if change > 0 and beyond >= settings.fail_share else (
            "warn" if beyond > settings.missing_change else "pass")
        checks.append(Check(f"drift.missing.{name}", f"Missing values in {name}", status,
                            f"missing {shifts['missing_reference']:.1%} in reference, {shifts['missing_current']:.1%} now "
                            f"(change {change:+.1%}, of which ±{noise:.1%} is sampling noise; warns when the change beyond "
                            f"noise exceeds ±{settings.missing_change:.0%}, fails when missing values rise by "
                            f"{settings.fail_share:.0%} or more)" + (": the feed of this column broke" if status == "fail" else ""),
                            severity="major", value=change, threshold={"max": settings.missing_change,
                                                                       "fail": settings.fail_share}))
        row = {"column": name, "missing (ref)": shifts["missing_reference"], "missing (now)": shifts["missing_current"]}
        if "unseen_share" in shifts:
            share, expected = shifts["unseen_share"], shifts["unseen_expected"]
            status, low = share_status(shifts["unseen_count"], cur.present, expected, settings.unseen_share,
                                        settings.fail_share)
            unseen = [c for c in unseen_examples(core, name)][:5]
            checks.append(Check(f"drift.unseen.{name}", f"Unseen categories in {name}", status,
                                f"{share:.2%} of current values are categories the reference never had"
                                + (f" (e.g. {', '.join(map(repr, unseen))})" if unseen else "")
                                + f"; at least {low:.2%} with 99% confidence, against {expected:.2%} expected from the "
                                f"reference's rare categories; warns above {settings.unseen_share:.0%}, fails at "
                                f"{settings.fail_share:.0%}" + (": a category was renamed or recoded upstream"
                                                               if status == "fail" else ""),
                                severity="major", value=share,
                                threshold={"max": settings.unseen_share, "fail": settings.fail_share}))
            row["unseen categories"] = share
        if "out_of_range_share" in shifts:
            share, expected = shifts["out_of_range_share"], shifts["out_of_range_expected"]
            status, low = share_status(shifts["out_of_range_count"], cur.present, expected,
                                        settings.out_of_range_share, settings.fail_share)
            checks.append(Check(f"drift.range.{name}", f"Values outside the reference range in {name}", status,
                                f"{share:.2%} of current values lie outside the reference range "
                                f"[{fmt(ref.ref_minimum)}, {fmt(ref.ref_maximum)}] (now {fmt(cur.minimum)} to "
                                f"{fmt(cur.maximum)}); at least {low:.2%} with 99% confidence, against {expected:.2%} "
                                f"expected by chance; warns above {settings.out_of_range_share:.0%}, fails at "
                                f"{settings.fail_share:.0%}" + (": other units or a changed encoding upstream?"
                                                               if status == "fail" else ""),
                                severity="major", value=share,
                                threshold={"max": settings.out_of_range_share, "fail": settings.fail_share}))
            row["outside range"] = share
            units = units_check(core, name)
            if units is not None:
                checks.append(units)
                row["looks rescaled"] = units.value if units.status == "fail" else None
        rows.append(row)
    formats = {"missing (ref)": percent(1), "missing (now)": percent(1), "unseen categories": percent(2),
               "outside range": percent(2), "looks rescaled": _factor}
    return Section("Data quality shifts", checks=checks, name=NAME,
                   tables=[Table(rows, name="quality_shifts", formats=formats)] if rows else [],
                   note="Missing values, unseen categories and out-of-range values are signals of their own; "
                        "they are never silently dropped. Each is judged beyond sampling noise: a share warns when "
                        "its 99% lower confidence bound exceeds the warning level plus what chance explains, and "
                        f"fails at {settings.fail_share:.0%} of the rows (the column no longer carries what the model learned).")


#: Smallest rescaling called "other units": unit conversions are ×1.6 (miles) or more
#: (pounds 2.2, inches 2.54, percent 100, grams 1000); a population rarely moves
#: its median and its spread by the same factor that large.
UNITS_FACTOR = 1.5


def units_check(core: "DriftCore", name: str) -> Check | None:
    """Current values that look like the reference's in other units: median and inter-quartile
    range scaled by the same factor k (≥ 1.5 or ≤ 1/1.5), and current / k distributed like the
    reference (KS within sampling noise) although current itself is not.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> train = pd.DataFrame({"height": rng.normal(170, 10, 500).round(1), "plan": rng.choice(["basic", "pro"], 500)})
    >>> today = pd.DataFrame({"height": (train["height"] / 2.54).round(1),  # the same people, in inches
    ...                       "plan": rng.choice(["basic", "pro", "trial"], 500)})  # a new plan
    >>> today.loc[:99, "plan"] = None  # and a fifth of the plans missing
    >>> train.to_csv(folder / "train.csv", index=False); today.to_csv(folder / "today.csv", index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> check = units_check(core, "height")
    >>> check.status, round(check.value, 3)
    ('fail', 0.392)
    >>> print(check.message)
    the current values look like the reference's × 0.3921: median ×0.3935, inter-quartile range ×0.3906; ...
    """
    reference_rows = core.reference_rows()
    if reference_rows is None or name not in core.sample.columns:
        return None
    ref = pd.to_numeric(reference_rows[name], errors="coerce").to_numpy(float)
    cur = pd.to_numeric(core.sample[name], errors="coerce").to_numpy(float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size < 20 or cur.size < 20:
        return None
    (r25, r50, r75), (c25, c50, c75) = np.quantile(ref, [0.25, 0.5, 0.75]), np.quantile(cur, [0.25, 0.5, 0.75])
    title = f"Units of {name}"
    if r50 == 0 or c50 == 0 or np.sign(r50) != np.sign(c50) or r75 <= r25 or c75 <= c25:
        return Check(f"drift.units.{name}", title, "pass", "not judged: the median is 0 or changed sign",
                     severity="info")
    by_median, by_spread = c50 / r50, (c75 - c25) / (r75 - r25)
    factor = float(np.sqrt(by_median * by_spread))
    consistent = abs(np.log(by_median / by_spread)) <= np.log(1.15)
    from scipy.stats import ks_2samp

    noise = 1.63 * np.sqrt(1 / ref.size + 1 / cur.size)  # KS at 99% for two samples
    rescaled = float(ks_2samp(cur / factor, ref).statistic)
    as_is = float(ks_2samp(cur, ref).statistic)
    other_units = (consistent and abs(np.log(factor)) >= np.log(UNITS_FACTOR)
                   and rescaled <= max(noise, 0.1) and as_is > 3 * rescaled)
    detail = (f"median ×{fmt(by_median)}, inter-quartile range ×{fmt(by_spread)}; current ÷ {fmt(factor)} vs reference: "
              f"KS {fmt(rescaled)} (as is: {fmt(as_is)})")
    if other_units:
        return Check(f"drift.units.{name}", title, "fail",
                     f"the current values look like the reference's × {fmt(factor)}: {detail}. Other units upstream "
                     "(e.g. miles and km, pounds and kg, percent and fraction)? The model would read them as the old units",
                     severity="critical", value=factor, details={"factor": factor, "ks_rescaled": rescaled,
                                                                 "ks": as_is})
    return Check(f"drift.units.{name}", title, "pass", f"no sign of other units ({detail})", severity="info",
                 value=factor)


def unseen_examples(core: "DriftCore", name: str) -> list[str]:
    """The most frequent unseen categories in the current sample (for the message).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder, rng = Path(tempfile.mkdtemp()), np.random.default_rng(0)
    >>> train = pd.DataFrame({"height": rng.normal(170, 10, 500).round(1), "plan": rng.choice(["basic", "pro"], 500)})
    >>> today = pd.DataFrame({"height": (train["height"] / 2.54).round(1),  # the same people, in inches
    ...                       "plan": rng.choice(["basic", "pro", "trial"], 500)})  # a new plan
    >>> today.loc[:99, "plan"] = None  # and a fifth of the plans missing
    >>> train.to_csv(folder / "train.csv", index=False); today.to_csv(folder / "today.csv", index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"))
    >>> unseen_examples(core, "plan")
    ['trial']
    """
    if name not in core.sample.columns:
        return []
    ref = core.reference[name]
    known = set(ref.categories[:-2]) | set(ref.rare)
    values = core.sample[name].dropna().astype(str)
    counts = values[~values.isin(known)].value_counts()
    return [str(v) for v in counts.index[:5]]


def binomial_variance(share: float, n: int) -> float:
    """Variance of a share estimated on ``n`` rows (0 when unknown).

    Examples
    --------
    >>> binomial_variance(0.5, 100), binomial_variance(0.5, 0)  # a share of 50% on 100 rows: ± 0.05 (sd)
    (0.0025, 0.0)
    """
    return share * (1 - share) / n if n and np.isfinite(share) else 0.0


def share_status(count: int, n: int, expected: float, warn_share: float, fail_share: float) -> tuple[str, float]:
    """warn / fail when the 99% lower confidence bound of a share (Wilson) exceeds the level plus
    what chance explains; returns the status and that lower bound.

    Examples
    --------
    >>> status, low = share_status(30, 1000, expected=0.0, warn_share=0.01, fail_share=0.25)  # 3% unseen values
    >>> status, round(float(low), 4)
    ('warn', 0.0198)
    >>> share_status(5, 1000, expected=0.0, warn_share=0.01, fail_share=0.25)[0]  # 0.5%: within the warning level
    'pass'
    >>> share_status(300, 1000, expected=0.0, warn_share=0.01, fail_share=0.25)[0]  # 30%: the column broke
    'fail'
    """
    if n <= 0:
        return "pass", 0.0
    p = count / n
    centre = (p + _Z99**2 / (2 * n)) / (1 + _Z99**2 / n)
    half = _Z99 * np.sqrt(p * (1 - p) / n + _Z99**2 / (4 * n * n)) / (1 + _Z99**2 / n)
    low = max(centre - half, 0.0)
    if low >= fail_share + expected:
        return "fail", low
    if low > warn_share + expected:
        return "warn", low
    return "pass", low


def _factor(value, row) -> str:
    return "" if value is None else f"×{fmt(value)}"
