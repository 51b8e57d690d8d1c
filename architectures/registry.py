"""The architecture registry: one dict of named model factories with their metadata.

A family module registers a factory with the :func:`register` decorator; the function's name is
the architecture's name. :func:`create` builds a fresh model on the CPU and :func:`list_archs`
lists names with shell wildcards, in natural sort order (``mlp32`` before ``mlp256``).
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from torch import nn


class UnknownArchitectureError(LookupError):
    """Raised for a name that is not registered; the message names close matches."""


class DuplicateArchitectureError(ValueError):
    """Raised at import when two factories claim the same name."""


@dataclass(frozen=True)
class ArchInfo:
    """What the registry knows about one architecture besides how to build it."""

    name: str
    family: str
    description: str
    source: str
    input_shape: tuple[int, int, int]
    num_classes: int
    factory: Callable[..., nn.Module] = field(repr=False, compare=False)
    defaults: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ArchInfo] = {}


def register(
    *,
    family: str,
    description: str,
    source: str,
    input_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    **defaults: Any,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator filing a model factory under its function name.

    ``defaults`` are keyword arguments passed to the factory unless the caller overrides them;
    they are part of what the name means (``mlp512x2`` is ``mlp`` with ``hidden=[512, 512]``).
    """

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = factory.__name__
        if name in _REGISTRY:
            raise DuplicateArchitectureError(
                f"architecture {name!r} from {_origin(factory)} clashes with the one already "
                f"registered from {_origin(_REGISTRY[name].factory)}; pick another name"
            )
        _REGISTRY[name] = ArchInfo(
            name=name,
            family=family,
            description=description,
            source=source,
            input_shape=tuple(input_shape),
            num_classes=num_classes,
            factory=factory,
            defaults=dict(defaults),
        )
        return factory

    return decorate


def _origin(factory: Callable[..., Any]) -> str:
    """Where a factory was defined: its module and file, for messages."""
    try:
        where = inspect.getsourcefile(factory)
    except TypeError:
        where = None
    return f"{factory.__module__} ({where})" if where else factory.__module__


def natural_key(name: str) -> list[Any]:
    """Sort key that orders digit runs by value: mlp32 < mlp256 < mlp512x2."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _patterns(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def list_archs(
    include: str | Iterable[str] | None = None, exclude: str | Iterable[str] | None = None
) -> list[str]:
    """Registered names matching any ``include`` wildcard and no ``exclude`` wildcard."""
    includes = _patterns(include) or ["*"]
    excludes = _patterns(exclude)
    names = [
        name
        for name in _REGISTRY
        if any(fnmatch.fnmatchcase(name, pat) for pat in includes)
        and not any(fnmatch.fnmatchcase(name, pat) for pat in excludes)
    ]
    return sorted(names, key=natural_key)


def unknown_name_message(kind: str, name: str, valid: Iterable[str]) -> str:
    """One line naming an unknown ``name``, its closest valid names, and all valid names."""
    valid = sorted(valid, key=natural_key)
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.0)
    return f"unknown {kind} {name!r}; closest: {', '.join(close)}; valid names: {', '.join(valid)}"


def get_info(name: str) -> ArchInfo:
    """The registry entry for ``name``; an unknown name raises with close matches."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownArchitectureError(
            unknown_name_message("architecture", name, _REGISTRY)
        ) from None


def resolve_kwargs(name: str, **kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for ``name``'s factory: its defaults, overridden by non-None ``kwargs``."""
    info = get_info(name)
    merged = dict(info.defaults)
    merged.update({key: value for key, value in kwargs.items() if value is not None})
    merged.setdefault("num_classes", info.num_classes)
    return merged


def create(name: str, **kwargs: Any) -> nn.Module:
    """A freshly initialised model for ``name`` on the CPU.

    Keyword arguments that are ``None`` are dropped, so callers can pass optional settings
    through unchanged. The model's initial weights come from torch's global RNG: seed it first.
    """
    info = get_info(name)
    resolved = resolve_kwargs(name, **kwargs)
    accepted = inspect.signature(info.factory).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    if "num_classes" not in accepted and not takes_any and kwargs.get("num_classes") is None:
        resolved.pop("num_classes")  # passed only to a factory that takes it
    unknown = sorted(set(resolved) - set(accepted))
    if unknown and not takes_any:
        raise TypeError(
            f"architecture {name!r} takes no argument {unknown[0]!r}; "
            f"it accepts: {', '.join(accepted)}"
        )
    return info.factory(**resolved)
