"""Exceptions with one-line messages a person can act on.

Any :class:`UsageError` ends ``readiness`` with exit code 2 and its message on
stderr. The notebook kernel raises the same classes; the runner recognises them
by name in the failed notebook and maps them to exit code 2 as well.
"""


class ReadinessError(Exception):
    """Base class of every error readiness raises on purpose."""


class UsageError(ReadinessError):
    """Bad configuration or command line: exit code 2."""


class ConfigError(UsageError):
    """readiness.yaml (or a CLI flag) has an unknown key or a bad value."""


class InputError(UsageError):
    """An input file is missing, unreadable, or lacks what the check needs."""


class UntrustedArtifactError(InputError):
    """A model artifact would run code on load and the user has not trusted it."""


class NotebookParameterError(UsageError):
    """Parameters passed to a notebook do not match the ones it declares."""


#: Exception class names that, raised inside a notebook, mean "bad input" (exit 2).
USAGE_ERROR_NAMES = frozenset(
    [cls.__name__ for cls in (UsageError, ConfigError, InputError, UntrustedArtifactError, NotebookParameterError)]
    # raised by readiness.artifacts.worker when a sandboxed model misbehaves (BaseExceptions, so nothing swallows them)
    + ["SandboxViolation", "WorkerFailed"]
)


def first_line(exc: BaseException, limit: int = 200, *, with_type: bool = False, default: str | None = None) -> str:
    """The first line of an exception's message, at most ``limit`` characters: what a one-line error quotes.

    Parameters
    ----------
    exc : BaseException
        Any exception (or warning) object.
    limit : int
        Longest text kept from the message.
    with_type : bool
        Prefix the exception's class name (``ValueError: ...``).
    default : str, optional
        What to return when the message is empty; the class name when not given.

    Examples
    --------
    >>> first_line(ValueError("bad value\\nTraceback details"))
    'bad value'
    >>> first_line(KeyError(), with_type=True)
    'KeyError'
    >>> first_line(OSError("disk full"), with_type=True)
    'OSError: disk full'
    >>> first_line(RuntimeError("  "), default="")
    ''
    """
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__ if default is None else default
    text = lines[0].strip()[:limit]
    return f"{type(exc).__name__}: {text}" if with_type else text


class Terminated(BaseException):
    """SIGTERM arrived: like KeyboardInterrupt, it unwinds through every cleanup (exit 143).

    A BaseException, so that no ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum
