"""The README cannot go stale: what it quotes is what the program does.

Its demo section is rendered from docs/demo-section.md with the figures of the demo this test
session runs (`readiness demo`, as `make demo`); the commands it tells a new user to run exist.
"""

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

import readiness

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def build_docs():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "docs" / "build_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.notebooks
def test_the_readme_demo_section_is_what_the_demo_produces(demo_run):
    demo, result = demo_run
    assert result.returncode == 0, result.stderr
    docs = build_docs()
    expected = docs.render_section(docs.demo_facts(demo, result.stdout))
    assert docs.readme_section(README) == expected, "README.md's demo section is stale: run `make docs`"


#: What the narrative reads from the release attribution and north's guarantees, in the shape of the golden results.
RELEASE_DETAILS = {
    "golden.attribution": {"details": {"segments": {"region=north": {"contributions": {
        "model": {"kind": "model", "value": 0.015}, "accounts": {"kind": "source", "value": 0.06},
        "usage_feed": {"kind": "source", "value": -0.01}}}}}},
    "golden.guarantee.mean_shift[region=north]": {"threshold": {"max_abs": 0.02}},
    "golden.guarantee.flip_rate[region=north]": {"threshold": {"max": 0.1}},
}


def test_a_finding_the_narrative_does_not_mention_stops_the_docs(tmp_path):
    """Guard against a vacuous check: a new warning in the demo must be narrated before the README renders."""
    import json

    docs = build_docs()
    prefixes = {"golden_benchmark": "golden.", "drift_report": "drift.", "workflow_risk_checklist": "checklist.",
                "monitoring_report": "monitoring."}
    for report in docs.REPORTS:
        checks = [{"id": cid, "status": status, "value": 0.5, "message": "x (y)", "threshold": {"min": 0.7}}
                  | RELEASE_DETAILS.get(cid, {})
                  for cid, status in docs.CLAIMS.items() if cid.startswith(prefixes[report])]
        doc = {"report": report, "status": "fail", "checks": checks}
        (tmp_path / "report").mkdir(exist_ok=True)
        (tmp_path / "report" / f"{report}.json").write_text(json.dumps(doc))
    assert docs.demo_facts(tmp_path, "")["golden_fail"] == "3"
    extra = json.loads((tmp_path / "report" / "drift_report.json").read_text())
    extra["checks"].append({"id": "drift.column.new_thing", "status": "warn", "value": 0.3, "message": "m"})
    (tmp_path / "report" / "drift_report.json").write_text(json.dumps(extra))
    with pytest.raises(docs.StaleNarrative, match="drift.column.new_thing"):
        docs.demo_facts(tmp_path, "")
    # the narrative names the accounts feed: another feed carrying north's shift stops the docs too
    checks = {c["id"]: c for c in json.loads((tmp_path / "report" / "golden_benchmark.json").read_text())["checks"]}
    checks["golden.attribution"]["details"]["segments"]["region=north"]["contributions"]["usage_feed"]["value"] = -0.2
    with pytest.raises(docs.StaleNarrative, match="usage_feed"):
        docs.north_release_facts(checks)


def test_readme_names_the_published_distribution_and_make_targets():
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert f"pip install {name}" in README and f"'{name}[lab]'" in README
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", README, re.M):
        assert re.search(rf"^{target}:", makefile, re.M), f"README runs `make {target}`, which the Makefile lacks"
    # no command installs the bare, unclaimed name (prose may explain why not)
    assert not re.search(r"^[\s>$-]*(run: )?pip install ['\"]?readiness\b", README, re.M)


def test_each_benchmark_figure_is_quoted_once():
    """A figure quoted in two places drifts apart (the drift benchmark was "~13 s" and "11.6 s")."""
    timings = re.findall(r"\b\d+(?:\.\d+)? s\b", README.split("<!-- demo:end -->")[-1])
    assert len(timings) == len(set(timings)), sorted(t for t in timings if timings.count(t) > 1)
    assert not re.search(r"~\s?\d+(?:\.\d+)? ?s\b", README), "no approximate timings: quote the benchmark's"
    assert readiness.__version__ in (ROOT / "CHANGELOG.md").read_text()
