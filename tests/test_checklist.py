"""Workflow risk checklist: ML Test Score scoring, evidence, errors, fears, HTML."""

import json

import pytest
import yaml

from readiness.reports.checklist.report import (WorkflowChecklist, ci_files_running_readiness, load_checklist,
                                 pinned_dependency_files, severity_first_priority)
from readiness.exceptions import ConfigError
from readiness.reports.checklist.mltestscore import BANDS, ITEMS, band, final_score, section_scores
from readiness.results import Check, report_document, write_json

HOSTILE = "<img src=x onerror=alert(1)>"


def answers(**by_section):
    """{'data': ['automated'] * 7, ...} -> {'data.1': 'automated', ...}"""
    return {f"{section}.{i}": answer for section, values in by_section.items() for i, answer in enumerate(values, 1)}


def test_final_score_is_the_minimum_of_the_sections_not_an_average():
    given = answers(data=["automated"] * 7, model=["manual"] * 7, infra=["automated"] * 3 + ["no"] * 4,
                    monitor=["manual"] + ["no"] * 6)
    assert section_scores(given) == {"data": 7.0, "model": 3.5, "infra": 3.0, "monitor": 0.5}
    assert final_score(given) == 0.5  # "sum and divide by 4" would say 3.5


def test_missing_answers_count_as_no_and_na_counts_as_met():
    assert final_score({}) == 0.0
    given = answers(data=["n/a"] * 7, model=["n/a"] * 7, infra=["n/a"] * 7, monitor=["automated"] * 6 + ["no"])
    assert final_score(given) == 6.0


@pytest.mark.parametrize("score,meaning", [
    (0.0, "More of a research project"), (0.5, "Not totally untested"), (1.0, "Not totally untested"),
    (1.5, "First pass at basic productionization"), (2.0, "First pass at basic productionization"),
    (2.5, "Reasonably tested"), (3.0, "Reasonably tested"), (3.5, "Strong automated testing"),
    (5.0, "Strong automated testing"), (5.5, "Exceptional levels"), (7.0, "Exceptional levels"),
])
def test_table_v_bands_at_every_edge(score, meaning):
    assert band(score).startswith(meaning)


def test_the_rubric_has_28_items_with_stable_ids():
    assert len(ITEMS) == 28 and list(ITEMS)[0] == "data.1" and list(ITEMS)[-1] == "monitor.7"
    assert ITEMS["infra.4"].title == "Model quality is validated before serving"
    assert len(BANDS) == 6


@pytest.mark.parametrize("priority,pair", [("H", (9, 1)), ("H", (7, 4)), ("M", (7, 3)), ("M", (3, 8)), ("L", (4, 6))])
def test_severity_first_priority(priority, pair):
    assert severity_first_priority(*pair) == priority


# --------------------------------------------------------------------------- evidence


def test_ci_files_count_only_when_they_run_readiness(tmp_path):
    assert ci_files_running_readiness(tmp_path) == []
    (tmp_path / ".gitlab-ci.yml").write_text("test:\n  script: [pytest]\n")
    assert ci_files_running_readiness(tmp_path) == []
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("steps:\n  - run: readiness run --config readiness.yaml\n")
    assert ci_files_running_readiness(tmp_path) == [".github/workflows/ci.yml"]
    (tmp_path / ".gitlab-ci.yml").write_text("gate:\n  script:\n    - readiness  run --out r\n")
    assert ci_files_running_readiness(tmp_path) == [".gitlab-ci.yml", ".github/workflows/ci.yml"]


@pytest.mark.parametrize("files,expected", [
    ({}, []),
    ({"requirements.txt": "numpy>=1\nscikit-learn==1.9.1\n"}, []),
    ({"requirements.txt": "# pinned\nnumpy==2.4.6\nscikit-learn==1.9.1\n"}, ["requirements.txt"]),
    ({"poetry.lock": "x"}, ["poetry.lock"]),
    ({"environment.yml": "dependencies:\n  - python=3.11\n  - numpy=2.4.6\n"}, ["environment.yml"]),
    ({"environment.yml": "dependencies:\n  - numpy\n"}, []),
])
def test_pinned_dependency_files(tmp_path, files, expected):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    assert pinned_dependency_files(tmp_path) == expected


def write_checklist(folder, **overrides):
    data = {
        "workflow": [{"name": "Train", "mode": "automated", "owner": "ds", "tests": ["unit"], "monitoring": ["alerts"]}],
        "rubric": {"model.6": {"answer": "automated"}, "data.1": {"answer": "manual"}},
        "fears": [{"fear": "segment regression", "severity": 8, "likelihood": 3, "detected_by": ["golden.segment.*"]}],
    }
    data.update(overrides)
    path = folder / "checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_results(folder, checks):
    doc = report_document("golden_benchmark", checks, {}, "2026-01-01T00:00:00+00:00", 1.0)
    write_json(folder / "golden_benchmark.json", doc)


def test_evidence_raises_scores_and_contradictions_are_flagged(tmp_path):
    results = tmp_path / "results"
    write_results(results, [Check("golden.segment.roc_auc[region=EU]", "x", "pass", "ok", severity="critical"),
                            Check("golden.dummy.roc_auc", "x", "pass", "ok", severity="critical")])
    path = write_checklist(tmp_path)
    review = WorkflowChecklist(str(path), results_dir=str(results), project_dir=str(tmp_path))
    items = {row["id"]: row for row in review.items}
    assert items["model.5"]["answer"] == "manual" and items["model.5"]["source"].startswith("evidence:")
    assert items["data.1"]["source"] == "self-reported"
    assert "no CI file runs `readiness run`" in items["model.6"]["flag"]  # said automated; evidence: run by hand
    checks = {c.id: c for c in review.rubric_section().checks}
    assert checks["checklist.contradiction.model.6"].status == "warn"
    (tmp_path / ".gitlab-ci.yml").write_text("j:\n  script: [readiness run]\n")
    review = WorkflowChecklist(str(path), results_dir=str(results), project_dir=str(tmp_path))
    items = {row["id"]: row for row in review.items}
    assert items["model.5"]["answer"] == "automated" and items["model.6"]["flag"] == ""


def test_fears_are_ranked_severity_first_and_undetected_ones_flagged(tmp_path):
    fears = [{"fear": "likely but mild", "severity": 5, "likelihood": 9, "detected_by": ["golden.latency.*"]},
             {"fear": "rare but severe", "severity": 9, "likelihood": 1, "detected_by": []},
             {"fear": "named check absent", "severity": 7, "likelihood": 5, "detected_by": ["drift.schema.*"]}]
    results = tmp_path / "results"
    write_results(results, [Check("golden.latency.p95_ms", "x", "pass", "ok")])
    review = WorkflowChecklist(str(write_checklist(tmp_path, fears=fears)), results_dir=str(results))
    section = review.fears_section()
    html = section._repr_html_()
    assert html.index("rare but severe") < html.index("named check absent") < html.index("likely but mild")
    checks = {c.id: c for c in section.checks}
    assert checks["checklist.fear.2"].status == "warn" and "undetected" in checks["checklist.fear.2"].message
    assert "named checks not found: drift.schema.*" in checks["checklist.fear.3"].message
    assert checks["checklist.fear.1"].status == "pass" and "golden.latency.*: pass" in checks["checklist.fear.1"].message


def test_the_results_carry_all_28_items_with_answer_points_and_source(tmp_path):
    from helpers import assert_sections_carry_the_report

    results = tmp_path / "results"
    write_results(results, [Check("golden.dummy.roc_auc", "x", "pass", "ok")])
    review = WorkflowChecklist(str(write_checklist(tmp_path)), results_dir=str(results), project_dir=str(tmp_path))
    review.rubric_section(), review.beyond_section(), review.workflow_section(), review.fears_section()
    review.finish(str(tmp_path / "out.json"))
    doc = json.loads((tmp_path / "out.json").read_text())
    assert_sections_carry_the_report(doc)
    assert [s["name"] for s in doc["sections"]] == ["rubric", "beyond", "workflow", "fears"]
    items = next(t for t in doc["sections"][0]["tables"] if t["name"] == "items")
    rows = {row[0]: dict(zip(items["columns"], row)) for row in items["rows"]}
    assert list(rows) == list(ITEMS) and len(rows) == 28  # every item, not only those with findings
    assert rows["model.6"]["answer"] == "automated" and rows["model.6"]["points"] == 1.0
    assert rows["data.1"]["points"] == 0.5 and rows["data.1"]["source"] == "self-reported"
    assert rows["model.5"]["source"].startswith("evidence:") and rows["infra.2"]["answer"] == "unanswered"
    scores = next(t for t in doc["sections"][0]["tables"] if t["name"] == "scores")
    assert scores["rows"][-1] == ["Final score = minimum of the sections", doc["inputs"]["score"]]


def test_gate_minimum_score_and_items_that_must_not_be_no(tmp_path):
    # items left unanswered score 0 but are not a "no": the gate waits for the answers
    path = write_checklist(tmp_path, gate={"min_score": 0.5, "must_not_be_no": ["infra.4"]})
    checks = {c.id: c for c in WorkflowChecklist(str(path)).rubric_section().checks}
    assert checks["checklist.score"].status == "warn" and checks["checklist.score"].value == 0.0
    assert checks["checklist.item.infra.4"].status == "warn" and checks["checklist.unanswered"].status == "warn"
    # answered "no", they fail
    from readiness.reports.checklist.mltestscore import ITEMS

    answered = {item: {"answer": "no"} for item in ITEMS}
    path = write_checklist(tmp_path, rubric=answered, gate={"min_score": 0.5, "must_not_be_no": ["infra.4"]})
    checks = {c.id: c for c in WorkflowChecklist(str(path)).rubric_section().checks}
    assert checks["checklist.score"].status == "fail" and checks["checklist.score"].value == 0.0
    assert checks["checklist.item.infra.4"].status == "fail" and "checklist.unanswered" not in checks


def test_workflow_risks(tmp_path):
    workflow = [{"name": "Copy model", "mode": "manual"},
                {"name": "Export", "mode": "automated", "owner": "crm", "depends_on": [{"name": "vendor API"}]}]
    review = WorkflowChecklist(str(write_checklist(tmp_path, workflow=workflow)))
    checks = {c.id: c for c in review.workflow_section().checks}
    assert checks["checklist.workflow.unowned_manual[Copy model]"].status == "warn"
    assert "no pinned version and no change notification" in checks["checklist.workflow.dependency[Export:vendor API]"].message
    assert [r["level"] for r in review.step_risks()] == ["high", "high"]
    assert review.workflow_figure()._repr_png_().startswith(b"\x89PNG")


@pytest.mark.parametrize("text,expected", [
    ("workflow:\n  - {name: a, mode: automated}\nrubric:\n  data.9: {answer: no}\n", ":3: rubric: unknown ML Test Score item 'data.9'"),
    ("workflow:\n  - {name: a, mode: automated}\nrubric:\n  data.1: {answer: sometimes}\n", ":4: rubric.data.1.answer: Input should be 'automated', 'manual', 'no', 'n/a' or 'unanswered' (got 'sometimes')"),
    ("workflow:\n  - {name: a, mode: automated}\nfears:\n  - {fear: x, likelihood: 3}\n", ":4: fears.0.severity: missing required field"),
    ("workflow:\n  - {name: a}\n", ":2: workflow.0.mode: missing required field"),
    ("workflow:\n  - {name: a, mode: automated, owners: b}\n", ":2: workflow.0.owners: unknown key 'owners'"),
    ("workflow:\n  - {name: a, mode: automated}\nrubric:\n  model.7: {answer: n/a}\n", ":4: rubric.model.7: answer n/a needs a reason"),
    ("workflow: [\n", "not valid YAML"),
])
def test_bad_checklists_name_the_line_and_key(tmp_path, text, expected):
    path = tmp_path / "checklist.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_checklist(path)
    assert expected in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_unquoted_yaml_no_means_no(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("workflow:\n  - {name: a, mode: manual}\nrubric:\n  data.1: {answer: no}\n")
    assert load_checklist(path).rubric["data.1"].answer == "no"


def test_cli_refuses_a_bad_checklist_with_exit_2(tiny_scenario, tmp_path, capsys, monkeypatch):
    import shutil

    from readiness.cli import main

    folder = tmp_path / "p"
    shutil.copytree(tiny_scenario, folder)
    config = yaml.safe_load((folder / "readiness.yaml").read_text())
    config["checklist"] = "checklist.yaml"
    (folder / "readiness.yaml").write_text(yaml.safe_dump(config))
    (folder / "checklist.yaml").write_text("workflow:\n  - {name: a, mode: automated}\nrubric:\n  infra.8: {answer: no}\n")
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as exit_info:
        main(["run"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.count("\n") == 0
    assert "checklist.yaml:3: rubric: unknown ML Test Score item 'infra.8'" in err


def test_starter_checklist_lists_every_item_with_an_explanation():
    from readiness.resources import templates_dir

    text = (templates_dir() / "checklist.yaml").read_text()
    starter = load_checklist(templates_dir() / "checklist.yaml")
    assert set(starter.rubric) == set(ITEMS)
    for item in ITEMS.values():
        assert f"# {item.title}:" in text


@pytest.mark.notebooks
def test_report_escapes_hostile_names(tmp_path):
    from helpers import assert_json_carries_the_html_tables
    from readiness.run.notebook import execute_report

    workflow = [{"name": HOSTILE, "mode": "manual", "depends_on": [{"name": "<script>alert(2)</script>"}]}]
    fears = [{"fear": "<script>alert(3)</script>", "severity": 9, "likelihood": 2}]
    path = write_checklist(tmp_path, workflow=workflow, fears=fears)
    outcome = execute_report("workflow_risk_checklist", {"checklist_path": str(path), "project_dir": str(tmp_path)},
                             tmp_path, 120)
    html = (tmp_path / "workflow_risk_checklist.html").read_text()
    doc = json.loads((tmp_path / "workflow_risk_checklist.json").read_text())
    # score 0 < default minimum 1, but every item is unanswered: the gate waits for the answers
    assert outcome.status == doc["status"] == "warn"
    assert HOSTILE not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert 'id="readiness-verdict"' in html and "data:image/png;base64" in html
    assert_json_carries_the_html_tables(html, doc)
    steps = next(t for s in doc["sections"] for t in s["tables"] if t["name"] == "steps")
    assert HOSTILE in {row[0] for row in steps["rows"]}  # the step's name, verbatim
