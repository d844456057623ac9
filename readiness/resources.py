"""Locate the notebook and HTML templates, installed or in a source checkout."""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``notebooks`` or ``templates``.

    In a wheel they sit inside the package; in an editable install or a source
    checkout they sit at the repository root, beside the package.

    Examples
    --------
    >>> (resource_dir("notebooks") / "drift_report.ipynb").is_file()
    True
    """
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"readiness is installed without its {name}/ folder; reinstall the package")


def notebook_path(report: str) -> Path:
    """The notebook template of a report.

    Examples
    --------
    >>> notebook_path("golden_benchmark").name
    'golden_benchmark.ipynb'
    """
    return resource_dir("notebooks") / f"{report}.ipynb"


def templates_dir() -> Path:
    """The folder of the HTML templates.

    Examples
    --------
    >>> templates_dir().name
    'templates'
    """
    return resource_dir("templates")
