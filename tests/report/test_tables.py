"""Terminal and markdown tables write accuracies in percent; csv and json keep the fractions."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from bench.report import render

SPEED = pd.DataFrame(  # the columns `bench speed` prints
    {
        "architecture": ["mlp32", "cnn"],
        "reference s/epoch": [2.25, 5.55],
        "archbench s/epoch": [0.35, 2.54],
        "reference test acc": [0.92371234, 0.9583],
        "archbench test acc": [0.92371234, None],
        "% of matmul": [6.5, 11.2],
    }
)


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_human_formats_write_accuracies_in_percent_with_two_decimals(fmt):
    text = render(SPEED, fmt)
    assert "92.37 %" in text and "95.83 %" in text
    assert "0.9237" not in text and "0.9583" not in text
    assert "6.5" in text and "6.5 %" not in text  # already percent: left as it is
    cnn = next(line for line in text.splitlines() if "cnn" in line)
    assert cnn.count("%") == 1  # the missing accuracy stays missing, not "nan %"


def test_csv_and_json_keep_full_precision_fractions_under_the_same_names():
    frame = pd.read_csv(io.StringIO(render(SPEED, "csv")))
    assert list(frame.columns) == list(SPEED.columns)
    assert frame["reference test acc"].tolist() == [0.92371234, 0.9583]
    records = json.loads(render(SPEED, "json"))
    assert [r["reference test acc"] for r in records] == [0.92371234, 0.9583]
    assert records[1]["archbench test acc"] is None
    assert json.loads(render(pd.DataFrame({"acc": [1 / 3]}), "json"))[0]["acc"] == 1 / 3
