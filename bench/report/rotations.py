"""The test sets a report evaluates a run on: the test set as it is (:data:`TEST`) and turned
by each angle of :data:`ROTATIONS` where the dataset's protocol asks for it (:func:`angles`;
``bench report --rotated-test``, :data:`ROTATED_TEST`, decides instead), and their names
(:func:`rotation_name`). No torch: the command line's parser reads the choices."""

from __future__ import annotations

from bench.config import UsageError
from bench.data import datasets

ROTATIONS = (15.0, -15.0)
TEST = "test"


ROTATED_TEST = ("auto", "on", "off")  # bench report --rotated-test


def rotation_name(degrees: float) -> str:
    return TEST if degrees == 0 else f"test_rot{degrees:+g}"


def angles(dataset: str, rotated_test: str = "auto") -> tuple[float, ...]:
    """The angles a run on ``dataset`` is evaluated at (0: the test set as it is): also
    :data:`ROTATIONS` where the dataset's protocol asks for the rotated test sets
    (``rotated_test="auto"``: the MNIST-like digits, see
    :attr:`bench.data.datasets.DatasetInfo.rotated_test`; a user's dataset does not), for
    every dataset with ``"on"``, for none with ``"off"``."""
    if rotated_test not in ROTATED_TEST:
        raise UsageError(
            f"--rotated-test {rotated_test!r} is not one of {', '.join(ROTATED_TEST)}; "
            "auto computes the rotated test accuracy where the dataset's protocol asks for it"
        )
    if rotated_test == "auto":
        info = datasets.DATASETS.get(dataset)
        wanted = info is not None and info.rotated_test
    else:
        wanted = rotated_test == "on"
    return (0.0, *ROTATIONS) if wanted else (0.0,)
