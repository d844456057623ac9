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

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

from readiness.escape import markdown_cell, xml_text
from readiness.exceptions import InputError, UsageError
from readiness.registry import registry
from readiness.stats.gates import fmt
from readiness.results import (REPORT_NAME, SCHEMA, STATUSES, is_failing, is_ready, load_results, now_iso,
                               worst_first, worst_status, write_json)

MARKDOWN_LIMIT = 64 * 1024
STATUS_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥", "skip": "⏭️"}
RUN_FILES = ("summary.json", "index.html", "junit.xml", "summary.md")
REPORT_FILES = {"html": ".html", "json": ".json", "notebook": ".ipynb"}


def run_documents(folder: str | Path) -> list[dict[str, Any]]:
    """The results of a run folder (:func:`readiness.results.load_results`) in report order, with their files.

    Raises
    ------
    InputError
        The folder holds no results, or a results file in it is broken (one line naming it).

    Examples
    --------
    >>> import tempfile
    >>> from readiness.results import Check, report_document, write_json
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_json(folder / "drift_report.json", report_document(
    ...     "drift_report", [Check("drift.target", "Label drift", "pass", "no change")], {}, "2024-01-01T00:00:00+00:00", 1.0))
    >>> [(doc["report"], doc["status"]) for doc in run_documents(folder)]
    [('drift_report', 'pass')]
    >>> run_documents(Path(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: ...: holds no readiness results (*.json with schema ...); run `readiness run` first
    """
    folder = Path(folder)
    documents = load_results(folder)
    if not documents:
        raise InputError(f"{folder}: holds no readiness results (*.json with schema {SCHEMA}); run `readiness run` first")
    for doc in documents:
        doc["files"] = _files_for(folder, doc["report"])
    return sorted(documents, key=lambda d: (registry.order(d["report"]), d["report"]))


def _files_for(folder: Path, report: str) -> dict[str, str]:
    """The report's files that exist, as plain regular files (never a symlink)."""
    files = {}
    for kind, suffix in REPORT_FILES.items():
        candidate = folder / f"{report}{suffix}"
        if candidate.is_file() and not candidate.is_symlink():
            files[kind] = candidate.name
    return files


def linked_files(doc: dict[str, Any]) -> dict[str, str]:
    """The files a page may link to for a report: only the names readiness itself gives them.

    A results document is data: its ``files`` could hold ``https://…`` or
    ``javascript:…``. Links are built from the report name instead, and only for
    the kinds the document lists.

    Examples
    --------
    >>> linked_files({"report": "golden_benchmark", "files": {"html": "https://evil.example/x"}})
    {}
    >>> linked_files({"report": "golden_benchmark", "files": {"html": "golden_benchmark.html"}})
    {'html': 'golden_benchmark.html'}
    """
    report, files = doc.get("report"), doc.get("files") or {}
    if not isinstance(report, str) or not REPORT_NAME.fullmatch(report):
        return {}
    return {kind: f"{report}{suffix}" for kind, suffix in REPORT_FILES.items() if files.get(kind) == f"{report}{suffix}"}


def _counts(checks: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for check in checks:
        counts[check["status"]] = counts.get(check["status"], 0) + 1
    return counts


def summary_document(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's summary.json: overall status and, per report, its status, files, counts and failing check ids.

    Examples
    --------
    >>> from readiness.results import Check, report_document
    >>> document = report_document("drift_report", [Check("drift.target", "Label drift", "fail", "moved")], {},
    ...                            "2024-01-01T00:00:00+00:00", 1.0)
    >>> summary = summary_document([document])
    >>> summary["status"], summary["reports"][0]["failing"]
    ('fail', ['drift.target'])
    """
    reports = []
    for doc in documents:
        checks = doc.get("checks", [])
        entry = {
            "report": doc["report"], "status": doc["status"], "duration_s": doc.get("duration_s"),
            "files": linked_files(doc), "counts": _counts(checks),
            "failing": [c["id"] for c in checks if is_failing(c["status"])],
            "warning": [c["id"] for c in checks if c["status"] == "warn"],
        }
        if doc.get("error"):
            entry["error"] = doc["error"]
        reports.append(entry)
    return {"schema": SCHEMA, "created_at": now_iso(), "status": worst_status(d["status"] for d in documents),
            "reports": reports}


# --------------------------------------------------------------------------- JUnit


def _check_text(check: dict) -> str:
    parts = [str(check.get("message", ""))]
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
    """JUnit XML in the dialect GitLab and the common GitHub reporters parse.

    Every text and attribute goes through :func:`readiness.escape.xml_text`: a
    character XML 1.0 forbids (``\\x01``, ``\\x1b``) would make GitLab drop the
    whole report, so it is written out instead.

    Examples
    --------
    >>> from readiness.results import Check, report_document
    >>> document = report_document("drift_report", [Check("drift.target", "Label \\x1b drift", "fail", "moved")], {},
    ...                            "2024-01-01T00:00:00+00:00", 1.0)
    >>> xml = junit_xml([document])
    >>> b'failures="1"' in xml, b"\\x1b" in xml
    (True, False)
    """
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
        report = xml_text(doc["report"])
        suite = ET.SubElement(root, "testsuite", name=report, tests=str(len(checks)),
                              failures=str(counts.get("fail", 0)), errors=str(counts.get("error", 0)),
                              skipped=str(counts.get("skip", 0)), time=f"{duration:.3f}",
                              timestamp=xml_text(doc.get("started_at", "")))
        share = duration / len(checks) if checks else 0.0
        seen: dict[str, int] = {}
        for check in checks:
            name = xml_text(check["id"])
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:  # GitLab keeps only the first of duplicate names
                name = f"{name}#{seen[name]}"
            case = ET.SubElement(suite, "testcase", classname=report, name=name, time=f"{share:.3f}")
            text, message = xml_text(_check_text(check)), xml_text(check.get("message", ""))
            status = check["status"]
            if status == "fail":
                ET.SubElement(case, "failure", message=message, type="fail").text = text
            elif status == "error":
                ET.SubElement(case, "error", message=message, type="error").text = text
            elif status == "skip":
                ET.SubElement(case, "skipped", message=message).text = message
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


def report_file_reference(name: str, base_url: str | None, label: str | None = None) -> str:
    """A report file named in ``summary.md``: a link under ``base_url``, else the file name as text.

    ``summary.md`` is read where relative links cannot resolve (a GitHub job summary, a
    merge-request comment), so without a base URL the file is named as text, relative to the
    run folder (the job's artifact); with one, the link is absolute.

    Examples
    --------
    >>> report_file_reference("index.html", None)
    '`index.html`'
    >>> report_file_reference("index.html", "https://ci.example/artifacts/report/", "index")
    '[index](https://ci.example/artifacts/report/index.html)'
    """
    if not base_url:
        return f"`{name}`"
    return f"[{label or name}]({base_url}{quote(name)})"


def checked_base_url(base_url: str | None) -> str | None:
    """``base_url`` made safe to prefix report file names in Markdown links (http(s) only, ends in ``/``).

    Examples
    --------
    >>> checked_base_url("https://ci.example/jobs/1/artifacts/file/readiness report")
    'https://ci.example/jobs/1/artifacts/file/readiness%20report/'
    """
    if not base_url:
        return None
    if not re.match(r"https?://[^/\s]+", base_url, re.I):
        raise UsageError(f"--base-url {base_url!r}: must be an absolute http(s) URL, e.g. "
                         "\"$CI_JOB_URL/artifacts/file/readiness-report/\"")
    # parentheses, brackets, spaces and quotes would end the Markdown link early
    url = quote(base_url, safe=":/?#@!$&*+,;=%-._~")
    return url if url.endswith("/") else url + "/"


def summary_markdown(documents: list[dict[str, Any]], base_url: str | None = None, limit: int = MARKDOWN_LIMIT) -> str:
    """GitHub-flavoured Markdown summary, truncated with a note to stay under ``limit`` bytes.

    Teams post it as a merge-request comment, so every string that can come from
    data (check ids, messages, thresholds, errors) is an inert code span
    (:func:`readiness.escape.markdown_cell`): no link, image, mention or HTML
    reaches the comment unless readiness wrote it. The report files readiness itself
    names are links only under an absolute ``base_url`` (relative links break in a GitHub
    job summary); without one they are named as text, relative to the run folder.

    Examples
    --------
    >>> doc = {"report": "golden_benchmark", "status": "pass", "checks": [],
    ...        "files": {"html": "golden_benchmark.html"}}
    >>> summary_markdown([doc]).splitlines()[-1]
    'Full reports in the run folder (the CI job artifact): `golden_benchmark.html` · `index.html`'
    """
    base_url = checked_base_url(base_url)
    status = worst_status(d["status"] for d in documents)
    verdict = "ready" if is_ready(status) else "not ready"
    head = [f"## {STATUS_ICON[status]} readiness: {status.upper()} ({verdict})", ""]
    head.append("| report | status | checks | failed | warnings | |")
    head.append("|---|---|---|---|---|---|")
    for doc in documents:
        counts = _counts(doc.get("checks", []))
        link = linked_files(doc).get("html")
        report_link = report_file_reference(link, base_url, "report") if link else ""
        title = markdown_cell(registry.title(doc["report"]), 64)
        head.append(f"| {title} | {STATUS_ICON[doc['status']]} {doc['status']} "
                    f"| {len(doc.get('checks', []))} | {counts.get('fail', 0) + counts.get('error', 0)} "
                    f"| {counts.get('warn', 0)} | {report_link} |")
    rows = []
    for doc in documents:
        if doc.get("error"):
            rows.append(f"| 💥 error | {markdown_cell(doc['report'], 64)} | | | {markdown_cell(doc['error'], 500)} |")
    for check in worst_first([c for doc in documents for c in doc.get("checks", [])], at_least="warn"):
        threshold = ", ".join(f"{k} {fmt(v) if isinstance(v, (int, float)) else v}"
                              for k, v in (check.get("threshold") or {}).items())
        value = fmt(check["value"]) if isinstance(check.get("value"), (int, float)) else ""
        rows.append(f"| {STATUS_ICON[check['status']]} {check['status']} | {markdown_cell(check['id'], 200)} | "
                    f"{value} | {markdown_cell(threshold, 120)} | {markdown_cell(check.get('message', ''), 500)} |")
    table_head = ["", "### Failing and warning checks", "", "| status | check | value | threshold | message |",
                  "|---|---|---|---|---|"]
    links = [report_file_reference(linked_files(d)["html"], base_url, d["report"])
             for d in documents if linked_files(d).get("html")]
    where = "Full reports: " if base_url else "Full reports in the run folder (the CI job artifact): "
    footer = ["", where + ", ".join(links) + " · " + report_file_reference("index.html", base_url, "index")]
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


def index_html(documents: list[dict[str, Any]], previous: dict[str, Any] | None = None) -> str:
    """One self-contained page: the verdict and what failed, with links to each report.

    ``previous`` is the latest earlier run of the same model from the release history
    (:func:`readiness.history.record.previous_run`); the page names it and links to it.

    Examples
    --------
    >>> from readiness.results import Check, report_document
    >>> document = report_document("drift_report", [Check("drift.target", "Label drift", "fail", "<b>moved</b>")], {},
    ...                            "2024-01-01T00:00:00+00:00", 1.0)
    >>> page = index_html([document])
    >>> page.lstrip().lower().startswith("<!doctype html>"), "<b>moved" in page, "&lt;b&gt;moved" in page
    (True, False, True)
    """
    import jinja2

    from readiness.resources import templates_dir

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    status = worst_status(d["status"] for d in documents)
    reports = []
    for doc in documents:
        checks = doc.get("checks", [])
        shown = worst_first(checks, at_least="warn")
        reports.append({
            "name": doc["report"], "title": registry.title(doc["report"]),
            "status": doc["status"], "counts": _counts(checks), "total": len(checks),
            "error": doc.get("error"), "files": linked_files(doc), "duration_s": doc.get("duration_s"),
            "checks": [{"id": c["id"], "status": c["status"], "message": c.get("message", ""),
                        "value": fmt(c["value"]) if c.get("value") is not None else "",
                        "ci": f"{fmt(c['ci'][0])} to {fmt(c['ci'][1])}" if c.get("ci") else "",
                        "threshold": ", ".join(f"{k} {fmt(v) if isinstance(v, (int, float)) else v}"
                                               for k, v in (c.get("threshold") or {}).items())} for c in shown],
            "inputs": doc.get("inputs", {}),
        })
    if previous is not None and previous.get("verdict") not in STATUSES:
        previous = None  # read from a database: only what readiness itself writes is shown
    return environment.get_template("index.html.j2").render(status=status, ready=is_ready(status), reports=reports,
                                                             created_at=now_iso(), previous=previous)


def write_run_outputs(folder: str | Path, documents: list[dict[str, Any]] | None = None,
                      previous: dict[str, Any] | None = None, base_url: str | None = None) -> dict[str, Any]:
    """Write summary.json, index.html, junit.xml and summary.md into ``folder``.

    ``previous``: the previous run of the same model, linked from the index page.
    ``base_url``: where the folder's files are served (links in ``summary.md``); see
    :func:`summary_markdown`.

    Examples
    --------
    >>> import tempfile
    >>> from readiness.results import Check, report_document, write_json
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_json(folder / "drift_report.json", report_document(
    ...     "drift_report", [Check("drift.target", "Label drift", "pass", "no change")], {}, "2024-01-01T00:00:00+00:00", 1.0))
    >>> write_run_outputs(folder)["status"], sorted(p.name for p in folder.iterdir())
    ('pass', ['drift_report.json', 'index.html', 'junit.xml', 'summary.json', 'summary.md'])
    """
    base_url = checked_base_url(base_url)
    folder = Path(folder)
    documents = documents if documents is not None else run_documents(folder)
    summary = summary_document(documents)
    write_json(folder / "summary.json", summary)
    (folder / "index.html").write_text(index_html(documents, previous), encoding="utf-8")
    (folder / "junit.xml").write_bytes(junit_xml(documents))
    (folder / "summary.md").write_text(summary_markdown(documents, base_url), encoding="utf-8")
    return summary
