"""How much each axis of a grid matters (:func:`bench.stats.decompose`): on grids whose
effects are known by construction, each term gets exactly its share, and the shares and
degrees of freedom add up."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import stats


def grid(lr_effect, bs_effect, interaction=None, noise=(0.0, 0.0)) -> np.ndarray:
    """A 3 x 3 grid (lr x batch size) of ``0.9 + lr + bs (+ interaction)`` per cell, each cell
    with the seeds' offsets ``noise`` (one value per seed)."""
    cells = 0.9 + np.add.outer(np.asarray(lr_effect), np.asarray(bs_effect))
    if interaction is not None:
        cells = cells + np.asarray(interaction)
    return cells[..., None] + np.asarray(noise)[None, None, :]


def test_each_axis_gets_exactly_its_own_variance():
    lr, bs = [-0.02, 0.0, 0.02], [-0.01, 0.0, 0.01]
    noise = [-0.001, 0.0, 0.001]
    result = stats.decompose(grid(lr, bs, noise=noise))
    lr_term, bs_term, both = result.terms
    assert (lr_term.axes, bs_term.axes, both.axes) == ((0,), (1,), (0, 1))
    assert (lr_term.df, bs_term.df, both.df, result.noise_df) == (2, 2, 4, 18)
    # sums of squares: 9 runs per lr value, 9 per batch size, 9 cells x 2e-6 of noise
    assert lr_term.ss == pytest.approx(9 * 2 * 0.02**2)
    assert bs_term.ss == pytest.approx(9 * 2 * 0.01**2)
    assert both.ss == pytest.approx(0, abs=1e-15)  # additive: no interaction
    assert result.noise_ss == pytest.approx(9 * 2 * 0.001**2)
    total = result.total_ss
    assert total == pytest.approx(lr_term.ss + bs_term.ss + result.noise_ss)
    assert lr_term.share == pytest.approx(0.0072 / 0.009018)
    assert lr_term.share > 0.79 and bs_term.share == pytest.approx(0.0018 / 0.009018)
    shares = sum(t.share for t in result.terms) + result.noise_share
    assert shares == pytest.approx(1.0)
    assert sum(t.df for t in result.terms) + result.noise_df == result.total_df == 26
    # what noise alone would give a term: its df times the noise variance, over the total
    assert result.noise_variance == pytest.approx(0.001**2)
    assert lr_term.noise_alone == pytest.approx(2 * 0.001**2 / total)


def test_an_interaction_alone_gives_the_axes_no_share():
    """A checkerboard: each lr is good at one batch size only, so neither axis matters on its
    own and the interaction explains everything but the noise."""
    pattern = np.array([[1, 0, -1], [0, -1, 1], [-1, 1, 0]]) * 0.01
    result = stats.decompose(grid([0, 0, 0], [0, 0, 0], pattern, noise=[-0.0005, 0.0005]))
    lr_term, bs_term, both = result.terms
    assert lr_term.share == pytest.approx(0, abs=1e-12)
    assert bs_term.share == pytest.approx(0, abs=1e-12)
    assert both.share == pytest.approx(1 - result.noise_share) and both.share > 0.99


def test_three_axes_give_three_main_effects_three_pairs_and_one_triple():
    rng = np.random.default_rng(0)
    result = stats.decompose(rng.normal(size=(2, 3, 2, 4)))
    assert [t.axes for t in result.terms] == [
        (0,),
        (1,),
        (2,),
        (0, 1),
        (0, 2),
        (1, 2),
        (0, 1, 2),
    ]
    assert [t.df for t in result.terms] == [1, 2, 1, 2, 1, 2, 2]
    assert result.noise_df == 12 * 3
    assert sum(t.ss for t in result.terms) + result.noise_ss == pytest.approx(result.total_ss)


def test_one_seed_per_cell_has_no_noise_to_set_beside_the_shares():
    result = stats.decompose(grid([-0.02, 0, 0.02], [0, 0.01, 0.0], noise=[0.0]))
    assert result.replicates == 1 and result.noise_df == 0
    assert math.isnan(result.noise_variance)
    assert all(math.isnan(t.noise_alone) for t in result.terms)
    assert sum(t.share for t in result.terms) == pytest.approx(1.0)


def test_values_are_put_on_the_test_sets_grid_first():
    """Two seeds that differ by a float's rounding are the same count of images: no noise."""
    values = grid([-0.02, 0, 0.02], [0, 0, 0], noise=[0.0, 1e-9])
    assert stats.decompose(values).noise_ss > 0
    assert stats.decompose(values, resolution=1e-4).noise_ss == 0


def test_a_grid_with_a_missing_value_is_refused():
    values = grid([-0.02, 0, 0.02], [0, 0, 0], noise=[0.0, 0.001])
    values[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match="complete grid"):
        stats.decompose(values)


def test_an_f_test_of_the_shares_would_call_noise_an_effect_too_often_so_none_is_offered():
    """Why the report prints shares and no p-value: with one row of settings three times
    noisier than the others (a learning rate near divergence), the textbook F-test of each term
    against the pooled seed noise (Holm over the terms) calls an axis that does not matter one
    that does in more than 5 % of grids that have no effect at all. Seeded."""
    from scipy import stats as sps

    rng = np.random.default_rng(0)
    scale = np.ones((3, 3, 1))
    scale[0] = 3.0
    wrong = 0
    grids = 600
    for _ in range(grids):
        values = 0.98 + 0.002 * scale * rng.standard_normal((3, 3, 3))
        result = stats.decompose(values, resolution=1e-4)
        ms = result.noise_ss / result.noise_df
        p = [sps.f.sf(t.ss / t.df / ms, t.df, result.noise_df) for t in result.terms]
        wrong += min(stats.holm(p)) < stats.ALPHA
    assert wrong / grids > 0.06
