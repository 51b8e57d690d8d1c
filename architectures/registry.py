"""The architecture registry: one dict of named model factories with their metadata.

A family module registers a factory with the :func:`register` decorator; the function's name is
the architecture's name. :func:`create` builds a fresh model on the CPU and :func:`list_archs`
lists names with shell wildcards, in natural sort order (``mlp32`` before ``mlp256``).

Arguments are checked before a model is built: an argument the factory declares as ``int`` (or
a sequence of ``int``, such as ``hidden: Sequence[int]``) must be an integer (``2.5`` and
``true`` are refused rather than truncated), and :func:`check_size` counts a model's parameters
on PyTorch's meta device (no memory) so that one above :data:`MAX_PARAMETERS` is refused before
it is allocated. Both raise :class:`ArgumentError` with one line.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import json
import re
import threading
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

MAX_PARAMETERS = 1_000_000_000  # 4 GB of float32 weights before gradients and optimizer state:
# far beyond any model an image benchmark trains here, and small enough to refuse a typo
# (hidden=[100000000]) before it is allocated


class UnknownArchitectureError(LookupError):
    """Raised for a name that is not registered; the message names close matches."""


class DuplicateArchitectureError(ValueError):
    """Raised at import when two factories claim the same name."""


class ArgumentError(ValueError):
    """An architecture argument of the wrong type, or a model above :data:`MAX_PARAMETERS`;
    the message is one line naming the argument (or the size) and the fix."""


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
BUILT_IN = ("cnn", "deepcnn", "lenet", "linear", "mlp")  # the family modules archbench ships
_built_in = {"loaded": False, "loading": False}
_BUILT_IN_LOCK = threading.RLock()  # re-entrant: the families' own register() calls come back


def load_built_in() -> None:
    """Import the built-in family modules (which register their architectures) once: at the
    registry's first use, not when :mod:`architectures` is imported, so that a command that
    never looks at an architecture (``bench --help``, ``bench results``) imports no torch.
    Another thread asking meanwhile waits until every family is registered."""
    if _built_in["loaded"]:
        return
    with _BUILT_IN_LOCK:
        if _built_in["loaded"] or _built_in["loading"]:
            return
        _built_in["loading"] = True
        try:
            for family in BUILT_IN:
                importlib.import_module(f"architectures.{family}")
        finally:
            _built_in["loading"] = False
        _built_in["loaded"] = True


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
        load_built_in()  # a name a built-in takes is refused as taken, whichever came first
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
    load_built_in()
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
    load_built_in()
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
    check_types(name, info.factory, resolved)
    return info.factory(**resolved)


def _declared(factory: Callable[..., Any]) -> dict[str, Any]:
    """The factory's (or class's ``__init__``'s) resolved annotations; {} if unresolvable."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target)
    except Exception:  # annotations naming what cannot be imported here: not checked
        return {}


def _integer_kind(hint: Any) -> str | None:
    """``"int"`` for an ``int`` annotation, ``"ints"`` for a sequence of ``int`` (``list[int]``,
    ``Sequence[int]``, ``tuple[int, ...]``), either optional (``| None``); else None."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return _integer_kind(kinds[0]) if len(kinds) == 1 else None
    if hint is int:
        return "int"
    if (
        isinstance(origin, type)
        and issubclass(origin, Iterable)
        and not issubclass(origin, str | bytes | Mapping)
        and args
        and set(args) <= {int, Ellipsis}
    ):
        return "ints"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_types(name: str, factory: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Refuse a value that is not an integer for an argument ``factory`` declares as ``int``
    or as a sequence of ``int`` (a JSON ``2.5`` or ``true`` would otherwise be truncated or
    taken as 1 while the config records what was given)."""
    declared = _declared(factory)
    for key, value in kwargs.items():
        kind = _integer_kind(declared.get(key))
        if kind is None or value is None:
            continue
        what = "an integer" if kind == "int" else "a list of integers"
        if kind == "ints" and (isinstance(value, str | bytes | Mapping) or not _iterable(value)):
            reason = ""
        else:
            bad = next((v for v in ([value] if kind == "int" else value) if not _is_int(v)), _OK)
            if bad is _OK:
                continue
            reason = f": {_json(bad)} is not an integer" if kind == "ints" else ""
        raise ArgumentError(
            f"architecture {name!r}: {key} must be {what} (declared "
            f"{_hint_text(declared[key])}), got {_json(value)}{reason}; give whole numbers, "
            f"e.g. {key}={'64' if kind == 'int' else '[64,32]'}"
        )


_OK = object()


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=list)
    except (TypeError, ValueError):
        return repr(value)


def _hint_text(hint: Any) -> str:
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    return text.replace("typing.", "").replace("collections.abc.", "")


def size_error(name: str, params: int, kwargs: dict[str, Any] | None = None) -> ArgumentError:
    """The one line refusing a model of ``params`` parameters (above :data:`MAX_PARAMETERS`)."""
    given = ", ".join(f"{k}={_json(v)}" for k, v in (kwargs or {}).items() if k != "num_classes")
    if len(given) > 80:
        given = given[:77] + "..."
    count = f"{params:,}" if params < 10**15 else f"{float(params):.3g}"
    return ArgumentError(
        f"architecture {name!r}{f' with {given}' if given else ''} has {count} parameters, "
        f"more than archbench's limit of {MAX_PARAMETERS:,} (MAX_PARAMETERS); use smaller layers"
    )


def check_size(name: str, **kwargs: Any) -> int | None:
    """Build ``name`` on PyTorch's meta device (shapes only, no memory) and refuse it
    (:class:`ArgumentError`) when it has more than :data:`MAX_PARAMETERS` parameters; its
    parameter count, or None when the factory cannot build on the meta device (then nothing
    is checked here: building it for real reports its own failure)."""
    import torch
    from torch import nn
    from torch.nn.parameter import is_lazy

    try:
        with torch.device("meta"):
            model = create(name, **kwargs)
    except ArgumentError:
        raise
    except (Exception, SystemExit):  # building it for real says what is wrong, as it does now
        return None
    if not isinstance(model, nn.Module):
        return None
    params = sum(p.numel() for p in model.parameters() if not is_lazy(p))
    if params > MAX_PARAMETERS:
        raise size_error(name, params, kwargs)
    return params
