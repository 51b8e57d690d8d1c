"""The report's seed sections: verdicts, one more run, references, noise by source, and
bench compare's noise threshold (synthetic data, one epoch)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bench import stats
from bench.cli import main
from bench.report import compare, seeds
from bench.report.numbers import pairwise
from bench.store import ResultsStore
from tests.helpers import bench_cli, quick_config

QUICK = ["--dataset", "synthetic", "--epochs", "1", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """mlp32 with every stream varied and with only its init varied (seeds 0-4), and slp."""
    directory = tmp_path_factory.mktemp("seeds") / "results"
    for extra in (["--vary", "all"], ["--vary", "init"]):
        proc = bench_cli(
            "run", "--arch", "mlp32", "--seeds", "0-4", *extra, *QUICK, "--results", str(directory)
        )
        assert proc.returncode == 0, proc.stderr
    proc = bench_cli("run", "--arch", "slp", "--seeds", "0-4", *QUICK, "--results", str(directory))
    assert proc.returncode == 0, proc.stderr
    return directory


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def rows_of(block: str) -> list[list[str]]:
    lines = [line for line in block.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]


def test_references_inside_and_outside_the_prediction_interval(store, tmp_path):
    runs = ResultsStore(store).runs()
    plain = runs[(runs.arch == "slp")]
    low, high = stats.prediction_interval(plain.test_acc.tolist())
    inside, outside = (low + high) / 2, min(high + 0.05, 1.0)
    refs = tmp_path / "refs.csv"
    refs.write_text(
        "model,metric,value,source\n"
        f"slp,test_acc,{inside * 100:.4f},Paper A\n"
        f"slp,test_acc,{outside:.4f},Paper B\n"
        "lenet5,test_acc,99.05,LeCun 1998\n"
    )
    out = tmp_path / "report.md"
    code = main(
        ["report", "--results", str(store), "--out", str(out), "--quiet", "--reference", str(refs)]
    )
    assert code == 0
    block = section(out.read_text(), "Reference numbers")
    header, *body = rows_of(block)
    by_source = {row[header.index("Source")]: row for row in body}
    assert by_source["Paper A"][header.index("Inside?")] == "inside"
    assert by_source["Paper B"][header.index("Inside?")] == "**outside**"
    assert by_source["LeCun 1998"][header.index("Inside?")] == "not run here"
    expected = f"[{max(low, 0) * 100:.2f}, {min(high, 1) * 100:.2f}] %"
    assert by_source["Paper A"][header.index("Our 95 % prediction interval")] == expected
    assert by_source["Paper A"][header.index("Value")] == f"{inside * 100:.2f} %"
    # the one outside is listed with our setup, so a reader sees what differs
    listed = [line for line in block.splitlines() if line.startswith("- `slp`")]
    assert len(listed) == 1 and "Paper B" in listed[0] and "dataset=synthetic" in listed[0]
    assert "epochs=1" in listed[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("model,value,source\nslp,0.9,x\n", "missing column(s) metric"),
        ("model,metric,value,source\nslp,test_acc,high,x\n", "is not an accuracy"),
        ("model,metric,value,source\nslp,val_loss,0.1,x\n", "unknown metric 'val_loss'"),
    ],
)
def test_a_bad_references_file_is_one_line_exit_2_and_writes_nothing(
    store, tmp_path, text, problem
):
    refs = tmp_path / "refs.csv"
    refs.write_text(text)
    out = tmp_path / "report.md"
    proc = bench_cli("report", "--results", str(store), "--out", str(out), "--reference", str(refs))
    assert proc.returncode == 2
    assert problem in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_one_more_run_and_noise_sections(store, tmp_path):
    out = tmp_path / "report.md"
    assert main(["report", "--results", str(store), "--out", str(out), "--quiet"]) == 0
    text = out.read_text()
    header, *body = rows_of(section(text, "One more run"))
    runs = ResultsStore(store).runs()
    slp = runs[runs.arch == "slp"].test_acc.tolist()
    row = next(r for r in body if r[0] == "slp")
    low, high = stats.prediction_interval(slp)
    assert row[header.index("One more run: 95 % prediction interval")] == (
        f"[{max(low, 0) * 100:.2f}, {min(high, 1) * 100:.2f}] %"
    )
    blow, bhigh = stats.bootstrap_interval(slp)
    assert row[header.index("95 % CI, bootstrap")] == f"[{blow * 100:.2f}, {bhigh * 100:.2f}] %"
    header, *body = rows_of(section(text, "Noise: where it comes from"))
    sources = {r[header.index("Varied with the seed")]: r for r in body}
    assert set(sources) == {"init", "everything (init, order, dropout, augmentation)"}
    mlp = runs[runs.arch == "mlp32"]
    init = mlp[mlp.config_json.str.contains('"vary": "init"')].test_acc
    everything = mlp[~mlp.config_json.str.contains('"vary"')].test_acc
    assert sources["init"][header.index("Std of test accuracy (pp)")] == f"{init.std() * 100:.3f}"
    share = init.var() / everything.var() * 100
    assert sources["init"][header.index("Share of the variance")] == f"{share:.2f} %"


def fake_runs(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for arch, accs in values.items():
        for seed, acc in enumerate(accs):
            config = quick_config(arch, seed=seed)
            rows.append(
                {
                    "run_id": config.run_id,
                    "status": "ok",
                    "config_json": config.to_json(),
                    "seed": seed,
                    "test_acc": acc,
                    "arch": arch,
                }
            )
    return pd.DataFrame(rows)


def test_pairwise_verdicts_for_fixed_seeds():
    base = [0.95, 0.952, 0.948, 0.951, 0.949, 0.953]
    frame = pairwise(
        fake_runs(
            {
                "mlp32": base,
                "slp": list(base),  # the same per-seed numbers: equivalent
                "tinycnn": [v - 0.05 for v in base],  # 5 pp worse on every seed
            }
        )
    )
    verdicts = {(r.a, r.b): r.verdict for r in frame.itertuples()}
    assert verdicts[("mlp32", "slp")] == "equivalent within ±0.1 pp"
    assert verdicts[("mlp32", "tinycnn")] == "mlp32 better"
    row = frame[(frame.a == "mlp32") & (frame.b == "tinycnn")].iloc[0]
    assert (row.p_superior, row.p_superior_low, row.p_superior_high) == (1.0, 1.0, 1.0)
    assert not math.isnan(row.wilcoxon_p)  # n = 6
    noisy = pairwise(fake_runs({"mlp32": base[:3], "slp": [0.951, 0.946, 0.953]}))
    assert noisy.verdict.iloc[0] == "unresolved after 3 seeds"
    assert math.isnan(noisy.wilcoxon_p.iloc[0])  # n < 6


def test_compare_uses_the_known_noise_for_its_accuracy_threshold(store):
    runs = ResultsStore(store).runs()
    plain = runs[(runs.arch == "mlp32") & ~runs.config_json.str.contains('"vary"')]
    noise = seeds.noise_std(runs)
    (key,) = noise
    assert noise[key] == pytest.approx(plain.test_acc.std())
    a, b = plain[plain.seed == 0], plain[plain.seed == 1]
    gap = abs(b.test_acc.iloc[0] - a.test_acc.iloc[0])
    assert gap > 0
    # one run per side: no CI, so without known noise no flag ...
    assert compare.compare(a, b, noise={}).flag.iloc[0] == ""
    # ... and with it, flagged exactly when the gap exceeds 2 sqrt(2) std
    tight = compare.compare(a, b, noise={key: gap / 3}).flag.iloc[0]
    assert tight == ("accuracy up" if b.test_acc.iloc[0] > a.test_acc.iloc[0] else "accuracy down")
    assert compare.compare(a, b, noise={key: gap / 2.8}).flag.iloc[0] == ""
