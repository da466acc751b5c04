"""The seeded task generators."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbook.tasks import sine_waves


def test_sine_waves_shapes_and_shift():
    x, y = sine_waves(4, 30, seed=0)
    assert x.shape == y.shape == (30, 4, 1)
    np.testing.assert_array_equal(x[1:], y[:-1])  # the target is the next input
    assert np.abs(x).max() <= 1


def test_sine_waves_are_seeded():
    np.testing.assert_array_equal(sine_waves(3, 10, seed=1)[0], sine_waves(3, 10, seed=1)[0])
    assert not np.array_equal(sine_waves(3, 10, seed=1)[0], sine_waves(3, 10, seed=2)[0])


def test_sine_waves_have_the_requested_period():
    x, _ = sine_waves(1, 200, seed=0, min_period=10.0, max_period=10.0)
    np.testing.assert_allclose(x[10:], x[:-10], atol=1e-12)


def test_sine_waves_bad_arguments():
    with pytest.raises(ValueError, match="steps: expected a positive int, got 0"):
        sine_waves(2, 0)
    with pytest.raises(ValueError, match="min_period, max_period"):
        sine_waves(2, 5, min_period=10, max_period=5)


def test_adding_problem():
    from rnnbook.tasks import adding_problem

    x, y = adding_problem(8, 20, seed=0)
    assert x.shape == (20, 8, 2) and y.shape == (8, 1)
    assert np.all(x[:, :, 1].sum(axis=0) == 2)
    assert np.all(x[:10, :, 1].sum(axis=0) == 1)  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0))
    with pytest.raises(ValueError, match="steps: expected at least 2"):
        adding_problem(2, 1)
