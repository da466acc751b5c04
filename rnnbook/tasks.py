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
