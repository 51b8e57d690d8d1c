"""The argparse types of the ``bench`` command line: each turns one argument into a value or
refuses it with argparse's one-line usage error (exit 2)."""

from __future__ import annotations

import argparse
import math


def batch_size_arg(text: str) -> int | str:
    """N, or ``full`` (kept as the text: full-batch gradient descent, see ``FULL_BATCH``)."""
    if text == "full":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid batch size {text!r}: use N or 'full'") from None


def finite_float(text: str) -> float:
    """An argparse type: a finite number (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def targets_arg(text: str) -> list[float]:
    """``0.98,0.99`` or ``98,99`` (percent)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid targets {text!r}: use e.g. 98,99") from None
    values = [v / 100 if v > 1 else v for v in values]
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"invalid targets {text!r}: accuracies in (0, 100]")
    return values
