"""Run configurations and training recipes: frozen, validated, hashed.

A :class:`Recipe` is a named training setup; :data:`RECIPES` holds the registered ones. A
:class:`RunConfig` is everything that decides a run's numbers: architecture (and its keyword
arguments), dataset and slicing, the full recipe, seed, device, dtype and execution options
(the CPU thread count included: on CPU, 1 and 2 intra-op threads round differently). Its
:attr:`RunConfig.run_id` is a stable hash of all of that, so the same config is the same run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import architectures
from architectures.registry import natural_key, unknown_name_message
from bench.config import usercode
from bench.config.errors import UsageError
from bench.config.seeding import VARY

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "cosine", "step", "onecycle")
AUGMENTS = ("none", "affine", "elastic", "affine+elastic")
NORMALIZATIONS = ("unit", "standard", "zscore")
DTYPES = ("float32", "float64", "bfloat16")
LOADERS = ("fast", "reference")
SOURCE_FIELDS = ("arch_source", "dataset_source")
LOCATION_KEYS = ("path", "import", "ref", "object")
MAX_NAME = 64  # characters of a variant's name (--name)


FULL_BATCH = "full"
"""The override value (``--batch-size full``) that asks for full-batch gradient descent: a
recipe's ``batch_size=None``, which as an override would mean "not overridden"."""


@dataclass(frozen=True)
class Recipe:
    """A training setup. ``batch_size=None`` means full-batch gradient descent."""

    name: str
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int | None = 64
    epochs: int = 5
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "none"
    label_smoothing: float = 0.0
    augment: str = "none"
    rotate_deg: float = 15.0  # affine: rotation drawn from [-rotate_deg, rotate_deg]
    translate: float = 0.1  # affine: shift drawn from [-translate, translate] x image size
    elastic_alpha: float = 34.0  # elastic: displacement scale in pixels (Simard et al. 2003)
    elastic_sigma: float = 4.0  # elastic: Gaussian smoothing of the displacement field
    normalize: str = "unit"
    eval_batch_size: int = 1000
    description: str = field(default="", compare=False)

    def numbers(self) -> dict[str, Any]:
        """Every field that affects results (the description does not)."""
        values = dataclasses.asdict(self)
        values.pop("description")
        return values

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A validated copy with the non-None ``overrides`` applied; ``batch_size="full"``
        (:data:`FULL_BATCH`) asks for full-batch gradient descent (``batch_size=None``)."""
        changes = {key: value for key, value in overrides.items() if value is not None}
        if changes.get("batch_size") == FULL_BATCH:
            changes["batch_size"] = None
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UsageError(f"recipe has no field {sorted(unknown)[0]!r}")
        recipe = dataclasses.replace(self, **changes)
        recipe.validate()
        return recipe

    def validate(self) -> None:
        """Raise UsageError (one line naming the field and the fix) on a value that cannot run."""
        for name, value in self.numbers().items():
            if isinstance(value, float) and not math.isfinite(value):
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be a finite number, got {value}")
        checks = [
            (
                self.optimizer in OPTIMIZERS,
                f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}",
            ),
            (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (
                self.batch_size is None or self.batch_size >= 1,
                f"--batch-size must be >= 1 (or 'full'), got {self.batch_size}",
            ),
            (0 <= self.momentum < 1, f"--momentum must be in [0, 1), got {self.momentum}"),
            (
                not self.nesterov or (self.optimizer == "sgd" and self.momentum > 0),
                "--nesterov needs --optimizer sgd with --momentum > 0",
            ),
            (self.weight_decay >= 0, f"--weight-decay must be >= 0, got {self.weight_decay}"),
            (
                self.schedule in SCHEDULES,
                f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}",
            ),
            (
                0 <= self.label_smoothing < 1,
                f"--label-smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (
                self.augment in AUGMENTS,
                f"unknown augment {self.augment!r}; valid: {', '.join(AUGMENTS)}",
            ),
            (
                self.normalize in NORMALIZATIONS,
                f"unknown normalization {self.normalize!r}; valid: {', '.join(NORMALIZATIONS)}",
            ),
            (self.eval_batch_size >= 1, "eval_batch_size must be >= 1"),
            (
                self.rotate_deg >= 0
                and self.translate >= 0
                and self.elastic_alpha >= 0
                and self.elastic_sigma > 0,
                "augmentation strengths must be >= 0",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)


RECIPES: dict[str, Recipe] = {}


def register_recipe(recipe: Recipe) -> Recipe:
    if recipe.name in RECIPES:
        raise ValueError(f"recipe {recipe.name!r} is already registered")
    recipe.validate()
    RECIPES[recipe.name] = recipe
    return recipe


register_recipe(
    Recipe(
        "adam-bs64-e5",
        description="Adam lr 1e-3, batch 64, 5 epochs, pixels in [0, 1] (the four-model recap)",
    )
)
register_recipe(
    Recipe(
        "adam-bs128-e10",
        batch_size=128,
        epochs=10,
        description="Adam lr 1e-3, batch 128, 10 epochs (the MLP-256 baseline)",
    )
)
register_recipe(
    Recipe(
        "adam-bs64-e5-norm",
        normalize="standard",
        description="Adam lr 1e-3, batch 64, 5 epochs, normalized with mean 0.1307 / std 0.3081",
    )
)
register_recipe(
    Recipe(
        "sgd-lr1e-3-bs64-e20",
        optimizer="sgd",
        epochs=20,
        normalize="standard",
        description="plain SGD lr 1e-3, batch 64, 20 epochs, normalized (the FC-network study)",
    )
)
register_recipe(
    Recipe(
        "fullbatch-gd-lr0.1-e1000",
        optimizer="sgd",
        lr=0.1,
        batch_size=None,
        epochs=1000,
        normalize="zscore",
        description="full-batch gradient descent, lr 0.1, 1000 epochs, z-score per feature "
        "(the 8x8 digits from-scratch study)",
    )
)


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise UsageError(unknown_name_message("recipe", name, RECIPES)) from None


def list_recipes() -> list[str]:
    return sorted(RECIPES, key=natural_key)


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's numbers. Frozen; :attr:`run_id` hashes all of it."""

    arch: str
    dataset: str
    recipe: Recipe
    seed: int
    device: str = "cpu"
    arch_kwargs: str = "{}"  # canonical JSON (sorted keys) of the architecture's arguments
    dtype: str = "float32"
    val_size: int | None = None  # None: the dataset's default (10,000 for MNIST)
    limit_train: int | None = None
    limit_test: int | None = None
    deterministic: bool = True
    threads: int | None = None  # torch intra-op CPU threads (None: leave torch's setting)
    loader: str = "fast"
    seed_parallel: bool = False
    channels_last: bool = False
    fused_optimizer: bool = False
    compile: bool = False
    # User code and data (canonical JSON: path, sha256, package version; "" for built-ins,
    # and then left out of the identity so that earlier run ids stay the same)
    arch_source: str = ""
    dataset_source: str = ""
    vary: str = "all"  # which random streams follow the seed (bench.config.seeding.VARY)
    name: str = ""  # the variant's name (--name): part of its identity when given

    def identity(self) -> dict[str, Any]:
        """The canonical dict that the config is stored as (:attr:`run_id` hashes it). Fields
        added later are left out at their default (no user source, ``vary="all"``, no
        name), so the configs of older stores keep their run ids."""
        values = dataclasses.asdict(self)
        values["recipe"] = {"name": self.recipe.name, **self.recipe.numbers()}
        for name in SOURCE_FIELDS:
            if not values[name]:
                del values[name]
        if values["vary"] == "all":
            del values["vary"]
        if not values["name"]:
            del values["name"]
        return values

    @property
    def run_id(self) -> str:
        """A hash of :meth:`identity`; of user code and data only the content counts (hash,
        package version, shape), not where the files lie; of user code identified by its
        class (``code_sha256``: the class and what it uses in its file), not the file's hash,
        so that an unrelated change to the file leaves the run the same."""
        values = self.identity()
        for name in SOURCE_FIELDS:
            if name in values:
                values[name] = source_content(json.loads(values[name]))
        text = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def kwargs(self) -> dict[str, Any]:
        return json.loads(self.arch_kwargs)

    @property
    def label(self) -> str:
        """A short human name: the variant's name (else arch and its arguments) and seed (plus
        device when not cpu); :func:`bench.config.naming.run_labels` adds what differs."""
        args = "" if self.arch_kwargs == "{}" else self.arch_kwargs
        device = "" if self.device == "cpu" else f" {self.device}"
        return f"{self.name or self.arch + args} seed={self.seed}{device}"

    def to_json(self) -> str:
        return json.dumps(self.identity(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        values = json.loads(text)
        recipe = values.pop("recipe")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(recipe=Recipe(**recipe), **{k: v for k, v in values.items() if k in known})

    def validate(self) -> None:
        usercode.ensure(self.arch, self.arch_source)
        architectures.get_info(self.arch)  # unknown names raise with close matches
        check_seed(self.seed)
        if self.name:
            check_name(self.name)
        if self.dtype not in DTYPES:
            raise UsageError(f"unknown dtype {self.dtype!r}; valid: {', '.join(DTYPES)}")
        if self.vary not in VARY:
            raise UsageError(f"unknown --vary {self.vary!r}; valid: {', '.join(VARY)}")
        if self.loader not in LOADERS:
            raise UsageError(f"unknown loader {self.loader!r}; valid: {', '.join(LOADERS)}")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be >= 1, got {self.threads}")
        for name in ("val_size", "limit_train", "limit_test"):
            value = getattr(self, name)
            if value is not None and value < (0 if name == "val_size" else 1):
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be {'>= 0' if name == 'val_size' else '>= 1'}")
        self.recipe.validate()


MAX_SEED = 2**63 - 1  # the store's INTEGER (signed 64-bit); every random stream is derived
# from the seed by a hash (bench.config.seeding.derive_seed), so each accepts any of 0..MAX_SEED
MAX_SEEDS = 100_000  # seeds in one sweep: a larger range is a typo, not a benchmark


def check_seed(seed: int) -> int:
    """``seed`` if the store and every random stream accept it (0 to :data:`MAX_SEED`), else
    UsageError (one line with the bound)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"invalid seed {seed!r}: seeds are integers from 0 to {MAX_SEED} (2^63-1)")
    return seed


def source_content(origin: dict[str, Any]) -> dict[str, Any]:
    """What of a source field's JSON (:attr:`RunConfig.arch_source`, ``dataset_source``) tells
    one version of user code or data from another: all of it but where it lies
    (:data:`LOCATION_KEYS`), and for code identified by its class (``code_sha256``) not the
    file's hash either (an unrelated change to the file is the same code)."""
    drop = (*LOCATION_KEYS, "sha256") if "code_sha256" in origin else LOCATION_KEYS
    return {k: v for k, v in origin.items() if k not in drop}


def check_name(name: str) -> str:
    """``name`` if it can name a variant (``--name``): 1 to :data:`MAX_NAME` printable
    characters, not starting or ending with a space; else UsageError (one line)."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"--name must be a non-empty text, got {name!r}")
    if len(name) > MAX_NAME:
        raise UsageError(f"--name is {len(name)} characters long; give at most {MAX_NAME}")
    if not name.isprintable() or name != name.strip():
        raise UsageError(
            f"--name {name!r} holds a control character or a leading or trailing space; give "
            "printable text"
        )
    return name


def parse_seeds(text: str) -> list[int]:
    """``"0"``, ``"0,1,2"``, ``"0-4"`` or a mix such as ``"0-2,7"``, in order, no repeats;
    each seed within 0..:data:`MAX_SEED`, at most :data:`MAX_SEEDS` of them."""
    seeds: dict[int, None] = {}
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UsageError(
                f"invalid seeds {text!r}: use a seed (0), a list (0,1,2) or a range (0-4)"
            )
        low = check_seed(int(match[1]))
        high = check_seed(int(match[2])) if match[2] else low
        if high < low:
            raise UsageError(f"invalid seed range {part!r}: the end is below the start")
        if len(seeds) + (high - low + 1) > MAX_SEEDS:
            raise UsageError(f"invalid seeds {text!r}: more than {MAX_SEEDS:,} seeds in one sweep")
        seeds.update(dict.fromkeys(range(low, high + 1)))
    return list(seeds)


def parse_arch_arg(text: str) -> tuple[str, Any]:
    """``key=value`` with a JSON value (``hidden=[64,32]``) or a bare word (a string).
    A value that starts like JSON but is not valid JSON (or holds NaN/Infinity, or a number
    beyond a float's range such as ``1e400``) is refused with the position of the problem."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise UsageError(f"invalid --arch-arg {text!r}: use KEY=VALUE, e.g. hidden=[64,32]")
    if not _looks_like_json(value):
        return key, value  # a bare word: a string
    try:
        return key, json.loads(value, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"invalid JSON in --arch-arg {text!r}: {exc.msg} at position {exc.pos} of the "
            f"value; use JSON such as hidden=[64,32] (a bare word such as act=relu is a string)"
        ) from None
    except ValueError as exc:
        raise UsageError(f"invalid --arch-arg {text!r}: {exc}") from None


def _looks_like_json(value: str) -> bool:
    """Whether ``value`` is meant as JSON (a number, list, object, quoted string, true,
    false or null) rather than a bare string such as ``relu``."""
    head = value.strip()[:1]
    return head in set('[{"-0123456789.') or value.strip() in ("true", "false", "null")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond the range of a float (not a finite number)")
    return value
