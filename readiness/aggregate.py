"""Run-level outputs built from the results JSON files: summary, index, JUnit, Markdown.

Everything here reads only ``<report>.json`` documents, so ``readiness summary DIR``
can rebuild the outputs of any run folder.

* ``summary.json`` — every report's status, counts, failing and warning checks;
* ``index.html`` — one self-contained page for reviewers: verdict, each report's
  failing and warning checks with value, threshold and message, links;
* ``junit.xml`` — one testsuite per report, one testcase per check. A failed
  check is a ``<failure>`` (GitLab and GitHub reporters show it as failed), an
  errored check an ``<error>``, a skipped one ``<skipped>``; a warning passes with
  ``system-out`` starting ``WARN:`` (JUnit has no warning state);
* ``summary.md`` — GitHub-flavoured Markdown for a merge-request comment or a job
  summary, at most 64 KB.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from readiness.exceptions import InputError
from readiness.gates import fmt
from readiness.results import SCHEMA, now_iso, worst_status, write_json

REPORT_TITLES = {"golden_benchmark": "Golden benchmark", "drift_report": "Drift report",
                 "workflow_risk_checklist": "Workflow risk checklist"}
MARKDOWN_LIMIT = 64 * 1024
STATUS_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥", "skip": "⏭️"}
RUN_FILES = ("summary.json", "index.html", "junit.xml", "summary.md")


def load_results(folder: str | Path) -> list[dict[str, Any]]:
    """The results documents (schema readiness/1) of a run folder, in report order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; give the output folder of `readiness run`")
    documents = []
    for path in sorted(folder.glob("*.json")):
        if path.name == "summary.json":
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not valid JSON ({exc}); re-run `readiness run`") from None
        if isinstance(doc, dict) and doc.get("schema") == SCHEMA and "report" in doc:
            doc.setdefault("files", _files_for(folder, doc["report"]))
            documents.append(doc)
    if not documents:
        raise InputError(f"{folder}: holds no readiness results (*.json with schema {SCHEMA}); run `readiness run` first")
    order = list(REPORT_TITLES)
    return sorted(documents, key=lambda d: (order.index(d["report"]) if d["report"] in order else len(order), d["report"]))


def _files_for(folder: Path, report: str) -> dict[str, str]:
    files = {"json": f"{report}.json"}
    for kind, suffix in (("html", ".html"), ("notebook", ".ipynb")):
        if (folder / f"{report}{suffix}").is_file():
            files[kind] = f"{report}{suffix}"
    return files


def _counts(checks: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for check in checks:
        counts[check["status"]] = counts.get(check["status"], 0) + 1
    return counts


def summary_document(documents: list[dict[str, Any]]) -> dict[str, Any]:
    reports = []
    for doc in documents:
        checks = doc.get("checks", [])
        entry = {
            "report": doc["report"], "status": doc["status"], "duration_s": doc.get("duration_s"),
            "files": doc.get("files", {}), "counts": _counts(checks),
            "failing": [c["id"] for c in checks if c["status"] in ("fail", "error")],
            "warning": [c["id"] for c in checks if c["status"] == "warn"],
        }
        if doc.get("error"):
            entry["error"] = doc["error"]
        reports.append(entry)
    return {"schema": SCHEMA, "created_at": now_iso(), "status": worst_status(d["status"] for d in documents),
            "reports": reports}


# --------------------------------------------------------------------------- JUnit


def _check_text(check: dict) -> str:
    parts = [check.get("message", "")]
    if check.get("value") is not None:
        parts.append(f"value: {fmt(check['value'])}")
    if check.get("ci"):
        parts.append(f"CI: {fmt(check['ci'][0])} to {fmt(check['ci'][1])}")
    if check.get("threshold"):
        parts.append("threshold: " + ", ".join(f"{k} {fmt(v) if isinstance(v, (int, float)) else v}"
                                               for k, v in check["threshold"].items()))
    parts.append(f"severity: {check.get('severity', 'major')}")
    return "\n".join(p for p in parts if p)


def junit_xml(documents: list[dict[str, Any]]) -> bytes:
    """JUnit XML in the dialect GitLab and the common GitHub reporters parse."""
    root = ET.Element("testsuites", name="readiness")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for doc in documents:
        checks = doc.get("checks", [])
        duration = float(doc.get("duration_s") or 0.0)
        if doc.get("error"):  # the notebook itself failed: one errored testcase says why
            checks = checks + [{"id": f"{doc['report']}.run", "status": "error", "message": doc["error"],
                                "title": "report run"}]
        counts = _counts(checks)
        suite = ET.SubElement(root, "testsuite", name=doc["report"], tests=str(len(checks)),
                              failures=str(counts.get("fail", 0)), errors=str(counts.get("error", 0)),
                              skipped=str(counts.get("skip", 0)), time=f"{duration:.3f}",
                              timestamp=str(doc.get("started_at", "")))
        share = duration / len(checks) if checks else 0.0
        seen: dict[str, int] = {}
        for check in checks:
            name = check["id"]
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:  # GitLab keeps only the first of duplicate names
                name = f"{name}#{seen[name]}"
            case = ET.SubElement(suite, "testcase", classname=doc["report"], name=name, time=f"{share:.3f}")
            text = _check_text(check)
            status = check["status"]
            if status == "fail":
                ET.SubElement(case, "failure", message=check.get("message", ""), type="fail").text = text
            elif status == "error":
                ET.SubElement(case, "error", message=check.get("message", ""), type="error").text = text
            elif status == "skip":
                ET.SubElement(case, "skipped", message=check.get("message", "")).text = check.get("message", "")
            out = ("WARN: " if status == "warn" else f"{status.upper()}: ") + text
            ET.SubElement(case, "system-out").text = out
        for key, count in (("tests", len(checks)), ("failures", counts.get("fail", 0)),
                           ("errors", counts.get("error", 0)), ("skipped", counts.get("skip", 0))):
            totals[key] += count
        total_time += duration
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------- Markdown


def _md_escape(text: Any) -> str:
    """Markdown table cell: no pipes or newlines, no raw HTML."""
    text = html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    return text.replace("`", "'")


def summary_markdown(documents: list[dict[str, Any]], links_base: str = "", limit: int = MARKDOWN_LIMIT) -> str:
    """GitHub-flavoured Markdown summary, truncated with a note to stay under ``limit`` bytes."""
    status = worst_status(d["status"] for d in documents)
    verdict = "ready" if status in ("pass", "warn") else "not ready"
    head = [f"## {STATUS_ICON[status]} readiness: {status.upper()} ({verdict})", ""]
    head.append("| report | status | checks | failed | warnings | |")
    head.append("|---|---|---|---|---|---|")
    for doc in documents:
        counts = _counts(doc.get("checks", []))
        link = doc.get("files", {}).get("html")
        report_link = f"[report]({links_base}{link})" if link else ""
        head.append(f"| {REPORT_TITLES.get(doc['report'], doc['report'])} | {STATUS_ICON[doc['status']]} {doc['status']} "
                    f"| {len(doc.get('checks', []))} | {counts.get('fail', 0) + counts.get('error', 0)} "
                    f"| {counts.get('warn', 0)} | {report_link} |")
    rows = []
    for doc in documents:
        if doc.get("error"):
            rows.append(f"| 💥 error | {_md_escape(doc['report'])} | | | {_md_escape(doc['error'])} |")
        for check in doc.get("checks", []):
            if check["status"] not in ("fail", "error", "warn"):
                continue
            threshold = ", ".join(f"{k} {fmt(v) if isinstance(v, (int, float)) else v}"
                                  for k, v in (check.get("threshold") or {}).items())
            value = fmt(check["value"]) if check.get("value") is not None else ""
            rows.append(f"| {STATUS_ICON[check['status']]} {check['status']} | `{_md_escape(check['id'])}` | "
                        f"{value} | {_md_escape(threshold)} | {_md_escape(check.get('message', ''))} |")
    rank = {"💥": 0, "❌": 1, "⚠️": 2}
    rows.sort(key=lambda r: rank.get(r.split(" ", 2)[1], 3))
    table_head = ["", "### Failing and warning checks", "", "| status | check | value | threshold | message |",
                  "|---|---|---|---|---|"]
    footer = ["", "Full reports: " + ", ".join(f"[{d['report']}]({links_base}{d['files']['html']})"
                                               for d in documents if d.get("files", {}).get("html"))
              + f" · [index]({links_base}index.html)"]
    text = "\n".join(head)
    if not rows:
        return text + "\n\nNo failing or warning checks.\n" + "\n".join(footer) + "\n"
    body = "\n".join(table_head)
    kept = 0
    budget = limit - len((text + body + "\n".join(footer)).encode()) - 200
    for row in rows:
        size = len(row.encode()) + 1
        if size > budget:
            break
        body += "\n" + row
        budget -= size
        kept += 1
    note = "" if kept == len(rows) else f"\n\n_… {len(rows) - kept} more failing or warning checks not shown (size limit); see the full reports._"
    return text + "\n" + body + note + "\n" + "\n".join(footer) + "\n"


# --------------------------------------------------------------------------- index.html


def index_html(documents: list[dict[str, Any]]) -> str:
    """One self-contained page: the verdict and what failed, with links to each report."""
    import jinja2

    from readiness.resources import templates_dir

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    status = worst_status(d["status"] for d in documents)
    reports = []
    for doc in documents:
        checks = doc.get("checks", [])
        shown = [c for c in checks if c["status"] in ("fail", "error", "warn")]
        shown.sort(key=lambda c: {"error": 0, "fail": 1, "warn": 2}[c["status"]])
        reports.append({
            "name": doc["report"], "title": REPORT_TITLES.get(doc["report"], doc["report"]),
            "status": doc["status"], "counts": _counts(checks), "total": len(checks),
            "error": doc.get("error"), "files": doc.get("files", {}), "duration_s": doc.get("duration_s"),
            "checks": [{"id": c["id"], "status": c["status"], "message": c.get("message", ""),
                        "value": fmt(c["value"]) if c.get("value") is not None else "",
                        "ci": f"{fmt(c['ci'][0])} to {fmt(c['ci'][1])}" if c.get("ci") else "",
                        "threshold": ", ".join(f"{k} {fmt(v) if isinstance(v, (int, float)) else v}"
                                               for k, v in (c.get("threshold") or {}).items())} for c in shown],
            "inputs": doc.get("inputs", {}),
        })
    return environment.get_template("index.html.j2").render(status=status, reports=reports, created_at=now_iso())


def write_run_outputs(folder: str | Path, documents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Write summary.json, index.html, junit.xml and summary.md into ``folder``."""
    folder = Path(folder)
    documents = documents if documents is not None else load_results(folder)
    summary = summary_document(documents)
    write_json(folder / "summary.json", summary)
    (folder / "index.html").write_text(index_html(documents), encoding="utf-8")
    (folder / "junit.xml").write_bytes(junit_xml(documents))
    (folder / "summary.md").write_text(summary_markdown(documents), encoding="utf-8")
    return summary
