"""MkDocs hooks (mkdocs.yml ``hooks:``): the generated parts of the documentation site.

A page asks for a generated block with a marker on a line of its own,
``<!-- archbench:NAME -->`` (or ``<!-- archbench:NAME ARG -->``), and :func:`on_page_markdown`
replaces it while the site builds, from the code itself, so the pages cannot drift from it:

- ``cli``: every ``bench`` subcommand's usage, options and defaults, walked from the argparse
  parser (:func:`bench.cli.main.build_parser`);
- ``store-table TABLE``: a results-store table's columns, types and keys (from the schema SQL
  run in an in-memory SQLite) with the notes beside them in ``bench/store/schema.py``;
- ``store-tables``: the list of every table the schema creates;
- ``architectures``, ``suites``, ``recipes``: the registries (``bench list`` and ``bench
  suites`` tables, each built-in study file, every recipe's settings);
- ``example-report``: ``docs/example-report/report.md`` (``nox -s example-report`` writes it);
- ``example-recap``: that report's recap table, verdicts and dates in brief (the README carries
  the same block, written by ``scripts/update_readme.py``).

An unknown marker, or a store table the page does not cover, fails the build.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sqlite3
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# document the code beside this mkdocs.yml (as mkdocstrings' `paths: [.]` does), whichever
# archbench the environment has installed
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
MARKER = re.compile(r"^<!-- archbench:([\w-]+)(?: ([\w-]+))? -->$", flags=re.M)
EXAMPLE_REPORT = ROOT / "docs" / "example-report" / "report.md"


class GenerationError(Exception):
    """A page asks for something the generators cannot give (the build fails)."""


# ---------------------------------------------------------------------------------------------
# markdown helpers


def escape(text: str) -> str:
    """``text`` as literal markdown (code spans between backticks are kept as code)."""
    parts = re.split(r"(`[^`]*`)", text)
    special = re.compile(r"([\\*_\[\]|#])")
    return "".join(
        p if p.startswith("`") else special.sub(r"\\\1", p).replace("<", "&lt;") for p in parts
    )


def cell(text: str) -> str:
    """``text`` for a table cell: escaped, on one line."""
    return escape(" ".join(str(text).split()))


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def code(text: str) -> str:
    """``text`` as an inline code span (backticks inside are allowed)."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# ---------------------------------------------------------------------------------------------
# the command line


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """``(name, parser, one-line help)`` of every subcommand under ``parser``, depth first, in
    the order they were added (``data`` gives ``data prepare`` and ``data verify``)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                children = subcommands(sub)
                if children:
                    found += [(f"{name} {child}", p, h) for child, p, h in children]
                else:
                    found.append((name, sub, helps.get(name, "")))
    return found


def option_rows(parser: argparse.ArgumentParser, actions: list[argparse.Action]) -> list[list[str]]:
    formatter = parser._get_formatter()
    rows = []
    for action in actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        invocation = formatter._format_action_invocation(action)
        help_text = formatter._expand_help(action) if action.help else ""
        default = action.default
        shown = ""
        if default not in (None, False, [], argparse.SUPPRESS) and not isinstance(
            action, argparse._StoreTrueAction | argparse._VersionAction
        ):
            shown = code(default if not isinstance(default, Path) else default.as_posix())
        rows.append([code(invocation), shown, cell(help_text)])
    return rows


def command_section(name: str, parser: argparse.ArgumentParser, summary: str) -> str:
    """One subcommand: usage, description, one options table per argument group, epilog."""
    parts = [f"## bench {name}", ""]
    if summary:
        parts += [f"*{escape(summary)}*", ""]
    usage = parser.format_usage().removeprefix("usage: ").strip()
    parts += ["```text", usage, "```", ""]
    if parser.description:
        parts += [escape(parser.description), ""]
    for group in parser._action_groups:
        rows = option_rows(parser, group._group_actions)
        if rows:
            title = group.title[0].upper() + group.title[1:]
            parts += [f"**{escape(title)}**", "", table(["option", "default", "what"], rows), ""]
    if parser.epilog:
        parts += [escape(parser.epilog), ""]
    return "\n".join(parts)


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """The ``bench`` command line, generated from its argparse parser."""
    if parser is None:
        from bench.cli.main import build_parser

        parser = build_parser()
    commands = subcommands(parser)
    rows = [
        [f"[`bench {name}`](#bench-{name.replace(' ', '-')})", cell(summary)]
        for name, _, summary in commands
    ]
    overview = table(["command", "what it does"], rows)
    parts = [
        "```text",
        parser.format_usage().removeprefix("usage: ").strip(),
        "```",
        "",
        escape(parser.description or ""),
        "",
        overview,
        "",
        "Every command also takes `-h`/`--help`, which prints the same options.",
        "",
    ]
    parts += [command_section(name, sub, summary) for name, sub, summary in commands]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# the results store


def schema_notes() -> dict[str, dict[str, tuple[str, str]]]:
    """``{table: {column: (group, note)}}`` from the comments in ``bench/store/schema.py``: a
    comment on a line of its own names the group of the columns under it, a comment after a
    column is its note."""
    from bench.store import schema

    source = Path(schema.__file__).read_text()
    comments: dict[int, tuple[str, bool]] = {}  # line -> (text, alone on its line)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            alone = not token.line[: token.start[1]].strip()
            comments[token.start[0]] = (token.string.lstrip("#").strip(), alone)
    module = ast.parse(source)
    literals = {
        node.targets[0].id: node.value
        for node in module.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Dict)
    }
    tables = literals["TABLE_COLUMNS"]
    notes: dict[str, dict[str, tuple[str, str]]] = {}
    for key, value in zip(tables.keys, tables.values, strict=True):
        columns = literals[value.id]
        group, found = "", {}
        line = columns.lineno
        for column in columns.keys:
            for number in range(line + 1, column.lineno):
                if number in comments and comments[number][1]:
                    group = comments[number][0]
            text, alone = comments.get(column.lineno, ("", True))
            found[column.value] = (group, "" if alone else text)
            line = column.lineno
        notes[key.value] = found
    return notes


def schema_tables() -> dict[str, list[tuple[str, str, bool, bool]]]:
    """``{table: [(column, declared type, not null, part of the primary key)]}`` of a store
    created with the schema's SQL (what ``bench run`` creates), in column order."""
    from bench.store import schema

    conn = sqlite3.connect(":memory:")
    for statement in schema.SCHEMA:
        conn.execute(statement)
    query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
    names = [row[0] for row in conn.execute(query)]
    return {
        name: [
            (col, kind, bool(notnull), bool(pk))
            for _, col, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({name})")
        ]
        for name in names
    }


def store_table(name: str) -> str:
    tables = schema_tables()
    if name not in tables:
        raise GenerationError(f"the store has no table {name!r}; tables: {', '.join(tables)}")
    notes = schema_notes().get(name, {})
    rows, previous = [], ""
    for column, kind, notnull, pk in tables[name]:
        group, note = notes.get(column, ("", ""))
        flags = ", ".join(f for f, on in (("key", pk), ("not null", notnull and not pk)) if on)
        shown = group if group != previous else ""  # a group is named on its first column
        previous = group
        rows.append([code(column), code(kind), flags, cell(note), cell(shown)])
    return table(["column", "type", "", "note", "group"], rows)


def store_tables() -> str:
    links = [f"[`{name}`](#{name})" for name in schema_tables()]
    return f"Tables: {', '.join(links)}."


# ---------------------------------------------------------------------------------------------
# the registries


def markdown_frame(frame) -> str:
    from bench.report import render

    return render(frame, "markdown")


def architectures_table() -> str:
    from bench.cli.commands import arch_table

    return markdown_frame(arch_table([], []))


def suites_reference() -> str:
    """The ``bench suites`` overview, then each built-in suite with its study file."""
    from bench.cli.commands import suite_table
    from bench.sweep import suites

    frame = suite_table()
    overview = frame[["name", "archs", "dataset", "recipe", "runs_per_seed", "description"]]
    parts = [markdown_frame(overview), ""]
    files = {path.stem: path for path in suites.builtin_files()}
    for name in suites.list_suites():
        suite = suites.get_suite(name)
        if suite.origin != suites.BUILT_IN:
            continue
        path = files[name]
        parts += [f"## {name}", "", escape(suite.description), ""]
        facts = [
            ("source", suite.source),
            ("protocol", suite.protocol_text()),
            ("grid", suite.grid_text()),
            ("LR range test", suite.lr_range.describe() if suite.lr_range else ""),
        ]
        parts += [f"- **{label}**: {escape(text)}" for label, text in facts if text]
        parts += [
            "",
            f"`bench run --suite {name}` runs it; its study file, "
            f"`bench/sweep/builtin_suites/{path.name}`:",
            "",
            f'```toml title="{path.name}"',
            path.read_text().rstrip(),
            "```",
            "",
        ]
    return "\n".join(parts)


def recipes_table() -> str:
    from bench.config import runs

    rows = []
    for name in runs.list_recipes():
        recipe = runs.get_recipe(name)
        batch = "full" if recipe.batch_size is None else str(recipe.batch_size)
        extra = [
            f"{key} {value}"
            for key, value, default in (
                ("momentum", recipe.momentum, 0.0),
                ("nesterov", recipe.nesterov, False),
                ("weight decay", recipe.weight_decay, 0.0),
                ("schedule", recipe.schedule, "none"),
                ("label smoothing", recipe.label_smoothing, 0.0),
                ("augment", recipe.augment, "none"),
            )
            if value != default
        ]
        rows.append(
            [
                code(name),
                recipe.optimizer,
                f"{recipe.lr:g}",
                batch,
                str(recipe.epochs),
                recipe.normalize,
                cell(", ".join(extra)),
                cell(recipe.description),
            ]
        )
    header = ["recipe", "optimizer", "lr", "batch", "epochs", "normalize", "also", "what"]
    return table(header, rows)


# ---------------------------------------------------------------------------------------------
# the example report


def example_report(path: Path = EXAMPLE_REPORT) -> str:
    """The report's markdown as part of a page: its title dropped (the page has its own), its
    ``<details>`` blocks (torchinfo summaries) rendered as markdown inside."""
    text = path.read_text()
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    body = "\n".join(lines).strip("\n")
    return re.sub(r"<details>", '<details markdown="1">', body)


def report_table(text: str, heading: str) -> list[dict[str, str]]:
    """The rows of the first markdown table under ``## heading`` in a report, as dicts."""
    section = text.split(f"\n## {heading}\n", 1)
    if len(section) < 2:
        raise GenerationError(f"the example report has no section {heading!r}")
    lines = [line for line in section[1].split("\n## ")[0].splitlines() if line.startswith("|")]
    if len(lines) < 3:
        raise GenerationError(f"the example report's {heading!r} section has no table")

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    header = cells(lines[0])
    return [dict(zip(header, cells(line), strict=True)) for line in lines[2:]]


def example_recap(path: Path = EXAMPLE_REPORT) -> str:
    """The example report in brief: its recap table (accuracy, interval, seeds, cost), every
    pair's verdict and when and where its runs were made, all read from the report itself."""
    text = path.read_text()
    columns = ["Model", "Parameters", "Test accuracy", "95 % CI", "n", "Training time"]
    rows = [[row[name] for name in columns] for row in report_table(text, "Recap")]
    verdicts = []
    for row in report_table(text, "Pairwise comparison"):
        a, b, verdict = row["A"], row["B"], row["Verdict"]
        if verdict == f"{a} better":
            verdicts.append(f"{a} better than {b}")
        else:
            verdicts.append(f"{a} vs {b}: {verdict}")
    env = re.search(r"^- runs from (\S+?)T.* to (\S+?)T", text, flags=re.M)
    devices = re.search(r"^- devices: ([^;\n]+); torch threads: (\d+)", text, flags=re.M)
    epochs = re.search(r"^\*\*Protocol of .*?\*\* (\d+) epochs", text, flags=re.M)
    if not (env and devices and epochs):
        raise GenerationError("the example report has no protocol, dates or devices to quote")
    when = env[1] if env[1] == env[2] else f"{env[1]} to {env[2]}"
    marked = any(re.search(r"\[\d+\]$", row[-1]) for row in rows)
    return (
        f"{table(columns, rows)}\n\n"
        f"Verdicts: {'; '.join(verdicts)}. Test accuracy after {epochs[1]} epochs, mean ± std "
        f"over n seeds, with the 95 % confidence interval of the mean; training time per run on "
        f"{devices[1]} with {devices[2]} threads; runs of {when}"
        + (
            "; a time marked [k] leaves out the runs that trained beside other work "
            "(recorded contended; the report lists them)"
            if marked
            else ""
        )
        + ".\n"
    )


# ---------------------------------------------------------------------------------------------
# the hook

GENERATORS = {
    "cli": lambda arg: cli_reference(),
    "store-table": store_table,
    "store-tables": lambda arg: store_tables(),
    "architectures": lambda arg: architectures_table(),
    "suites": lambda arg: suites_reference(),
    "recipes": lambda arg: recipes_table(),
    "example-report": lambda arg: example_report(),
    "example-recap": lambda arg: example_recap(),
}


def fill(markdown: str, where: str = "") -> str:
    """``markdown`` with every ``<!-- archbench:NAME [ARG] -->`` marker replaced."""

    def generate(match: re.Match) -> str:
        name, arg = match[1], match[2]
        if name not in GENERATORS:
            raise GenerationError(
                f"{where}: unknown marker archbench:{name}; known: {', '.join(GENERATORS)}"
            )
        return GENERATORS[name](arg)

    return MARKER.sub(generate, markdown)


def on_page_markdown(markdown: str, *, page, config, files) -> str:
    from mkdocs.exceptions import PluginError

    try:
        filled = fill(markdown, page.file.src_uri)
    except GenerationError as exc:
        raise PluginError(str(exc)) from None
    if page.file.src_uri == "reference/store.md":
        covered = set(re.findall(r"^<!-- archbench:store-table ([\w-]+) -->$", markdown, re.M))
        missing = [name for name in schema_tables() if name not in covered]
        if missing:
            raise PluginError(f"reference/store.md does not describe table(s) {missing}")
    return filled
