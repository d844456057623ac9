"""The notebook templates: committed clean, parameters typed and documented."""


import nbformat
import papermill
import pytest

from readiness.config import parse_config
from readiness.resources import resource_dir
from readiness.registry import RunContext, registry

NOTEBOOKS = sorted(resource_dir("notebooks").glob("*.ipynb"))


def test_there_are_notebook_templates():
    assert [p.stem for p in NOTEBOOKS] == ["drift_report", "golden_benchmark", "monitoring_report", "workflow_risk_checklist"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_type_and_help(path):
    declared = papermill.inspect_notebook(str(path))
    assert "results_path" in declared
    for name, info in declared.items():
        assert info["inferred_type_name"] != "None", f"{name} has no type annotation"
        assert info["help"], f"{name} has no help comment"


OPTIONAL_PARAMETERS = {"workflow_risk_checklist": {"min_score"}}


@pytest.mark.parametrize("report", registry.names())
def test_every_registered_report_passes_exactly_the_declared_parameters(tmp_path, report):
    config = parse_config({"model": "m.skops", "target": "y", "golden": "g.csv", "baseline": "b.skops",
                           "checklist": "c.yaml", "reference": "r.csv", "current": "c.csv"}, base_dir=tmp_path)
    declared = set(papermill.inspect_notebook(str(resource_dir("notebooks") / f"{report}.ipynb")))
    parameters = registry.get(report).parameters(config, RunContext())
    assert set(parameters) | {"results_path"} | OPTIONAL_PARAMETERS.get(report, set()) == declared


@pytest.mark.notebooks
def test_runs_top_to_bottom_with_its_default_parameters(tmp_path, monkeypatch):
    """What a data scientist gets opening the template in JupyterLab and pressing Run All."""
    import json

    from readiness.run.notebook import execute_report

    monkeypatch.setenv("READINESS_DEMO_DIR", str(tmp_path / "scenario"))
    outcome = execute_report("golden_benchmark", {}, tmp_path, timeout_s=300)
    doc = json.loads((tmp_path / "golden_benchmark.json").read_text())
    assert outcome.usage_error is None and doc["status"] == "fail", doc.get("error")
    assert (tmp_path / "scenario" / "candidate.skops").is_file()
    assert doc["inputs"]["model"]["path"] == str(tmp_path / "scenario" / "candidate.skops")
