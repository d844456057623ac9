"""The drift report's sections, one module each, in the order the report shows them.

Each module owns the check-id prefixes its registry entry lists
(:data:`readiness.reports.drift.SPEC`) and turns the state of a
:class:`~readiness.reports.drift.core.DriftCore` into a
:class:`~readiness.display.Section` and, where it has one, the plain data of its figure.
"""
