"""Reports in a real browser (Debian's headless Chromium, driven by Playwright).

Skips with the reason when no Chromium is installed (`.ci/run` installs it).
"""

import shutil
from pathlib import Path

import pytest

from helpers import DOLLAR_COLUMN, FAKE_VERDICT, PHISHING_COLUMN, PIXEL_COLUMN
from readiness.run.aggregate import index_html
from readiness.results import Check, report_document

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.notebooks,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium)")]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def visit(browser, path: Path, screenshot: Path | None = None):
    """Open a file; return (requests, console errors, dialogs, banner visible)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, errors, dialogs = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # let any deferred handler (e.g. onerror) fire
    visible = page.locator("#readiness-verdict").is_visible()
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=False)
    page.close()
    return requests, errors, dialogs, visible


def assert_clean(result):
    requests, errors, dialogs, visible = result
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert errors == [], errors
    assert dialogs == [], f"script from data ran: {dialogs}"
    assert visible, "verdict banner not visible"


def test_report_and_index_of_a_hostile_run(browser, tiny_run, tmp_path):
    folder, _ = tiny_run
    assert_clean(visit(browser, folder / "out" / "golden_benchmark.html"))
    shot = tmp_path / "index.png"
    assert_clean(visit(browser, folder / "out" / "index.html", screenshot=shot))
    assert shot.stat().st_size > 10_000


def test_every_page_of_the_hostile_run(browser, hostile_run, tmp_path):
    """`$` pairs, tracking pixels, phishing links, ANSI fake verdicts and RTL overrides in column
    names, segment values and checklist texts (tests/test_hostile.py): every page stays inert."""
    folder, _ = hostile_run
    pages = sorted((folder / "out").glob("*.html"))
    assert [p.name for p in pages] == ["drift_report.html", "golden_benchmark.html", "index.html",
                                       "workflow_risk_checklist.html"]
    for page in pages:
        assert_clean(visit(browser, page, screenshot=tmp_path / f"{page.stem}.png"))
    assert (tmp_path / "golden_benchmark.png").stat().st_size > 10_000


def test_index_with_hostile_check_ids_and_messages(browser, tmp_path):
    hostile = [Check("golden.segment.roc_auc[col=<img src=x onerror=alert(1)>]", "t", "fail",
                     "<script>alert(2)</script>", value=0.1, severity="critical"),
               Check("golden.robustness.nan", "<svg onload=alert(3)>", "warn", "<iframe src=javascript:alert(4)>"),
               Check(f"golden.segment.roc_auc[{PHISHING_COLUMN}={FAKE_VERDICT}]", DOLLAR_COLUMN, "fail",
                     f"{PIXEL_COLUMN} \u202e$0_to_$50\x01", value=0.2, severity="critical")]
    doc = report_document("golden_benchmark", hostile, {}, "2026-01-01T00:00:00+00:00", 1.0,
                          error=None)
    doc["files"] = {"html": "javascript:alert(5)"}  # a results file cannot make a link
    page = tmp_path / "index.html"
    page.write_text(index_html([doc]))
    assert_clean(visit(browser, page))


def test_a_crashed_report(browser, tmp_path):
    from readiness.run.notebook import execute_report

    fixtures = Path(__file__).parent / "fixtures"
    execute_report("crashing", {}, tmp_path, 120, notebook=fixtures / "crashing.ipynb")
    assert_clean(visit(browser, tmp_path / "crashing.html"))


def test_the_harness_catches_script_from_data(browser, tmp_path):
    """Guard against a vacuous test: unescaped markup without our CSP does fire a dialog."""
    page = tmp_path / "unsafe.html"
    page.write_text('<html><body><div id="readiness-verdict">x</div><img src=x onerror="alert(1)"></body></html>')
    _, _, dialogs, _ = visit(browser, page)
    assert dialogs == ["1"]
