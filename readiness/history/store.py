"""The release-history store: an SQLite file by default, any SQLAlchemy database when shared.

One :class:`HistoryStore` reads and writes the tables of :mod:`readiness.history.schema`.
Opening a store brings its schema up to date (Alembic migrations shipped in
``readiness/history/migrations``), so a newer readiness reads the history an older one
wrote. Several processes may write at once:

* SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, so a writer waits for
  the file lock (up to :data:`SQLITE_BUSY_TIMEOUT_S`) instead of failing half-way, and the
  default rollback journal keeps the history in one file (a CI cache or artifact keeps it
  whole; a write-ahead log would live in two more files beside it).
* PostgreSQL: migrations run under a transaction-scoped advisory lock, so two jobs that
  open a new database at once create the tables once.

Examples
--------
>>> import tempfile, os
>>> store = HistoryStore(os.path.join(tempfile.mkdtemp(), "history.sqlite"))
>>> store.runs()
[]
>>> store.close()
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from readiness.exceptions import ConfigError, InputError

#: Seconds an SQLite writer waits for another process's transaction to end.
SQLITE_BUSY_TIMEOUT_S = 60.0
#: Key of PostgreSQL's advisory lock held while migrating (any constant; "rdns" in ASCII).
_PG_LOCK_KEY = 0x72646E73
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(spec: str) -> bool:
    """True for an SQLAlchemy URL (``dialect+driver://…``), False for a file path.

    Examples
    --------
    >>> is_url("postgresql+psycopg://ci@db/history"), is_url("history.sqlite")
    (True, False)
    """
    return bool(_URL.match(str(spec)))


def check_store_spec(spec: str) -> str:
    """Validate ``history.store`` at config time; raise ValueError naming the fix.

    Examples
    --------
    >>> check_store_spec("team-history.sqlite")
    'team-history.sqlite'
    >>> check_store_spec("postgres:/db")
    Traceback (most recent call last):
    ...
    ValueError: 'postgres:/db' is neither a file path nor an SQLAlchemy URL (dialect+driver://user@host/database)
    """
    spec = str(spec).strip()
    if "${" in spec:  # expanded when the store is opened (a CI secret need not be set for every command)
        return spec
    if is_url(spec):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(spec)
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"not a valid SQLAlchemy URL ({exc})") from None
        return spec
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", spec) and not re.match(r"^[A-Za-z]:[\\/]", spec):
        raise ValueError(f"{spec!r} is neither a file path nor an SQLAlchemy URL (dialect+driver://user@host/database)")
    return spec


def resolve_store(spec: str, base_dir: str | Path) -> str:
    """A URL as it is; a path made absolute against ``base_dir`` (the config file's folder).

    Examples
    --------
    >>> resolve_store("h.sqlite", "/project")
    '/project/h.sqlite'
    """
    if is_url(spec) or spec.startswith("${"):
        return spec
    return str((Path(base_dir) / Path(spec).expanduser()).resolve())


def expand_store(spec: str) -> str:
    """``${NAME}`` in a store replaced by the environment variable, e.g. a database URL kept
    as a CI secret (``history: ${READINESS_HISTORY_URL}``); an unset one is an error.

    Examples
    --------
    >>> import os; os.environ["RDNS_DOC_DB"] = "sqlite:///h.sqlite"
    >>> expand_store("${RDNS_DOC_DB}")
    'sqlite:///h.sqlite'
    """
    import os

    def variable(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise InputError(f"history: environment variable {name} is not set (history.store names it); "
                             "set it, or run with --no-history")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", variable, str(spec))


def describe_store(spec: str) -> str:
    """The store without its password, for messages.

    Examples
    --------
    >>> describe_store("postgresql://ci:secret@db/history")
    'postgresql://ci:***@db/history'
    """
    if not is_url(spec):
        return str(spec)
    from sqlalchemy.engine import make_url

    try:
        return make_url(spec).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"//[^@/]*@", "//***@", spec)


def _sqlite_engine(path: Path):
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _own_transactions(dbapi_connection, _record):
        # pysqlite begins transactions itself, lazily and never before DDL; readiness begins
        # them (below) so that migrations are transactional and writers queue for the lock.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class HistoryStore:
    """The runs readiness has judged: record them, list them, compare releases.

    Parameters
    ----------
    spec : str or Path
        An SQLite file path or an SQLAlchemy URL (``postgresql+psycopg://user@host/db``).
    create : bool
        Create a missing SQLite file (True when recording; ``readiness history`` reads
        only an existing one).

    Raises
    ------
    InputError
        The database cannot be opened, or was written by a newer readiness.

    Examples
    --------
    >>> import tempfile, os
    >>> store = HistoryStore(os.path.join(tempfile.mkdtemp(), "h.sqlite"))
    >>> run_id = store.record({"run_uuid": "a" * 32, "created_at": "2024-05-01T10:00:00+00:00",
    ...                        "model_name": "churn", "model_sha256": "ab" * 32, "verdict": "pass"},
    ...                       reports=[{"report": "golden_benchmark", "status": "pass"}],
    ...                       checks=[{"report": "golden_benchmark", "check_id": "golden.metric.roc_auc",
    ...                                "status": "pass", "value": 0.91}])
    >>> [r["model_name"] for r in store.runs()]
    ['churn']
    >>> store.close()
    """

    def __init__(self, spec: str | Path, create: bool = True):
        from sqlalchemy.exc import SQLAlchemyError

        # a store named by an environment variable (a CI secret) is named by the variable in messages
        self.label = str(spec) if "${" in str(spec) else describe_store(str(spec))
        self.spec = expand_store(str(spec))
        if is_url(self.spec):
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            url = make_url(self.spec)
            if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
                self.engine = _sqlite_engine(Path(url.database))
            else:
                try:
                    self.engine = create_engine(url, pool_pre_ping=True)
                except (SQLAlchemyError, ImportError) as exc:
                    raise InputError(f"history {self.label}: cannot use this database ({_first_line(exc)}); "
                                     "install its driver, e.g. pip install 'ml-readiness[postgres]'") from None
        else:
            path = Path(self.spec)
            if not path.exists():
                if not create:
                    raise InputError(f"{path}: no release history here yet; `readiness run` records one "
                                     "(or name another with --history PATH|URL)")
                path.parent.mkdir(parents=True, exist_ok=True)
            elif path.is_dir():
                raise InputError(f"{path}: is a folder; history must name an SQLite file or a database URL")
            self.engine = _sqlite_engine(path)
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        try:
            from readiness.history.migrate import upgrade

            upgrade(self)
        except InputError:
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise InputError(f"history {self.label}: cannot open the release history ({_first_line(exc)})") from None

    # ------------------------------------------------------------------ writing

    def record(self, run: dict[str, Any], reports: Iterable[dict[str, Any]] = (),
               checks: Iterable[dict[str, Any]] = ()) -> int:
        """Insert one run with its reports and checks in one transaction; return the run's id."""
        from sqlalchemy import insert

        from readiness.history.schema import checks as checks_table
        from readiness.history.schema import reports as reports_table
        from readiness.history.schema import runs

        row = _run_row(run)
        with self._writer.begin() as connection:
            run_id = connection.execute(insert(runs).values(**row).returning(runs.c.id)).scalar_one()
            report_rows = [dict(_only(r, reports_table), run_id=run_id) for r in reports]
            if report_rows:
                connection.execute(insert(reports_table), report_rows)
            check_rows = [dict(_only(_check_row(c), checks_table), run_id=run_id) for c in checks]
            if check_rows:
                connection.execute(insert(checks_table), check_rows)
        return int(run_id)

    def record_deployment(self, model_sha256: str, model_name: str | None = None, deployed_at: Any = None,
                          environment: str = "production", git_commit: str | None = None,
                          ci_job_url: str | None = None, note: str | None = None) -> int:
        """Record that ``model_sha256`` went live in ``environment`` at ``deployed_at`` (default: now)."""
        from datetime import datetime, timezone

        from sqlalchemy import insert

        from readiness.history.schema import deployments

        if not re.fullmatch(r"[0-9a-f]{64}", str(model_sha256)):
            raise InputError(f"{model_sha256!r} is not a sha256 hex digest; give the artifact file or its sha256")
        row = {"model_sha256": model_sha256, "model_name": model_name, "environment": environment,
               "deployed_at": _as_datetime(deployed_at), "recorded_at": datetime.now(timezone.utc),
               "git_commit": git_commit, "ci_job_url": ci_job_url, "note": note}
        with self._writer.begin() as connection:
            return int(connection.execute(insert(deployments).values(**row).returning(deployments.c.id)).scalar_one())

    # ------------------------------------------------------------------ reading

    def deployments(self, model_name: str | None = None, environment: str | None = "production") -> list[dict[str, Any]]:
        """Recorded deployments, oldest first."""
        from sqlalchemy import select

        from readiness.history.schema import deployments

        query = select(deployments).order_by(deployments.c.deployed_at, deployments.c.id)
        if model_name is not None:
            query = query.where(deployments.c.model_name == model_name)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        for row in rows:
            row["deployed_at"], row["recorded_at"] = _iso(row["deployed_at"]), _iso(row["recorded_at"])
        return rows

    def release_timeline(self, model_name: str | None = None, environment: str = "production") -> list[dict[str, Any]]:
        """When each model version went live, oldest first, as the monitoring report takes releases:
        ``{"version", "deployed_at", "previous", "source"}`` (version = the model's sha256, what
        :class:`readiness.PredictionLogger` writes by default).

        Recorded deployments (``readiness deployed``) when there are any; otherwise the time
        each version was first judged ready by the golden benchmark, the best the history
        knows (a CD pipeline that deploys what passed goes live soon after).
        """
        recorded = self.deployments(model_name, environment)
        if recorded:
            events = [(d["deployed_at"], d["model_sha256"]) for d in recorded]
            source = f"the release history (deployments to {environment})"
        else:
            events = [(r["released_at"], r["model_sha256"]) for r in reversed(self.releases(model_name))]
            source = "the release history (judged ready by the golden benchmark)"
        timeline: list[dict[str, Any]] = []
        for when, version in events:
            if timeline and timeline[-1]["version"] == version:
                continue  # redeployed: still the same release
            timeline.append({"version": version, "deployed_at": when,
                             "previous": timeline[-1]["version"] if timeline else None, "source": source})
        return timeline


    def runs(self, model_name: str | None = None, limit: int | None = None,
             before_id: int | None = None) -> list[dict[str, Any]]:
        """Recorded runs, newest first, each with its reports' statuses and check counts."""
        from sqlalchemy import func, select

        from readiness.history.schema import checks as checks_table
        from readiness.history.schema import reports as reports_table
        from readiness.history.schema import runs

        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.id.desc())
        if model_name is not None:
            query = query.where(runs.c.model_name == model_name)
        if before_id is not None:
            query = query.where(runs.c.id < before_id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
            ids = [r["id"] for r in rows]
            statuses: dict[int, dict[str, str]] = {i: {} for i in ids}
            counts: dict[int, dict[str, int]] = {i: {} for i in ids}
            for part in _batches(ids, 500):
                for r in connection.execute(select(reports_table.c.run_id, reports_table.c.report, reports_table.c.status)
                                            .where(reports_table.c.run_id.in_(part))):
                    statuses[r.run_id][r.report] = r.status
                for r in connection.execute(select(checks_table.c.run_id, checks_table.c.status, func.count())
                                            .where(checks_table.c.run_id.in_(part))
                                            .group_by(checks_table.c.run_id, checks_table.c.status)):
                    counts[r.run_id][r.status] = int(r[2])
        for row in rows:
            row["created_at"] = _iso(row["created_at"])
            row["reports"] = statuses[row["id"]]
            row["check_counts"] = counts[row["id"]]
        return rows

    def checks(self, run_ids: Iterable[int], prefix: str | None = None) -> dict[int, list[dict[str, Any]]]:
        """The checks of each run (optionally only ids starting with ``prefix``)."""
        from sqlalchemy import select

        from readiness.history.schema import checks as checks_table

        ids = list(run_ids)
        out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        with self.engine.connect() as connection:
            for part in _batches(ids, 500):
                query = select(checks_table).where(checks_table.c.run_id.in_(part)).order_by(checks_table.c.id)
                if prefix:
                    query = query.where(checks_table.c.check_id.startswith(prefix, autoescape=True))
                for r in connection.execute(query):
                    row = dict(r._mapping)
                    out[row.pop("run_id")].append({k: v for k, v in row.items() if k != "id"})
        return out

    def releases(self, model_name: str | None, limit: int | None = None,
                 report: str = "golden_benchmark") -> list[dict[str, Any]]:
        """Releases of a model, newest first: each model sha256 the golden benchmark judged ready.

        A release is a distinct ``model_sha256`` whose ``report`` passed or warned; it dates
        from its first such run, and its values come from its latest one. Each carries the
        values of that run's ``golden.metric.*`` checks under ``metrics``.
        """
        from sqlalchemy import and_, func, select

        from readiness.history.schema import reports as reports_table
        from readiness.history.schema import runs

        ready = (select(runs.c.model_sha256, func.min(runs.c.created_at).label("first_ready"),
                        func.max(runs.c.id).label("last_run"))
                 .join(reports_table, and_(reports_table.c.run_id == runs.c.id, reports_table.c.report == report))
                 .where(reports_table.c.status.in_(("pass", "warn")), runs.c.model_sha256.is_not(None))
                 .group_by(runs.c.model_sha256)
                 .order_by(func.min(runs.c.created_at).desc(), func.max(runs.c.id).desc()))
        ready = ready.where(runs.c.model_name == model_name) if model_name is not None else ready
        if limit is not None:
            ready = ready.limit(limit)
        with self.engine.connect() as connection:
            found = list(connection.execute(ready))
            by_id = {}
            ids = [r.last_run for r in found]
            for part in _batches(ids, 500):
                for r in connection.execute(select(runs).where(runs.c.id.in_(part))):
                    by_id[r.id] = dict(r._mapping)
        metrics = self.checks(ids, prefix="golden.metric.")
        out = []
        for r in found:
            run = by_id[r.last_run]
            out.append({"run_id": run["id"], "released_at": _iso(r.first_ready), "created_at": _iso(run["created_at"]),
                        "model_name": run["model_name"], "model_sha256": run["model_sha256"],
                        "golden_sha256": run["golden_sha256"], "git_commit": run["git_commit"],
                        "git_branch": run["git_branch"], "verdict": run["verdict"],
                        "metrics": {c["check_id"].removeprefix("golden.metric."): c["value"]
                                    for c in metrics[run["id"]] if c["value"] is not None}})
        return out

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _only(row: dict[str, Any], table) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in table.c and k not in ("id", "run_id")}


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    from readiness.history.schema import runs

    row = _only(run, runs)
    row["created_at"] = _as_datetime(row.get("created_at"))
    for key, column in runs.c.items():
        length = getattr(column.type, "length", None)
        if length and isinstance(row.get(key), str):
            row[key] = row[key][:length]
    return row


def _check_row(check: dict[str, Any]) -> dict[str, Any]:
    from readiness.history.schema import checks

    row = dict(check)
    for key in ("value", "ci_low", "ci_high"):
        value = row.get(key)
        row[key] = _finite(value)
    for key, column in checks.c.items():
        length = getattr(column.type, "length", None)
        if length and isinstance(row.get(key), str):
            row[key] = row[key][:length]
    return row


def _finite(value: Any) -> float | None:
    """Numbers as floats, NaN/inf/booleans/text as NULL (PostgreSQL and SQLite agree then)."""
    import math

    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _as_datetime(value: Any):
    from datetime import datetime, timezone

    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _iso(value: Any) -> str | None:
    """Times read back as UTC ISO text (SQLite returns them naive; they were stored in UTC)."""
    from datetime import timezone

    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


__all__ = ["HistoryStore", "check_store_spec", "describe_store", "is_url", "resolve_store", "ConfigError"]
