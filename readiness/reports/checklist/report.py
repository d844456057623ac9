"""Workflow risk checklist: the ML Test Score backed by evidence, the workflow, the fears.

``checklist.yaml`` holds the deployment workflow as steps, answers to the 28 ML
Test Score items and the team's fears. Evidence beats self-report: the results of
the other readiness reports, CI files that run ``readiness run`` and pinned
dependency files change an item's score, and a self-reported ``automated`` that
the evidence contradicts is flagged.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import yaml

from readiness.data import sha256_file
from readiness.display import Section, Table, format_spec
from readiness.reports.checklist.mltestscore import ITEMS, SECTIONS, band, final_score, item_points, section_scores
from readiness.safe_yaml import read_yaml_file
from readiness.reports.checklist.file import BEYOND_SELF_REPORTED, load_checklist  # noqa: F401 - load_checklist: the public face
from readiness.reports.base import ShownSections
from readiness.results import SCHEMA, STATUS_RANK, Check, load_results, worst_status

REPORT = "workflow_risk_checklist"
# --------------------------------------------------------------------------- evidence


def report_evidence() -> dict[str, tuple[str, str]]:
    """ML Test Score item → (check-id pattern, sentence), as each registered report declares it."""
    from readiness.registry import registry

    evidence: dict[str, tuple[str, str]] = {}
    for spec in registry.all():
        evidence.update(spec.evidence)
    return evidence
_PIN_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "conda-lock.yml", "requirements.lock")


def evidence_results(folder: Path | None) -> list[dict[str, Any]]:
    """The other reports' results in ``folder``: evidence is what readiness wrote (never through a
    link), and a broken file is no evidence."""
    if folder is None or not Path(folder).is_dir():
        return []
    return load_results(folder, exclude=(REPORT,), skip_invalid=True)


def ci_files_running_readiness(project: Path) -> list[str]:
    """CI configuration files in the project that run `readiness run`."""
    candidates = [project / ".gitlab-ci.yml", *sorted(project.glob("*.gitlab-ci.yml"))]
    candidates += sorted((project / ".github" / "workflows").glob("*.y*ml"))
    found = []
    for path in dict.fromkeys(candidates):
        try:
            if path.is_file() and re.search(r"\breadiness\s+run\b", path.read_text(encoding="utf-8", errors="replace")):
                found.append(str(path.relative_to(project)))
        except OSError:
            continue
    return found


def pinned_dependency_files(project: Path) -> list[str]:
    """Lock files, fully ``==``-pinned requirements, or an environment.yml with versions."""
    found = [name for name in _PIN_FILES if (project / name).is_file()]
    for path in sorted(project.glob("requirements*.txt")):
        lines = [l.split("#")[0].strip() for l in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        requirements = [l for l in lines if l and not l.startswith("-")]
        if requirements and all("==" in l for l in requirements):
            found.append(path.name)
    environment = project / "environment.yml"
    if environment.is_file():
        try:
            spec = read_yaml_file(environment)
        except (yaml.YAMLError, UnicodeDecodeError):
            spec = None
        deps = spec.get("dependencies") if isinstance(spec, dict) else None
        if not isinstance(deps, list):
            deps = []
        names = [d for d in deps if isinstance(d, str) and not d.startswith(("python", "pip"))]
        if names and all(re.search(r"=\d", d) for d in names):
            found.append("environment.yml")
    return found


def severity_first_priority(severity: int, likelihood: int) -> str:
    """Action priority, severity first (AIAG-VDA spirit): H, M or L."""
    if severity >= 9 or (severity >= 7 and likelihood >= 4):
        return "H"
    if severity >= 5 or likelihood >= 7:
        return "M"
    return "L"


# --------------------------------------------------------------------------- the report


class WorkflowChecklist(ShownSections):
    """Scores the checklist with evidence and builds each report section."""

    def __init__(self, checklist_path: str, results_dir: str = "", project_dir: str = "", min_score: float | None = None):
        super().__init__()
        self.path = Path(checklist_path)
        self.checklist = load_checklist(self.path)
        self.project = Path(project_dir) if project_dir else self.path.parent
        self.results = evidence_results(Path(results_dir)) if results_dir else []
        self.ci_files = ci_files_running_readiness(self.project)
        self.pins = pinned_dependency_files(self.project)
        self.min_score = self.checklist.gate.min_score if min_score is None else min_score
        self.statuses = {c["id"]: c["status"] for doc in self.results for c in doc.get("checks", [])}
        self.items = self._score_items()

    # ---------------------------------------------------------------- scoring

    def _evidence_for(self, item_id: str) -> str | None:
        statuses = self.statuses
        rule = report_evidence().get(item_id)
        if rule is None:
            return None
        pattern, meaning = rule
        matched = [s for check_id, s in statuses.items() if fnmatch.fnmatchcase(check_id, pattern)]
        if not matched or any(s == "error" for s in matched):
            return None
        return meaning

    def _score_items(self) -> list[dict[str, Any]]:
        rows = []
        automated_ci = bool(self.ci_files)
        for item in ITEMS.values():
            given = self.checklist.rubric.get(item.id)
            self_reported = given.answer if given else "unanswered"
            evidence = self._evidence_for(item.id)
            if item.id == "infra.1" and self.pins and evidence:
                evidence += f"; dependencies pinned ({', '.join(self.pins)})"
            source, answer, flag = "self-reported", self_reported, ""
            if evidence:
                found = "automated" if automated_ci else "manual"
                detail = f"{evidence} ({'run in CI: ' + ', '.join(self.ci_files) if automated_ci else 'in this run; no CI file runs readiness'})"
                if item_points(found) >= item_points(self_reported) or self_reported == "n/a":
                    answer, source = (found if self_reported != "n/a" else "n/a"), f"evidence: {detail}"
                else:
                    source = f"self-reported (evidence: {detail})"
                if self_reported == "automated" and not automated_ci:
                    flag = "self-reported 'automated' but no CI file runs `readiness run`"
            elif self_reported == "automated" and item.id in report_evidence() and self.results:
                flag = "self-reported 'automated' but no readiness report in this run covers it"
            rows.append({"id": item.id, "section": item.section, "title": item.title, "answer": answer,
                         "points": item_points(answer), "source": source, "self_reported": self_reported,
                         "flag": flag, "note": (given.note or given.reason or "") if given else "",
                         "evidence_link": given.evidence if given else None})
        return rows

    @property
    def answers(self) -> dict[str, str]:
        return {row["id"]: row["answer"] for row in self.items}

    @property
    def score(self) -> float:
        return final_score(self.answers)

    # ---------------------------------------------------------------- sections

    def rubric_section(self) -> Section:
        sections = section_scores(self.answers)
        score = self.score
        weakest = min(sections, key=sections.get)
        checks = []
        unanswered = [r["id"] for r in self.items if r["answer"] == "unanswered"]
        ok = score >= self.min_score
        # the best score the unanswered items could still reach: below the gate even then, it fails
        best = final_score({r["id"]: ("automated" if r["answer"] == "unanswered" else r["answer"]) for r in self.items})
        status = "pass" if ok else ("warn" if best >= self.min_score else "fail")
        pending = (f"; {len(unanswered)} item(s) are unanswered and count 0 until answered, so the gate is not judged yet"
                   if status == "warn" else "")
        checks.append(Check("checklist.score", "ML Test Score (minimum over the four sections)", status,
                            f"final score {score:g} ({band(score)}); the weakest section, {SECTIONS[weakest]}, "
                            f"scores {sections[weakest]:g} of 7; the gate needs at least {self.min_score:g}{pending}",
                            severity="critical", value=score, threshold={"min": self.min_score},
                            details={"sections": sections, "unanswered": unanswered}))
        if unanswered:
            shown = ", ".join(unanswered[:10]) + (f" and {len(unanswered) - 10} more" if len(unanswered) > 10 else "")
            checks.append(Check("checklist.unanswered", "Unanswered ML Test Score items", "warn",
                                f"{len(unanswered)} of {len(self.items)} items have no answer yet ({shown}): answer each in "
                                "checklist.yaml (automated, manual, no, or n/a with a reason); they score 0 until then",
                                severity="major", value=len(unanswered), details={"items": unanswered}))
        for section, value in sections.items():
            checks.append(Check(f"checklist.section.{section}", SECTIONS[section], "pass",
                                f"{SECTIONS[section]}: {value:g} of 7", severity="info", value=value))
        for item_id in self.checklist.gate.must_not_be_no:
            row = next(r for r in self.items if r["id"] == item_id)
            bad = row["answer"] == "no"
            gate_status = "fail" if bad else ("warn" if row["answer"] == "unanswered" else "pass")
            checks.append(Check(f"checklist.item.{item_id}", f"{item_id} {row['title']}", gate_status,
                                f"{item_id} ({row['title']}) is {row['answer']} ({row['source']}); the gate requires it not to be 'no'",
                                severity="critical"))
        for row in self.items:
            if row["flag"]:
                checks.append(Check(f"checklist.contradiction.{row['id']}", f"{row['id']} {row['title']}", "warn",
                                    f"{row['flag']}; scored {row['answer']} ({row['points']:g} point)", severity="major"))
        table = Table([{"item": r["id"], "test": r["title"], "answer": r["answer"], "points": r["points"],
                        "source": r["source"], "note": r["note"], "flag": r["flag"]} for r in self.items],
                      name="items", formats={"points": format_spec("g")})
        summary = Table([{"section": SECTIONS[s], "score (of 7)": v} for s, v in sections.items()]
                        + [{"section": "Final score = minimum of the sections", "score (of 7)": score}],
                        name="scores", formats={"score (of 7)": format_spec("g")})
        note = ("½ point for a test run manually with results documented and shared, 1 point for a test run "
                "automatically on a repeated basis; n/a (with a reason) counts as met. The final score is the minimum "
                f"of the four section sums (Breck et al. 2017): {score:g} means “{band(score)}”. "
                f"Evidence found: {len(self.results)} readiness report(s) in this run, CI files running readiness: "
                f"{', '.join(self.ci_files) or 'none'}, pinned dependency files: {', '.join(self.pins) or 'none'}.")
        return self._show(Section("ML Test Score", checks=checks, tables=[summary, table], note=note, name="rubric"))

    def beyond_section(self) -> Section:
        statuses = self.statuses
        rows = []

        def status_of(pattern):
            found = [s for i, s in statuses.items() if fnmatch.fnmatchcase(i, pattern)]
            if not found:
                return "not measured"
            return worst_status(found)

        rows.append({"item": "Prediction bias: mean prediction vs label rate (Sculley et al. 2015)",
                     "status": status_of("golden.consistency.prediction_bias")})
        rows.append({"item": "Delta between model versions measured (Rules of ML #24)",
                     "status": status_of("golden.consistency.flip_rate") if statuses else "not measured"})
        answer = self.checklist.beyond.get("after_training_period")
        rows.append({"item": BEYOND_SELF_REPORTED["after_training_period"],
                     "status": f"self-reported: {answer.answer}" if answer else "not answered"})
        unowned = [s.name for s in self.checklist.workflow if s.mode == "manual" and not (s.owner and s.owner.strip())]
        rows.append({"item": "Manual steps with no owner", "status": ", ".join(unowned) or "none"})
        loose = [f"{s.name} → {d.name}" + ("" if d.pinned else " (unpinned)") + ("" if d.notified else " (no change notification)")
                 for s in self.checklist.workflow for d in s.depends_on if not (d.pinned and d.notified)]
        rows.append({"item": "External dependencies without a pinned version or change notification",
                     "status": "; ".join(loose) or "none"})
        return self._show(Section("Beyond the ML Test Score", tables=[Table(rows, name="beyond")],
                                  note="Listed for discussion, not scored.", name="beyond"))

    def step_risks(self) -> list[dict[str, Any]]:
        out = []
        for step in self.checklist.workflow:
            risks = []
            if step.mode == "manual":
                risks.append("manual")
            if not (step.owner and step.owner.strip()):
                risks.append("no owner")
            if not step.tests:
                risks.append("no tests")
            if not step.monitoring:
                risks.append("no monitoring")
            for dep in step.depends_on:
                if not dep.pinned:
                    risks.append(f"unpinned: {dep.name}")
                if not dep.notified:
                    risks.append(f"no change notification: {dep.name}")
            level = ("high" if ("manual" in risks and "no owner" in risks) or any(r.startswith("unpinned") for r in risks)
                     else "medium" if risks else "low")
            out.append({"step": step, "risks": risks, "level": level})
        return out

    def workflow_section(self) -> Section:
        checks, rows = [], []
        for entry in self.step_risks():
            step = entry["step"]
            rows.append({"step": step.name, "mode": step.mode, "owner": step.owner or "—",
                         "depends on": ", ".join(d.name for d in step.depends_on) or "—",
                         "tests": ", ".join(step.tests) or "—", "monitoring": ", ".join(step.monitoring) or "—",
                         "risk": entry["level"], "why": ", ".join(entry["risks"]) or "—"})
            if step.mode == "manual" and not (step.owner and step.owner.strip()):
                checks.append(Check(f"checklist.workflow.unowned_manual[{step.name}]", f"Manual step without owner: {step.name}",
                                    "warn", f"the manual step {step.name!r} has no owner: nobody is accountable when it is skipped",
                                    severity="major"))
            for dep in step.depends_on:
                if not dep.pinned or not dep.notified:
                    missing = [w for w, ok in (("no pinned version", dep.pinned), ("no change notification", dep.notified)) if not ok]
                    checks.append(Check(f"checklist.workflow.dependency[{step.name}:{dep.name}]",
                                        f"External dependency {dep.name}", "warn",
                                        f"{step.name!r} depends on {dep.name!r} with {' and '.join(missing)}: "
                                        "it can change under the model without anyone knowing (monitor.1)", severity="major"))
        return self._show(Section(
            "Workflow", checks=checks, tables=[Table(rows, name="steps")], name="workflow",
            note="Every step of the deployment workflow with what makes it risky: manual work, no owner, no "
                 "tests, no monitoring, external systems without a pinned version or change notification."))

    def workflow_figure(self):
        """The workflow as a flow of boxes coloured by risk; None without steps."""
        from readiness.figures.checklist import workflow_figure

        return workflow_figure([{"name": entry["step"].name, "mode": entry["step"].mode, "owner": entry["step"].owner,
                                 "risks": entry["risks"], "level": entry["level"]} for entry in self.step_risks()])

    def fears_section(self) -> Section:
        statuses = self.statuses
        ranked = sorted(enumerate(self.checklist.fears, 1),
                        key=lambda pair: (-pair[1].severity, -pair[1].likelihood, pair[0]))
        checks, rows = [], []
        for rank, (number, fear) in enumerate(ranked, 1):
            priority = severity_first_priority(fear.severity, fear.likelihood)
            detectors = []
            for pattern in fear.detected_by:
                matched = {i: s for i, s in statuses.items() if fnmatch.fnmatchcase(i, pattern)}
                if matched:
                    order = sorted(STATUS_RANK, key=STATUS_RANK.get, reverse=True)
                    counted = {st: sum(v == st for v in matched.values()) for st in order}
                    worst = next(st for st in order if counted[st])
                    if len(matched) == 1:
                        summary = f"{worst} (1 check)"
                    else:
                        parts = ", ".join(f"{counted[st]} {st}" for st in order if counted[st])
                        summary = f"{worst} ({parts} of {len(matched)} checks)"
                    detectors.append(f"{pattern}: {summary}")
            detected = bool(detectors)
            status = "pass" if detected else ("warn" if priority != "L" else "pass")
            message = (f"severity {fear.severity}, likelihood {fear.likelihood}, priority {priority}: "
                       + ("detected by " + "; ".join(detectors) if detected
                          else "undetected: no check in this run detects it" + (
                              f" (named checks not found: {', '.join(fear.detected_by)})" if fear.detected_by else "")))
            checks.append(Check(f"checklist.fear.{number}", fear.fear, status, message, severity="major",
                                value=fear.severity, details={"likelihood": fear.likelihood, "priority": priority,
                                                              "detected": detected}))
            rows.append({"rank": rank, "fear": fear.fear, "severity": fear.severity, "likelihood": fear.likelihood,
                         "S×L (info)": fear.severity * fear.likelihood, "priority": priority,
                         "detected by": "; ".join(detectors) or "UNDETECTED"})
        note = ("Ranked severity first (a severity-9 fear outranks a likely severity-5 one; the product is shown for "
                "information only). Each fear links to the checks that would detect it and their status in this run.")
        return self._show(Section("Fears register", checks=checks, tables=[Table(rows, name="fears")] if rows else [],
                                  note=note, name="fears"))

    def finish(self, results_path: str) -> Section:
        inputs = {"checklist": {"path": str(self.path), "sha256": sha256_file(self.path), "steps": len(self.checklist.workflow),
                                "fears": len(self.checklist.fears)},
                  "evidence": {"reports": [d["report"] for d in self.results], "ci_files": self.ci_files,
                               "pinned_files": self.pins, "project": str(self.project)},
                  "score": self.score, "band": band(self.score)}
        return self._write_results(REPORT, results_path, inputs)
