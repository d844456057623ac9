"""Every public function and class under readiness/ has a docstring example, and every example runs.

Issue 14 asks for a numpydoc docstring with a short example on every public function and class.
(a) runs every ``>>>`` example of every module with doctest, the command-line commands' included
(click wraps them, which hides them from doctest's finder); (b) finds the public top-level functions
and classes (of modules whose path has no part starting with ``_``) whose docstring has no
``Examples`` section with a ``>>>`` line: there must be none beyond the allow-list below, which is
empty (``python tests/test_docstrings.py`` prints what it would have to hold).
"""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import textwrap
from pathlib import Path

import click
import pytest

import readiness

PACKAGE = Path(readiness.__file__).parent
MIGRATIONS = Path("readiness", "history", "migrations", "versions")

# Modules that import an optional extra at module level are skipped when that extra is not installed.
OPTIONAL_EXTRAS = {"pyspark", "onnxruntime", "onnx", "mlflow", "skl2onnx", "lightgbm", "psycopg", "psycopg2"}

# module -> public names allowed without an Examples section: none. A new public name comes with its example.
MISSING_EXAMPLES: dict[str, set[str]] = {}


def all_modules() -> list[str]:
    names = ["readiness"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="readiness."):
        names.append(info.name)
    return sorted(names)


def import_or_skip(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in OPTIONAL_EXTRAS:
            pytest.skip(f"{name} needs the optional extra {error.name!r}, not installed")
        raise


@pytest.mark.parametrize("module", all_modules())
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    # Examples use made-up check ids (the catalogue is tests/test_catalogue.py's) and may write
    # relative paths: they run in a temporary folder.
    monkeypatch.delenv("READINESS_STRICT_CHECK_IDS", raising=False)
    monkeypatch.chdir(tmp_path)
    imported = import_or_skip(module)
    # click commands hide their functions from doctest's finder: hand them over by name
    commands = {name: obj.callback for name, obj in vars(imported).items()
                if isinstance(obj, click.Command) and getattr(obj.callback, "__module__", None) == module}
    if commands:
        monkeypatch.setattr(imported, "__test__", {**getattr(imported, "__test__", {}), **commands}, raising=False)
    result = doctest.testmod(imported, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
                             report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {module} failed (see above)"


def public_module_files() -> dict[str, Path]:
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if any(part.startswith("_") and part != "__init__.py" for part in relative.parts):
            continue
        if MIGRATIONS in relative.parents:  # Alembic revision scripts: run by Alembic, not called by users
            continue
        name = ".".join(relative.with_suffix("").parts)
        files[name.removesuffix(".__init__")] = path
    return files


def has_example(docstring: str | None) -> bool:
    return bool(docstring) and "Examples" in docstring and ">>>" in docstring


def names_lacking_examples() -> tuple[int, dict[str, set[str]]]:
    """(number of public top-level names, module -> the public names without an example)."""
    total, lacking = 0, {}
    for module, path in public_module_files().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                total += 1
                if not has_example(ast.get_docstring(node)):
                    lacking.setdefault(module, set()).add(node.name)
    return total, lacking


def test_public_names_without_examples_only_get_fewer():
    total, lacking = names_lacking_examples()
    missing = sum(len(names) for names in lacking.values())
    print(f"\npublic top-level functions and classes: {total}; with an example: {total - missing}; "
          f"without: {missing} (allow-list: {sum(len(n) for n in MISSING_EXAMPLES.values())})")
    new = {module: sorted(names - MISSING_EXAMPLES.get(module, set())) for module, names in lacking.items()}
    new = {module: names for module, names in new.items() if names}
    assert not new, ("public names without an 'Examples' section in their numpydoc docstring "
                     f"(add a short >>> example): {new}")
    stale = {module: sorted(names - lacking.get(module, set())) for module, names in MISSING_EXAMPLES.items()}
    stale = {module: names for module, names in stale.items() if names}
    assert not stale, f"these names have an example (or are gone) now: remove them from MISSING_EXAMPLES: {stale}"


def allow_list_text(lacking: dict[str, set[str]]) -> str:
    """The MISSING_EXAMPLES literal for ``lacking`` (what ``python tests/test_docstrings.py`` prints)."""
    lines = ["MISSING_EXAMPLES: dict[str, set[str]] = {"]
    for module in sorted(lacking):
        names = ", ".join(f'"{name}"' for name in sorted(lacking[module]))
        wrapped = textwrap.wrap(f'"{module}": {{{names}}},', width=110, initial_indent="    ",
                                subsequent_indent="        ", break_on_hyphens=False)
        lines.extend(wrapped)
    return "\n".join(lines + ["}"])


if __name__ == "__main__":
    print(allow_list_text(names_lacking_examples()[1]))
