"""A notebook template run in place, as in JupyterLab: nothing is left beside it."""

import shutil

import papermill
import pytest

from readiness.demo import scratch_results_path
from readiness.resources import resource_dir


@pytest.mark.notebooks
def test_a_template_run_in_place_writes_its_results_to_the_scratch_folder(tmp_path, monkeypatch):
    """Run All with the default parameters (the demo scenario): the results JSON goes beside the
    scenario, the notebook's folder (the repository's notebooks/) stays as it was."""
    monkeypatch.setenv("READINESS_DEMO_DIR", str(tmp_path / "cache" / "demo-scenario"))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    template = folder / "workflow_risk_checklist.ipynb"
    shutil.copy(resource_dir("notebooks") / template.name, template)
    papermill.execute_notebook(str(template), str(tmp_path / "executed.ipynb"), cwd=str(folder), kernel_name="python3",
                               progress_bar=False)
    assert sorted(p.name for p in folder.iterdir()) == [template.name]
    written = scratch_results_path("workflow_risk_checklist")
    assert written == tmp_path / "cache" / "notebook-results" / "workflow_risk_checklist.json" and written.is_file()
