"""The stored results that chapters read from the package are copies of the benchmark
results in the repository: both files of a pair must stay identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnbook.data import load_result, result_names

ROOT = Path(__file__).resolve().parents[1]
PAIRS = {
    "benchmark_bptt": "benchmarks/results/bptt.json",
    "benchmark_layouts": "benchmarks/results/layouts.json",
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_stored_copy_equals_the_benchmark_result(name):
    stored = ROOT / "rnnbook" / "data" / f"{name}.json"
    original = ROOT / PAIRS[name]
    assert stored.read_bytes() == original.read_bytes(), (
        f"{stored.relative_to(ROOT)} differs from {PAIRS[name]}: re-measure both together "
        "or copy the new result over the stored one")


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_stored_result_loads(name):
    assert name in result_names()
    assert load_result(name)["rows"], f"{name}: no rows"
