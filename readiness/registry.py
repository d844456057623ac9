"""The reports readiness knows: one place declares each, others may add their own.

A report is a :class:`ReportSpec`: its name and title, the notebook that runs it, the
config keys it needs, how its notebook parameters come from the validated config, its
pre-flight (everything checkable before a kernel starts), its settings section and
wall-clock limit, its ordered sections (each owning check-id prefixes), the checks it
emits (its part of the check catalogue, :mod:`readiness.catalogue`) and what its checks
are evidence for in the ML Test Score. The runner, the run outputs, the CLI, the demo
and the checklist read this registry; nothing else lists the reports.

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

from readiness import results
from readiness.catalogue import RUN_ENTRIES, Catalogue, CheckEntry, UncataloguedCheck, with_report
from readiness.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from readiness.config import Config

ENTRY_POINT_GROUP = "readiness.reports"


@dataclass(frozen=True)
class SectionSpec:
    """One section of a report: its name, title and the check-id prefixes it owns.

    A prefix owns the ids equal to it or continuing it with ``.`` or ``[``; when two
    sections' prefixes both fit an id, the longer prefix owns it
    (``golden.artifact.size`` in the inference section, ``golden.artifact`` elsewhere).
    """

    name: str
    title: str
    prefixes: tuple[str, ...] = ()

    def owns(self, check_id: str) -> int:
        """Length of the longest of its prefixes that fits ``check_id`` (0: none does)."""
        return max((len(p) for p in self.prefixes
                    if check_id == p or check_id.startswith((p + ".", p + "["))), default=0)


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
    checks : tuple of CheckEntry
        Every check id the report emits: its part of the check catalogue
        (:mod:`readiness.catalogue`, ``readiness checks``).
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
    checks: tuple[CheckEntry, ...] = ()
    evidence: dict[str, tuple[str, str]] = field(default_factory=dict)
    order: int = 100

    def section_for(self, check_id: str) -> SectionSpec | None:
        """The section whose prefixes own ``check_id`` (the longest prefix wins), None if none does.

        Examples
        --------
        >>> spec = ReportSpec("demo_report", "Demo", (), "demo", lambda c, x: {}, lambda c: 60.0,
        ...                   sections=(SectionSpec("a", "A", ("demo.x",)), SectionSpec("b", "B", ("demo.x.size",))))
        >>> spec.section_for("demo.x.load").name, spec.section_for("demo.x.size").name, spec.section_for("demo.y")
        ('a', 'b', None)
        """
        best = max(self.sections, key=lambda s: s.owns(check_id), default=None)
        return best if best is not None and best.owns(check_id) else None

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
        self._catalogue: Catalogue | None = None

    def register(self, spec: ReportSpec) -> None:
        if not isinstance(spec, ReportSpec):
            raise TypeError(f"register() takes a ReportSpec, not {type(spec).__name__}")
        self._specs[spec.name] = spec
        self._catalogue = None

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

    # ------------------------------------------------------------------ the check catalogue

    def catalogue(self) -> Catalogue:
        """Every registered report's checks, in report order, then the run's own JUnit entry.

        Examples
        --------
        >>> registry.catalogue().find("golden.segment.roc_auc[region=north]").id
        'golden.segment.<metric>[<column>=<value>]'
        """
        self._load()
        if self._catalogue is None:
            entries = [entry for spec in self.all() for entry in with_report(spec.checks, spec.name)]
            self._catalogue = Catalogue(entries + list(RUN_ENTRIES))
        return self._catalogue

    def validate_check(self, check) -> None:
        """Raise :class:`~readiness.catalogue.UncataloguedCheck` for a check the catalogue does not describe.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> registry.validate_check(SimpleNamespace(id="drift.target", status="warn", severity="major"))
        >>> registry.validate_check(SimpleNamespace(id="drift.tarjet", status="warn", severity="major"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        readiness.catalogue.UncataloguedCheck: check id 'drift.tarjet' is not in the check catalogue; ...
        """
        self.catalogue().validate(check.id, check.status, check.severity)

    def validate_section(self, section: str, check) -> None:
        """Raise when a report section records a check its spec's prefixes give to another section.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> registry.validate_section("schema", SimpleNamespace(id="drift.schema.columns", status="pass",
        ...                                                     severity="critical"))
        """
        entry = self.catalogue().validate(check.id, check.status, check.severity)
        spec = self._specs.get(entry.report)
        owner = spec.section_for(check.id) if spec is not None else None
        if owner is None or owner.name != section:
            where = f"section {owner.name!r}" if owner is not None else "no section"
            raise UncataloguedCheck(f"check {check.id[:200]!r} was recorded by section {section!r} of {entry.report}, "
                                    f"but the SectionSpec prefixes of {entry.report} give it to {where}; fix the "
                                    "prefixes in its ReportSpec")


#: The registry everyone reads.
registry = Registry()
# results sits below the registry and cannot import it: the registry lends it the catalogue,
# which every Check answers to when READINESS_STRICT_CHECK_IDS is set.
results.hold_checks_to(registry)
