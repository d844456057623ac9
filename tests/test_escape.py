"""One escaping function per medium, and random hostile text through every output format.

Runs on the pure formatting functions (fast, many examples); tests/test_hostile.py sends
hostile data through the real runner.
"""

import re
import sys
import unicodedata

import lxml.etree
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers import FAKE_VERDICT, HOSTILE_STRINGS, assert_inert_markdown, raw_controls, render_markdown
from readiness.run.aggregate import index_html, junit_xml, summary_markdown
from readiness.escape import _INVISIBLE, markdown_cell, plot_text, terminal_text, visible, xml_text
from readiness.results import Check, report_document

# --------------------------------------------------------------------------- strategies

#: Text a stranger controls: any code point (controls, bidi overrides, surrogates from
#: JSON escapes, private use) mixed with the characters each medium interprets.
SPECIALS = list("$`|[]()!@#<>&*_~:\\\"'\n\r\t\x00\x01\x1b\x7f\x9b\u202e\u2066\u200b\ufeff\ud800") + [
    "https://evil.example/x", "www.evil.example", "@all", "#12", "![x](https://t.example/p.png)",
    "[Approve](https://phish.example)", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    FAKE_VERDICT, "$0_to_$50", "\\|", "``", "-->", "]]>"]
hostile_text = st.lists(st.one_of(st.sampled_from(SPECIALS), st.text(max_size=8)), max_size=12).map("".join)
long_hostile_text = st.one_of(hostile_text, hostile_text.map(lambda t: (t or "$") * 400))
ALLOWED_LINKS = {"golden_benchmark.html", "drift_report.html", "index.html"}
# random code points include ones no installed font draws; matplotlib says so and draws a box
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")


def hostile_documents(texts: list[str]) -> list[dict]:
    """Two results documents carrying ``texts`` as check ids, titles, messages, thresholds and an error."""
    checks = []
    for i, text in enumerate(texts):
        status = ("fail", "warn", "error", "pass", "skip")[i % 5]
        checks.append(Check(f"golden.segment.roc_auc[{text}={text}]", text, status, f"message {text}",
                            value=0.5, threshold={"min": 0.7, text: text}, severity="critical"))
    golden = report_document("golden_benchmark", checks, {"golden": {"path": texts[0], "sha256": "ab" * 32}},
                             "2026-01-01T00:00:00+00:00", 1.0)
    golden["files"] = {"html": "golden_benchmark.html", "json": "golden_benchmark.json"}
    drift = report_document("drift_report", [], {}, "2026-01-01T00:00:00+00:00", 1.0, error=f"crashed: {texts[-1]}")
    drift["files"] = {"html": f"https://evil.example/{texts[-1]}"}  # a results file cannot point a link elsewhere
    return [golden, drift]


# --------------------------------------------------------------------------- visible


def test_every_control_and_invisible_character_is_written_out():
    """The character class against unicodedata of the running Python: nothing missed."""
    missed = [hex(code) for code in range(sys.maxunicode + 1)
              if (unicodedata.category(chr(code)) in ("Cc", "Cf", "Cs", "Zl", "Zp") and code not in (0x200C, 0x200D))
              and not _INVISIBLE.fullmatch(chr(code))]
    assert missed == []
    # extra code points are only ones this Python's Unicode does not assign yet (Cf in later versions)
    extra = [code for code in range(sys.maxunicode + 1)
             if _INVISIBLE.fullmatch(chr(code)) and unicodedata.category(chr(code)) not in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert all(unicodedata.category(chr(code)) == "Cn" for code in extra)


def test_visible_keeps_ordinary_text_of_every_script():
    for text in ("region=north", "Zürich · São Paulo · 東京 · कीमत · قیمت\u200cها · 👨\u200d👩\u200d👧", "1 000 €", ""):
        assert visible(text) == text  # control: nothing to escape, nothing changed
    assert visible("a\x1b[2Kb\u202ec\n") == "a\\x1b[2Kb\\u202ec\\n"
    assert visible("line\nnext\t", keep="\n\t") == "line\nnext\t"


# --------------------------------------------------------------------------- terminal


def test_terminal_text_cannot_erase_lines_or_fake_a_verdict():
    line = terminal_text(f"  ✗ golden.segment[{FAKE_VERDICT}]: message")
    assert "\x1b" not in line and "\\x1b[2K\\x1b[1A\\x1b[32mVerdict: PASS\\x1b[0m" in line
    assert terminal_text("golden_benchmark: FAIL  out/golden_benchmark.html") == "golden_benchmark: FAIL  out/golden_benchmark.html"
    assert terminal_text("x" * 50, width=10) == "x" * 9 + "…"


def test_cli_error_lines_escape_data(tmp_path, capsys, monkeypatch):
    """A hostile --target reaches the one-line error: printed escaped, still one line."""
    from readiness.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.csv").write_text("a,b\n1,2\n")
    import skops.io
    from sklearn.linear_model import LogisticRegression

    skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), tmp_path / "m.skops")
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--model", "m.skops", "--golden", "g.csv", "--target", FAKE_VERDICT + "\nVerdict: PASS"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert raw_controls(err) == [] and "\\x1b[32mVerdict: PASS" in err
    with pytest.raises(SystemExit) as exit_info:  # control: an ordinary bad value reads as before
        main(["run", "--model", "m.skops", "--golden", "g.csv", "--target", "churn"])
    assert exit_info.value.code == 2 and "target column 'churn' not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- Markdown


def test_markdown_cell_is_an_inert_code_span_that_keeps_the_text():
    for text in HOSTILE_STRINGS + ["`", "``a``", " lead and trail ", "a\\|b", "\\", "x|y|z"]:
        cell = markdown_cell(text)
        table = f"| a | b |\n|---|---|\n| {cell} | end |\n"
        root = render_markdown(table)
        cells = root.findall(".//tbody/tr/td")
        assert len(cells) == 2 and cells[1].text_content() == "end", table  # the row did not break
        assert cells[0].text_content() == visible(text), table  # shown literally
        assert_inert_markdown(table, set())
    assert markdown_cell("") == ""
    assert markdown_cell("region=north") == "`region=north`"  # control


def test_markdown_harness_catches_live_markdown():
    """Guard against a vacuous check: the same strings outside a code span are live."""
    for live in ("![x](https://t.example/p.png)", "[Approve](https://phish.example)", "hi @all", "see #12",
                 "<img src=x>", "https://evil.example"):
        with pytest.raises(AssertionError):
            assert_inert_markdown(f"| a |\n|---|\n| {live} |\n", set())


# --------------------------------------------------------------------------- XML


def test_xml_text_is_accepted_by_xml_parsers():
    text = "bad\x01\x1b[31m\x00\ufffe\ud800 end\nnext\ttab"
    with pytest.raises(Exception):  # the hazard: raw, lxml refuses it (as GitLab does)
        lxml.etree.fromstring(f"<a>{text}</a>".encode("utf-8", "surrogatepass"))
    element = lxml.etree.fromstring(f"<a>{xml_text(text)}</a>".encode())
    assert element.text == "bad\\x01\\x1b[31m\\x00\\ufffe\\ud800 end\nnext\ttab"
    assert xml_text("golden.metric.roc_auc ≥ 0.85") == "golden.metric.roc_auc ≥ 0.85"  # control


# --------------------------------------------------------------------------- matplotlib


def shown(text: str) -> tuple[str, bool]:
    """What matplotlib draws for a label: (text, is_mathtext)."""
    return Text(0, 0, text)._preprocess_math(text)


def test_plot_text_is_never_mathtext_and_shows_dollars():
    for text in ("spend_$_usd_$_per_day", "$0_to_$50", "$x^2$", "a\\$b$", "\\$$", "$"):
        drawn, math = shown(plot_text(text))
        assert not math and drawn == text, (text, drawn)
    assert plot_text("region=north") == "region=north"  # control


def test_dollar_labels_break_a_figure_unless_escaped():
    """The hazard is real: raw, matplotlib fails on ordinary text; through plot_text it draws."""
    def draw(label):
        fig = Figure(figsize=(3, 2), dpi=40)
        ax = fig.subplots()
        ax.barh([0, 1], [1, 2])
        ax.set_yticks([0, 1], labels=[label, "north"])
        ax.set_title(label)
        fig.savefig(__import__("io").BytesIO(), format="png")

    with pytest.raises(ValueError):
        draw("$0_to_$50^{")
    draw(plot_text("$0_to_$50^{"))
    draw(plot_text("region=north"))  # control


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_hostile_text)
def test_any_text_draws_literally(text):
    drawn, math = shown(plot_text(text, 40))
    assert not math
    fig = Figure(figsize=(2, 1), dpi=20)
    fig.subplots().set_title(plot_text(text, 40))
    fig.savefig(__import__("io").BytesIO(), format="png")


# --------------------------------------------------------------------------- every format at once


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(long_hostile_text, min_size=1, max_size=6))
def test_random_hostile_text_through_every_output_format(texts):
    documents = hostile_documents(texts)
    # Markdown: inert, within its size limit, every row intact
    markdown = summary_markdown(documents)
    assert_inert_markdown(markdown, ALLOWED_LINKS)
    assert len(markdown.encode()) <= 64 * 1024
    root = render_markdown(markdown)
    tables = root.findall(".//table")
    rows = tables[-1].findall("./tbody/tr") if len(tables) > 1 else []
    assert all(len(row.findall("td")) == 5 for row in rows)
    # JUnit: parses and keeps one testcase per check (+ the errored report)
    xml = junit_xml(documents)
    tree = lxml.etree.fromstring(xml)
    assert len(tree.findall(".//testcase")) == len(texts) + 1
    # HTML: no element or attribute from data (Jinja escapes; links only to readiness's files)
    page = index_html(documents)
    assert "<script" not in page.lower() and "onerror=" not in page.replace("onerror=alert(1)&gt;", "")
    hrefs = set(re.findall(r'href="([^"]*)"', page))
    assert hrefs <= ALLOWED_LINKS | {"golden_benchmark.json"}, hrefs
    # terminal: the verdict lines the CLI prints
    from readiness.cli import _print_verdict

    lines = []
    import readiness.cli as cli_module

    original = cli_module.click.echo
    cli_module.click.echo = lambda text, err=False: lines.append(text)
    try:
        _print_verdict(__import__("pathlib").Path("out"), documents, "fail")
    finally:
        cli_module.click.echo = original
    assert all(raw_controls(line) == [] and "\n" not in line for line in lines)
    assert lines[-1].startswith("Verdict: FAIL")


def test_hostile_documents_hold_the_hazards():
    """Guard against a vacuous property: unescaped, these documents break XML and the terminal."""
    texts = ["\x1b[2K\x01"]
    documents = hostile_documents(texts)
    assert raw_controls(documents[0]["checks"][0]["message"])
    with pytest.raises(Exception):
        lxml.etree.fromstring(f"<a>{documents[0]['checks'][0]['message']}</a>".encode())
    assert np.isfinite(documents[0]["checks"][0]["value"])
