"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package, a throw-away cluster.

``.ci/run`` installs the package. The cluster lives in a temporary folder, listens on a free
loopback port and a socket in that folder, trusts local connections, and is stopped when the
test session ends. PostgreSQL refuses to run as root, so as root (CI) the server runs as the
``postgres`` user the package creates (else ``nobody``). Without the binaries the tests that
need the server skip, saying so.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

_SERVER: dict | None = None


def _binaries() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in candidates:
        if (Path(folder) / "pg_ctl").is_file() and (Path(folder) / "initdb").is_file():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_user():
    """preexec_fn that drops root to the postgres (or nobody) user; None when not root."""
    if os.geteuid() != 0:
        return None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            break
        except KeyError:
            continue
    else:  # pragma: no cover
        raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL as")

    def drop():
        os.setgid(entry.pw_gid)
        os.setgroups([])
        os.setuid(entry.pw_uid)

    return drop, entry


def start_server() -> dict:
    """Start (once per process) a PostgreSQL server; returns {url, port, folder}."""
    global _SERVER
    if _SERVER is not None:
        return _SERVER
    binaries = _binaries()
    if binaries is None:
        if os.environ.get("READINESS_REQUIRE_POSTGRES"):
            pytest.fail("READINESS_REQUIRE_POSTGRES is set but no PostgreSQL binaries were found")
        pytest.skip("PostgreSQL binaries not found (Debian package postgresql; .ci/run installs it as root: "
                    "apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="psycopg (the test extra) is needed to talk to PostgreSQL")
    folder = Path(tempfile.mkdtemp(prefix="readiness-pg-", dir="/tmp"))
    drop, user = _as_user()
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, log = folder / "data", folder / "server.log"
    env = dict(os.environ, LC_ALL="C", LANG="C")
    done = subprocess.run([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "readiness", "-E", "UTF8",
                           "--no-sync"], preexec_fn=drop, capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
              "-c full_page_writes=off -c max_connections=50 -c shared_buffers=32MB"
    done = subprocess.run([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60",
                           "start"], preexec_fn=drop, capture_output=True, text=True, env=env, timeout=90)
    if done.returncode != 0:
        tail = log.read_text()[-800:] if log.exists() else done.stderr
        raise RuntimeError(f"PostgreSQL did not start: {tail}")
    _SERVER = {"port": port, "folder": folder, "url": f"postgresql+psycopg://readiness@127.0.0.1:{port}/postgres"}

    def stop():
        subprocess.run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], preexec_fn=drop,
                       capture_output=True, env=env, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return _SERVER


_DATABASES = iter(range(1, 1_000_000))


def new_database() -> str:
    """A fresh, empty database on the test server; returns its SQLAlchemy URL."""
    import psycopg

    server = start_server()
    name = f"t{next(_DATABASES)}_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    with psycopg.connect(f"host=127.0.0.1 port={server['port']} user=readiness dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://readiness@127.0.0.1:{server['port']}/{name}"


@pytest.fixture
def postgres_url() -> str:
    """The URL of a fresh database on a real PostgreSQL server."""
    return new_database()
