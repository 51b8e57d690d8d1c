"""Reports whose figures are not drawn: for the tests of a report's text (its tables, sections,
notes, figure links and names, file modes), not of its figures. Each figure the report would
draw is named and linked as always (:meth:`bench.report.sections.context.Context.save`), and
its file is written, but as a 1 x 1 PNG (:data:`PLACEHOLDER`) instead of the figure:
building and rendering a report's figures with matplotlib is most of its time (seconds). The
figures themselves are drawn by the tests about them (tests/report/test_figures.py, the
figures of tests/report/test_report.py, the embedded images of tests/report/test_html.py, the
markdown reports of tests/report/test_hostile.py) and by the session's shared stores
(tests/conftest.py), whose reports are written as a user writes them."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from bench.report.sections.context import Context


def _placeholder() -> bytes:
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, np.ones((1, 1, 3)), format="png")
    return buffer.getvalue()


PLACEHOLDER = _placeholder()  # a valid PNG: one white pixel


def write_placeholder(path: Path) -> Path:
    """What a figure's drawing function does (writes ``path``, returns it), without the
    figure: the file is :data:`PLACEHOLDER`."""
    Path(path).write_bytes(PLACEHOLDER)
    return path


@contextlib.contextmanager
def figures_not_drawn(but: tuple[str, ...] = ()):
    """Within it, a report writes :data:`PLACEHOLDER` for each of its figures (for module
    fixtures and for one report of a test), but draws those whose name (as its section names
    it, before a dataset's prefix) starts with one of ``but``."""
    save = Context.save

    def placeholder(self: Context, name: str, draw) -> str:
        return save(self, name, draw if name.startswith(but) else write_placeholder)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Context, "save", placeholder)
        yield


@pytest.fixture
def undrawn_figures():
    """This test's reports write :data:`PLACEHOLDER` for each of their figures."""
    with figures_not_drawn():
        yield
