"""Monitoring: a prediction log judged over time, and the release that changed it.

Public API:

* :class:`MonitoringReport` — reads a log (streamed), builds per-chunk series, bands,
  changepoints and checks; ``sections()`` return plain data, ``finish()`` writes the JSON;
* :class:`MonitoringConfig` — the ``monitoring:`` settings (strict pydantic model);
* :func:`detect_changepoints` — calibrated PELT on one series;
* :func:`simulate_log` — a seeded prediction log for tests, demos and benchmarks.
"""

from readiness.reports.monitoring.changepoints import Changepoint, detect_changepoints
from readiness.reports.monitoring.report import MonitoringReport
from readiness.reports.monitoring.sections import SectionData
from readiness.reports.monitoring.series import Release, ReleaseList, ReleaseLookup, Series, VersionTimeline
from readiness.reports.monitoring.settings import MonitoringConfig, parse_monitoring_settings
from readiness.reports.monitoring.simulate import simulate_log

__all__ = ["Changepoint", "MonitoringConfig", "MonitoringReport", "Release", "ReleaseList", "ReleaseLookup", "SectionData", "Series",
           "VersionTimeline", "detect_changepoints", "parse_monitoring_settings", "simulate_log"]
