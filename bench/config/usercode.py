"""Architectures from the user's code: file and module references, plugins, and their identity.

A *reference* is ``PATH.py:NAME`` or ``package.module:NAME``: a class or factory returning an
``nn.Module``. :func:`resolve_reference` imports it and files it in the architecture registry
under ``NAME``. Modules that call :func:`architectures.register` themselves are *plugins*,
imported by :func:`load_plugins` from ``--import``, ``[tool.archbench] import`` in the working
directory's ``pyproject.toml`` and the ``archbench.plugins`` entry-point group.

An installed plugin (entry point) that cannot be imported does not stop a command: it is
left out and described (:class:`BrokenPlugin`, :func:`broken_plugins`) for the command to
say so, and ``no_plugins`` (``--no-plugins``, ``ARCHBENCH_NO_PLUGINS=1``) skips the entry points
and ``pyproject.toml`` imports altogether.

User code that exits (``sys.exit()``, a ``KeyboardInterrupt`` raised by the code itself or
any other ``BaseException`` that is not an ``Exception``) does not end archbench: inside
:func:`exits_as_errors` it becomes a :class:`UserCodeExit`, an ordinary exception that says
where it was raised; a real Ctrl-C still interrupts.

Identity: :func:`origin_of` describes where a user architecture's code lives (path, SHA-256 of
the file, and the package name and version when it comes from an installed distribution) and
what its code is: ``code_sha256``, the hash of the class (or factory) and of what it uses in
its file, found by :func:`code_closure` (module-level functions, classes, constants and imports
it names, transitively), so that adding an unrelated class to the file changes nothing. It is
canonical JSON; it goes into :attr:`RunConfig.arch_source` and so into the run id (the code's
hash, not the file's, where there is one). On another machine (a Ray worker) :func:`ensure`
imports the same file and refuses different code. :func:`stored_code` is that code's text, as
the store keeps it beside the run (at most :data:`MAX_CODE_CHARS`).
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import signal
import sys
import threading
import tomllib
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

from architectures import registry
from bench.config.errors import ArchbenchError, UsageError

BUILTIN_PACKAGE = "architectures"
ENTRY_POINT_GROUP = "archbench.plugins"
FILE_MODULE_PREFIX = "archbench_user_"
NO_PLUGINS_ENV = "ARCHBENCH_NO_PLUGINS"


class CodeMismatchError(ArchbenchError):
    """The code found here is not the code a run was planned with."""


class UserCodeExit(RuntimeError):
    """User code tried to end the process (``sys.exit()``, a ``KeyboardInterrupt`` it raised
    itself, ...): turned into an exception that says what and where (see
    :func:`exits_as_errors`); the original is its ``__cause__``."""

    def __init__(self, exc: BaseException):
        self.original = exc
        super().__init__(describe_exit(exc))


def _exit_call(exc: BaseException) -> str:
    """``sys.exit(3)``, ``sys.exit()``, or the exception (``KeyboardInterrupt``)."""
    if isinstance(exc, SystemExit):
        return "sys.exit()" if exc.code is None else f"sys.exit({exc.code!r})"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}({text})" if text else type(exc).__name__


def describe_exit(exc: BaseException) -> str:
    """``sys.exit(3) called at models.py:12`` (or ``KeyboardInterrupt raised at ...``)."""
    verb = "called" if isinstance(exc, SystemExit) else "raised"
    return f"{_exit_call(exc)} {verb} at {_where(exc)}"


_CTRL_C = {"count": 0}  # SIGINTs received while :func:`exits_as_errors` watched


@contextlib.contextmanager
def _ctrl_c_counted() -> Iterator[None]:
    """Count real Ctrl-C (SIGINT) while inside, passing each on to the handler there was. Only
    the main thread receives signals; where the handler is not Python's (ignored, or the
    default that kills the process), no KeyboardInterrupt can come from a signal at all."""
    previous = signal.getsignal(signal.SIGINT)
    watch = (
        threading.current_thread() is threading.main_thread()
        and callable(previous)
        and not getattr(previous, "archbench_counts", False)
    )
    if not watch:
        yield
        return

    def counted(signum, frame):
        _CTRL_C["count"] += 1
        previous(signum, frame)

    counted.archbench_counts = True
    signal.signal(signal.SIGINT, counted)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is counted:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def exits_as_errors() -> Iterator[None]:
    """Run user code inside: a ``SystemExit``, a ``KeyboardInterrupt`` that no Ctrl-C caused,
    or any other ``BaseException`` that is not an ``Exception`` leaves the block as a
    :class:`UserCodeExit`, which the caller's ``except Exception`` handles like any error. A
    real Ctrl-C (and a ``GeneratorExit``) passes through unchanged."""
    with _ctrl_c_counted():
        before = _CTRL_C["count"]
        try:
            yield
        except Exception:
            raise
        except GeneratorExit:
            raise
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) and _CTRL_C["count"] != before:
                raise
            raise UserCodeExit(exc) from exc


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_reference(text: str) -> bool:
    """``PATH.py:NAME`` or ``module:NAME`` (a registered name or wildcard has no colon)."""
    return ":" in text


def is_builtin(info: registry.ArchInfo) -> bool:
    return info.factory.__module__.split(".")[0] == BUILTIN_PACKAGE


def _where(exc: BaseException, prefer: Path | None = None) -> str:
    """``file:line`` of the innermost frame of ``exc`` in user code (``prefer`` first)."""
    if isinstance(exc, UserCodeExit):
        exc = exc.original
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    if prefer is not None:
        mine = [f for f in frames if Path(f.filename).resolve() == prefer.resolve()]
        if mine:
            return f"{mine[-1].filename}:{mine[-1].lineno}"
    user = [f for f in frames if "importlib" not in f.filename and "bench/" not in f.filename]
    frame = (user or frames or [None])[-1]
    return f"{frame.filename}:{frame.lineno}" if frame else "?"


def _failed(what: str, exc: BaseException, prefer: Path | None = None) -> UsageError:
    if isinstance(exc, UserCodeExit):
        verb = "calls" if isinstance(exc.original, SystemExit) else "raises"
        return UsageError(
            f"cannot import {what}: {_where(exc, prefer)}: it {verb} {_exit_call(exc.original)} "
            "while being imported; archbench imports the module to find its architectures: "
            'remove the exit, or put it under `if __name__ == "__main__":`'
        )
    text = " ".join(str(exc).split())
    return UsageError(
        f"cannot import {what}: {_where(exc, prefer)}: {type(exc).__name__}: {text}; fix the "
        "error there"
    )


def import_file(path: str | Path) -> ModuleType:
    """Import a Python file by path (once per path and content), with a clear error."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"no such file: {path}; give the path of a Python file (FILE.py:NAME)")
    digest = file_sha256(path)
    name = FILE_MODULE_PREFIX + hashlib.sha256(str(path).encode()).hexdigest()[:10]
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__archbench_sha256__", None) == digest:
        return loaded
    if loaded is not None:  # the file changed: forget what its old version registered
        for arch in [n for n, i in registry._REGISTRY.items() if i.factory.__module__ == name]:
            del registry._REGISTRY[arch]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__archbench_sha256__ = digest
    sys.modules[name] = module
    try:
        with exits_as_errors():
            spec.loader.exec_module(module)
    except registry.DuplicateArchitectureError:
        del sys.modules[name]
        raise
    except Exception as exc:
        del sys.modules[name]
        raise _failed(str(path), exc, path) from None
    return module


def import_module(name: str) -> ModuleType:
    try:
        with exits_as_errors():
            return importlib.import_module(name)
    except registry.DuplicateArchitectureError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise UsageError(
                f"no module named {name!r}; install it, put it on PYTHONPATH, or give a file "
                "path (FILE.py)"
            ) from None
        raise _failed(name, exc) from None
    except Exception as exc:
        raise _failed(name, exc) from None


def import_any(target: str) -> ModuleType:
    """A module from a file path (``x.py`` or containing ``/``) or a dotted module name."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        return import_file(target)
    return import_module(target)


# each installed distribution's name and top-level import names, by where its metadata
# folder lies and that folder's modification time (installing it again writes it anew)
_SHIPS: dict[tuple[str, int], tuple[str, list[str]]] = {}


def _packages_distributions() -> dict[str, list[str]]:
    """``importlib.metadata.packages_distributions()``, each distribution read once per
    process: that function reads the file list of every installed distribution (and stats
    each file), a second or more in a large environment, and it ran again for each user
    architecture planned from an imported module."""
    found: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        name, top_level = _ships(dist)
        for module in top_level:
            found.setdefault(module, []).append(name)
    return found


def _ships(dist: importlib.metadata.Distribution) -> tuple[str, list[str]]:
    """``dist``'s name and what it ships at the top level, as Python 3.11's
    ``packages_distributions`` reads them: its ``top_level.txt``, else the first folder of
    each ``.py`` file it lists (a lone file: its module name)."""
    folder = getattr(dist, "_path", None)  # a PathDistribution's metadata folder
    key = None
    if folder is not None:
        with contextlib.suppress(OSError):
            key = os.path.abspath(folder), os.stat(folder).st_mtime_ns
    if key in _SHIPS:
        return _SHIPS[key]
    top_level = (dist.read_text("top_level.txt") or "").split() or sorted(
        {
            path.parts[0] if len(path.parts) > 1 else path.with_suffix("").name
            for path in dist.files or ()
            if path.suffix == ".py"
        }
    )
    shipped = dist.metadata["Name"], top_level
    if key is not None:
        _SHIPS[key] = shipped
    return shipped


def _distribution(module: str) -> tuple[str, str] | None:
    """(name, version) of the installed distribution that ships ``module``, if any."""
    names = _packages_distributions().get(module.split(".")[0], [])
    for name in names:
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


MAX_CODE_CHARS = 20_000  # of a class's code kept with each run (for the report's diff)


def _bound_names(node: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds (a def or class its name; an
    assignment, import, ``for``, ``with``, ``if`` or ``try`` the names stored anywhere in it,
    ``X[k] = ...`` and ``X.a = ...`` counting as changing ``X``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    names = set()
    for child in ast.walk(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in child.names)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, (ast.Subscript, ast.Attribute)) and isinstance(child.ctx, ast.Store):
            base = child.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
    return names


def code_closure(text: str, name: str) -> str | None:
    """The code of the top-level class or function ``name`` in the module ``text`` and of
    every top-level statement that binds a name it uses, transitively (helper functions and
    classes, constants, imports), in file order; None when ``name`` is not defined at the top
    level (or the text does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    binders: dict[str, list[int]] = {}
    for i, node in enumerate(tree.body):
        for bound in _bound_names(node):
            binders.setdefault(bound, []).append(i)
    roots = [
        i
        for i, node in enumerate(tree.body)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.name == name
    ]
    if not roots:
        return None
    included, todo = set(), list(roots)
    while todo:
        i = todo.pop()
        if i in included:
            continue
        included.add(i)
        for child in ast.walk(tree.body[i]):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                todo.extend(binders.get(child.id, ()))
    lines = text.splitlines()
    parts = []
    for i in sorted(included):
        node = tree.body[i]
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)])
        parts.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n\n".join(parts) + "\n"


def code_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _closure_of_file(path: Path, name: str) -> str | None:
    try:
        text = path.read_bytes().decode()
    except (OSError, UnicodeDecodeError):
        return None
    return code_closure(text, name)


def stored_code(source: str) -> str | None:
    """The code a user architecture's source JSON identifies (:func:`code_closure`), read from
    its file, when the file still holds that code; at most :data:`MAX_CODE_CHARS` (longer
    code is cut, with a last line that says so); None otherwise (built-ins, code identified
    by the whole file, a file changed since)."""
    if not source:
        return None
    origin = json.loads(source)
    if "code_sha256" not in origin or "object" not in origin:
        return None
    code = _closure_of_file(Path(origin["path"]), origin["object"])
    if code is None or code_sha256(code) != origin["code_sha256"]:
        return None
    if len(code) > MAX_CODE_CHARS:
        cut = code[:MAX_CODE_CHARS]
        code = f"{cut}\n# ... {len(code) - len(cut)} more characters not kept\n"
    return code


def origin_of(factory: Callable[..., Any], inline: bool = False) -> dict[str, Any]:
    """Where ``factory``'s code lives: its module file, the file's SHA-256 and, for an
    installed distribution, its name and version; ``import`` is what imports it elsewhere
    (plus ``ref``, ``IMPORT:NAME``, for an inline reference rather than a plugin); for a class
    or function defined at the top level of its file, ``object`` (its name) and
    ``code_sha256``, the hash of its :func:`code_closure`."""
    module = sys.modules.get(factory.__module__)
    path = Path(inspect.getsourcefile(factory) or getattr(module, "__file__", "")).resolve()
    origin: dict[str, Any] = {"path": str(path), "sha256": file_sha256(path)}
    name = getattr(factory, "__name__", "")
    if name and getattr(factory, "__qualname__", name) == name:
        code = _closure_of_file(path, name)
        if code is not None:
            origin["object"], origin["code_sha256"] = name, code_sha256(code)
    if factory.__module__.startswith(FILE_MODULE_PREFIX) or factory.__module__ == "__main__":
        origin["import"] = str(path)
    else:
        origin["import"] = factory.__module__
        dist = _distribution(factory.__module__)
        if dist is not None:
            origin["package"], origin["version"] = dist
    if inline:
        origin["ref"] = f"{origin['import']}:{factory.__name__}"
    return origin


def _register_callable(name: str, factory: Callable[..., Any], where: str) -> None:
    registry.load_built_in()  # a built-in's name is taken whether or not it was looked up yet
    current = registry._REGISTRY.get(name)
    if current is not None and is_builtin(current):
        raise UsageError(
            f"architecture {name!r} from {where} clashes with the built-in one in "
            f"{current.factory.__module__}; rename it"
        )
    doc = (inspect.getdoc(factory) or "").split("\n")[0]
    registry._REGISTRY[name] = registry.ArchInfo(
        name=name,
        family="user",
        description=doc or f"user architecture from {where}",
        source=where,
        input_shape=tuple(getattr(factory, "input_shape", (1, 28, 28))),
        num_classes=int(getattr(factory, "num_classes", 10)),
        factory=factory,
    )


def resolve_reference(ref: str) -> str:
    """Import ``PATH.py:NAME`` or ``module:NAME``, register NAME, return NAME."""
    target, _, attr = ref.rpartition(":")
    if not target or not attr.isidentifier():
        raise UsageError(f"invalid architecture reference {ref!r}: use FILE.py:NAME or module:NAME")
    module = import_any(target)
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        close = difflib.get_close_matches(attr, names, n=3, cutoff=0.0)
        raise UsageError(
            f"{target} has no class or function {attr!r}; closest: {', '.join(close) or 'none'}"
        )
    register_object(factory, ref)
    return attr


def register_object(factory: Callable[..., Any], ref: str | None = None) -> str:
    """File a class or factory object under its name (for the Python API); its name."""
    name = factory.__name__
    current = registry._REGISTRY.get(name)
    if current is not None and current.factory is factory:
        return name
    _register_callable(name, factory, ref or f"{factory.__module__}:{factory.__qualname__}")
    return name


def user_origin(arch: str) -> dict[str, Any] | None:
    """The origin of a registered architecture that is not built in (None for built-ins)."""
    info = registry.get_info(arch)
    if is_builtin(info):
        return None
    return origin_of(info.factory, inline=info.family == "user")


def dry_forward(arch: str, kwargs: dict[str, Any], input_shape, num_classes: int) -> None:
    """Build ``arch`` and check one batch of zeros gives ``[batch, num_classes]`` logits."""
    import torch
    from torch import nn

    info = registry.get_info(arch)
    try:
        with exits_as_errors():
            model = registry.create(arch, **kwargs)
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise UsageError(
            f"building {arch} failed: {_where(exc)}: {type(exc).__name__}: {text}"
        ) from None
    if not isinstance(model, nn.Module):
        raise UsageError(
            f"{info.source} returned {type(model).__name__}, not a torch.nn.Module; return the "
            "model (an nn.Module subclass instance)"
        )
    try:
        with torch.no_grad(), exits_as_errors():
            out = model.eval()(torch.zeros(2, *input_shape))
    except Exception as exc:
        raise UsageError(
            f"{arch} fails on a batch of {'x'.join(map(str, input_shape))} images: "
            f"{_where(exc)}: {type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None
    shape = tuple(getattr(out, "shape", ()))
    if shape != (2, num_classes):
        raise UsageError(
            f"{arch} returns output of shape {list(shape)} for a batch of 2; it must return "
            f"[batch, classes] = [2, {num_classes}] logits"
        )


def source_json(origin: dict[str, Any], input_shape, num_classes: int) -> str:
    """The canonical :attr:`RunConfig.arch_source` text."""
    values = {**origin, "input_shape": list(input_shape), "num_classes": num_classes}
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def _digest_here(path: Path, origin: dict[str, Any]) -> tuple[str, str]:
    """(the hash of the code ``origin`` names as ``path`` holds it now, the planned hash):
    of the class's code where the origin identifies it so, else of the whole file."""
    if not path.is_file():
        return "missing", origin.get("code_sha256") or origin["sha256"]
    if "code_sha256" in origin and "object" in origin:
        code = _closure_of_file(path, origin["object"])
        return ("missing" if code is None else code_sha256(code)), origin["code_sha256"]
    return file_sha256(path), origin["sha256"]


def ensure(arch: str, source: str) -> None:
    """Make ``arch`` resolvable here as the run was planned: import its code when missing and
    check its hash (of the class's code, or of the whole file for a run planned so): different
    code raises :class:`CodeMismatchError`."""
    if not source:
        return
    origin = json.loads(source)
    registry.load_built_in()
    info = registry._REGISTRY.get(arch)
    path = Path(origin["path"])
    if info is None or is_builtin(info):
        where = origin.get("ref") or origin["import"]
        here, planned = _digest_here(path, origin)
        if path.is_file() and here != planned:
            raise _mismatch(arch, path, here, planned)
        if "ref" in origin:
            resolve_reference(origin["ref"])
        else:
            import_any(origin["import"])
        info = registry._REGISTRY.get(arch)
        if info is None:
            raise CodeMismatchError(f"{where} no longer defines architecture {arch!r}")
    here_path = Path(inspect.getsourcefile(info.factory) or "")
    digest, planned = _digest_here(here_path, origin)
    if digest != planned:
        raise _mismatch(arch, here_path, digest, planned)
    registry._REGISTRY[arch] = registry.ArchInfo(
        **{
            **info.__dict__,
            "input_shape": tuple(origin["input_shape"]),
            "num_classes": origin["num_classes"],
        }
    )


def _mismatch(arch: str, path: Path, here: str, planned: str) -> CodeMismatchError:
    return CodeMismatchError(
        f"code of {arch} differs from the planned run: {path} has sha256 {here[:16]} here, the "
        f"run was planned with {planned[:16]} (of {arch}'s code and what it uses in the "
        "file); use the same file on every machine"
    )


def planned_input_shape(source: str) -> tuple[int, ...] | None:
    """The input shape a user architecture was planned with (None for built-ins)."""
    return tuple(json.loads(source)["input_shape"]) if source else None


def source_text(source: str) -> str:
    """The text of the file that a user architecture's source JSON names."""
    return Path(json.loads(source)["path"]).read_bytes().decode()


def model_from_code(arch: str, source: str, text: str, kwargs: dict[str, Any]) -> nn.Module:
    """Build ``arch`` from ``text``, the stored code of its file (as it was for the run),
    leaving the registry as it was."""
    origin = json.loads(source)
    if hashlib.sha256(text.encode()).hexdigest() != origin["sha256"]:
        raise CodeMismatchError(f"the code stored for {arch} does not have the run's hash")
    registry.load_built_in()  # the built-ins stay registered when the registry is restored
    saved = dict(registry._REGISTRY)
    module = ModuleType(f"{FILE_MODULE_PREFIX}stored_{origin['sha256'][:10]}")
    module.__file__ = origin["path"]
    sys.modules[module.__name__] = module
    try:  # only the built-ins stay: the stored module may register several names
        registry._REGISTRY.clear()
        registry._REGISTRY.update({n: i for n, i in saved.items() if is_builtin(i)})
        with exits_as_errors():
            exec(compile(text, origin["path"], "exec"), module.__dict__)
            if arch not in registry._REGISTRY:
                _register_callable(arch, getattr(module, arch), origin.get("ref", arch))
            info = registry._REGISTRY[arch]
            registry._REGISTRY[arch] = registry.ArchInfo(
                **{**info.__dict__, "num_classes": origin["num_classes"]}
            )
            return registry.create(arch, **kwargs)
    finally:
        registry._REGISTRY.clear()
        registry._REGISTRY.update(saved)
        del sys.modules[module.__name__]


def pyproject_imports(directory: Path | None = None) -> list[str]:
    """``[tool.archbench] import = [...]`` of ``pyproject.toml`` in ``directory`` (the cwd)."""
    path = (directory or Path.cwd()) / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    value = data.get("tool", {}).get("archbench", {}).get("import", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: [tool.archbench] import must be a list of module names/files")
    base = path.parent
    return [str(base / v) if v.endswith(".py") and not Path(v).is_absolute() else v for v in value]


_LOADED: set[str] = set()


@dataclass(frozen=True)
class BrokenPlugin:
    """An installed plugin (``archbench.plugins`` entry point) that could not be imported:
    left out, so that the commands go on without its architectures."""

    name: str  # the entry point's name
    value: str  # what it imports (``mypkg.archs``)
    package: str  # the distribution that declares it, with its version ("" if unknown)
    error: str  # one line: where and what

    @property
    def text(self) -> str:
        of = f" of package {self.package}" if self.package else ""
        return (
            f"plugin {self.value} (entry point {self.name!r}{of}) cannot be imported, so its "
            f"architectures are left out: {self.error}; fix or uninstall it (--no-plugins or "
            f"{NO_PLUGINS_ENV}=1 skips plugins)"
        )


_BROKEN: dict[str, BrokenPlugin] = {}


def plugins_off(no_plugins: bool = False) -> bool:
    """Whether entry-point and ``pyproject.toml`` plugins are skipped: ``no_plugins``
    (``--no-plugins``) or ``$ARCHBENCH_NO_PLUGINS`` set to anything but empty or 0."""
    return no_plugins or os.environ.get(NO_PLUGINS_ENV, "").strip() not in ("", "0")


def broken_plugins() -> list[BrokenPlugin]:
    """The installed plugins that could not be imported in this process."""
    return list(_BROKEN.values())


def broken_note() -> str:
    """For an unknown architecture: the plugins that failed to import and might provide it
    ("" when none did)."""
    if not _BROKEN:
        return ""
    return "; it may come from a plugin that cannot be imported: " + "; ".join(
        b.text for b in _BROKEN.values()
    )


def _package(entry: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    if dist is None:
        return ""
    with contextlib.suppress(Exception):
        return f"{dist.metadata['Name']} {dist.version}"
    return ""


def _load_entry_point(entry: importlib.metadata.EntryPoint) -> None:
    """Import one installed plugin; a failure of any kind (an import error, an exit, a name
    that clashes) leaves it out as a :class:`BrokenPlugin`."""
    key = f"entry-point:{entry.value}"
    if key in _LOADED or key in _BROKEN:
        return
    try:
        with exits_as_errors():
            entry.load()
    except registry.DuplicateArchitectureError as exc:
        error = " ".join(str(exc).split())
    except Exception as exc:
        error = _failed(entry.value, exc).args[0].removeprefix(f"cannot import {entry.value}: ")
        error = error.removesuffix("; fix the error there")
    else:
        _LOADED.add(key)
        return
    _BROKEN[key] = BrokenPlugin(entry.name, entry.value, _package(entry), error)


def load_plugins(
    imports: Iterable[str] = (), directory: Path | None = None, *, no_plugins: bool = False
) -> list[BrokenPlugin]:
    """Import the plugins: entry points of ``archbench.plugins`` and the working directory's
    ``[tool.archbench] import`` (both skipped when :func:`plugins_off`), and ``imports``
    (``--import``), each once per process. An entry point that cannot be imported is left out
    and returned (with any left out before in this process: :func:`broken_plugins`); an
    ``--import`` or ``pyproject.toml`` module that cannot is a UsageError."""
    if plugins_off(no_plugins):
        targets = list(imports)
    else:
        for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            _load_entry_point(entry)
        targets = [*pyproject_imports(directory), *imports]
    for target in targets:
        if target in _LOADED:
            continue
        try:
            import_any(target)
        except registry.DuplicateArchitectureError as exc:
            raise UsageError(f"--import {target}: {exc}") from None
        _LOADED.add(target)
    return broken_plugins()
