"""Schema: the current data's columns and types against the reference's, and each column's kind.

Owns ``drift.schema.*``: ``missing[column]``, ``new[column]``, ``dtype[column]``, the
label column absent as production data usually is (``target``), and the all-clear
checks ``columns`` and ``dtypes``.

Examples
--------
>>> [c.id for c in schema_section(core).checks]  # doctest: +SKIP
['drift.schema.columns', 'drift.schema.dtypes']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readiness.display import Section, Table
from readiness.reports.drift.core import PREDICTION
from readiness.results import Check

if TYPE_CHECKING:  # pragma: no cover
    from readiness.reports.drift.core import DriftCore

NAME = "schema"


def schema_section(core: "DriftCore") -> Section:
    """Columns missing or new in the current data, type changes, and each column's kind with the reason.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from readiness.reports.drift.core import DriftCore
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"age": [31.0, 45.0, 28.0, 52.0], "plan": ["basic", "pro", "pro", "basic"],
    ...               "churned": [0, 1, 0, 1]}).to_csv(folder / "train.csv", index=False)
    >>> pd.DataFrame({"age": ["thirty", "41", "n/a", "60"],  # text now, plan gone, a new column
    ...               "channel": ["web", "shop", "web", "web"]}).to_csv(folder / "today.csv", index=False)
    >>> core = DriftCore(str(folder / "train.csv"), str(folder / "today.csv"), target="churned",
    ...                  settings={"thresholds": "default"})
    >>> for check in schema_section(core).checks:
    ...     print(check.status, check.id)
    fail drift.schema.missing[plan]
    skip drift.schema.target
    warn drift.schema.new[channel]
    fail drift.schema.dtype[age]
    """
    checks = []
    reference_columns = [c for c in core.reference if c != PREDICTION]
    label_absent = bool(core.target) and core.target in core.reference and core.target not in core.current_columns
    for name in reference_columns:
        if name == core.target and label_absent:
            # production data rarely has labels yet: normal, not a broken schema
            checks.append(Check("drift.schema.target", f"Label column {name}", "skip",
                                f"the label column {name!r} is not in the current data, as usual for production data; "
                                "target drift is checked when current data has labels", severity="info"))
        elif name not in core.current_columns:
            checks.append(Check(f"drift.schema.missing[{name}]", f"Column {name} missing", "fail",
                                f"column {name!r} is in the reference but not in the current data", severity="critical"))
    for name in core.current_columns:
        if name not in core.reference:
            checks.append(Check(f"drift.schema.new[{name}]", f"New column {name}", "warn",
                                f"column {name!r} is new in the current data (not in the reference)", severity="minor"))
    if not [c for c in checks if c.status != "skip"]:
        present = len(reference_columns) - label_absent
        checks.append(Check("drift.schema.columns", "Same columns", "pass",
                            f"all {present} reference columns are present"
                            + (f" (the label {core.target!r} aside)" if label_absent else "") + "; no new columns",
                            severity="critical"))
    kinds, changed = [], []
    for name in reference_columns:
        ref = core.reference[name]
        now = " / ".join(sorted(core.current_families.get(name, set()))) or "—"
        kinds.append({"column": name, "kind": ref.kind, "why": ref.reason, "reference type": ref.dtype_family or "—",
                      "current type": now})
        if ref.dtype_family and name in core.current_families and core.current_families[name] != {ref.dtype_family}:
            changed.append(name)
            checks.append(Check(f"drift.schema.dtype[{name}]", f"Type of {name} changed", "fail",
                                f"column {name!r} holds {now} now but {ref.dtype_family} in the reference: the model "
                                f"would see a different type; fix the export or the parsing of {name!r}",
                                severity="critical", details={"reference": ref.dtype_family, "current": now}))
    if not changed and any(ref.dtype_family for ref in core.reference.values()):
        checks.append(Check("drift.schema.dtypes", "Same column types", "pass",
                            "every column present in both holds the same type (number, boolean, datetime or text)",
                            severity="critical"))
    return Section("Schema and column kinds", checks=checks, name=NAME,
                   tables=[Table(kinds, name="column_kinds")],
                   note="Kinds are inferred from the reference only (override with drift.kinds in readiness.yaml).")
