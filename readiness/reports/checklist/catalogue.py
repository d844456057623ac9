"""The workflow risk checklist's checks: its part of the check catalogue (:mod:`readiness.catalogue`).

Light: the driver reads it through the report's spec. Its checks are tuned in checklist.yaml.
"""

from __future__ import annotations

from readiness.catalogue import CheckEntry
from readiness.reports.checklist.mltestscore import ITEMS, SECTIONS

_ITEM = {"item": tuple(ITEMS)}

CHECKS = (
    # ------------------------------------------------------------------ ML Test Score
    CheckEntry("checklist.score", "The ML Test Score (the minimum of the four section sums, evidence beating "
               "self-report) reaches the gate; warns while unanswered items could still lift it there", "critical",
               ("pass", "warn", "fail"), ("checklist.yaml: gate.min_score", "checklist.yaml: rubric")),
    CheckEntry("checklist.unanswered", "ML Test Score items nobody answered yet (they score 0)", "major", ("warn",),
               ("checklist.yaml: rubric",)),
    CheckEntry("checklist.section.<section>", "One section's score, of 7 (never gates)", "info", ("pass",),
               ("checklist.yaml: rubric",), values={"section": tuple(SECTIONS)}),
    CheckEntry("checklist.item.<item>", "An item the gate requires not to be 'no' (warns while unanswered)", "critical",
               ("pass", "warn", "fail"), ("checklist.yaml: gate.must_not_be_no",), values=_ITEM),
    CheckEntry("checklist.contradiction.<item>", "A self-reported 'automated' the evidence contradicts: no CI file runs "
               "readiness, or no report of this run covers the item", "major", ("warn",), ("checklist.yaml: rubric",),
               values=_ITEM),
    # ------------------------------------------------------------------ workflow
    CheckEntry("checklist.workflow.unowned_manual[<step>]", "A manual step of the deployment workflow without an owner",
               "major", ("warn",), ("checklist.yaml: workflow",)),
    CheckEntry("checklist.workflow.dependency[<step>:<system>]", "A step depends on an external system without a pinned "
               "version or change notification", "major", ("warn",), ("checklist.yaml: workflow",)),
    # ------------------------------------------------------------------ fears
    CheckEntry("checklist.fear.<number>", "One of the team's fears (numbered as listed) is detected by a check of this "
               "run (its detected_by patterns); warns when a fear of priority H or M is undetected", "major",
               ("pass", "warn"), ("checklist.yaml: fears",), values={"number": "[1-9][0-9]*"}, sample="checklist.fear.1"),
)
