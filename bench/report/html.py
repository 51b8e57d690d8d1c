"""The report as one self-contained HTML page (``bench report --format html``).

:func:`to_html` turns the report's markdown (the subset :mod:`bench.report.document` writes:
headings, paragraphs, bullet lists, GitHub pipe tables, fenced code, image links and the
``<details>``/``<summary>`` blocks) into HTML, with every figure embedded as a
``data:image/png;base64`` URI read from the figures folder, and every table sortable by a click
on its header (a small inline script, no network access). Nothing outside the file is needed.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #1a1a1a; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; cursor: pointer; user-select: none; }
th.asc::after { content: " \\25B2"; } th.desc::after { content: " \\25BC"; }
td.r, th.r { text-align: right; } img { max-width: 100%; }
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

IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
RAW = ("<details", "</details", "<summary")


def _image(alt: str, target: str, figures: Path) -> str:
    path = figures / Path(target).name
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def inline(text: str, figures: Path) -> str:
    """Escape ``text`` and apply the inline markdown the report uses: code, bold, images."""
    return "".join(_inline_part(part, figures) for part in re.split(r"(`[^`]*`)", text))


def _inline_part(part: str, figures: Path) -> str:
    if part.startswith("`") and part.endswith("`") and len(part) >= 2:
        return f"<code>{html.escape(part[1:-1])}</code>"
    images = [_image(m[1], m[2], figures) for m in IMAGE.finditer(part)]
    counter = iter(range(len(images)))
    part = IMAGE.sub(lambda _m: f"\x00{next(counter)}\x00", part)
    part = html.escape(part, quote=False)
    part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
    return re.sub("\x00(\\d+)\x00", lambda m: images[int(m[1])], part)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str], figures: Path) -> str:
    header, rule, *body = lines
    right = [cell.endswith(":") and not cell.startswith(":") for cell in _cells(rule)]

    def row(cells: list[str], tag: str) -> str:
        return (
            "<tr>"
            + "".join(
                f"<{tag}{' class=r' if r else ''}>{inline(c, figures)}</{tag}>"
                for c, r in zip(cells, right, strict=False)
            )
            + "</tr>"
        )

    rows = "\n".join(row(_cells(line), "td") for line in body)
    return (
        f'<table class="sortable"><thead>{row(_cells(header), "th")}</thead>\n'
        f"<tbody>\n{rows}\n</tbody></table>"
    )


def _blocks(markdown: str) -> list[list[str]]:
    """The markdown cut into blocks: fenced code, tables, lists, raw HTML, paragraphs."""
    blocks: list[list[str]] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
            end = len(lines) - 1 if end is None else end
            blocks.append(lines[i : end + 1])
            i = end + 1
        elif not line.strip():
            i += 1
        elif line.startswith("#") or line.lstrip().startswith(RAW):
            blocks.append([line])
            i += 1
        else:
            kind = "|" if line.startswith("|") else "- " if line.startswith("- ") else ""
            block = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "```")):
                nxt = lines[i]
                if kind == "|" and not nxt.startswith("|"):
                    break
                if kind != "|" and (nxt.startswith("|") or nxt.lstrip().startswith(RAW)):
                    break
                block.append(nxt)
                i += 1
            blocks.append(block)
    return blocks


def to_html(markdown: str, figures: Path, title: str = "archbench report") -> str:
    """The whole page for ``markdown``, images read from ``figures`` (by file name)."""
    body = []
    for block in _blocks(markdown):
        first = block[0]
        if first.startswith("```"):
            code = "\n".join(line for line in block[1:] if not line.startswith("```"))
            body.append(f"<pre><code>{html.escape(code)}</code></pre>")
        elif first.startswith("#"):
            level = min(len(first) - len(first.lstrip("#")), 6)
            body.append(f"<h{level}>{inline(first[level:].strip(), figures)}</h{level}>")
        elif first.lstrip().startswith(RAW):
            body.append(first)  # the report's own <details>/<summary> markup
        elif first.startswith("|"):
            body.append(_table(block, figures))
        elif first.startswith("- "):
            items = "\n".join(f"<li>{inline(line[2:], figures)}</li>" for line in block)
            body.append(f"<ul>\n{items}\n</ul>")
        else:
            body.append(f"<p>{inline(' '.join(block), figures)}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
