"""Fixtures shared by the test modules."""

import numpy as np
import pytest

import rnnbook._workspace


@pytest.fixture
def nan_filled_memory(monkeypatch):
    """New work buffers hold NaN instead of whatever memory held before (often the right
    numbers of an earlier, identical run), so reading one before writing it shows."""
    monkeypatch.setattr(rnnbook._workspace, "_allocate",
                        lambda shape, dtype: np.full(shape, np.nan, dtype=dtype))
    monkeypatch.setattr(rnnbook._workspace._local, "pool", {}, raising=False)
