"""Text leaving readiness for a medium: one escaping function per medium.

Column names, category values, segment values, file names and messages built
from them come from data a stranger may control. Each medium interprets
different characters, so each has its own function, applied where the text
leaves for that medium:

* :func:`terminal_text` — the terminal and CI job logs (ANSI sequences, carriage
  returns and newlines could erase lines and print a fake verdict);
* :func:`markdown_cell` — ``summary.md``, posted as a merge-request comment (links,
  images, mentions, issue references, HTML and table breaks);
* :func:`xml_text` — ``junit.xml`` (characters XML 1.0 forbids make GitLab drop
  the whole test report);
* :func:`plot_text` — matplotlib figures (two ``$`` signs start mathtext, which
  fails on ordinary text such as ``$0_to_$50``).

HTML is escaped by Jinja's autoescape, pandas' ``to_html(escape=True)`` and
:func:`readiness.display.esc` (markupsafe / ``html.escape``).

All of them first make invisible and control characters visible (:func:`visible`):
a column whose name holds an escape sequence or a right-to-left override is shown
with ``\\x1b`` or ``\\u202e`` in it, the way Python's ``repr`` shows it.
"""

from __future__ import annotations

import re
from typing import Any

# Characters that are never shown as themselves: C0 and C1 controls and DEL (Cc),
# line and paragraph separators (Zl, Zp), surrogates (Cs: lone ones come from JSON
# "\ud800" escapes and cannot be encoded), the noncharacters U+FFFE and U+FFFF
# (forbidden in XML), and format characters (Cf): bidirectional embeddings,
# overrides and isolates that reorder what a reader sees ("Trojan Source"),
# zero-width spaces, the byte-order mark, soft hyphens and the invisible tag
# characters. ZWNJ and ZWJ (U+200C, U+200D) stay: Persian and Indic scripts and
# emoji sequences need them, and they cannot reorder or hide text.
# tests/test_escape.py checks this class against unicodedata for the running Python.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(value: Any, keep: str = "") -> str:
    """``value`` as text with every control or invisible character written out.

    Parameters
    ----------
    value : object
        Anything; it is converted with ``str``.
    keep : str
        Characters to leave as they are (e.g. ``"\\n\\t"`` where line breaks are allowed).

    Returns
    -------
    str
        The text, with each such character replaced by ``\\xNN``, ``\\uNNNN`` or
        ``\\UNNNNNNNN`` (``\\n``, ``\\r``, ``\\t`` for the usual three).

    Examples
    --------
    >>> visible("age\\x1b[2K\\u202e")
    'age\\\\x1b[2K\\\\u202e'
    """
    text = str(value)
    if keep:
        return _INVISIBLE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m), text)
    return _INVISIBLE.sub(_escape_char, text)


def shorten(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` characters, ending with an ellipsis when cut.

    Examples
    --------
    >>> shorten("abcdef", 4)
    'abc…'
    """
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def terminal_text(value: Any, width: int | None = None) -> str:
    """One line for a terminal or CI log: no escape sequence, carriage return or line break.

    Examples
    --------
    >>> terminal_text("x\\x1b[1A\\x1b[2K\\rVerdict: PASS")
    'x\\\\x1b[1A\\\\x1b[2K\\\\rVerdict: PASS'
    """
    text = visible(value)
    return shorten(text, width) if width else text


_PIPE = re.compile(r"\|")
_BACKTICKS = re.compile(r"`+")


def markdown_cell(value: Any, width: int = 300) -> str:
    """Inert Markdown for a GFM table cell: the text as an inline code span.

    Nothing inside a code span is interpreted by CommonMark, GitHub or GitLab:
    no link, image, autolink, mention (``@all``), reference (``#12``, ``!3``),
    emoji code, math or HTML. The fence is one backtick longer than the longest
    run of backticks in the text; pipes are escaped (GFM splits table rows on
    them even inside code spans, and removes the backslash again); line breaks
    and control characters are written out, so the row cannot break.

    Parameters
    ----------
    value : object
        The text (converted with ``str``).
    width : int
        At most this many characters of it are kept.

    Returns
    -------
    str
        A code span, or ``""`` for empty text.

    Examples
    --------
    >>> markdown_cell("[Approve](https://x.example) @all | `rm`")
    '`` [Approve](https://x.example) @all \\\\| `rm` ``'
    """
    text = shorten(visible(value), width)
    if not text:
        return ""
    text = _PIPE.sub(r"\\|", text)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end when both ends are spaces; pad so
    # the text keeps its own spaces, and so a backtick at an end is not part of the fence.
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def xml_text(value: Any) -> str:
    """Text that XML 1.0 accepts, with line breaks and tabs kept (JUnit messages).

    Examples
    --------
    >>> xml_text("bad\\x01\\x1b[31m\\nnext line")
    'bad\\\\x01\\\\x1b[31m\\nnext line'
    """
    return visible(value, keep="\n\t")


def plot_text(value: Any, width: int | None = None) -> str:
    """Literal text for a matplotlib label, title or legend (never mathtext).

    Matplotlib parses text with an even number of unescaped ``$`` as math;
    every ``$`` is escaped, which matplotlib then shows as a plain ``$``.

    Parameters
    ----------
    value : object
        The text (converted with ``str``).
    width : int, optional
        Shorten to this many characters (before escaping, so no escape is cut).

    Examples
    --------
    >>> plot_text("spend_$_usd_$_per_day")
    'spend_\\\\$_usd_\\\\$_per_day'
    """
    text = visible(value)
    if width:
        text = shorten(text, width)
    return text.replace("$", "\\$")
