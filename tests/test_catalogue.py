"""The check catalogue: one declarative place, every emitted id in it, docs/checks.md generated from it.

Strict mode (tests/conftest.py sets READINESS_STRICT_CHECK_IDS to a violations file) makes every
Check any test creates, here or in a notebook kernel, answer to the catalogue, and logs each
violation to that file; at the end of the session conftest fails the run on any logged violation
and on any uncatalogued id in the results documents the tests wrote. The tests below check the
catalogue itself, its enforcement (both nets can fail), and that the names other code uses for
check ids (section prefixes, checklist evidence, fears) point at catalogued ids.
"""

from __future__ import annotations

import ast
import fnmatch
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from readiness import results
from readiness.catalogue import RUN_ENTRIES, CheckEntry, UncataloguedCheck, catalogue_markdown
from readiness.config import Config
from readiness.registry import Registry, ReportSpec, SectionSpec, registry
from readiness.reports.checklist.file import ChecklistFile
from readiness.results import Check, RecordsChecks

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = registry.catalogue()
ENTRIES = [entry for entry in CATALOGUE.entries if entry.kind == "check"]


def test_docs_checks_md_is_generated_from_the_catalogue():
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == catalogue_markdown(registry.all(), RUN_ENTRIES), (
        "docs/checks.md is out of date: run `readiness checks --format markdown > docs/checks.md`")


def test_every_report_declares_its_checks_and_each_belongs_to_one_of_its_sections():
    for spec in registry.all():
        assert spec.checks, f"{spec.name} declares no checks"
        for entry in spec.checks:
            assert entry.literal.startswith(spec.check_prefix + "."), (spec.name, entry.id)
            owner = spec.section_for(entry.example)
            assert owner is not None, f"{entry.id}: no SectionSpec prefix of {spec.name} owns it"


def test_every_section_prefix_owns_a_catalogued_id():
    """A prefix no entry falls under is a typo or a leftover (golden.flips, checklist.contradicted)."""
    for spec in registry.all():
        for section in spec.sections:
            for prefix in section.prefixes:
                owned = [e.id for e in spec.checks if spec.section_for(e.example) is section
                         and section.owns(e.example) == len(prefix)]
                assert owned, f"{spec.name}: prefix {prefix!r} of section {section.name!r} owns no catalogued id"


def test_each_entry_is_the_one_its_ids_resolve_to():
    """Entries do not shadow each other: an id resolves to the most specific entry that matches."""
    ids = [entry.id for entry in CATALOGUE.entries]
    assert len(ids) == len(set(ids))
    for entry in ENTRIES:
        assert CATALOGUE.find(entry.example) is entry, entry.id


@pytest.mark.parametrize("check_id, expected", [
    ("golden.segment.roc_auc[region=north]", "golden.segment.<metric>[<column>=<value>]"),
    ("golden.segment.log_loss.bounds[plan=a=b]", "golden.segment.<metric>.bounds[<column>=<value>]"),
    ("golden.segment.required[region=]", "golden.segment.required[<column>=<value>]"),
    ("golden.robustness.invariant[x.y]", "golden.robustness.<rule>[<column>]"),
    ("golden.robustness.unseen_category", "golden.robustness.<perturbation>"),
    ("drift.column.<script>\n.x[y]", "drift.column.<column>"),  # any text a column name may hold
    ("checklist.item.monitor.7", "checklist.item.<item>"),
    ("checklist.fear.12", "checklist.fear.<number>"),
    ("golden.metric.bogus", None),  # closed vocabularies stay closed
    ("golden.robustness.earthquake", None),
    ("checklist.fear.0", None),
    ("checklist.item.data.8", None),
    ("golden.consistency.prediction_bias.candidate", None),
    ("golden_benchmark.run", None),  # JUnit's own testcase is not a Check
])
def test_ids_resolve_to_their_entry(check_id, expected):
    found = CATALOGUE.find(check_id)
    assert (found.id if found else None) == expected


def _model_of(annotation):
    """The pydantic model inside ``X | None`` or ``dict[str, X]``, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict:
        inner, _ = _model_of(args[1])
        return inner, True
    for arg in args:
        inner, keyed = _model_of(arg)
        if inner is not None:
            return inner, keyed
    return None, False


def _resolves(model: type[BaseModel], key: str) -> bool:
    """``key`` (dotted, ``<name>`` for a mapping's key) names a field of ``model``."""
    head, _, rest = key.partition(".")
    if head not in model.model_fields:
        return False
    if not rest:
        return True
    inner, keyed = _model_of(model.model_fields[head].annotation)
    if inner is None:
        return False
    if keyed:  # metrics.<metric>.min: the next part is the mapping's key
        name, _, rest = rest.partition(".")
        return bool(re.fullmatch(r"<[a-z_]+>", name)) and (not rest or _resolves(inner, rest))
    return _resolves(inner, rest)


def test_every_key_that_tunes_a_check_exists():
    for entry in CATALOGUE.entries:
        for key in entry.config:
            if key.startswith("checklist.yaml: "):
                assert _resolves(ChecklistFile, key.removeprefix("checklist.yaml: ")), (entry.id, key)
            else:
                assert _resolves(Config, key), (entry.id, key)


def test_key_resolution_can_fail():
    assert _resolves(Config, "golden_benchmark.metrics.<metric>.max_regression")
    assert not _resolves(Config, "golden_benchmark.metrics.<metric>.max_regresion")
    assert not _resolves(Config, "golden_benchmark.thresholds") and not _resolves(Config, "drift.treshold")


def _examples(entry: CheckEntry) -> list[str]:
    """Concrete ids of an entry: every combination of its listed values (free placeholders by name)."""
    names = entry.placeholders
    choices = [entry.values[n] if isinstance(entry.values.get(n), tuple) else (n,) for n in names]
    if any(isinstance(entry.values.get(n), str) for n in names):
        return [entry.example]
    out = []
    for combination in itertools.product(*choices):
        filled = iter(combination)
        out.append(re.sub(r"<[a-z_]+>", lambda m: str(next(filled)), entry.id))
    return out


def _matches_a_catalogued_id(pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(example, pattern) for entry in ENTRIES for example in _examples(entry))


def test_checklist_evidence_and_fears_name_catalogued_ids():
    from readiness.demo import _DEMO_CHECKLIST

    patterns = [pattern for spec in registry.all() for pattern, _ in spec.evidence.values()]
    for text in (_DEMO_CHECKLIST, (ROOT / "templates" / "checklist.yaml").read_text(encoding="utf-8")):
        patterns += [p for fear in yaml.safe_load(text).get("fears", []) for p in fear.get("detected_by", [])]
    assert len(patterns) > 10
    for pattern in patterns:
        assert _matches_a_catalogued_id(pattern), f"{pattern!r} matches no catalogued check id"


FILE_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".parquet", ".html", ".md", ".py", ".ipynb", ".skops", ".pkl")


def _check_id_literals() -> list[tuple[str, str]]:
    """Every plain string literal in readiness/ (outside the catalogues) shaped like a check id."""
    shaped = re.compile(r"(golden|drift|checklist|monitoring)\.[A-Za-z0-9_.*\[\]=:]+")
    found = []
    for path in sorted((ROOT / "readiness").rglob("*.py")):
        if path.name == "catalogue.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_fstrings = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings
                    and shaped.fullmatch(node.value) and not node.value.endswith(FILE_SUFFIXES)):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def test_check_ids_named_in_code_are_catalogued():
    """Ids other modules build from strings (the checklist's beyond table, section prefixes) stay in step."""
    literals = _check_id_literals()
    assert any(value == "golden.consistency.prediction_bias" for _, value in literals)  # the scan sees them
    for where, value in literals:
        if _resolves(Config, value):  # a config key named in a message ("monitoring.model"), not a check id
            continue
        if any(ch in value for ch in "*?["):
            ok = _matches_a_catalogued_id(value) or CATALOGUE.find(value) is not None
        else:  # an id, or a prefix ending where an id's part ends ("golden.segment." too)
            value = value.removesuffix(".")
            ok = CATALOGUE.find(value) is not None or any(
                e.example.startswith((value + ".", value + "[")) or e.example == value for e in ENTRIES)
        assert ok, f"{where}: {value!r} is not a catalogued check id (or a prefix of one)"


# --------------------------------------------------------------------------- enforcement


@pytest.fixture
def raise_only(monkeypatch):
    """Strict mode that raises without logging: these tests break the catalogue on purpose."""
    monkeypatch.setenv("READINESS_STRICT_CHECK_IDS", "1")


def test_strict_mode_refuses_an_uncatalogued_id(monkeypatch, raise_only):
    with pytest.raises(UncataloguedCheck, match=r"check id 'golden.calibration.ece' is not in the check catalogue; "
                                                r"add a CheckEntry"):
        Check("golden.calibration.ece", "Calibration", "pass", "fine")
    monkeypatch.delenv("READINESS_STRICT_CHECK_IDS")
    assert Check("golden.calibration.ece", "Calibration", "pass", "fine").id == "golden.calibration.ece"  # users' runs


def test_strict_mode_holds_status_and_severity_to_the_entry(raise_only):
    with pytest.raises(UncataloguedCheck, match="has status 'warn', which its catalogue entry golden.leakage does not list"):
        Check("golden.leakage", "Leakage", "warn", "maybe", severity="critical")
    with pytest.raises(UncataloguedCheck, match="has severity 'minor'; its catalogue entry golden.leakage says 'critical'"):
        Check("golden.leakage", "Leakage", "fail", "leaks", severity="minor")
    Check("golden.leakage", "Leakage", "pass", "reported only", severity="info")
    Check("golden.leakage", "Leakage", "error", "could not be computed", severity="critical")
    Check("golden.leakage", "Leakage", "skip", "disabled")  # a skip keeps the default severity


def test_a_violation_is_logged_from_any_process(tmp_path):
    """A kernel that catches the refusal (or dies of it) still leaves the line the session fails on."""
    log = tmp_path / "violations.txt"
    code = ("import readiness.registry\n"
            "from readiness.results import Check\n"
            "try:\n    Check('golden.calibration.ece', 'x', 'pass', 'fine')\nexcept ValueError:\n    pass\n"
            "Check('golden.leakage', 'x', 'pass', 'ok', severity='critical')\n")
    env = {**os.environ, "READINESS_STRICT_CHECK_IDS": str(log)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert log.read_text(encoding="utf-8").splitlines() == [
        "check id 'golden.calibration.ece' is not in the check catalogue; add a CheckEntry to its report's catalogue "
        "(readiness/reports/<report>/catalogue.py) and regenerate docs/checks.md with "
        "`readiness checks --format markdown`"]


def test_the_session_scan_finds_an_uncatalogued_id_in_a_results_file():
    from conftest import uncatalogued_ids_in

    # outside the session's temporary folder, which the session scan reads at its end
    folder = Path(tempfile.mkdtemp(prefix="readiness-scan-"))
    try:
        good = Check("golden.leakage", "Leakage", "pass", "ok", severity="critical")
        document = results.report_document("golden_benchmark", [good], {}, "2026-01-01T00:00:00+00:00", 1.0)
        document["checks"].append({**document["checks"][0], "id": "golden.calibration.ece"})
        results.write_json(folder / "nested" / "golden_benchmark.json", document)
        (folder / "drift_report.json").write_text("{broken", encoding="utf-8")  # skipped, not fatal
        found = uncatalogued_ids_in(folder)
        assert len(found) == 1 and found[0].endswith("golden_benchmark.json: 'golden.calibration.ece'")
    finally:
        shutil.rmtree(folder)


def test_strict_mode_without_a_catalogue_says_so(monkeypatch):
    monkeypatch.setattr(results, "_CATALOGUE", None)
    with pytest.raises(RuntimeError, match="no check catalogue is loaded; import readiness.registry"):
        Check("golden.leakage", "Leakage", "pass", "ok", severity="critical")


def test_a_section_may_record_only_the_ids_its_prefixes_own(raise_only):
    class Report(RecordsChecks):
        def __init__(self):
            self._sections = {}

    report = Report()
    latency = Check("golden.latency.p95_ms", "p95", "pass", "12 ms", severity="info")
    size = Check("golden.artifact.size", "Artifact size", "pass", "1 kB", severity="info")
    assert report._record("latency", [latency, size]) == [latency, size]
    with pytest.raises(UncataloguedCheck, match="recorded by section 'metrics' of golden_benchmark, but the SectionSpec "
                                                "prefixes of golden_benchmark give it to section 'latency'"):
        report._record("metrics", [latency])


def test_a_plug_in_report_brings_its_own_checks():
    reports = Registry()
    reports._loaded = True  # no built-in reports, no entry points: just the plug-in
    entry = CheckEntry("fairness.gap.<group>", "Gap in positive rate between groups", "major", ("pass", "fail"),
                       ("fairness.max_gap",))
    reports.register(ReportSpec("fairness_report", "Fairness", (), "fairness", lambda c, x: {}, lambda c: 60.0,
                                sections=(SectionSpec("gaps", "Gaps", ("fairness.gap",)),), checks=(entry,)))
    found = reports.catalogue().find("fairness.gap.sex")
    assert found.id == "fairness.gap.<group>" and found.report == "fairness_report"
    assert reports.catalogue().find("golden.leakage") is None
    reports.register(ReportSpec("other", "Other", (), "other", lambda c, x: {}, lambda c: 60.0))
    assert reports.catalogue().find("fairness.gap.age") is not None  # rebuilt after a registration


def test_an_entry_must_be_well_formed():
    with pytest.raises(ValueError, match="severity 'blocker'"):
        CheckEntry("golden.x", "x", "blocker", ("pass",))
    with pytest.raises(ValueError, match="statuses"):
        CheckEntry("golden.x", "x", "major", ("ok",))
    with pytest.raises(ValueError, match="values for placeholders it does not have: \\['metric'\\]"):
        CheckEntry("golden.x", "x", "major", ("pass",), values={"metric": ("roc_auc",)})


# --------------------------------------------------------------------------- readiness checks


def test_readiness_checks_lists_every_id(capsys):
    from readiness.cli import main

    main(["checks"])
    text = capsys.readouterr().out
    for entry in CATALOGUE.entries:
        assert re.search(rf"^{re.escape(entry.id)}\s+{entry.severity}\s", text, re.M), entry.id
    main(["checks", "--format", "json"])
    listed = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in listed] == [e.id for e in CATALOGUE.entries]
    assert {e["report"] for e in listed} == set(registry.names()) | {""}
    first = next(e for e in listed if e["id"] == "golden.metric.<metric>")
    assert "roc_auc" in first["values"]["metric"] and re.fullmatch(first["pattern"], "golden.metric.roc_auc")
    main(["checks", "--format", "markdown"])
    assert capsys.readouterr().out == (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    main(["checks", "--report", "drift_report", "--format", "json"])
    assert {e["report"] for e in json.loads(capsys.readouterr().out)} == {"drift_report"}
