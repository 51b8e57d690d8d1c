"""One store, many questions: a store holding runs on three datasets (the built-in synthetic
images and 8x8 digits, and a user's .npz) reports each dataset under its own heading with its
own recap, pairwise tests and Pareto fronts, pooling nothing across them; the filters of
``bench report``, ``bench results``, ``bench compare`` and the API (``--dataset``, ``--arch``,
``--where``, ``--since``) pick runs or refuse in one line; and a table leaves out the columns
that cannot have a value at its n, saying why."""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd
import pytest

from bench import api
from bench.cli import main
from bench.config import UsageError
from bench.report.numbers import pairwise
from bench.report.sections.one_more_run import one_more_run_table
from bench.report.sections.pairwise import pairwise_markdown
from bench.store import RunFilter, load
from tests.report.rendering import figures_not_drawn
from tests.usercode_helpers import registries_restored, write_npz

QUICK = ["--epochs", "1", "--threads", "1", "--quiet", "--limit-train", "300"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Runs on synthetic (mlp32, tinycnn; seeds 0-1; mlp32 also at lr 0.01), on digits (digits_slp,
    digits_mlp; seeds 0-1) and on a user's blobs.npz (mlp32, seed 0), and the store's report
    (its figures named, linked and written as placeholders: tests/report/rendering.py)."""
    root = tmp_path_factory.mktemp("questions")
    results = root / "results"
    blobs = write_npz(root / "blobs.npz")
    common = ["--results", str(results), *QUICK]
    with registries_restored(), figures_not_drawn():
        runs = [
            ["--arch", "mlp32", "tinycnn", "--dataset", "synthetic", "--seeds", "0-1"],
            ["--arch", "mlp32", "--dataset", "synthetic", "--seeds", "0-1", "--lr", "0.01"],
            ["--arch", "digits_slp", "digits_mlp", "--dataset", "digits", "--seeds", "0-1"],
            ["--arch", "mlp32", "--dataset", str(blobs), "--seeds", "0"],
        ]
        for options in runs:
            assert main(["run", *options, *common]) == 0
        assert main(["report", "--results", str(results), "--quiet"]) == 0
    return results


def part(text: str, heading: str) -> str:
    """The text under a ``## heading`` up to the next ``## `` heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def rows(block: str, heading: str) -> list[dict[str, str]]:
    """The rows of the first table after ``heading`` in ``block``."""
    after = block[block.index(heading) :]
    lines = after[after.index("\n|") + 1 :].split("\n\n")[0].splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return [dict(zip(cells[0], row, strict=True)) for row in cells[2:]]


@pytest.mark.slow
def test_each_dataset_has_its_own_section_and_nothing_is_pooled(store):
    text = (store / "report.md").read_text()
    headings = re.findall(r"(?m)^## (.*)$", text)
    datasets = [h for h in headings if h.startswith("Dataset: ")]
    assert datasets == ["Dataset: synthetic", "Dataset: digits", "Dataset: blobs.npz"]
    assert "on 3 datasets (`synthetic`, `digits`, `blobs.npz`)" in text.splitlines()[2]
    digits, blobs = (part(text, h) for h in datasets[1:])
    recap = {h: [r["Model"] for r in rows(part(text, h), "### Recap")] for h in datasets}
    # labels are made among one dataset's models: lr sets mlp32's two variants apart on
    # synthetic, and no label names the dataset
    archs = sorted(model.split(" (")[0] for model in recap["Dataset: synthetic"])
    assert archs == ["mlp32", "mlp32", "tinycnn"]
    assert sum("lr=0.01" in model for model in recap["Dataset: synthetic"]) == 1
    assert recap["Dataset: digits"] == ["digits_slp", "digits_mlp"]
    assert [model.split("{")[0] for model in recap["Dataset: blobs.npz"]] == ["mlp32"]
    assert not any("dataset" in model for models in recap.values() for model in models)
    # each front and each pairwise table holds its own dataset's models only
    for block, names in ((digits, {"digits_slp", "digits_mlp"}), (blobs, {"mlp32"})):
        front = re.search(r"Pareto front of accuracy vs parameters: (.*?);", block, re.S)[1]
        assert {model.split("{")[0] for model in re.findall(r"`([^`]+)`", front)} <= names
    pairs = rows(digits, "### Pairwise comparison")
    assert {(p["A"], p["B"]) for p in pairs} <= {
        ("digits_slp", "digits_mlp"),
        ("digits_mlp", "digits_slp"),
    }
    assert len(pairs) == 1
    assert "Only one model: nothing to compare." in blobs
    # figures are drawn per dataset, named after it
    figures = set(re.findall(r"\]\(report_figures/([^)]+)\)", text))
    assert {"synthetic_learning_curves.png", "digits_learning_curves.png"} <= figures
    assert all((store / "report_figures" / name).is_file() for name in figures)
    # what is common to the whole store comes once, at the end
    assert headings[-2:] == ["Architectures (torchinfo)", "Environment"]


def test_a_single_dataset_reads_as_before_and_says_which(store, tmp_path):
    out = tmp_path / "digits.md"
    with registries_restored(), figures_not_drawn():
        code = main(
            ["report", "--results", str(store), "--out", str(out), "--quiet", "--dataset", "digits"]
        )
    assert code == 0
    text = out.read_text()
    assert "## Dataset:" not in text and "### " not in text.split("## Figures")[0]
    first = text.splitlines()[2]
    assert first.startswith("4 successful runs of 2 models on dataset `digits`")
    assert "those matching `--dataset digits`" in first
    assert re.findall(r"(?m)^## (Recap|Pairwise comparison)$", text) == [
        "Recap",
        "Pairwise comparison",
    ]


def test_the_html_report_has_the_same_parts(store, tmp_path):
    out = tmp_path / "report.html"
    with registries_restored(), figures_not_drawn():
        options = ["--format", "html", "--out", str(out), "--dataset", "synthetic,blobs.npz"]
        code = main(["report", "--results", str(store), "--quiet", *options])
    assert code == 0
    page = out.read_text()
    assert "<h2>Dataset: synthetic</h2>" in page and "<h2>Dataset: blobs.npz</h2>" in page
    assert "Dataset: digits" not in page
    assert "<h3>Recap</h3>" in page


# --- filters --------------------------------------------------------------------------------


def kept(store, **options) -> pd.DataFrame:
    runs = load(store).runs
    return RunFilter.parse(**options).runs(runs, store)


def test_dataset_filter_by_name_file_name_and_comma_list(store):
    assert set(kept(store, dataset="digits").dataset) == {"digits"}
    blobs = kept(store, dataset=["blobs.npz"])
    assert len(blobs) == 1 and blobs.dataset.iloc[0].endswith("blobs.npz")
    assert set(kept(store, dataset="digits,synthetic").dataset) == {"digits", "synthetic"}


def test_arch_filter_takes_shell_patterns(store):
    assert set(kept(store, arch="mlp*").arch) == {"mlp32"}
    assert set(kept(store, arch=["digits_*", "tiny*"]).arch) == {
        "digits_slp",
        "digits_mlp",
        "tinycnn",
    }
    assert set(kept(store, arch="./models.py:digits_slp").arch) == {"digits_slp"}


def test_where_compares_numbers_text_and_missing_values(store):
    assert set(kept(store, where="lr>0.005").lr) == {0.01}
    assert set(kept(store, where=["lr<0.005", "dataset==digits"]).arch) == {
        "digits_slp",
        "digits_mlp",
    }
    assert len(kept(store, where="seed==1")) == 5  # seed 0 only on blobs.npz
    assert set(kept(store, where="optimizer=adam").optimizer) == {"adam"}
    assert len(kept(store, where="epochs>=1")) == len(load(store).runs)
    assert len(kept(store, where="config.recipe.lr == 0.01")) == 2
    everything = len(load(store).runs)
    assert len(kept(store, where="limit_test==none")) == everything
    assert len(kept(store, where="limit_train==300")) == everything
    with pytest.raises(UsageError, match="no runs in"):
        kept(store, where="limit_train!=300")


def test_since_reads_iso_dates_and_times(store):
    assert len(kept(store, since="2000-01-01")) == len(load(store).runs)
    assert len(kept(store, since=dt.date(2000, 1, 1))) == len(load(store).runs)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with pytest.raises(UsageError, match=r"no runs in .* match --since"):
        kept(store, since=later.isoformat())
    with pytest.raises(UsageError, match="not an ISO date"):
        RunFilter.parse(since="yesterday")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--where", "lrr<0.01"], r"unknown column 'lrr' in --where .*did you mean lr.*valid: "),
        (["--where", "lr<<0.01"], r"--where 'lr<<0.01' is not COLUMN OP VALUE"),
        (["--where", "lr"], r"is not COLUMN OP VALUE"),
        (["--where", "lr>none"], r"none compares only with == or !="),
        (["--dataset", "cifar"], r"no runs in .* match --dataset cifar \(datasets there: "),
        (["--arch", "resnet*"], r"no runs in .* match --arch resnet\* .*architectures: "),
        (["--since", "soon"], r"--since 'soon' is not an ISO date"),
    ],
)
def test_bad_filters_are_one_line_and_exit_2(store, capsys, options, message):
    for command in (["results"], ["report", "--quiet"], ["compare", str(store), str(store)]):
        capsys.readouterr()
        before = (store / "report.md").stat().st_mtime_ns
        assert main([*command, "--results", str(store), *options]) == 2, command
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and re.search(message, err), (command, err)
        assert (store / "report.md").stat().st_mtime_ns == before  # nothing written


def test_results_and_compare_read_only_the_runs_kept(store, capsys):
    capsys.readouterr()
    options = ["--format", "csv", "--dataset", "digits", "--where", "seed==0"]
    assert main(["results", "--results", str(store), *options]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(frame.dataset) == {"digits"} and set(frame.seed) == {0} and len(frame) == 2
    code = main(["compare", str(store), str(store), "--arch", "digits_slp", "--format", "csv"])
    assert code == 0
    compared = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(compared.model) == ["digits_slp"]


def test_the_api_takes_the_same_filters(store):
    frame = api.results(store, dataset="digits", arch="*slp", where=["seed<1"], columns="all")
    assert list(frame.arch) == ["digits_slp"] and list(frame["config.dataset"]) == ["digits"]
    assert list(frame.seed) == [0]
    with pytest.raises(UsageError, match="no runs in"):
        api.results(store, dataset="nowhere")


# --- tables that fit their n --------------------------------------------------------------


def test_a_pairwise_table_at_one_seed_leaves_out_what_cannot_be_filled(store):
    runs = load(store).runs
    digits = runs[(runs.dataset == "digits") & (runs.seed == 0)]
    table = pairwise_markdown(pairwise(digits))
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    assert header == ["A", "B", "n (A, B)", "Accuracy A − B (pp)", "Verdict"]
    note = table.split("\n\n")[-1]
    assert note.startswith("Columns left out at this n")
    assert "95 % CI (pp)" in note and "Wilcoxon p (Holm)" in note
    assert "need ≥ 2 seeds of each model (here n = 1)" in note


def test_a_pairwise_table_at_two_seeds_keeps_its_intervals(store):
    runs = load(store).runs
    table = pairwise_markdown(pairwise(runs[runs.dataset == "digits"]))
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    assert "95 % CI (pp)" in header and "P(A > B) [95 % CI]" in header
    assert "Wilcoxon p (Holm)" not in header
    assert "Wilcoxon p (Holm): it needs ≥ 6 paired seeds" in table


def test_the_report_at_one_seed_says_what_it_left_out(store):
    text = (store / "report.md").read_text()
    blobs = part(text, "Dataset: blobs.npz")
    header = blobs[blobs.index("| Model") :].splitlines()[0]
    assert "95 % CI" not in header
    assert "95 % CI: the interval of a mean needs ≥ 2 seeds" in blobs


def test_an_interval_missing_for_another_reason_than_n_keeps_its_column():
    nan = float("nan")
    recap = pd.DataFrame(
        {
            "model": ["a", "b"],
            "n": [2, 2],
            "test_acc_mean": [0.5, 0.6],
            **{f"test_acc_{k}": [nan, nan] for k in ("ci_low", "ci_high", "pi_low", "pi_high")},
        }
    )
    table = one_more_run_table(recap)
    assert "One more run: 95 % prediction interval" in table.splitlines()[0]
    assert "left out" not in table
    one_seed = one_more_run_table(recap.assign(n=[1, 1]))
    assert "prediction interval" not in one_seed.splitlines()[0]
    assert "an interval needs ≥ 2 seeds of the model (every model here has n=1)" in one_seed
