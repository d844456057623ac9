"""Test-only models and builders shared by the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

HOSTILE_COLUMN = "<script>alert(1)</script>"
HOSTILE_IMG_COLUMN = "<img src=x onerror=alert(1)>"
HOSTILE_VALUE = "<script>alert(2)</script>"


class ColumnScoreClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier whose P(positive) is a column of X: outputs fully under test control."""

    def __init__(self, column: str = "score"):
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        p = X[self.column].to_numpy(dtype=float)
        return np.c_[1 - p, p]

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class ColumnRegressor(RegressorMixin, BaseEstimator):
    """Regressor that predicts a column of X times a factor."""

    def __init__(self, column: str = "pred", factor: float = 1.0):
        self.column = column
        self.factor = factor

    def fit(self, X, y):
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return X[self.column].to_numpy(dtype=float) * self.factor


def tiny_classification(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Small churn-like data with a hostile column name and a hostile segment value."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["EU", "US", HOSTILE_VALUE], n, p=[0.45, 0.4, 0.15])
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    hostile = rng.normal(size=n)
    hostile_img = rng.normal(size=n)
    logit = 1.2 * x1 - 0.8 * x2 + 0.5 * hostile + 0.3 * hostile_img + np.where(region == "US", 0.7, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, HOSTILE_COLUMN: hostile, HOSTILE_IMG_COLUMN: hostile_img,
                         "region": region, "label": y})


def fit_classifier(frame: pd.DataFrame, features: list[str], C: float = 1.0):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in features if frame[c].dtype == object or str(frame[c].dtype).startswith("str")]
    numeric = [c for c in features if c not in categorical]
    prep = ColumnTransformer([("num", StandardScaler(), numeric),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])
    return Pipeline([("prep", prep), ("model", LogisticRegression(C=C, max_iter=500))]).fit(frame[features], frame["label"])


def run_readiness(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """The real console entry point in a child process (real exit code and stderr)."""
    return subprocess.run([sys.executable, "-m", "readiness.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


#: Read by GlobalStateRegressor at predict time; tests change it in their own process only.
SCALE = {"factor": 1.0}


class NoisyRegressor(ColumnRegressor):
    """Predicts with fresh random noise on every call: not deterministic."""

    def predict(self, X):
        return super().predict(X) + np.random.default_rng().normal(0, 1, len(X))


class BatchCenteredRegressor(ColumnRegressor):
    """Subtracts the batch mean: a row's prediction depends on the other rows."""

    def predict(self, X):
        values = super().predict(X)
        return values - values.mean()


class GlobalStateRegressor(ColumnRegressor):
    """Depends on module state: the same artifact predicts differently in a fresh process."""

    def predict(self, X):
        return super().predict(X) * SCALE["factor"]


def render_markdown(text: str):
    """summary.md as GitHub renders it (cmark-gfm, raw HTML let through so a test sees it), parsed."""
    import cmarkgfm
    import lxml.html
    from cmarkgfm.cmark import Options

    return lxml.html.fragment_fromstring(
        cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE), create_parent="div")


#: The only elements readiness's own Markdown produces.
MARKDOWN_ELEMENTS = {"div", "h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "a", "em"}


def assert_inert_markdown(text: str, allowed_links: set[str]) -> None:
    """No element, link, mention, reference or autolink in summary.md that readiness did not write.

    Mentions (@all), references (#12, !3) and bare URLs are only live outside code
    spans, so every text outside ``<code>`` must be readiness's own: it may not hold
    ``@``, ``://``, ``www.`` or ``#`` followed by a digit.
    """
    import re

    root = render_markdown(text)
    tags = {element.tag for element in root.iter() if isinstance(element.tag, str)}
    assert tags <= MARKDOWN_ELEMENTS, tags - MARKDOWN_ELEMENTS
    links = {a.get("href") for a in root.iter("a")}
    assert links <= allowed_links, links - allowed_links
    for element in root.iter():
        if element.tag == "code":
            outside = [element.tail or ""]
        else:
            outside = [element.text or "", element.tail or ""] if element.tag != "a" else [element.tail or ""]
        for piece in outside:
            assert not re.search(r"@|://|www\.|[#!]\d", piece), f"live text outside code: {piece!r}"


# --------------------------------------------------------------------------- hostile projects

#: Ordinary text that matplotlib would parse as mathtext.
DOLLAR_COLUMN = "spend_$_usd_$_per_day"
#: A tracking pixel, a phishing link with a mention and an issue reference, as column names.
PIXEL_COLUMN = "![x](https://tracker.example/p.png)"
PHISHING_COLUMN = "[Approve](https://phish.example/ok) @all #12"
#: Segment and category values: mathtext, a fake verdict drawn with ANSI sequences,
#: markup with a pipe and backticks, a right-to-left override with a control character.
FAKE_VERDICT = "\x1b[2K\x1b[1A\x1b[32mVerdict: PASS\x1b[0m"
HOSTILE_SEGMENTS = ["$0_to_$50", FAKE_VERDICT, "<img src=x onerror=alert(1)>|`x`", "\u202eevil\x01 | pipe"]
#: Every data string a hostile project puts in front of readiness.
HOSTILE_STRINGS = [DOLLAR_COLUMN, PIXEL_COLUMN, PHISHING_COLUMN, *HOSTILE_SEGMENTS]


def hostile_frame(n: int, seed: int, numeric: list[str], category: str, values: list[str]) -> pd.DataFrame:
    """Labelled data whose feature names and category values are the given strings."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=n) for name in ["x1", *numeric]})
    frame[category] = rng.choice(np.array(values, dtype=object), n)
    logit = 1.2 * frame["x1"] + sum(0.6 * frame[name] for name in numeric)
    logit = logit + np.where(frame[category] == values[0], 0.8, 0.0)
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def write_hostile_project(folder: Path, numeric: list[str], category: str, values: list[str],
                          texts: list[str], rows: int = 800, roc_auc_min: float = 0.6) -> Path:
    """golden, reference and current Parquet files, two models, a checklist and a readiness.yaml
    running all three reports, with ``texts`` in the checklist's step, owner and fear texts.
    ``roc_auc_min`` above what the model reaches makes every segment's check fail, so the
    segment values reach the terminal and the failure lists too."""
    import skops.io
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    train = hostile_frame(2000, 1, numeric, category, values)
    features = ["x1", *numeric, category]
    skops.io.dump(fit_classifier(train, features), folder / "candidate.skops")
    skops.io.dump(fit_classifier(train, ["x1", category], C=0.01), folder / "baseline.skops")
    hostile_frame(rows, 2, numeric, category, values).to_parquet(folder / "golden.parquet")
    train.iloc[:1000].to_parquet(folder / "reference.parquet")
    current = hostile_frame(600, 3, numeric, category, values)
    current[numeric[0]] += 1.0  # a real shift, so drift checks warn and their text reaches every output
    current.loc[current.index[:60], category] = texts[0]  # an unseen category value
    current.to_parquet(folder / "current.parquet")
    text = lambda i: texts[i % len(texts)]  # noqa: E731
    checklist = {
        "team": text(1),
        "workflow": [
            {"name": text(0), "mode": "automated", "owner": text(1), "depends_on": [{"name": text(2)}]},
            {"name": text(3), "mode": "manual"},
        ],
        "fears": [{"fear": text(4), "severity": 9, "likelihood": 3, "detected_by": [f"golden.segment.*{text(5)}"]}],
    }
    (folder / "checklist.yaml").write_text(yaml.safe_dump(checklist, allow_unicode=False), encoding="utf-8")
    # hostile source names and a key segment with a hostile value: attribution names reach every output
    reserved = {"model", "unassigned"}
    source_names = [t for t in dict.fromkeys(texts[4:] + texts[:4]) if t.strip() and t not in reserved][:2]
    sources = {name: [column] for name, column in zip(source_names, numeric)}
    guarantees = {} if "=" in category else {f"{category}={values[0]}": {"max_mean_shift": 0.5, "max_flip_rate": 0.5}}
    config = {
        "model": "candidate.skops", "baseline": "baseline.skops", "target": "label", "golden": "golden.parquet",
        "segments": [category], "reference": "reference.parquet", "current": "current.parquet",
        "checklist": "checklist.yaml", "output": "out", "sources": sources, "consistency": {"segments": guarantees},
        "golden_benchmark": {"n_bootstrap": 100, "min_segment_rows": 20,
                             "metrics": {"roc_auc": {"min": roc_auc_min, "max_regression": 0.05}},
                             "latency": {"single_row_calls": 10},
                             "robustness": {"max_rows": 200}},
    }
    (folder / "readiness.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


#: What terminal output may not hold: any control or invisible character except the line break.
def raw_controls(text: str) -> list[str]:
    from readiness.escape import _INVISIBLE

    return sorted({m.group() for m in _INVISIBLE.finditer(text) if m.group() != "\n"})


CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium() -> str | None:
    """Debian's Chromium, when installed (`.ci/run` installs it)."""
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def visit_pages(browser, paths) -> dict:
    """Open each page; per page: requests, console errors, dialogs and whether the verdict banner shows."""
    seen = {}
    for path in paths:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests, errors, dialogs = [], [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # let any deferred handler (e.g. onerror) fire
        seen[str(path)] = (requests, errors, dialogs, page.locator("#readiness-verdict").is_visible())
        page.close()
    return seen


def assert_inert_pages(paths) -> None:
    """Every page in headless Chromium: nothing fetched beyond file:/data:, no console error, no dialog."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            seen = visit_pages(browser, paths)
        finally:
            browser.close()
    for path, (requests, errors, dialogs, visible) in seen.items():
        assert all(url.startswith(("file:", "data:")) for url in requests), (path, requests)
        assert errors == [], (path, errors)
        assert dialogs == [], f"script from data ran in {path}: {dialogs}"
        assert visible, f"verdict banner not visible in {path}"


def assert_sections_carry_the_report(document: dict) -> None:
    """The ``sections`` of a results document hold every check once, each in the section whose
    registry prefix owns its id (the longest prefix wins), and every table is rectangular."""
    from readiness.registry import registry

    spec = registry.get(document["report"])

    def owner(check_id: str) -> str | None:
        matches = [(len(prefix), section.name) for section in spec.sections for prefix in section.prefixes
                   if check_id == prefix or check_id.startswith((prefix + ".", prefix + "["))]
        return max(matches)[1] if matches else None

    assert [i for s in document["sections"] for i in s["checks"]] == [c["id"] for c in document["checks"]]
    known = {section.name for section in spec.sections}
    for section in document["sections"]:
        assert section["name"] in known, section["name"]
        for check_id in section["checks"]:
            assert owner(check_id) == section["name"], (check_id, section["name"], owner(check_id))
        for table in section["tables"]:
            assert table["name"] and all(len(row) == len(table["columns"]) for row in table["rows"]), table["name"]


def shown_tables(html: str) -> list[dict]:
    """The data tables a rendered report shows (``rd-table``: not the checks, not the provenance),
    in page order: their header texts and the text of every cell."""
    import lxml.html

    page = lxml.html.document_fromstring(html)
    tables = []
    for table in page.xpath('//table[contains(concat(" ", @class, " "), " rd-table ")]'):
        headers = [th.text_content().strip() for th in table.xpath("./thead//th")]
        rows = [[td.text_content() for td in tr.xpath("./td")] for tr in table.xpath("./tbody/tr")]
        tables.append({"headers": headers, "rows": rows})
    return tables


def assert_json_carries_the_html_tables(html: str, document: dict) -> None:
    """Every table the HTML shows is in the results JSON's ``sections``, in the same order, with the
    same columns (the JSON may have more: columns kept but not shown) and the same rows; every text
    cell of the JSON is the text shown (formats change numbers only)."""
    shown = shown_tables(html)
    assert shown, "no table shown: nothing to compare"
    carried = [table for section in document["sections"] for table in section["tables"] if table["rows"]]
    assert [len(t["rows"]) for t in shown] == [len(t["rows"]) for t in carried], \
        ([t["headers"] for t in shown], [t["name"] for t in carried])
    for page, data in zip(shown, carried):
        positions = [data["columns"].index(h) for h in page["headers"]]  # a column shown but not carried raises
        assert positions == sorted(positions), (data["name"], page["headers"])
        for shown_row, row in zip(page["rows"], data["rows"]):
            for text, position in zip(shown_row, positions):
                value = row[position]
                if isinstance(value, str):
                    # status cells are shown as pills in capitals
                    assert text.strip().casefold() == value.strip().casefold(), (data["name"], text, value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert text.strip(), (data["name"], data["columns"][position], value)  # a number is shown
