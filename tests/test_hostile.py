"""Hostile and accidental inputs through the real runner: every report, every output.

One run of all three reports on a project whose column names, segment values and
checklist texts are hostile (``$`` pairs, Markdown links and images, mentions, ANSI
sequences, RTL overrides, pipes, backticks), then a property-style run on random text
(opened in Chromium too; the fixed hostile run's pages are in tests/test_browser.py).
"""

import json
from pathlib import Path

import lxml.etree
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import (DOLLAR_COLUMN, FAKE_VERDICT, HOSTILE_STRINGS, PHISHING_COLUMN, PIXEL_COLUMN, assert_json_carries_the_html_tables,
                     assert_inert_markdown, assert_inert_pages, chromium, raw_controls, render_markdown, run_readiness,
                     write_hostile_project)
from readiness.escape import visible

pytestmark = pytest.mark.notebooks
REPORTS = ("golden_benchmark", "drift_report", "workflow_risk_checklist")
LINKS = {f"{r}.html" for r in REPORTS} | {"index.html"}
XSD = Path(__file__).parent / "fixtures" / "junit-gitlab.xsd"


def documents(out: Path) -> dict[str, dict]:
    return {r: json.loads((out / f"{r}.json").read_text(encoding="utf-8")) for r in REPORTS}


def assert_no_error_anywhere(out: Path) -> None:
    for report, doc in documents(out).items():
        assert doc["status"] != "error", (report, doc.get("error"))
        errored = [c["id"] for c in doc["checks"] if c["status"] == "error"]
        assert errored == [], (report, errored)


def test_dollar_signs_in_names_and_values_are_shown_literally(hostile_run, tiny_run):
    """`spend_$_usd_$_per_day` and `$0_to_$50` used to end the golden and drift reports in ERROR (mathtext)."""
    folder, result = hostile_run
    out = folder / "out"
    assert result.returncode == 1, result.stderr  # not ready (the gate is set above the model), not broken
    assert_no_error_anywhere(out)
    docs = documents(out)
    ids = {c["id"] for c in docs["golden_benchmark"]["checks"]}
    assert f"golden.segment.roc_auc.bounds[{PHISHING_COLUMN}=$0_to_$50]" in ids
    assert f"drift.column.{DOLLAR_COLUMN}" in {c["id"] for c in docs["drift_report"]["checks"]}
    figures = {r: (out / f"{r}.html").read_text(encoding="utf-8").count("data:image/png;base64") for r in REPORTS}
    assert figures["golden_benchmark"] >= 4 and figures["drift_report"] >= 2 and figures["workflow_risk_checklist"] >= 1
    figures_before = {"golden_benchmark": 4, "drift_report": 2}  # without the attribution waterfalls
    assert all(figures[r] >= n + 1 for r, n in figures_before.items()), figures
    # hostile source names and segment values in the attribution: computed, kept literally in the results
    golden, drift = ({c["id"]: c for c in docs[r]["checks"]} for r in ("golden_benchmark", "drift_report"))
    hostile_sources = {c for c in golden["golden.attribution"]["details"]["contributions"]} - {"model"}
    assert hostile_sources and hostile_sources <= set(HOSTILE_STRINGS) | {"unassigned"}
    assert hostile_sources <= set(drift["drift.attribution"]["details"]["contributions"]) | {"unassigned"}
    assert golden[f"golden.guarantee.mean_shift[{PHISHING_COLUMN}=$0_to_$50]"]["status"] in ("pass", "warn", "fail")
    control = (tiny_run[0] / "out" / "golden_benchmark.html").read_text(encoding="utf-8")  # ordinary names
    assert control.count("data:image/png;base64") >= 3


def test_every_table_shown_is_in_the_results_json(hostile_run):
    """History, dashboards and other tools read the JSON, never the HTML: hostile names included."""
    out = hostile_run[0] / "out"
    for report, document in documents(out).items():
        assert_json_carries_the_html_tables((out / f"{report}.html").read_text(encoding="utf-8"), document)
    carried = json.dumps(documents(out)["drift_report"]["sections"], ensure_ascii=False)
    assert PIXEL_COLUMN in carried and DOLLAR_COLUMN in carried  # the data's names, verbatim


def test_summary_md_is_inert_in_a_merge_request(hostile_run):
    folder, _ = hostile_run
    text = (folder / "out" / "summary.md").read_text(encoding="utf-8")
    assert_inert_markdown(text, LINKS)  # no pixel, phishing link, mention, reference or HTML from data
    codes = [code.text_content() for code in render_markdown(text).iter("code")]
    for hostile in (PIXEL_COLUMN, PHISHING_COLUMN, visible(FAKE_VERDICT)):
        assert any(hostile in code for code in codes), hostile  # shown, literally
    # without a base URL the report files are named as text (relative links break in a job summary)
    assert {a.get("href") for a in render_markdown(text).iter("a")} == set()
    assert all(f"`{name}`" in text for name in LINKS)
    # with one (readiness summary --base-url), readiness's own links are the only links, and they work
    from readiness.run.aggregate import run_documents, summary_markdown

    base = "https://gitlab.example/group/model/-/jobs/42/artifacts/file/out/"
    linked = summary_markdown(run_documents(folder / "out"), base)
    assert_inert_markdown(linked, {base + name for name in LINKS})
    assert {a.get("href") for a in render_markdown(linked).iter("a")} == {base + name for name in LINKS}


def test_junit_xml_is_valid_whatever_the_text(hostile_run):
    folder, _ = hostile_run
    xml = (folder / "out" / "junit.xml").read_bytes()
    root = lxml.etree.fromstring(xml)
    schema = lxml.etree.XMLSchema(lxml.etree.parse(str(XSD)))
    assert schema.validate(root), schema.error_log
    names = [case.get("name") for case in root.iter("testcase")]
    assert len(names) == sum(len(d["checks"]) for d in documents(folder / "out").values())
    assert any(visible(FAKE_VERDICT) in name for name in names)  # the control characters are written out
    assert "golden.metric.roc_auc" in names  # control: ordinary ids unchanged


def test_terminal_output_has_no_raw_control_sequences(hostile_run):
    folder, result = hostile_run
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == []
    assert visible(FAKE_VERDICT) in result.stdout  # the failing segment is named, escaped
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("Verdict:")]
    assert verdicts == [f"Verdict: FAIL (not ready); overview in {folder / 'out' / 'index.html'}"]


# --------------------------------------------------------------------------- property-style, real runner

#: Characters each medium interprets, and some that break naive code: controls, bidi, long runs.
#: The first is what Hypothesis tries first (its simplest example): a mathtext trigger.
SPECIALS = ["$0_to_$50", "\x1b[2K", "@all", "#12", "![x](https://t.example/p.png)", "<img src=x onerror=alert(1)>",
            "https://t.example/p.png", *"$`|[]()!@#<>&*_~:\\\"'\x01\x1b\x7f\x9b\u202e\u2066\u200b"]
# no NUL, surrogates or bare line ends in data: Parquet stores UTF-8, and pandas reads those back the same
piece = st.one_of(st.sampled_from(SPECIALS),
                  st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r\n"), max_size=6))
name = st.lists(piece, min_size=2, max_size=8).map("".join).map(lambda t: t.strip() or "$")
long_name = st.one_of(name, name.map(lambda t: t * 60))


@settings(max_examples=2, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(long_name.filter(lambda t: t not in ("x1", "label")), min_size=6, max_size=6,
                unique_by=lambda t: t.casefold()))
def test_random_hostile_text_through_every_report_and_output(tmp_path_factory, texts):
    """Column names, category (segment) values and checklist texts drawn at random: no ERROR,
    Markdown inert, JUnit valid, terminal clean (HTML in Chromium: tests/test_browser.py)."""
    numeric, category, values = texts[:2], texts[2], texts[3:]
    folder = write_hostile_project(tmp_path_factory.mktemp("random") / "project", numeric, category, values, texts,
                                   rows=400)
    result = run_readiness(["run"], cwd=folder)
    out = folder / "out"
    assert result.returncode in (0, 1), result.stderr
    assert_no_error_anywhere(out)
    assert_inert_markdown((out / "summary.md").read_text(encoding="utf-8"), LINKS)
    lxml.etree.fromstring((out / "junit.xml").read_bytes())
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == []
    if chromium():  # `.ci/run` installs it; tests/test_browser.py says so when it is missing
        assert_inert_pages(sorted(out.glob("*.html")))
