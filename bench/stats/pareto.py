"""Which models no other model beats on both cost and accuracy (:func:`pareto_front`)."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(costs: Sequence[float], scores: Sequence[float]) -> list[bool]:
    """Which points are on the Pareto front of low cost and high score: no other point has a
    cost as low and a score as high with one of them strictly better."""
    points = list(zip(costs, scores, strict=True))
    return [
        not any(
            (c2 <= c and s2 >= s) and (c2 < c or s2 > s)
            for j, (c2, s2) in enumerate(points)
            if j != i
        )
        for i, (c, s) in enumerate(points)
    ]
