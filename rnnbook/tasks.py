"""Seeded data generators for the book's experiments. Arrays follow ``(T, B, D)``."""

from __future__ import annotations

import numpy as np

from rnnbook._checks import check_positive_int
from rnnbook.layers import Seed, make_rng


def sine_waves(
    batch: int, steps: int, seed: Seed = None, *, min_period: float = 8.0,
    max_period: float = 24.0, noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Next-value prediction on sine waves of random period and phase.

    Returns ``x`` ``(T, B, 1)``, the waves at steps ``0..T-1``, and ``y`` ``(T, B, 1)``, the
    same waves one step later: the target at step ``t`` is the input at step ``t + 1``.
    The period (in steps) is drawn uniformly from ``[min_period, max_period]`` per sequence.
    """
    batch = check_positive_int("batch", batch)
    steps = check_positive_int("steps", steps)
    if not 0 < min_period <= max_period:
        raise ValueError(
            f"min_period, max_period: expected 0 < min <= max, got {min_period}, {max_period}"
        )
    rng = make_rng(seed)
    period = rng.uniform(min_period, max_period, size=batch)
    phase = rng.uniform(0, 2 * np.pi, size=batch)
    t = np.arange(steps + 1)[:, None]
    wave = np.sin(2 * np.pi * t / period + phase)
    if noise:
        wave = wave + noise * rng.normal(size=wave.shape)
    return wave[:-1, :, None], wave[1:, :, None]


def adding_problem(
    batch: int, steps: int, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber, 1997): a long-lag regression task.

    Each sequence has two channels: random values in ``[0, 1)`` and a marker that is 1 at
    exactly two steps, one in the first half and one in the second. The target is the sum
    of the two marked values. Returns ``x`` ``(T, B, 2)`` and ``y`` ``(B, 1)``; predicting
    the constant 1 gives a mean squared error of about 1/6.
    """
    batch = check_positive_int("batch", batch)
    steps = check_positive_int("steps", steps)
    if steps < 2:
        raise ValueError(f"steps: expected at least 2 (two marked positions), got {steps}")
    rng = make_rng(seed)
    values = rng.uniform(0, 1, size=(steps, batch))
    half = steps // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, steps, size=batch)
    markers = np.zeros((steps, batch))
    columns = np.arange(batch)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values[first, columns] + values[second, columns])[:, None]
    return x, y
