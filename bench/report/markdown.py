"""Markdown for the report: numbers formatted as the report writes them (percent, mean ± std,
intervals, p-values), tables of formatted cells as GitHub markdown, and the helpers through which
every text from a store, a user file or user code enters the report.

Anything a store, a file or a name controls is data: it enters markdown only through
:func:`text` (escaped inline text), :func:`code` (an inline code span), a table helper
(:func:`markdown_table`, :func:`table`: every string cell and header is escaped like
:func:`text`, a cell of markdown the report wrote itself is an :class:`Md`, and every ``|`` is
escaped so cells never shift), a :class:`Code` block or a :class:`Fold`. None of them lets a
text become markup: no HTML, no link or image, no emphasis, no line break, on GitHub and in the
HTML page (:mod:`bench.report.html`, rendered by :func:`renderer`). The sections' own tables
are built in their modules (:mod:`bench.report.sections`).
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

import pandas as pd

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

NOTHING = "—"


@dataclasses.dataclass(frozen=True)
class Md:
    """A table cell of markdown the report writes itself (:func:`bold`, ``Md(code(x))``):
    the table helpers keep it as it is, while any string cell is escaped as text. Not a
    ``str``, so that a DataFrame keeps it apart from the strings (pandas turns a column of
    strings into its string dtype)."""

    markdown: str

    def __str__(self) -> str:
        return self.markdown


def pct(value: float | None, digits: int = 2) -> str:
    return NOTHING if value is None or is_nan(value) else f"{value * 100:.{digits}f}"


def is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def mean_std(mean: float, std: float, fmt: str, scale: float = 1.0, unit: str = "") -> str:
    if is_nan(mean):
        return NOTHING
    text = format(mean * scale, fmt)
    if not is_nan(std):
        text += f" ± {format(std * scale, fmt)}"
    return text + unit


def interval_text(low: float, high: float, clip: bool = True) -> str:
    """An accuracy interval in percent (a prediction interval clipped to [0, 100] %)."""
    if math.isnan(low):
        return NOTHING
    if clip:
        low, high = max(low, 0.0), min(high, 1.0)
    return f"[{pct(low)}, {pct(high)}] %"


def p_text(value: float) -> str:
    if is_nan(value):
        return NOTHING
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


# --- text from a store, a file or a name -------------------------------------------------------

# line breaks, tabs, control characters (C0, DEL, C1) and the bidirectional controls that
# reorder how a line is shown
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_ALWAYS = {"\\": "\\\\", "`": "\\`", "*": "\\*", "~": "\\~", "|": "\\|", "$": "\\$", "&": "&amp;"}
_TAG_START = re.compile(r"[A-Za-z/!?]")  # what may follow "<" in an HTML tag or an autolink


def one_line(value: object) -> str:
    """``value`` as text on one line: line breaks, tabs, control characters and
    bidirectional controls (which would reorder the line as shown) as spaces."""
    return _BREAKS.sub(" ", str(value))


def text(value: object) -> str:
    """``value`` (any text from a store, a file or a name) as markdown that shows it literally:
    one line; no HTML (``<`` before a tag, ``&``), code span, emphasis, strikethrough, math,
    link, image or heading can start in it, and a ``|`` cannot end a table cell. Text the
    report writes itself (numbers, ``[95.1, 96.0] %``, ``n < 5``) comes out unchanged."""
    s = one_line(value)
    start = len(s) - len(s.lstrip())
    out = []
    for i, ch in enumerate(s):
        after = s[i + 1 : i + 2]
        if ch in _ALWAYS:
            out.append(_ALWAYS[ch])
        elif ch == "_":  # inside a word (snake_case) it cannot emphasise anything
            inside = 0 < i < len(s) - 1 and s[i - 1].isalnum() and after.isalnum()
            out.append("_" if inside else "\\_")
        elif ch == "<":
            out.append("&lt;" if not after or _TAG_START.match(after) else "<")
        elif ch == "]" and after in ("(", "[", ":"):  # a link, reference or definition
            out.append("\\]")
        elif ch in "#>" and i == start:  # a heading or a quote at a line's start
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def code(value: object) -> str:
    """``value`` as an inline code span (a fence longer than any run of backticks in it), or
    as escaped :func:`text` when it holds a ``<`` (nothing in a code span can be escaped, and
    no ``<script>`` is written raw even there) or a ``\\|`` (which a table cell would read as
    ``|``)."""
    s = one_line(value)
    if not s.strip():
        return NOTHING
    if "<" in s or "\\|" in s:
        return text(s)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s[0] in "` " or s[-1] in "` " else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def bold(value: object) -> Md:
    """``value`` in bold (escaped as :func:`text`), as a table cell (``str()`` of it in text)."""
    return Md(f"**{text(value)}**")


def cell(value: object) -> object:
    """A table cell: :class:`Md` as it is, any other string escaped as :func:`text`, numbers
    and missing values left to the table; then every unescaped ``|`` escaped (also inside code
    spans, where GitHub and :func:`renderer` read ``\\|`` as ``|``)."""
    if isinstance(value, Md):
        shown = value.markdown
    elif isinstance(value, str):
        shown = text(value)
    else:
        return value
    return re.sub(r"(?<!\\)((?:\\\\)*)\|", r"\1\\|", one_line(shown))


def escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every string cell and header made a safe table cell (:func:`cell`)."""
    shown = frame.map(cell)
    shown.columns = [cell(str(c)) for c in frame.columns]
    return shown


def markdown_table(frame: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    """A table of already formatted cells: numbers as written (no re-parsing), the ``left``
    columns aligned left and the others right; every string escaped (:func:`cell`)."""
    align = ["left" if column in left else "right" for column in frame.columns]
    return escaped(frame).to_markdown(index=False, disable_numparse=True, colalign=align)


def fit_to_n(frame: pd.DataFrame, why: dict[str, str]) -> tuple[pd.DataFrame, str]:
    """``frame`` (formatted cells) without the columns of ``why`` in which every cell is
    :data:`NOTHING`, and a note naming them with the reason each gives (``why``: column ->
    why it can only be empty at this n, e.g. "intervals need ≥ 2 seeds"); "" when none is
    left out. The caller names only the columns that cannot have a value at this n."""
    empty = [
        column
        for column in frame.columns
        if column in why and len(frame) and all(str(cell) == NOTHING for cell in frame[column])
    ]
    if not empty:
        return frame, ""
    reasons: dict[str, list[str]] = {}
    for column in empty:
        reasons.setdefault(why[column], []).append(column)
    said = "; ".join(f"{', '.join(columns)}: {reason}" for reason, columns in reasons.items())
    note = f"Columns left out at this n (every cell would be {NOTHING}): {said}."
    return frame.drop(columns=empty), note


def table(frame: pd.DataFrame) -> str:
    """A table with tabulate's number formatting; every string escaped (:func:`cell`)."""
    return escaped(frame).to_markdown(index=False, floatfmt=".4g")


# --- blocks: what the markdown and the HTML page are both made of -----------------------------


@dataclasses.dataclass(frozen=True)
class Code:
    """A block of preformatted text (a command line, a torchinfo summary) shown as it is."""

    text: str
    info: str = ""  # the language of a fenced block ("bash", "text")

    def markdown(self) -> str:
        """A fenced block (the fence longer than any run of backticks in the text); an HTML
        ``<pre>`` block with the text escaped when it holds a ``<``, so no tag is written raw."""
        body = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", self.text.replace("\r\n", "\n"))
        if "<" in body:
            return f"<pre><code>{html.escape(body)}</code></pre>"
        fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
        return f"{fence}{self.info}\n{body}\n{fence}"


@dataclasses.dataclass(frozen=True)
class Fold:
    """A folded block: the ``summary`` line (inline markdown, user text through :func:`text`
    or :func:`code`) opens the ``body`` blocks (``<details>`` in both formats)."""

    summary: str
    body: tuple[Block, ...]

    def markdown(self) -> str:
        """Raw HTML around the body's markdown (as GitHub shows a fold); the summary as HTML,
        its markdown punctuation as character references, so no markdown reader finds a
        ``**`` or a ``![`` in it either."""
        summary = _INERT.sub(lambda m: f"&#{ord(m[0])};", inline_html(self.summary))
        inner = "\n\n".join(block_markdown(block) for block in self.body)
        return f"<details><summary>{summary}</summary>\n\n{inner}\n\n</details>"


_INERT = re.compile(r"[*`|~$\\!]|\](?=[(\[:])")  # what could start markdown in a summary
Block = str | Code | Fold  # markdown, a preformatted block, a folded block


def block_markdown(block: Block) -> str:
    return block if isinstance(block, str) else block.markdown()


def document(blocks: Sequence[Block]) -> str:
    """The markdown of ``blocks``, one after the other."""
    return "\n\n".join(block_markdown(block).strip() for block in blocks) + "\n"


def renderer() -> MarkdownIt:
    """The markdown renderer of the report's HTML: CommonMark with GitHub's tables, raw HTML
    off, no links, no reference definitions; an image shows its alt text (only the report's
    own figures are embedded, by :mod:`bench.report.html`)."""
    from markdown_it import MarkdownIt  # only the HTML report needs it

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.disable(["link", "autolink", "reference", "html_inline", "html_block"])

    def image_as_text(self, tokens, idx, options, env) -> str:
        return html.escape(self.renderInlineAsText(tokens[idx].children or [], options, env))

    md.add_render_rule("image", image_as_text)
    return md


@functools.cache
def _inline() -> MarkdownIt:
    return renderer()


def inline_html(markdown: str) -> str:
    """One line of the report's markdown as HTML (for a ``<summary>``)."""
    return _inline().renderInline(one_line(markdown))


# --- figures -----------------------------------------------------------------------------------


def file_name(name: str) -> str:
    """A figure's file name with nothing but letters, digits, ``.``, ``_`` and ``-`` (a name
    built from a store's ids or a model's label can hold anything)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", name).lstrip(".") or "figure"


def figure_url(folder: str, name: str) -> str:
    """The relative URL of the figure ``name`` in the folder ``folder`` beside the report."""
    return quote(f"{folder}/{name}")


def figure(folder: str, name: str) -> str:
    """The markdown image of one of the report's figures."""
    return f"![{text(name)}]({figure_url(folder, name)})"
