"""The golden benchmark's sections, one module each, in the order the report shows them.

Each module owns the check-id prefixes its registry entry lists
(:data:`readiness.reports.golden.SPEC`) and turns the state of a
:class:`~readiness.reports.golden.core.GoldenCore` into a
:class:`~readiness.display.Section` (checks, tables, a note) and, where it has one,
the plain data of its figure.
"""
