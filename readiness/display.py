"""HTML for notebook outputs. Every string that may come from data is escaped here.

Styles are inline so sections look the same in JupyterLab and in the exported
report; no script is ever emitted.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def pill(status: str) -> str:
    fg, bg = STATUS_COLOURS.get(status, ("#24292f", "#ffffff"))
    return (f'<span style="color:{fg};background:{bg};border:1px solid {fg};border-radius:10px;'
            f'padding:0 8px;font-weight:600;font-size:12px">{esc(status.upper())}</span>')


def frame_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table (pandas escapes cells and headers)."""
    if frame.empty:
        return "<p><em>nothing to show</em></p>"
    styled = frame.to_html(index=False, escape=True, na_rep="–", border=0)
    styled = styled.replace('<table class="dataframe">', f'<table class="dataframe rd-table" style="{_TABLE_STYLE}">')
    if "status" in frame.columns:
        for status in STATUS_COLOURS:
            styled = styled.replace(f"<td>{status}</td>", f"<td>{pill(status)}</td>")
    return styled


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
    rank = {"error": 0, "fail": 1, "warn": 2, "skip": 3, "pass": 4}
    ordered = sorted(checks, key=lambda c: (rank[c.status], c.severity == "info"))
    open_checks = [c for c in ordered if c.status != "pass"]
    passing = [c for c in ordered if c.status == "pass"]
    parts = [_checks_table(open_checks)] if open_checks else []
    if passing:
        parts.append(f'<details class="rd-passing"><summary>{len(passing)} passing or informational check(s)</summary>'
                     f"{_checks_table(passing)}</details>")
    return "\n".join(parts)


@dataclass
class Section:
    """A block of the report: a status line, a note, tables and checks."""

    title: str
    checks: list = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # already-escaped HTML
    note: str = ""
    banner: str = ""

    @property
    def status(self) -> str:
        from readiness.results import worst_status

        return worst_status(c.status for c in self.checks) if self.checks else "pass"

    def _repr_html_(self) -> str:
        parts = []
        if self.banner:
            parts.append(self.banner)
        if self.checks:
            counts = {}
            for c in self.checks:
                counts[c.status] = counts.get(c.status, 0) + 1
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            parts.append(f'<p>{pill(self.status)} <strong>{esc(self.title)}</strong>: {esc(summary)}</p>')
        if self.note:
            parts.append(f'<p style="color:#57606a">{esc(self.note)}</p>')
        parts.extend(self.tables)
        parts.append(checks_html(self.checks))
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"<Section {self.title}: {self.status}, {len(self.checks)} checks>"

    @classmethod
    def verdict(cls, document: dict[str, Any]) -> "Section":
        status = document["status"]
        failing = [c for c in document["checks"] if c["status"] in ("fail", "error")]
        warning = [c for c in document["checks"] if c["status"] == "warn"]
        fg, bg = STATUS_COLOURS[status]
        lines = "".join(f"<li><code>{esc(c['id'])}</code>: {esc(c['message'])}</li>" for c in failing[:20])
        more = f"<li>… and {len(failing) - 20} more</li>" if len(failing) > 20 else ""
        banner = (f'<div style="border:2px solid {fg};background:{bg};padding:8px 12px;border-radius:6px">'
                  f'<strong style="color:{fg}">{esc(status.upper())}</strong>: {len(document["checks"])} checks, '
                  f'{len(failing)} failed or errored, {len(warning)} warnings'
                  f'{"<ul>" + lines + more + "</ul>" if failing else ""}</div>')
        return cls("Verdict", banner=banner)
