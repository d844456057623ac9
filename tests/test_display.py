"""Sections and tables as data: raw values in the results JSON, formatted and escaped only in the HTML."""

import doctest
import importlib
import json

import numpy as np
import pandas as pd
import pytest

from readiness.display import Section, Table, frame_html, interval, number, percent
from readiness.reports.base import ShownSections
from readiness.results import Check


@pytest.fixture(autouse=True)
def _any_check_id(monkeypatch):
    """These tests are about sections and tables, with made-up check ids: the catalogue is tests/test_catalogue.py's."""
    monkeypatch.delenv("READINESS_STRICT_CHECK_IDS", raising=False)

HOSTILE = "<img src=x onerror=alert(1)> & 'quoted'"


@pytest.mark.parametrize("module", [
    "readiness.display", "readiness.reports.base", "readiness.figures.common", "readiness.figures.golden",
    "readiness.figures.drift", "readiness.figures.checklist", "readiness.reports.golden.core",
    "readiness.reports.golden.sections.metrics", "readiness.reports.drift.sections.quality",
    "readiness.reports.drift.sections.multivariate", "readiness.figures.monitoring",
    "readiness.reports.monitoring.sections",
])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted and not result.failed


def test_a_table_keeps_raw_values_for_the_json_and_formats_them_for_the_html():
    rows = [{"metric": "ROC AUC", "value": 0.912345, "ci": [0.9, 0.92], "share": 0.05},
            {"metric": "Log loss", "value": float("nan"), "ci": None, "share": None, "extra": np.int64(3)}]
    table = Table(rows, name="metrics", title="Metrics", formats={"value": number(), "ci": interval(missing="–"),
                                                                   "share": percent(1)})
    data = table.to_dict()
    assert data["columns"] == ["metric", "value", "ci", "share", "extra"]  # pandas' order: keys as they first appear
    assert data["rows"] == [["ROC AUC", 0.912345, [0.9, 0.92], 0.05, None], ["Log loss", None, None, None, 3]]
    json.dumps(data, allow_nan=False)
    shown = table._repr_html_()
    assert shown.startswith("<h4>Metrics</h4>")
    for text in ("<td>0.9123</td>", "<td>0.9000 to 0.9200</td>", "<td>5.0%</td>", "<td>n/a</td>", "<td>–</td>"):
        assert text in shown


def test_text_in_a_column_of_numbers_is_shown_as_it_is():
    table = Table([{"metric": "ROC AUC", "candidate": "only one class in the golden set"}],
                  formats={"candidate": number()})
    assert "<td>only one class in the golden set</td>" in table._repr_html_()


def test_hostile_strings_are_escaped_in_the_html_and_kept_verbatim_in_the_json():
    table = Table([{HOSTILE: HOSTILE, "n": 1}], name="t", title=HOSTILE)
    shown = table._repr_html_()
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert table.to_dict()["rows"] == [[HOSTILE, 1]] and table.to_dict()["columns"][0] == HOSTILE


def test_hidden_columns_reach_the_json_but_not_the_html():
    table = Table([{"measure": "p95", "value": 3.25, "unit": "ms"}], hidden=("unit",),
                  formats={"value": lambda value, row: f"{value:g} {row['unit']}"})
    assert table.to_dict()["columns"] == ["measure", "value", "unit"]
    shown = table._repr_html_()
    assert "<td>3.25 ms</td>" in shown and "<th>unit</th>" not in shown


def test_a_dataframe_table_keeps_its_columns_and_its_cells_become_plain_json():
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-02", None]), "n": [1, 2], "x": [0.5, np.nan],
                          "c": pd.Categorical(["a", "b"])})
    table = Table(frame, name="rows")
    assert table.to_dict() == {"name": "rows", "title": "", "columns": ["when", "n", "x", "c"],
                               "rows": [["2024-01-02T00:00:00", 1, 0.5, "a"], [None, 2, None, "b"]]}
    assert table._repr_html_() == frame_html(frame)
    assert Table(pd.DataFrame({"a": []})).to_dict()["columns"] == ["a"]


def test_a_section_is_json_data_and_a_section_without_checks_has_no_status():
    check = Check("golden.metric.roc_auc", "ROC AUC", "warn", "inconclusive")
    section = Section("Metrics", [check], [Table([{"a": 1}], name="t")], note="a note", name="metrics")
    assert section.to_dict() == {"name": "metrics", "title": "Metrics", "status": "warn", "note": "a note",
                                 "checks": ["golden.metric.roc_auc"],
                                 "tables": [{"name": "t", "title": "", "columns": ["a"], "rows": [[1]]}]}
    assert Section("Inputs", tables=[pd.DataFrame({"a": [1]})], name="inputs").to_dict()["status"] is None


def test_showing_a_section_again_replaces_it_and_the_results_carry_every_section(tmp_path):
    report = ShownSections()
    report._show(Section("A", [Check("demo.a", "A", "fail", "first")], name="a"))
    report._show(Section("B", tables=[Table([{"x": 1.5}], name="numbers")], name="b"))
    report._show(Section("A", [Check("demo.a", "A", "pass", "again")], name="a"))
    verdict = report._write_results("demo_report", str(tmp_path / "r.json"), {})
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["status"] == "pass" and [c["id"] for c in doc["checks"]] == ["demo.a"]
    assert [s["name"] for s in doc["sections"]] == ["a", "b"]  # first shown first, re-shown in place
    assert doc["sections"][1]["tables"][0]["rows"] == [[1.5]]
    assert "PASS" in verdict._repr_html_()


def test_the_verdict_lists_failing_checks_escaped():
    document = {"status": "fail", "checks": [{"id": f"golden.segment.roc_auc[r={HOSTILE}]", "status": "fail",
                                              "message": HOSTILE}, {"id": "x", "status": "warn", "message": "w"}]}
    shown = Section.verdict_of(document)._repr_html_()
    assert "FAIL</strong>: 2 checks, 1 failed or errored, 1 warnings" in shown
    assert "<img" not in shown and "&lt;img" in shown


def test_a_long_table_is_folded_in_the_html_and_whole_in_the_json():
    rows = [{"chunk": f"day {i}", "rows": i} for i in range(30)]
    folded, short = Table(rows, name="label_coverage", fold_after=12), Table(rows[:12], name="chunks", fold_after=12)
    assert folded._repr_html_().startswith("<details><summary>label coverage: 30 rows</summary>")
    assert folded._repr_html_().count("<td>day ") == 30 and len(folded.to_dict()["rows"]) == 30
    assert "<details>" not in short._repr_html_()


def test_the_html_and_json_comparison_fails_when_the_json_lacks_a_shown_table():
    from helpers import assert_json_carries_the_html_tables

    kept = Table([{"step": HOSTILE, "risk": 0.5}], name="steps", formats={"risk": percent()})
    lost = Table([{"fear": "outage"}], name="fears")
    shown = Section("Workflow", tables=[kept, lost], name="workflow")
    assert_json_carries_the_html_tables(shown._repr_html_(), {"sections": [shown.to_dict()]})
    carried = Section("Workflow", tables=[kept], name="workflow").to_dict()
    with pytest.raises(AssertionError):
        assert_json_carries_the_html_tables(shown._repr_html_(), {"sections": [carried]})
    renamed = Section("Workflow", tables=[Table([{"step": "other", "risk": 0.5}], name="steps"), lost]).to_dict()
    with pytest.raises(AssertionError):
        assert_json_carries_the_html_tables(shown._repr_html_(), {"sections": [renamed]})
