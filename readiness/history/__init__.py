"""The release history: every run readiness judged, and when each model version went live.

* :class:`~readiness.history.store.HistoryStore` — an SQLite file or any SQLAlchemy database;
* :func:`~readiness.history.record.record_run` — the runner records each run (never failing it);
* :func:`release_timeline` — the releases the monitoring report names changepoints by;
* :mod:`readiness.history.trend` — the golden benchmark's trend and slow-decay check;
* ``readiness history`` / ``readiness deployed`` — the command line.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "history.sqlite")
>>> with HistoryStore(path) as store:
...     _ = store.record_deployment("ab" * 32, "churn", "2017-03-01T09:00:00Z")
>>> [(r["version"][:4], r["deployed_at"]) for r in release_timeline(path, "churn")]
[('abab', '2017-03-01T09:00:00+00:00')]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from readiness.history.store import HistoryStore


def release_timeline(history: str | Path, model_name: str | None = None,
                     environment: str = "production") -> list[dict[str, Any]]:
    """Releases of ``model_name`` from the history at ``history`` (a path or URL), oldest first.

    The form :class:`readiness.monitoring.MonitoringReport` takes as ``releases=``:
    ``{"version": sha256, "deployed_at": ISO time, "previous": sha256 or None, "source": …}``.
    See :meth:`HistoryStore.release_timeline`.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "history.sqlite")
    >>> with HistoryStore(path) as store:
    ...     _ = store.record_deployment("ab" * 32, "churn", "2024-03-01T09:00:00Z")
    ...     _ = store.record_deployment("cd" * 32, "churn", "2024-04-02T09:00:00Z")
    >>> [(r["version"][:4], r["deployed_at"], (r["previous"] or "-")[:4]) for r in release_timeline(path, "churn")]
    [('abab', '2024-03-01T09:00:00+00:00', '-'), ('cdcd', '2024-04-02T09:00:00+00:00', 'abab')]
    >>> release_timeline(path, "churn", environment="staging")
    []
    """
    with HistoryStore(history, create=False) as store:
        return store.release_timeline(model_name, environment)


__all__ = ["HistoryStore", "release_timeline"]
