"""The workflow risk checklist: the ML Test Score backed by evidence, the workflow, the fears.

This module declares the report (light: the driver imports it); the notebook runs
:class:`readiness.reports.checklist.report.WorkflowChecklist`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from readiness.registry import ReportSpec, SectionSpec
from readiness.reports.checklist.catalogue import CHECKS


def parameters(config, context) -> dict[str, Any]:
    return {
        "checklist_path": str(config.checklist),
        "results_dir": str(context.evidence_dir or ""),
        "project_dir": str(config.project or config._base_dir or Path(config.checklist).parent),
    }


def preflight(config, context) -> None:
    from readiness.reports.checklist.file import load_checklist

    load_checklist(config.checklist)


SPEC = ReportSpec(
    name="workflow_risk_checklist",
    title="Workflow risk checklist",
    needs=("checklist",),
    check_prefix="checklist",
    parameters=parameters,
    preflight=preflight,
    timeout=lambda config: config.timeout_s,
    settings_key=None,
    sections=(
        SectionSpec("rubric", "ML Test Score", ("checklist.score", "checklist.unanswered", "checklist.section",
                                                "checklist.item", "checklist.contradiction")),
        SectionSpec("beyond", "Beyond the ML Test Score", ()),  # a table for discussion, no checks
        SectionSpec("workflow", "Workflow", ("checklist.workflow",)),
        SectionSpec("fears", "Fears", ("checklist.fear",)),
    ),
    checks=CHECKS,
    order=90,  # last: it reads the results of every report that ran before it as evidence
)
