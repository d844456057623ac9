"""index.html, junit.xml, summary.md and `readiness summary`, from results documents."""

import json
from pathlib import Path

import pytest

from helpers import assert_inert_markdown, render_markdown
from readiness.run.aggregate import MARKDOWN_LIMIT, index_html, junit_xml, run_documents, summary_markdown, write_run_outputs
from readiness.cli import main
from readiness.exceptions import InputError
from readiness.results import Check, report_document, write_json

lxml_etree = pytest.importorskip("lxml.etree")
SCHEMA = Path(__file__).parent / "fixtures" / "junit-gitlab.xsd"
HOSTILE = "<script>alert('x')</script> | `tick` & <b>"


def document(report="golden_benchmark", checks=None, error=None, duration=4.0):
    checks = checks if checks is not None else [
        Check("golden.metric.roc_auc", "ROC AUC", "pass", "0.91 ≥ 0.85", value=0.91, ci=[0.9, 0.92], threshold={"min": 0.85},
              severity="critical"),
        Check("golden.change.roc_auc", "ROC AUC vs baseline", "warn", "inconclusive", value=-0.004, ci=[-0.02, 0.01],
              severity="critical"),
        Check("golden.segment.roc_auc[region=EU]", "ROC AUC [EU]", "fail", "worse beyond the margin", value=-0.05,
              severity="critical"),
        Check("golden.segment.roc_auc[region=US]", "ROC AUC [US]", "skip", "only 12 rows (< min_segment_rows 50)"),
        Check("golden.consistency.mean_prediction_ratio", "Mean ratio", "error", "could not be computed",
              severity="critical"),
        Check(f"golden.segment.roc_auc[region={HOSTILE}]", "hostile", "fail", f"message {HOSTILE}", value=0.1,
              severity="critical"),
    ]
    doc = report_document(report, checks, {"golden": {"path": "g.csv", "sha256": "ab" * 32, "rows": 10}},
                          "2026-11-23T10:00:00+00:00", duration, error=error)
    doc["files"] = {"html": f"{report}.html", "json": f"{report}.json"}
    return doc


def gitlab_view(xml: bytes):
    """What GitLab's parser makes of the file: (suite, name) -> status, first name wins."""
    root = lxml_etree.fromstring(xml)
    cases = {}
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            key = (suite.get("name"), case.get("name"))
            status = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "success")
            cases.setdefault(key, status)
    return root, cases


def test_junit_validates_and_failed_checks_are_failing_testcases():
    docs = [document(), document("drift_report", [Check("drift.column.age", "age", "pass", "ok")], duration=2.0)]
    xml = junit_xml(docs)
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(SCHEMA)))
    assert schema.validate(lxml_etree.fromstring(xml)), schema.error_log
    root, cases = gitlab_view(xml)
    expected = {"pass": "success", "warn": "success", "fail": "failure", "error": "error", "skip": "skipped"}
    for doc in docs:
        for check in doc["checks"]:
            assert cases[(doc["report"], check["id"])] == expected[check["status"]]
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "2", "1", "1")
    assert root.get("failures") == "2" and root.get("tests") == "7"
    assert float(suite.get("time")) == pytest.approx(4.0) and suite.find("testcase").get("classname") == "golden_benchmark"
    warn_case = suite.find("testcase[@name='golden.change.roc_auc']")
    assert warn_case.find("system-out").text.startswith("WARN: inconclusive")
    out = suite.find("testcase[@name='golden.metric.roc_auc']").find("system-out").text
    assert "value: 0.9100" in out and "CI: 0.9000 to 0.9200" in out and "threshold: min 0.8500" in out
    assert suite.find("testcase[@name='golden.segment.roc_auc[region=US]']/skipped").get("message").startswith("only 12 rows")


def test_junit_names_stay_unique_and_a_crashed_report_is_an_error():
    dup = [Check("golden.leakage", "x", "pass", "one", severity="critical"),
           Check("golden.leakage", "x", "fail", "two", severity="critical")]
    _, cases = gitlab_view(junit_xml([document(checks=dup)]))
    assert cases[("golden_benchmark", "golden.leakage")] == "success"
    assert cases[("golden_benchmark", "golden.leakage#2")] == "failure"
    _, cases = gitlab_view(junit_xml([document(checks=[], error="ZeroDivisionError in cell 4: boom")]))
    assert cases == {("golden_benchmark", "golden_benchmark.run"): "error"}


def test_markdown_lists_failures_first_escaped_and_within_the_limit():
    text = summary_markdown([document()])
    assert text.startswith("## 💥 readiness: ERROR (not ready)")  # an errored check outranks a failed one
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "`golden." in line]
    assert rows[0].startswith("| 💥 error") and rows[-1].startswith("| ⚠️ warn")
    assert_inert_markdown(text, set())
    codes = [c.text_content() for c in render_markdown(text).iter("code")]
    assert f"golden.segment.roc_auc[region={HOSTILE}]" in codes and f"message {HOSTILE}" in codes


def test_markdown_names_report_files_as_text_without_a_base_url():
    """A relative link breaks in a GitHub job summary: the files are named relative to the artifact."""
    root = render_markdown(summary_markdown([document()]))
    assert list(root.iter("a")) == []
    codes = [c.text_content() for c in root.iter("code")]
    assert "golden_benchmark.html" in codes and "index.html" in codes


def test_markdown_links_are_absolute_under_a_base_url():
    base = "https://gitlab.example/g/p/-/jobs/7/artifacts/file/readiness report (1)"
    text = summary_markdown([document()], base_url=base)
    links = {a.get("href") for a in render_markdown(text).iter("a")}
    prefix = "https://gitlab.example/g/p/-/jobs/7/artifacts/file/readiness%20report%20%281%29/"
    assert links == {prefix + "golden_benchmark.html", prefix + "index.html"}
    assert_inert_markdown(text, links)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "golden/", "//host/x", "ftp://host/x"])
def test_a_base_url_that_is_not_http_is_a_usage_error(bad):
    from readiness.exceptions import UsageError

    with pytest.raises(UsageError, match="--base-url"):
        summary_markdown([document()], base_url=bad)


def test_markdown_is_truncated_with_a_note():
    many = [Check(f"golden.segment.roc_auc[id={i}]", "x", "fail", "m" * 200, severity="critical") for i in range(2000)]
    text = summary_markdown([document(checks=many)])
    assert len(text.encode()) <= MARKDOWN_LIMIT
    assert "more failing or warning checks not shown (size limit)" in text


def test_index_page_shows_verdict_failures_and_links_all_escaped():
    page = index_html([document(), document("drift_report", [], error=f"crashed {HOSTILE}")])
    assert 'class="banner error"' in page and "not ready to deploy" in page
    assert 'href="golden_benchmark.html"' in page and "worse beyond the margin" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "default-src 'none'" in page
    assert page.index("golden.consistency.mean_prediction_ratio") < page.index("golden.change.roc_auc")


def test_summary_command_rebuilds_the_run_outputs(tmp_path, capsys):
    doc = document()
    write_json(tmp_path / "golden_benchmark.json", doc)
    (tmp_path / "golden_benchmark.html").write_text("<html></html>")
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", str(tmp_path)])
    assert exit_info.value.code == 1
    for name in ("summary.json", "index.html", "junit.xml", "summary.md"):
        assert (tmp_path / name).is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "error"
    assert "Verdict: ERROR" in capsys.readouterr().out


@pytest.mark.parametrize("warn_exit_code,expected", [(None, 0), (3, 3)])
def test_warn_exit_code(tmp_path, warn_exit_code, expected):
    write_json(tmp_path / "golden_benchmark.json", document(checks=[Check("drift.target", "Target drift", "warn", "meh")]))
    args = ["summary", str(tmp_path)] + (["--warn-exit-code", str(warn_exit_code)] if warn_exit_code is not None else [])
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == expected


def test_summary_of_a_folder_without_results_is_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", str(tmp_path)])
    assert exit_info.value.code == 2 and "holds no readiness results" in capsys.readouterr().err
    with pytest.raises(InputError):
        run_documents(tmp_path / "missing")


def test_write_run_outputs_returns_the_summary(tmp_path):
    summary = write_run_outputs(tmp_path, [document()])
    assert summary["reports"][0]["failing"][0] == "golden.segment.roc_auc[region=EU]"


def test_init_writes_ci_jobs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main(["init", "--ci", "github"])
    assert "readiness run" in (tmp_path / ".github" / "workflows" / "readiness.yml").read_text()
    (tmp_path / ".gitlab-ci.yml").write_text("stages: [test]\n")
    main(["init", "--ci", "gitlab"])  # readiness.yaml exists now: kept; .gitlab-ci.yml exists: written beside
    assert (tmp_path / ".gitlab-ci.yml").read_text() == "stages: [test]\n"
    assert "artifacts:" in (tmp_path / "readiness.gitlab-ci.yml").read_text()
    assert "include: {local: readiness.gitlab-ci.yml}" in capsys.readouterr().out
    # the job runs the Python of the environment that wrote it (the training one, at best)
    import sys

    import yaml

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "readiness.yml").read_text())
    setup = next(s for s in workflow["jobs"]["readiness"]["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == python
    job = yaml.safe_load((tmp_path / "readiness.gitlab-ci.yml").read_text())["readiness"]
    assert job["image"] == f"python:{python}-slim"


def test_summary_command_links_under_a_base_url_and_refuses_a_bad_one(tmp_path, capsys):
    def call(args, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        captured = capsys.readouterr()
        return exit_info.value.code, captured.out, captured.err

    write_json(tmp_path / "golden_benchmark.json", document())
    (tmp_path / "golden_benchmark.html").write_text("<html></html>")
    code, _, err = call(["summary", str(tmp_path), "--base-url", "https://ci.example/a/"], capsys)
    assert code == 1 and "](https://ci.example/a/golden_benchmark.html)" in (tmp_path / "summary.md").read_text()
    code, _, err = call(["summary", str(tmp_path), "--base-url", "javascript:alert(1)"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--base-url" in err
