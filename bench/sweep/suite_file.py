"""A study in the user's TOML file: ``bench run --suite-file study.toml``.

The file is in the schema of the built-in suites (:mod:`bench.sweep.suite_schema`;
docs/guides/suites-and-studies.md, "A study in a file"): archs, dataset, recipe, seeds,
``[overrides]``, ``[grid]``, and as a built-in suite may, a source, ``[protocol]``, ``[lr_range]``,
``vary`` and ``[[references]]``. Relative paths (architecture files, datasets) are relative to the
TOML file. Unknown keys are refused by name. The study is registered as a suite for this process,
and its runs are recorded as members of it, so ``bench report --suite NAME`` reports it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from bench.config import UsageError
from bench.config.runs import parse_seeds
from bench.sweep import suites


def load(path: Path) -> tuple[suites.Suite, list[int] | None]:
    """The study in ``path`` as a :class:`Suite` (archs resolved, registered under its name)
    and its seeds (None when it gives none)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(
            f"no such suite file: {path}; give a TOML file (schema: "
            "docs/guides/suites-and-studies.md)"
        )
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    origin = str(path.resolve())
    suite = suites.from_toml(data, path, origin)
    existing = suites.SUITES.get(suite.name)
    if existing is not None and existing.origin != origin:
        owner = existing.origin if existing.origin not in ("", suites.BUILT_IN) else existing.source
        raise UsageError(f"{path}: suite name {suite.name!r} is taken by {owner}; set another name")
    suites.SUITES[suite.name] = suite
    return suite, None if suite.seeds is None else parse_seeds(suite.seeds)
