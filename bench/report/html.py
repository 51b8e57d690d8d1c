"""The report as one self-contained HTML page (``bench report --format html``).

:func:`to_html` builds the page from the report's blocks (:func:`bench.report.document.blocks`):
markdown texts rendered by markdown-it with raw HTML off and no links
(:func:`bench.report.markdown.renderer`), ``<details>``/``<summary>`` generated from the
:class:`~bench.report.markdown.Fold` blocks, ``<pre>`` from the
:class:`~bench.report.markdown.Code` blocks. An image is embedded (as a ``data:image/png;base64``
URI) only when it is one of the figures the report wrote, read from the figures folder by its
name; any other image reference shows its alt text. So no text from a store, a file or a name
becomes markup: the page's only script is its own, which makes every table sortable by a click
on its header (no network access). Nothing outside the file is needed.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.report.markdown import Block, Code, Fold, renderer

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #1a1a1a; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; cursor: pointer; user-select: none; }
th.asc::after { content: " \\25B2"; } th.desc::after { content: " \\25BC"; }
img { max-width: 100%; } summary { cursor: pointer; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
code { background: #f6f8fa; padding: 0 0.2em; }
"""

SCRIPT = """
(function () {
  function key(text) {
    var m = text.replace(/,/g, "").match(/^[\\[(]?\\s*([-+]?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)/i);
    return m ? parseFloat(m[1]) : null;
  }
  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var desc = th.classList.contains("asc");
    rows.sort(function (a, b) {
      var x = a.cells[column].textContent.trim(), y = b.cells[column].textContent.trim();
      var kx = key(x), ky = key(y), r;
      if (kx !== null && ky !== null) { r = kx - ky; } else { r = x.localeCompare(y); }
      return desc ? -r : r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
      c.classList.remove("asc", "desc");
    });
    th.classList.add(desc ? "desc" : "asc");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.title = "click to sort";
      th.addEventListener("click", function () { sortBy(table, i, th); });
    });
    table.setAttribute("data-sortable", "ready");
  });
})();
"""


def _renderer(figures: Path, urls: Mapping[str, str]):
    """The page's markdown renderer: sortable tables, and the report's own figures (``urls``:
    the markdown URL of each figure the report wrote -> its file in ``figures``) embedded."""
    md = renderer()
    embedded = {md.normalizeLink(url): name for url, name in urls.items()}
    as_text = md.renderer.rules["image"]

    def image(self, tokens, idx, options, env) -> str:
        name = embedded.get(tokens[idx].attrGet("src") or "")
        if name is None:
            return as_text(tokens, idx, options, env)
        data = base64.b64encode((figures / name).read_bytes()).decode()
        alt = html.escape(self.renderInlineAsText(tokens[idx].children or [], options, env))
        return f'<img alt="{alt}" src="data:image/png;base64,{data}">'

    def table_open(self, tokens, idx, options, env) -> str:
        tokens[idx].attrSet("class", "sortable")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("image", image)
    md.add_render_rule("table_open", table_open)
    return md


def _block(md, block: Block) -> str:
    if isinstance(block, Code):
        return f"<pre><code>{html.escape(block.text)}</code></pre>"
    if isinstance(block, Fold):
        inner = "\n".join(_block(md, part) for part in block.body)
        return f"<details><summary>{md.renderInline(block.summary)}</summary>\n{inner}</details>"
    return md.render(block)


def to_html(
    blocks: Sequence[Block],
    figures: Path,
    urls: Mapping[str, str],
    title: str = "archbench report",
) -> str:
    """The whole page for the report's ``blocks``; ``urls`` maps the markdown URL of each
    figure the report wrote to its file name in ``figures`` (only those are embedded)."""
    md = _renderer(figures, urls)
    body = "\n".join(_block(md, block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head>\n<body>\n"
        + body
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
