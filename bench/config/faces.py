"""A subpackage's face whose heavier names are imported at their first use (PEP 562), so that
importing the face costs what its light names cost: the command line's parser, ``--help``
and ``bench results`` import neither torch nor matplotlib."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, tuple[str, str | None]]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``'s face: ``names`` maps each name to (the module
    it comes from, its attribute there; None: the module itself). A name is imported when
    first asked for and kept in the face after it."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = names[name]
        found = importlib.import_module(module)
        value = found if attribute is None else getattr(found, attribute)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
