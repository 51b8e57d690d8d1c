"""The report's figures as a person would publish them: a fixed size whatever the number of
models, no two texts overlapping and every text inside the figure (checked with matplotlib's
own extents of the texts it draws), no empty panels, class names where the dataset has them,
each dataset's images in its own channels. No pixel comparisons."""

from __future__ import annotations

import itertools
import re
from unittest import mock

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from bench.config import UsageError
from bench.report import figures, study_figures
from bench.report.rotations import ROTATIONS, angles
from bench.report.study import Grid
from bench.train.modelinfo import model_facts, readable_summary
from tests.report.rendering import figures_not_drawn
from tests.usercode_helpers import clean_registries  # noqa: F401  (fixture)

NAMES = [f"model-{i} (lr={10 ** -(i % 4)}, width={16 * (i + 1)})" for i in range(13)]


def drawn_texts(fig: Figure) -> list[tuple[str, object]]:
    """(text, extent in pixels) of every non-empty text matplotlib draws on ``fig``."""
    renderer = fig.canvas.get_renderer()
    seen: dict[int, Text] = {}
    draw = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            seen[id(self)] = self
        return draw(self, renderer)

    with mock.patch.object(Text, "draw", record):
        fig.draw(renderer)
    return [(t.get_text(), Text.get_window_extent(t, renderer)) for t in seen.values()]


def assert_readable(fig: Figure) -> list[str]:
    """No two drawn texts overlap and each lies inside the figure; returns the texts."""
    found = drawn_texts(fig)
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in found:
        assert box.x0 >= -1 and box.y0 >= -1, text
        assert box.x1 <= width + 1 and box.y1 <= height + 1, text
    for (a, box_a), (b, box_b) in itertools.combinations(found, 2):
        assert not box_a.shrunk(0.98, 0.98).overlaps(box_b.shrunk(0.98, 0.98)), (a, b)
    return [text for text, _ in found]


def history(models: list[str], validation: bool = True, epochs: int = 3) -> pd.DataFrame:
    rows = []
    for i, model in enumerate(models):
        for seed in (0, 1):
            for epoch in range(1, epochs + 1):
                acc = 0.5 + 0.1 * epoch + 0.01 * i + 0.005 * seed
                rows.append(
                    {
                        "model": model,
                        "seed": seed,
                        "epoch": epoch,
                        "train_loss": 1.5 / epoch + 0.01 * i,
                        "val_loss": 1.6 / epoch if validation else np.nan,
                        "train_acc": acc,
                        "val_acc": acc - 0.02 if validation else np.nan,
                    }
                )
    return pd.DataFrame(rows)


PAD = 2 * 0.1 * figures.DPI + 2  # the margin a saved figure gets around its content


def pixels(fig: Figure) -> tuple[float, float]:
    return fig.get_size_inches()[0] * fig.dpi, fig.get_size_inches()[1] * fig.dpi


@pytest.mark.slow
def test_learning_curves_keep_their_width_with_thirteen_models_legend_below(tmp_path):
    few = figures.learning_curves_figure(history(NAMES[:2]))
    many = figures.learning_curves_figure(history(NAMES))
    assert pixels(few)[0] == pixels(many)[0] == figures.WIDTH_IN * figures.DPI
    assert pixels(many)[1] > pixels(few)[1]  # the legend below grows, not the width
    for fig in (few, many):
        texts = assert_readable(fig)
        assert sum("model-" in t for t in texts) == len(fig.legends[0].texts)
    assert len(many.legends[0].texts) == 13
    axes_bottom = min(ax.get_window_extent().y0 for ax in many.axes)
    assert many.legends[0].get_window_extent().y1 <= axes_bottom  # below every panel
    path = figures.learning_curves(history(NAMES), tmp_path / "curves.png")
    height, width, _ = matplotlib.image.imread(path).shape
    assert width <= figures.WIDTH_IN * figures.DPI + PAD and height < 2000


def test_no_validation_set_draws_no_validation_panel_and_percent_axes_hold_percentages():
    fig = figures.learning_curves_figure(history(NAMES[:3], validation=False))
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 2 and not any("validation" in t for t in titles), titles
    for ax in fig.axes:
        assert ax.lines  # no empty panel
        if "%" in ax.get_ylabel():
            values = np.concatenate([line.get_ydata() for line in ax.lines])
            assert values.min() > 1 and values.max() <= 100  # percentages, not fractions
    with_val = figures.learning_curves_figure(history(NAMES[:3]))
    assert len(with_val.axes) == 4
    assert_readable(fig)


def recap(models: list[str], params: list[float], accs: list[float], times=None):
    return pd.DataFrame(
        {
            "model": models,
            "params": params,
            "time_train_s_mean": times if times is not None else [3.0] * len(models),
            "test_acc_mean": accs,
            "test_acc_std": [0.004] * len(models),
        }
    )


def test_accuracy_vs_params_labels_never_overlap_nor_leave_the_axes():
    # thirteen models, several of one size and nearly one accuracy: the crowded case
    params = [101_770, 101_770, 101_770, 25_450, 25_450, 50_890, 7_850, 7_850, 407_050]
    params += [1_600_000, 1_600_000, 203_530, 203_530]
    accs = [0.9801, 0.9803, 0.9799, 0.962, 0.9622, 0.97, 0.92, 0.921, 0.985]
    accs += [0.99, 0.9898, 0.975, 0.9752]
    fig = figures.tradeoff_figure(recap(NAMES, params, accs), "params", "parameters")
    texts = assert_readable(fig)
    ax = fig.axes[0]
    frame = ax.get_window_extent()
    labels = [t for t in ax.texts]
    assert len(labels) == 13  # every point labelled: by name, or by number with a key
    for label in labels:
        box = Text.get_window_extent(label, fig.canvas.get_renderer())
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
        assert box.y1 <= frame.y1
    if labels[0].get_text().isdigit():  # numbered: the key names every model
        assert all(any(name in t for t in texts) for name in NAMES)
    assert pixels(fig)[0] == 8 * figures.DPI

    few = figures.tradeoff_figure(
        recap(NAMES[:3], [7_850, 101_770, 1e6], [0.92, 0.98, 0.99]), "params", "parameters"
    )
    assert_readable(few)
    assert sorted(t.get_text() for t in few.axes[0].texts) == sorted(NAMES[:3])  # by name
    assert pixels(few)[0] == 8 * figures.DPI


@pytest.mark.parametrize(
    "times", [[2.8, 3.1, 3.5, 4.0, 4.4], [0.9, 2.5, 7.0, 30.0, 95.0], [0.05, 3.0, 400.0]]
)
def test_log_axes_have_plain_tick_labels_that_do_not_collide(times):
    n = len(times)
    frame = recap(NAMES[:n], [1e4] * n, [0.9 + 0.01 * i for i in range(n)], times)
    fig = figures.tradeoff_figure(frame, "time_train_s_mean", "training time (s)")
    assert_readable(fig)
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    shown = [t for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    labels = [t.get_text() for t in shown if t.get_text()]
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    assert not any("10^" in t or "$" in t or "times" in t for t in labels), labels
    assert all(t.get_text() == "" for t in ax.get_xticklabels(minor=True))


def test_a_dollar_in_a_name_is_shown_as_it_is():
    frame = recap(["cost $5", "a $x$ b"], [1e3, 1e4], [0.9, 0.95])
    fig = figures.tradeoff_figure(frame, "params", "parameters")
    drawn = assert_readable(fig)  # no mathtext error, and the names are drawn
    assert {"cost \\$5", "a \\$x\\$ b"} <= set(drawn)


def test_the_confusion_matrix_names_the_classes():
    classes = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt"]
    classes += ["Sneaker", "Bag", "Ankle boot but a very long name"]
    matrix = np.diag([10] * 10) + 1
    fig = figures.confusion_figure(matrix, classes, "model: 1 seed")
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[:9] == classes[:9] and ticks[9].startswith("Ankle boot") and "…" in ticks[9]


def grid_images(shape, dtype=np.uint8, top=255, n=12):
    rng = np.random.default_rng(0)
    return (rng.random((n, *shape)) * top).astype(dtype)


@pytest.mark.parametrize(
    ("shape", "top", "classes", "drawn"),
    [
        ((3, 32, 32), 255, ("airplane", "automobile", "bird"), (32, 32, 3)),  # RGB
        ((1, 28, 28), 255, ("T-shirt", "Ankle boot", "Bag"), (28, 28)),  # grayscale
        ((1, 8, 8), 16, tuple("012"), (8, 8)),  # the 8x8 digits, pixels 0..16
    ],
)
@pytest.mark.slow
def test_prediction_grids_draw_each_dataset_in_its_own_channels_with_class_names(
    shape, top, classes, drawn, tmp_path
):
    images = grid_images(shape, top=top)
    true = [i % 3 for i in range(12)]
    predicted = [(i * 2) % 3 for i in range(12)]
    captions = [f"test #{i}" for i in range(12)]
    fig = figures.prediction_grid_figure(
        images, true, predicted, captions, "m, seed 0", classes=classes, pixel_max=top
    )
    images_drawn = [image for ax in fig.axes for image in ax.images]
    shown = [image.get_array() for image in images_drawn]
    assert len(shown) == 12 and all(a.shape == drawn for a in shown)
    assert all(a.min() >= 0 and a.max() <= 1 for a in shown)
    texts = assert_readable(fig)  # draws it
    panels = [image.get_window_extent() for image in images_drawn]  # pixels
    assert all(abs(box.width - box.height) <= 1 and box.width > 100 for box in panels)
    for a, b in itertools.combinations(panels, 2):  # each image in a square panel of its own
        assert not a.shrunk(0.98, 0.98).overlaps(b.shrunk(0.98, 0.98))
    heads = [t for t in texts if t.startswith("pred")]
    assert len(heads) == 12
    for head, t, p in zip(heads, true, predicted, strict=True):
        assert classes[p][:12] in head and classes[t][:12] in head
    assert pixels(fig)[0] == 8 * 1.35 * figures.DPI
    figures.prediction_grid(
        images, true, predicted, captions, "m", tmp_path / "g.png", classes, pixel_max=top
    )
    assert matplotlib.image.imread(tmp_path / "g.png").shape[1] <= 8 * 1.35 * figures.DPI + PAD


def test_torchinfo_units_read_as_words_in_new_and_stored_summaries():
    stored = "Total params: 7,850\nTotal mult-adds (Units.MEGABYTES): 0.03\n"
    assert readable_summary(stored) == "Total params: 7,850\nTotal mult-adds (millions): 0.03\n"
    assert readable_summary("Total mult-adds (G): 1.20") == "Total mult-adds (billions): 1.20"
    summary = model_facts("mlp32").summary
    assert "Units." not in summary and "Total mult-adds (millions)" in summary


def test_rotated_test_only_where_the_dataset_protocol_asks_for_it():
    everything = (0.0, *ROTATIONS)
    assert angles("mnist") == angles("digits") == everything  # MNIST-like digits
    assert angles("fashion-mnist") == angles("my-photos") == (0.0,)  # not asked
    assert angles("my-photos", "on") == everything and angles("mnist", "off") == (0.0,)
    with pytest.raises(UsageError, match="--rotated-test"):
        angles("mnist", "sometimes")


LAZY = """
from torch import nn


class LazyNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, num_classes)
        )

    def forward(self, x):
        return self.net(x)
"""


def write_rgb_folder(root, size=(10, 10), classes=("red", "green", "blue"), per_class=9):
    """``train/CLASS/*.png`` and ``test/CLASS/*.png``: RGB images, one colour per class."""
    from PIL import Image

    rng = np.random.default_rng(1)
    for part, count in (("train", per_class), ("test", per_class // 3)):
        for index, name in enumerate(classes):
            for i in range(count):
                pixels = rng.integers(0, 80, size=(size[1], size[0], 3), dtype=np.uint8)
                pixels[..., index] += 170
                folder = root / part / name
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels, "RGB").save(folder / f"{i}.png")
    return root


def robustness_sections(text: str) -> list[str]:
    """The report's robustness sections (one per dataset that has one)."""
    blocks = re.split(r"\n#+ ", text)
    return [block for block in blocks if block.startswith("Robustness")]


@pytest.mark.usefixtures("clean_registries")
@pytest.mark.slow
def test_a_store_of_rgb_grayscale_and_8x8_data_reports_without_a_crash(tmp_path, capsys):
    from bench.cli import main
    from tests.usercode_helpers import write, write_npz

    rgb = write_rgb_folder(tmp_path / "colours")
    gray = write_npz(tmp_path / "gray4.npz", classes=4)
    model = write(tmp_path / "models.py", LAZY)
    results = tmp_path / "R"
    common = ["--epochs", "1", "--threads", "1", "--quiet", "--results", str(results)]
    runs = [
        ["--arch", f"{model}:LazyNet", "--dataset", str(rgb)],
        ["--arch", "mlp32", "--dataset", str(gray)],
        ["--arch", "digits_slp", "--dataset", "digits", "--limit-train", "300"],
    ]
    for args in runs:
        assert main(["run", *args, "--seeds", "0", *common]) == 0
    assert main(["report", "--results", str(results), "--quiet"]) == 0
    text = (results / "report.md").read_text()
    grids = sorted((results / "report_figures").glob("*predictions_*.png"))
    assert len(grids) == 3  # one per dataset: RGB, grayscale and 8x8
    for path in grids:
        assert matplotlib.image.imread(path).shape[1] <= 8 * 1.35 * figures.DPI + PAD
    assert "Units." not in text and "Total mult-adds (millions)" in text
    (robustness,) = robustness_sections(text)  # only the digits' protocol asks for it
    assert "digits_slp" in robustness and "LazyNet" not in robustness

    # the same figures again: these two reports are read for their robustness sections only
    with figures_not_drawn():
        on = ["report", "--results", str(results), "--quiet", "--rotated-test", "on"]
        assert main(on) == 0
        sections = robustness_sections((results / "report.md").read_text())
        assert len(sections) == 3 and "LazyNet" in "".join(sections)
        off = ["report", "--results", str(results), "--quiet", "--rotated-test", "off"]
        assert main(off) == 0
        assert not robustness_sections((results / "report.md").read_text())
    with pytest.raises(SystemExit) as bad:
        main(["report", "--results", str(results), "--rotated-test", "x"])
    assert bad.value.code == 2 and "--rotated-test" in capsys.readouterr().err


def study_grid(axes: dict) -> Grid:
    """A grid of every combination of ``axes``, three seeds a cell, nothing trained."""
    rows = []
    for combo in itertools.product(*axes.values()):
        setting = dict(zip(axes, combo, strict=True))
        model = ", ".join(f"{a}={v}" for a, v in setting.items())
        acc = 0.9 + 0.002 * len(rows)
        per_seed = {seed: acc + 0.001 * seed for seed in range(3)}
        rows.append(
            {
                "variant": model,
                "model": model,
                **setting,
                "n": 3,
                "failed": 0,
                "failed_status": "",
                "val": per_seed,
                "test": per_seed,
                "val_mean": acc,
                "test_mean": acc,
                "test_std": 0.001,
            }
        )
    return Grid(axes, pd.DataFrame(rows))


AXES = {"lr": [0.001, 0.01, 0.1], "batch_size": [32, 64, 128], "arch": ["mlp32", "cnn"]}


@pytest.mark.slow
def test_study_figures_wrap_their_panels_and_keep_a_readable_width(tmp_path):
    grid = study_grid({**AXES, "label_smoothing": [0.0, 0.1]})  # 4 heatmap panels, 4 axes
    for draw, name in ((study_figures.heatmap, "h.png"), (study_figures.sensitivity, "s.png")):
        path = draw(grid, path=tmp_path / name, **({"best": None} if name == "h.png" else {}))
        width = matplotlib.image.imread(path).shape[1]
        assert width <= figures.WIDTH_IN * figures.DPI + PAD, (name, width)
    fig = study_figures.sensitivity_figure(grid)
    assert pixels(fig)[0] == figures.WIDTH_IN * figures.DPI and len(fig.axes) == 4
    assert_readable(fig)


def test_study_learning_curves_without_validation_draw_the_training_curves(tmp_path):
    grid = study_grid(AXES)
    curves = history(list(grid.cells.model), validation=False)
    fig = study_figures.learning_curves_figure(curves, grid)
    titles = [ax.get_title() for ax in fig.axes]
    assert all("training" in t for t in titles) and all(ax.lines for ax in fig.axes)
    assert pixels(fig)[0] == figures.WIDTH_IN * figures.DPI
    assert_readable(fig)
    validated = study_figures.learning_curves_figure(history(list(grid.cells.model)), grid)
    assert all(ax.get_title().startswith("validation") for ax in validated.axes)


@pytest.mark.slow
def test_long_model_labels_wrap_in_the_legend_instead_of_widening_the_figure():
    long = [
        f"MyCNN{i} (code of models.py 406c359d, dataset=blobs.npz, data blobs.npz 03ec08f3, "
        f"epochs=2, limit_test=default, limit_train=default, val_size=default, "
        f"augment=affine+elastic, label_smoothing=0.1, schedule=cosine, lr={i})"
        for i in range(5)
    ]
    fig = figures.learning_curves_figure(history(long))
    assert pixels(fig)[0] == figures.WIDTH_IN * figures.DPI
    texts = assert_readable(fig)
    assert sum("MyCNN" in t for t in texts) == 5 and any("\n" in t for t in texts)
    frame = recap(long, [1e3, 2e3, 4e3, 8e3, 16e3], [0.9, 0.91, 0.92, 0.93, 0.94])
    fig = figures.tradeoff_figure(frame, "params", "parameters")
    assert pixels(fig)[0] == 8 * figures.DPI
    assert_readable(fig)
