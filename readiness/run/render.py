"""Render an executed notebook into the self-contained reader's HTML report."""

from __future__ import annotations

import functools
import threading
from typing import Any

import nbformat

from readiness.resources import templates_dir

#: Cells dropped from the reader's view (they stay in the executed .ipynb).
HIDDEN_CELL_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag", "remove-cell"}


def reader_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without code, parameter cells, error tracebacks or stderr noise."""
    nb = nbformat.from_dict(notebook)
    kept = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_CELL_TAGS:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                out for out in cell.get("outputs", [])
                if out.get("output_type") != "error" and not (out.get("output_type") == "stream" and out.get("name") == "stderr")
            ]
        kept.append(cell)
    nb.cells = kept
    return nb


@functools.lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="readiness",
        extra_template_basedirs=[str(templates_dir())],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


def render_html(notebook: nbformat.NotebookNode, results: dict[str, Any], title: str) -> str:
    """HTML with the verdict banner and provenance from ``results``; no external resources."""
    resources = {"readiness": results, "readiness_title": title, "metadata": {"name": title}}
    body, _ = _exporter().from_notebook_node(reader_notebook(notebook), resources=resources)
    return body


def warm_renderer() -> threading.Thread:
    """Import nbconvert and compile the template on a thread, while a notebook runs.

    Both take ~1.5 s the first time; the driver is idle while the child process
    executes the notebook, so the first report renders without that wait.
    """
    def warm() -> None:
        try:
            render_html(placeholder_notebook("warm-up"), {}, "warm-up")
        except Exception:  # rendering the real report reports any template problem
            pass

    thread = threading.Thread(target=warm, name="readiness-warm-renderer", daemon=True)
    thread.start()
    return thread


def placeholder_notebook(title: str) -> nbformat.NotebookNode:
    """Used when a notebook never produced output (e.g. the kernel could not start)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nThe notebook produced no output.")]
    nb.metadata["title"] = title
    return nb
