"""The report's seed sections: verdicts, one more run, references, noise by source, and
bench compare's noise threshold (synthetic data, one epoch)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench import stats
from bench.cli import main
from bench.report import compare, seeds
from bench.report.numbers import pairwise
from bench.store import ResultsStore
from tests.helpers import auto_store, bench_main, quick_config
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)


@pytest.fixture
def store(seeds_store):
    """mlp32 with every stream varied and with only its init varied (seeds 0-4), and slp: a
    copy of the session's ``seeds_results`` (tests/conftest.py)."""
    return seeds_store


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def rows_of(block: str) -> list[list[str]]:
    lines = [line for line in block.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]


@pytest.mark.usefixtures("undrawn_figures")  # the report's tables are read
@pytest.mark.slow
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
    listed = [line for line in block.splitlines() if line.startswith("- `slp (vary=all)`")]
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
    proc = bench_main(
        "report", "--results", str(store), "--out", str(out), "--reference", str(refs)
    )
    assert proc.returncode == 2
    assert problem in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.usefixtures("undrawn_figures")  # the report's tables are read
def test_one_more_run_and_noise_sections(store, tmp_path):
    out = tmp_path / "report.md"
    assert main(["report", "--results", str(store), "--out", str(out), "--quiet"]) == 0
    text = out.read_text()
    header, *body = rows_of(section(text, "One more run"))
    runs = ResultsStore(store).runs()
    slp = runs[runs.arch == "slp"]
    grid = 1 / int(slp.n_test.iloc[0])
    row = next(r for r in body if r[0] == "slp (vary=all)")
    low, high = stats.prediction_interval(slp.test_acc.tolist(), grid)
    assert row[header.index("One more run: 95 % prediction interval")] == (
        f"[{max(low, 0) * 100:.2f}, {min(high, 1) * 100:.2f}] %"
    )
    low, high = stats.accuracy_interval(slp.test_acc.tolist(), grid)
    assert row[header.index("95 % CI of the mean")] == f"[{low * 100:.2f}, {high * 100:.2f}] %"
    assert "bootstrap" not in header  # it under-covers at these n
    header, *body = rows_of(section(text, "Noise: where it comes from"))
    sources = {r[header.index("Varied with the seed")]: r for r in body}
    assert set(sources) == {"init", "everything (init, order, dropout, augmentation)"}
    mlp = runs[runs.arch == "mlp32"]
    init = mlp[mlp.config_json.str.contains('"vary": "init"')].test_acc.tolist()
    everything = mlp[~mlp.config_json.str.contains('"vary"')].test_acc.tolist()
    std = max(np.std(init, ddof=1), grid / math.sqrt(2))
    low, high = stats.std_interval(init, grid)
    assert sources["init"][header.index("Std of test accuracy (pp) [95 % CI]")] == (
        f"{std * 100:.3f} [{low * 100:.3f}, {high * 100:.3f}]"
    )
    share = stats.variance_ratio(init, everything, grid)[0]
    low, high = stats.variance_ratio_interval(init, everything, grid)
    assert sources["init"][header.index("Share of the variance [95 % CI]")] == (
        f"{share * 100:.0f} [{low * 100:.0f}, {high * 100:.0f}] %"
    )


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
                    "n_test": 10_000,
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
    # 6 wins of 6: the exact binomial interval, not [1, 1]
    assert (row.p_superior, row.p_superior_low, row.p_superior_high) == pytest.approx(
        (1.0, 0.025 ** (1 / 6), 1.0)
    )
    assert not math.isnan(row.wilcoxon_p)  # n = 6
    noisy = pairwise(fake_runs({"mlp32": base[:3], "slp": [0.951, 0.946, 0.953]}))
    assert noisy.verdict.iloc[0] == "unresolved after 3 seeds"
    assert math.isnan(noisy.wilcoxon_p.iloc[0])  # n < 6


def test_the_pairwise_table_is_one_family_as_a_look_of_seeds_auto():
    """The table's verdicts and p-values are one look of the --seeds auto rule at 0.05: the
    t-tests and TOSTs of every pair adjusted together, on the test set's grid."""
    rng = np.random.default_rng(4)
    means = {"a": 0.97, "b": 0.972, "c": 0.9721, "d": 0.96}
    accs = {
        m: [round((mu + rng.normal(0, 0.002)) * 1e4) / 1e4 for _ in range(4)]
        for m, mu in means.items()
    }
    frame = pairwise(fake_runs(accs))
    d = np.array(
        [[x - y for x, y in zip(accs[r.a], accs[r.b], strict=True)] for r in frame.itertuples()]
    )
    p_t, p_e, verdicts = stats.look(d, stats.ALPHA, 0.001, 1e-4)
    assert list(frame.p_holm) == pytest.approx(list(p_t))
    assert list(frame.p_tost_holm) == pytest.approx(list(p_e))
    assert (frame.level == stats.ALPHA).all() and not frame.adaptive.any()
    words = {stats.BETTER: "better", stats.EQUIVALENT: "equivalent", stats.OPEN: "unresolved"}
    assert [words[v] in text for v, text in zip(verdicts, frame.verdict, strict=True)] == [
        True
    ] * len(frame)


def test_identical_per_seed_differences_are_not_certainty():
    """Two seeds on which A beats B by the same 3 test images: no p = 0 and no "better" (the
    90 % interval of the difference, 3 ± 4.5 images, is inside ±0.1 pp: equivalent)."""
    frame = pairwise(fake_runs({"a": [0.9503, 0.9613], "b": [0.95, 0.961]}))
    row = frame.iloc[0]
    assert row.p_value > 0.05 and row.ci_low < 0 < row.ci_high
    assert row.verdict == "equivalent within ±0.1 pp"


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
    # ... and with it, a z-test: flagged exactly when the gap exceeds 1.96 sqrt(2) std
    edge = gap / (1.959964 * math.sqrt(2))
    tight = compare.compare(a, b, noise={key: edge * 0.99}).flag.iloc[0]
    assert tight == ("accuracy up" if b.test_acc.iloc[0] > a.test_acc.iloc[0] else "accuracy down")
    assert compare.compare(a, b, noise={key: edge * 1.01}).flag.iloc[0] == ""


def context(store: ResultsStore):
    from types import SimpleNamespace

    from bench.report import numbers, variants

    tables = store.tables()
    runs = variants.with_variants(numbers.ok_runs(tables.runs))
    return SimpleNamespace(tables=tables, runs=runs, recap=numbers.recap(tables.runs))


def test_pairwise_after_seeds_auto_uses_the_seeds_the_recap_shows(tmp_path):
    """Issue 20: ten stored seeds and an auto run with --max-seeds 2 gave "unresolved after 2
    seeds" on seeds 0-1, whose difference had the other sign. One table, one set of seeds: the
    pairwise table tests every stored seed, and the report says which replay it set aside."""
    from bench.report.sections import one_more_run

    rng = np.random.default_rng(5)
    a = [round((0.97 + rng.normal(0, 0.001)) * 1e4) / 1e4 for _ in range(10)]
    b = [round((0.968 + rng.normal(0, 0.001)) * 1e4) / 1e4 for _ in range(10)]
    a[:2], b[:2] = [0.9660, 0.9670], [0.9690, 0.9680]  # seeds 0-1: b ahead
    settings = {"min_seeds": 2, "max_seeds": 2, "margin_pp": 0.1, "alpha": 0.05}
    ctx = context(auto_store(tmp_path, {"mlp32": a, "slp": b}, settings))
    decided, _ = seeds.decided_pairs(ctx.tables, ctx.runs)
    (found,) = decided.values()
    assert found.seeds == (0, 1) and not found.applies  # the store holds seeds 0-9
    row = pairwise(ctx.tables.runs, decided=decided).iloc[0]
    assert (row.n_a, row.n_b, row.adaptive, row.seeds) == (10, 10, False, "0-9")
    recap = ctx.recap.set_index("model").test_acc_mean
    assert row.a == "mlp32" and recap["mlp32"] > recap["slp"] and row["diff"] > 0  # as the recap
    assert row.verdict == "mlp32 better"
    text = " ".join(one_more_run.section(ctx).split())
    assert "study `study1`" in text and "not in the pairwise table" in text
    assert (
        "`mlp32` vs `slp`: unresolved after 2 seeds on seeds 0-1, where the store holds 10 seeds"
        in text
    )


def test_pairs_settled_by_seeds_auto_keep_the_sequential_verdict_and_its_level(tmp_path):
    """An auto run's own seeds: the pair shows the rule's verdict, its p adjusted in the family
    of its look and the level of that look (alpha / number of looks), not a fixed-n p."""
    from bench.report.sections import pairwise as pairwise_section

    big = [0.99, 0.991, 0.9905]
    small = [0.95, 0.952, 0.951]
    settings = {"min_seeds": 3, "max_seeds": 8, "margin_pp": 0.1, "alpha": 0.05}
    ctx = context(auto_store(tmp_path, {"mlp32": big, "slp": small}, settings))
    decided, _ = seeds.decided_pairs(ctx.tables, ctx.runs)
    row = pairwise(ctx.tables.runs, decided=decided).iloc[0]
    assert row.adaptive and row.verdict == "mlp32 better" and row.look == 1 and row.looks == 3
    assert row.level == pytest.approx(0.05 / 3)
    d = [x - y for x, y in zip(big, small, strict=True)]
    p_t, _, _ = stats.look(np.array([d]), 0.05 / 3, 0.001, 1e-4)
    assert row.p_holm == pytest.approx(p_t[0])
    table = pairwise_section.pairwise_markdown(pairwise(ctx.tables.runs, decided=decided))
    assert "0.01667 (look 1 of 3)" in table and "(--seeds auto)" in table
    note = " ".join(
        pairwise_section.family_note(pairwise(ctx.tables.runs, decided=decided)).split()
    )
    assert "0.05/3 = 0.01667 per look" in note


def noise_runs(stds: dict[str, float], n: int) -> pd.DataFrame:
    """mlp32 under each --vary value with these seed-noise stds (fractions), n seeds each."""
    rng = np.random.default_rng(6)
    rows = []
    for vary, std in stds.items():
        draws = rng.normal(0, 1, n)
        draws = (draws - draws.mean()) / draws.std(ddof=1) * std  # exactly this std
        for seed, z in enumerate(draws):
            config = quick_config("mlp32", seed=seed, vary=vary)
            acc = round((0.97 + z) * 1e4) / 1e4
            rows.append(
                {"config_json": config.to_json(), "seed": seed, "test_acc": acc, "n_test": 10_000}
            )
    return pd.DataFrame(rows)


def test_noise_shares_come_with_intervals_and_rank_only_what_the_seeds_can_tell():
    """Issue 21: stds 0.108 / 0.175 / 0.247 / 0.209 pp at 5 seeds per source printed shares of
    27 / 70 / 139 / 100 % as findings; a variance from 5 seeds is uncertain by a factor of ~20."""
    from bench.report.sections import noise

    stds = {"init": 0.00108, "order": 0.00175, "dropout": 0.00247, "all": 0.00209}
    frame = noise.noise_table(noise_runs(stds, 5))
    dropout = frame.set_index("source").loc["dropout"]
    assert dropout.share_low < 1 < dropout.share_high  # 139 % is not "more than everything"
    # the chi-square interval of a std from 5 seeds spans a factor of sqrt(chi2 ratio) ~ 4.5
    ratio = math.sqrt(sps.chi2.ppf(0.975, 4) / sps.chi2.ppf(0.025, 4))
    assert dropout.std_high_pp / dropout.std_low_pp == pytest.approx(ratio)
    (line,) = noise.ranking(frame)
    assert "n too small to rank the sources" in line
    many = noise.noise_table(noise_runs({"init": 0.0005, "order": 0.003, "all": 0.003}, 20))
    (line,) = noise.ranking(many)
    assert "order > init" in line
