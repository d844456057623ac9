"""The one helper every one-line error uses to quote an exception."""

import pytest

from readiness.exceptions import first_line


@pytest.mark.parametrize("exc, kwargs, expected", [
    (ValueError("bad value\nTraceback (most recent call last):\n  ..."), {}, "bad value"),
    (ValueError("\n\n  indented first line  \nsecond"), {}, "indented first line"),
    (KeyError(), {}, "KeyError"),  # no message: the class name says what happened
    (RuntimeError("   "), {"default": ""}, ""),
    (OSError("disk full"), {"with_type": True}, "OSError: disk full"),
    (ZeroDivisionError(), {"with_type": True}, "ZeroDivisionError"),
    (ValueError("x" * 1000), {"limit": 10}, "x" * 10),
    (UserWarning("old pickle\nmore"), {}, "old pickle"),  # warnings are quoted the same way
])
def test_first_line(exc, kwargs, expected):
    assert first_line(exc, **kwargs) == expected


def test_hostile_messages_stay_one_line():
    message = first_line(ValueError("line one\r\nline two\x85line three\u2028four"))
    assert message == "line one"
