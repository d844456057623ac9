"""The output folder: what readiness writes there, carrying earlier reports over, the lock, the swap.

A run writes into a staging folder that replaces the output folder at the end, under a
lock, with signals held during the two renames; files readiness did not write are kept;
links are never followed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from readiness.exceptions import InputError, UsageError
from readiness.results import SCHEMA, _umask, read_regular_file, read_results

#: Names readiness writes into an output folder; anything else there is the user's.
REPORT_SUFFIXES = (".html", ".json", ".ipynb")
#: How long a run waits for another run finishing into the same folder.
LOCK_WAIT_S = 120.0


def is_readiness_output(folder: Path) -> bool:
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            return json.loads(summary.read_text(encoding="utf-8")).get("schema") == SCHEMA
        except (OSError, ValueError):
            return False
    return folder.is_dir() and not any(folder.iterdir())


def readiness_names() -> set[str]:
    """The file names readiness writes into an output folder."""
    from readiness.run.aggregate import RUN_FILES

    from readiness.registry import registry

    return set(RUN_FILES) | {f"{report}{suffix}" for report in registry.names() for suffix in REPORT_SUFFIXES}


def check_output_folder(out: Path) -> None:
    """Refuse a folder that is not a previous run, or where readiness would replace something not its own."""
    if out.is_symlink() or (out.exists() and not (out.is_dir() and is_readiness_output(out))):
        raise UsageError(f"{out}: exists and is not a readiness output folder; choose another --out or remove it")
    if out.is_dir():
        for name in sorted(readiness_names()):
            entry = out / name
            if entry.is_symlink() or (entry.exists() and not entry.is_file()):
                kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
                raise UsageError(f"{entry}: is {kind}, which readiness did not write; move it away or choose another --out")


def carry_over(out: Path, staging: Path, reports: list[str], echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """Keep the previous run's reports that this run did not redo, so the folder stays complete.

    Only regular files are carried over: a symbolic link planted in the output
    folder (``golden_benchmark.html -> ~/.ssh/id_rsa``) is never followed.
    """
    kept = []
    for report in reports:
        try:
            document = read_results(out / f"{report}.json", report)
        except InputError as exc:  # left where it is (the folder keeps what it does not rewrite), not summarised
            echo(f"not kept: {exc}")
            continue
        if document is None:
            continue
        files = {}
        for kind, suffix in (("html", ".html"), ("json", ".json"), ("notebook", ".ipynb")):
            content = read_regular_file(out / f"{report}{suffix}")
            if content is not None:
                target = staging / f"{report}{suffix}"
                target.write_bytes(content)
                target.chmod(0o666 & ~_umask())
                files[kind] = target.name
        echo(f"kept {report} ({str(document.get('status', '?')).upper()}) from the previous run of "
             f"{document.get('started_at', '?')}")
        kept.append(dict(document, files=files))
    return kept


@contextlib.contextmanager
def output_lock(out: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of output folder ``out`` (a ``.<name>.lock`` file beside it, removed after).

    Raises
    ------
    UsageError
        Another run held the lock for more than ``wait_s`` seconds.
    """
    import fcntl

    path = out.with_name(f".{out.name}.lock")
    deadline = time.monotonic() + wait_s
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            if time.monotonic() > deadline:
                raise UsageError(f"{out}: another readiness run has been writing into it for {wait_s:g} s "
                                 f"(lock {path}); wait for it to finish or choose another --out") from None
            time.sleep(0.1)
            continue
        try:  # the previous holder removes the file on release: make sure ours is still the one in place
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_ino == os.fstat(descriptor).st_ino:
            break
        os.close(descriptor)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(descriptor)  # releases the lock


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then act on them as usual.

    Moving a finished run into place takes two renames; an interruption between
    them would lose the previous report and the new one. Only the main thread
    can set handlers; elsewhere the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signum = received[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def replace_folder(staging: Path, out: Path) -> None:
    """Move the finished staging folder into place, keeping whatever readiness did not write.

    Entries of the previous folder that the new run does not write again (the
    user's notes, folders, links, older files) are moved into the new folder
    first, so nothing readiness did not write is ever deleted; only the previous
    versions of the files just rewritten are removed, after the new folder is in place.
    """
    with deferred_signals():
        if not out.exists():
            os.replace(staging, out)
            return
        if out.is_symlink() or not (out.is_dir() and is_readiness_output(out)):  # replaced meanwhile
            raise UsageError(f"{out}: is no longer a readiness output folder; the new reports are not written there")
        for entry in sorted(out.iterdir()):
            target = staging / entry.name
            if target.exists() or target.is_symlink():
                if entry.is_file() and not entry.is_symlink():
                    continue  # the previous version of a file this run wrote again
                target = staging / _free_name(staging, f"{entry.name}.kept")
            os.rename(entry, target)
        retired = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, retired)
        os.replace(staging, out)
        shutil.rmtree(retired, ignore_errors=True)


def _free_name(folder: Path, name: str) -> str:
    candidate, number = name, 1
    while (folder / candidate).exists() or (folder / candidate).is_symlink():
        number += 1
        candidate = f"{name}-{number}"
    return candidate
