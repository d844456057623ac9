"""Progress lines from inside a report's kernel to the terminal of ``readiness run``.

The kernel runs two processes away from the driver, and its output goes into the
notebook, not the terminal. The driver names a file in :data:`PROGRESS_VARIABLE`;
the kernel appends one line per finished step (a section, loading, scoring) and
the driver echoes new lines while it waits, once a report has run for a few
seconds. Outside ``readiness run`` (Jupyter, tests) nothing is written.
"""

from __future__ import annotations

import os
import time

PROGRESS_VARIABLE = "READINESS_PROGRESS_FILE"


class ProgressLog:
    """Timestamps steps and appends ``step: 1.2 s`` lines to the driver's progress file.

    Examples
    --------
    >>> log = ProgressLog()
    >>> log.step("loaded the models")  # outside readiness run: only timed
    >>> list(log.seconds)
    ['loaded the models']
    """

    def __init__(self):
        self._mark = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def step(self, text: str) -> None:
        now = time.perf_counter()
        self.seconds[text] = now - self._mark
        self._mark = now
        path = os.environ.get(PROGRESS_VARIABLE)
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{text}: {self.seconds[text]:.1f} s\n")
        except OSError:  # progress is a courtesy: never fail a report over it
            pass


def read_new_lines(path: str, offset: int) -> tuple[list[str], int]:
    """Complete lines appended to ``path`` since byte ``offset``, and the new offset.

    A line still being written waits for the next call; blank lines are left out.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "progress.log")
    >>> with open(path, "w") as log:
    ...     _ = log.write("metrics section (12 checks)\\n\\nsegments sec")
    >>> lines, offset = read_new_lines(path, 0)
    >>> lines, offset
    (['metrics section (12 checks)'], 29)
    >>> with open(path, "a") as log:
    ...     _ = log.write("tion (8 checks)\\n")
    >>> read_new_lines(path, offset)
    (['segments section (8 checks)'], 57)
    >>> read_new_lines("no-such.log", 0)
    ([], 0)
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
    except OSError:
        return [], offset
    complete = chunk[: chunk.rfind(b"\n") + 1]
    lines = complete.decode("utf-8", errors="replace").splitlines()
    return [line for line in lines if line.strip()], offset + len(complete)
