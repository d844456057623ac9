"""Report sections as data, rendered to HTML only when shown.

A section method of a report returns a :class:`Section`: its checks, its tables
(:class:`Table`: rows of raw values, with a formatter per column) and a note.
The same object renders itself in the notebook (``_repr_html_``) and becomes
part of the results JSON (``to_dict``), so the JSON carries every table the HTML
shows, with numbers as numbers.

Every string that may come from data is escaped here, at the moment it becomes
HTML. Styles are inline so sections look the same in JupyterLab and in the
exported report; no script is ever emitted.

Examples
--------
>>> table = Table([{"metric": "ROC AUC", "candidate": 0.91234}], name="metrics",
...               formats={"candidate": number()})
>>> table.to_dict()["rows"]
[['ROC AUC', 0.91234]]
>>> "<td>0.9123</td>" in table._repr_html_()
True
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from readiness.results import STATUS_RANK, is_failing
from readiness.stats.gates import fmt

STATUS_COLOURS = {
    "pass": ("#1a7f37", "#dafbe1"),
    "warn": ("#9a6700", "#fff8c5"),
    "fail": ("#cf222e", "#ffebe9"),
    "error": ("#8250df", "#fbefff"),
    "skip": ("#57606a", "#f6f8fa"),
}
_TABLE_STYLE = "border-collapse:collapse;font-size:13px;margin:6px 0 12px 0"
_CELL = "border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top"

#: Turns one raw cell into the text shown: ``format(value, row) -> str``.
Format = Callable[[Any, Mapping[str, Any]], str]


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included).

    Examples
    --------
    >>> esc('<b class="x">')
    '&lt;b class=&quot;x&quot;&gt;'
    """
    return html.escape(str(value), quote=True)


def pill(status: str) -> str:
    fg, bg = STATUS_COLOURS.get(status, ("#24292f", "#ffffff"))
    return (f'<span style="color:{fg};background:{bg};border:1px solid {fg};border-radius:10px;'
            f'padding:0 8px;font-weight:600;font-size:12px">{esc(status.upper())}</span>')


def frame_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table (pandas escapes cells and headers).

    Examples
    --------
    >>> "&lt;script&gt;" in frame_html(pd.DataFrame({"x": ["<script>"]}))
    True
    """
    if frame.empty:
        return "<p><em>nothing to show</em></p>"
    styled = frame.to_html(index=False, escape=True, na_rep="–", border=0)
    styled = styled.replace('<table class="dataframe">', f'<table class="dataframe rd-table" style="{_TABLE_STYLE}">')
    if "status" in frame.columns:
        for status in STATUS_COLOURS:
            styled = styled.replace(f"<td>{status}</td>", f"<td>{pill(status)}</td>")
    return styled


# --------------------------------------------------------------------------- cell formats


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are values, not missing
        return False


def number(missing: str = "n/a", digits: int = 4) -> Format:
    """Four significant digits (:func:`readiness.stats.gates.fmt`); ``missing`` for None or NaN.

    Examples
    --------
    >>> number()(0.912345, {}), number(missing="–")(None, {})
    ('0.9123', '–')
    """
    def show(value, row):
        return missing if _missing(value) else fmt(float(value), digits)
    return show


def interval(missing: str = "n/a") -> Format:
    """A ``[low, high]`` pair as ``low to high``; ``missing`` for None, ``n/a`` for an undefined bound.

    Examples
    --------
    >>> interval()([0.81, 0.852], {}), interval(missing="–")(None, {}), interval("–")([None, None], {})
    ('0.8100 to 0.8520', '–', 'n/a')
    """
    def show(value, row):
        if value is None:
            return missing
        if _missing(value[0]):
            return "n/a"
        return f"{fmt(float(value[0]))} to {fmt(float(value[1]))}"
    return show


def percent(digits: int = 1, missing: str = "") -> Format:
    """A share in [0, 1] as a percentage; ``missing`` for None.

    Examples
    --------
    >>> percent()(0.0512, {}), percent(2)(0.0512, {}), percent()(None, {})
    ('5.1%', '5.12%', '')
    """
    def show(value, row):
        return missing if _missing(value) else f"{float(value):.{digits}%}"
    return show


def format_spec(spec: str, missing: str = "") -> Format:
    """Python's ``format(value, spec)``: ``format_spec("g")``, ``format_spec(",")``.

    Examples
    --------
    >>> format_spec("g")(0.5, {}), format_spec(",")(12345, {})
    ('0.5', '12,345')
    """
    def show(value, row):
        return missing if _missing(value) else format(value, spec)
    return show


# --------------------------------------------------------------------------- tables


def json_value(value: Any) -> Any:
    """A cell as plain JSON: numbers stay numbers, missing becomes None, times ISO 8601, other objects text.

    Examples
    --------
    >>> json_value(np.float64("nan")), json_value(np.int64(3)), json_value(pd.Timestamp("2024-01-02"))
    (None, 3, '2024-01-02T00:00:00')
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if _missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


class Table:
    """One table of a section: rows of raw values, formatted only when shown.

    Parameters
    ----------
    rows : list of dict or pandas.DataFrame
        One mapping per row (column → raw value). The columns are the keys in the
        order they first appear, as ``pandas.DataFrame(rows)`` orders them.
    name : str
        The table's key in the results JSON (``metrics``, ``most_changed_rows``).
    title : str, optional
        A heading shown above the table.
    formats : dict, optional
        Column → :data:`Format` turning a raw value into the text shown. Text values
        are shown as they are whatever the format (a reason in a column of numbers).
    hidden : tuple of str, optional
        Columns kept in the JSON but not shown (e.g. the unit a format appends).
    fold_after : int, optional
        Longer tables are shown folded in a ``<details>`` block (a row per chunk
        of a long log; the figures show the same over time). The JSON has every row.

    Examples
    --------
    >>> t = Table([{"column": "age", "missing": 0.05}], name="quality", formats={"missing": percent()})
    >>> t.columns, t.to_dict()["rows"]
    (['column', 'missing'], [['age', 0.05]])
    >>> "<td>5.0%</td>" in t._repr_html_()
    True
    """

    def __init__(self, rows: list[dict[str, Any]] | pd.DataFrame, name: str = "", title: str = "",
                 formats: dict[str, Format] | None = None, hidden: tuple[str, ...] = (),
                 fold_after: int | None = None):
        self._frame = None
        if isinstance(rows, pd.DataFrame):
            self._frame = rows
            self.columns = [str(c) for c in rows.columns]
            rows = [dict(zip(self.columns, values)) for values in rows.itertuples(index=False, name=None)]
        else:
            self.columns = list(dict.fromkeys(key for row in rows for key in row))
        self.rows: list[dict[str, Any]] = list(rows)
        self.name, self.title = name, title
        self.formats = dict(formats or {})
        self.hidden = tuple(hidden)
        self.fold_after = fold_after

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<Table {self.name or self.title}: {len(self.rows)} rows × {len(self.columns)} columns>"

    def shown_frame(self) -> pd.DataFrame:
        """The table as shown: formatted text where a column has a format, hidden columns left out."""
        if self._frame is not None and not self.formats and not self.hidden:
            return self._frame
        shown = [c for c in self.columns if c not in self.hidden]
        records = []
        for row in self.rows:
            record = {}
            for column, value in row.items():
                if column in self.hidden:
                    continue
                formatter = self.formats.get(column)
                record[column] = value if formatter is None or isinstance(value, str) else formatter(value, row)
            records.append(record)
        return pd.DataFrame(records, columns=shown)

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON data: ``name``, ``title``, ``columns`` and ``rows`` (lists aligned with the columns)."""
        return {"name": self.name, "title": self.title, "columns": list(self.columns),
                "rows": [[json_value(row.get(column)) for column in self.columns] for row in self.rows]}

    def _repr_html_(self) -> str:
        heading = f"<h4>{esc(self.title)}</h4>" if self.title else ""
        table = frame_html(self.shown_frame())
        if self.fold_after is not None and len(self.rows) > self.fold_after:
            label = esc(self.title or self.name.replace("_", " "))
            return f"<details><summary>{label}: {len(self.rows):,} rows</summary>{table}</details>"
        return heading + table


# --------------------------------------------------------------------------- checks


def _checks_table(checks) -> str:
    head = "".join(f'<th style="{_CELL};background:#f6f8fa">{h}</th>' for h in ("Status", "Check", "Value", "Message"))
    body = []
    for c in checks:
        value = "" if c.value is None else esc(fmt(float(c.value)))
        if c.ci:
            value += f"<br><small>CI {esc(fmt(c.ci[0]))} to {esc(fmt(c.ci[1]))}</small>"
        body.append(
            f'<tr><td style="{_CELL}">{pill(c.status)}</td>'
            f'<td style="{_CELL}"><code>{esc(c.id)}</code><br><small>{esc(c.title)} · {esc(c.severity)}</small></td>'
            f'<td style="{_CELL}">{value}</td><td style="{_CELL}">{esc(c.message)}</td></tr>'
        )
    return f'<table class="rd-checks" style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def checks_html(checks) -> str:
    """Checks worst first; passing ones folded into a <details> block (no script needed)."""
    if not checks:
        return ""
    ordered = sorted(checks, key=lambda c: (-STATUS_RANK[c.status], c.severity == "info"))
    open_checks = [c for c in ordered if c.status != "pass"]
    passing = [c for c in ordered if c.status == "pass"]
    parts = [_checks_table(open_checks)] if open_checks else []
    if passing:
        parts.append(f'<details class="rd-passing"><summary>{len(passing)} passing or informational check(s)</summary>'
                     f"{_checks_table(passing)}</details>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- sections


@dataclass
class Section:
    """A block of the report: a status line, a note, tables and checks, as data.

    Parameters
    ----------
    title : str
        The heading of the section's status line.
    checks : list of Check
        The checks it decided.
    tables : list of Table
        Its tables (a DataFrame is taken as a table without formats).
    note : str
        A sentence on how to read it.
    name : str
        Its name in the report's registry entry and in the results JSON (``metrics``).
    verdict : dict, optional
        Set on the verdict block only: status and failing checks of the whole report.

    Examples
    --------
    >>> from readiness.results import Check
    >>> s = Section("Metrics", [Check("golden.metric.roc_auc", "ROC AUC", "pass", "0.91")], name="metrics")
    >>> s.status, s.to_dict()["checks"]
    ('pass', ['golden.metric.roc_auc'])
    """

    title: str
    checks: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    note: str = ""
    name: str = ""
    verdict: dict[str, Any] | None = None

    def __post_init__(self):
        self.tables = [t if isinstance(t, Table) else Table(t) for t in self.tables]

    @property
    def status(self) -> str:
        from readiness.results import worst_status

        return worst_status(c.status for c in self.checks) if self.checks else "pass"

    def to_dict(self) -> dict[str, Any]:
        """The section as JSON data (``status`` is None when it decides no check)."""
        return {"name": self.name, "title": self.title, "status": self.status if self.checks else None,
                "note": self.note, "checks": [c.id for c in self.checks],
                "tables": [t.to_dict() for t in self.tables]}

    def _repr_html_(self) -> str:
        parts = []
        if self.verdict is not None:
            parts.append(_verdict_html(self.verdict))
        if self.checks:
            counts = {}
            for c in self.checks:
                counts[c.status] = counts.get(c.status, 0) + 1
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            parts.append(f'<p>{pill(self.status)} <strong>{esc(self.title)}</strong>: {esc(summary)}</p>')
        if self.note:
            parts.append(f'<p style="color:#57606a">{esc(self.note)}</p>')
        parts.extend(t._repr_html_() for t in self.tables)
        parts.append(checks_html(self.checks))
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"<Section {self.title}: {self.status}, {len(self.checks)} checks>"

    @classmethod
    def verdict_of(cls, document: dict[str, Any]) -> "Section":
        """The verdict block of a results document: its status and what failed."""
        checks = document["checks"]
        return cls("Verdict", verdict={
            "status": document["status"], "checks": len(checks),
            "failing": [{"id": c["id"], "message": c["message"]} for c in checks if c["status"] in ("fail", "error")],
            "warnings": sum(c["status"] == "warn" for c in checks)})



def _verdict_html(verdict: dict[str, Any]) -> str:
    status, failing = verdict["status"], verdict["failing"]
    fg, bg = STATUS_COLOURS[status]
    lines = "".join(f"<li><code>{esc(c['id'])}</code>: {esc(c['message'])}</li>" for c in failing[:20])
    more = f"<li>… and {len(failing) - 20} more</li>" if len(failing) > 20 else ""
    return (f'<div style="border:2px solid {fg};background:{bg};padding:8px 12px;border-radius:6px">'
            f'<strong style="color:{fg}">{esc(status.upper())}</strong>: {verdict["checks"]} checks, '
            f'{len(failing)} failed or errored, {verdict["warnings"]} warnings'
            f'{"<ul>" + lines + more + "</ul>" if failing else ""}</div>')
