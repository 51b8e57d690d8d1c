"""The escaping helpers of :mod:`bench.report.markdown`: any text goes in and comes out of a
CommonMark renderer with raw HTML on (as GitHub reads report.md before its sanitizer) exactly as
it was, as text, in a paragraph, a table cell, a code span, a fold's summary and a code block;
and the built-in report's own texts come out unchanged."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bench.report.markdown import (
    Code,
    Fold,
    Md,
    code,
    document,
    file_name,
    markdown_table,
    renderer,
    table,
    text,
)

GITHUB = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
HOSTILE = [*"\\`*_~|$&<>[]()!#:\"'=/ -.+{}", "<script>", "<!--", "](", "![", "**", "__"]
# any text on one line: markdown's punctuation often, any other printable character too
LINE = st.lists(
    st.sampled_from(HOSTILE) | st.characters(blacklist_categories=("Cc", "Cs")), max_size=30
).map("".join)


class Parsed(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.data: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.data.append(data)

    @property
    def text(self) -> str:
        return "".join(self.data)


def test_own_text_is_left_as_it_is():
    for own in ("[95.33, 96.41] %", "n < 5", "< 0.0001", "P(A > B) [95 % CI]", "n=1: none"):
        assert text(own) == own
    for name in ("mlp32", "cnn (epochs=1)", "label_smoothing=0.1", "mlp256_128", "lenet5"):
        assert text(name) == name
    assert code("mlp32@1x28x28") == "`mlp32@1x28x28`"


def test_payloads_are_escaped():
    assert text("<script>alert(1)</script>") == "&lt;script>alert(1)&lt;/script>"
    assert text("a|b **x** ![pic](x.png)") == "a\\|b \\*\\*x\\*\\* ![pic\\](x.png)"
    assert text("line\nbreak\r\n# heading") == "line break # heading"
    # a terminal's escape sequences, C1 controls and bidi overrides are no part of the text shown
    assert text("red\x1b[31m\x9b2J\u202eevil\u2066x\u2069") == "red [31m 2J evil x "
    assert text("# heading") == "\\# heading"
    assert code("a`b") == "``a`b``" and code("`") == "`` ` ``"
    assert code("x<script>") == text("x<script>")  # no raw tag, not even in a code span


@settings(max_examples=300, deadline=None)
@given(LINE)
@pytest.mark.slow
def test_any_text_renders_as_itself_in_a_paragraph(value):
    parsed = Parsed(GITHUB.render(f"A {text(value)} Z"))
    assert parsed.tags == ["p"]
    assert parsed.text == f"A {value} Z\n"


@settings(max_examples=200, deadline=None)
@given(LINE)
@pytest.mark.slow
def test_any_text_renders_as_itself_in_a_table_cell_and_shifts_none(value):
    frame = pd.DataFrame({"name": [value, Md(code(value))], "n": ["1", "2"]})
    for markdown in (markdown_table(frame, left=("name",)), table(frame)):
        parsed = Parsed(GITHUB.render(markdown))
        assert parsed.tags.count("td") == 4 and parsed.tags.count("th") == 2
        assert set(parsed.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "code"}
        rows = GITHUB.render(markdown).split("<tr>")[2:]
        shown = [Parsed(row).text.split("\n") for row in rows]
        if value.strip():
            assert [row[1].strip() for row in shown] == [value.strip(), value.strip()]
        assert [row[2].strip() for row in shown] == ["1", "2"]


@settings(max_examples=200, deadline=None)
@given(LINE)
def test_any_text_renders_as_itself_in_a_code_span(value):
    parsed = Parsed(GITHUB.renderInline(code(value)))
    if not value.strip():
        assert parsed.text == "—"
    elif "<" in value or "\\|" in value:
        assert parsed.tags == [] and parsed.text == value
    else:
        assert parsed.tags == ["code"] and parsed.text == value


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, max_size=4).map("\n".join), LINE)
def test_code_blocks_and_folds_show_their_text(block, summary):
    markdown = document(["## Heading", Fold(text(summary), (Code(block, "text"),))])
    parsed = Parsed(GITHUB.render(markdown))
    assert set(parsed.tags) <= {"h2", "details", "summary", "pre", "code"}
    assert parsed.tags.count("pre") == 1 and parsed.tags.count("summary") == 1
    html = GITHUB.render(markdown)
    shown = re.search(r"<summary>(.*?)</summary>", html)[1]
    assert Parsed(shown).text == summary
    pre = re.search(r"<pre><code[^>]*>(.*?)</code></pre>", html, flags=re.S)[1]
    assert Parsed(pre).text.rstrip("\n") == block.rstrip("\n")


def test_the_page_renderer_shows_no_raw_html_link_or_image():
    html = renderer().render("<b>x</b> [a](https://e.org) <https://e.org> ![pic](x.png) **b**")
    assert Parsed(html).tags == ["p", "strong"]
    assert "pic" in html and "x.png" not in html and "<b>" not in html


def test_figure_file_names_keep_to_safe_characters():
    assert file_name("lr_range_../../x<y>|z.png") == "lr_range_..-..-x-y--z.png"
    assert file_name("../x.png") == "-x.png" and file_name("") == "figure"
