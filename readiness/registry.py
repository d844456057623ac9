"""The reports readiness knows: one place declares each, others may add their own.

A report is a :class:`ReportSpec`: its name and title, the notebook that runs it, the
config keys it needs, how its notebook parameters come from the validated config, its
pre-flight (everything checkable before a kernel starts), its settings section and
wall-clock limit, its ordered sections (each owning a check-id prefix) and what its
checks are evidence for in the ML Test Score. The runner, the run outputs, the CLI,
the demo and the checklist read this registry; nothing else lists the reports.

Built-in reports register when :mod:`readiness.reports` is imported; a package adds
its own through the entry-point group ``readiness.reports`` (each entry point names a
``ReportSpec`` or a callable returning one), in the manner of papermill's engines.

Examples
--------
>>> from readiness.registry import registry
>>> [spec.name for spec in registry.all()][:2]
['golden_benchmark', 'drift_report']
>>> registry.get("drift_report").title
'Drift report'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from readiness.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from readiness.config import Config

ENTRY_POINT_GROUP = "readiness.reports"


@dataclass(frozen=True)
class SectionSpec:
    """One section of a report: its name, title and the check-id prefixes it owns."""

    name: str
    title: str
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunContext:
    """What a report's parameters may depend on besides the config.

    ``evidence_dir`` holds the results of reports that ran before in this run (or the
    previous run's folder); ``python_path`` is the config file's folder.
    """

    evidence_dir: Path | None = None
    python_path: Path | None = None


@dataclass(frozen=True)
class ReportSpec:
    """Everything the rest of readiness needs to know about one report.

    Parameters
    ----------
    name : str
        The report's name: its notebook (``notebooks/<name>.ipynb``), its output
        files (``<name>.json/.html/.ipynb``) and ``--only``'s choice.
    title : str
        How people call it.
    needs : tuple of str
        Config keys that must be set for the report to run (a run without
        ``--only`` runs every report whose needs are met).
    check_prefix : str
        The first part of every check id it emits (``golden``, ``drift``...).
    parameters : callable
        ``(config, RunContext) -> dict`` of notebook parameters.
    preflight : callable, optional
        ``(config, context) -> None``; raises :class:`~readiness.exceptions.UsageError`
        with one line for anything wrong before a kernel starts.
    timeout : callable
        ``config -> seconds``: the report's wall-clock limit.
    settings_key : str, optional
        The config section holding its settings.
    sections : tuple of SectionSpec
        In the order the report shows them.
    evidence : dict, optional
        ML Test Score item → (check-id pattern, sentence): what a run of this report
        proves for the workflow risk checklist.
    order : int
        Position among the reports (outputs list them in this order).
    """

    name: str
    title: str
    needs: tuple[str, ...]
    check_prefix: str
    parameters: Callable[["Config", RunContext], dict[str, Any]]
    timeout: Callable[["Config"], float]
    preflight: Callable[["Config", Any], None] | None = None
    settings_key: str | None = None
    sections: tuple[SectionSpec, ...] = ()
    evidence: dict[str, tuple[str, str]] = field(default_factory=dict)
    order: int = 100

    def ready(self, config: "Config") -> bool:
        """True when the config sets every key the report needs."""
        return all(getattr(config, key, None) is not None for key in self.needs)

    def missing(self, config: "Config") -> list[str]:
        return [key for key in self.needs if getattr(config, key, None) is None]


class Registry:
    """Holds the report specs: ``register(spec)``, ``get(name)``, ``all()``, ``names()``.

    Examples
    --------
    >>> reports = Registry()
    >>> reports.register(ReportSpec("demo_report", "Demo", (), "demo", lambda c, x: {}, lambda c: 60.0))
    >>> reports.names()
    ['demo_report']
    """

    def __init__(self) -> None:
        self._specs: dict[str, ReportSpec] = {}
        self._loaded = False

    def register(self, spec: ReportSpec) -> None:
        if not isinstance(spec, ReportSpec):
            raise TypeError(f"register() takes a ReportSpec, not {type(spec).__name__}")
        self._specs[spec.name] = spec

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        import readiness.reports  # noqa: F401 - registers the built-in reports

        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = entry.load()
                self.register(loaded() if callable(loaded) and not isinstance(loaded, ReportSpec) else loaded)
            except Exception as exc:  # a broken plug-in must not take the built-in reports down
                import warnings

                warnings.warn(f"readiness: report plug-in {entry.name!r} could not be loaded ({exc})", stacklevel=2)

    def all(self) -> list[ReportSpec]:
        self._load()
        return sorted(self._specs.values(), key=lambda s: (s.order, s.name))

    def names(self) -> list[str]:
        return [spec.name for spec in self.all()]

    def get(self, name: str) -> ReportSpec:
        self._load()
        if name not in self._specs:
            raise UsageError(f"unknown report {name!r}; available: {', '.join(self.names())}")
        return self._specs[name]

    def title(self, name: str) -> str:
        """The report's title, or a readable form of an unknown name (results from a newer readiness)."""
        self._load()
        spec = self._specs.get(name)
        return spec.title if spec else name.replace("_", " ").capitalize()

    def order(self, name: str) -> int:
        self._load()
        spec = self._specs.get(name)
        return spec.order if spec else 10_000


#: The registry everyone reads.
registry = Registry()
