"""Fixtures shared by the test modules, and the BLAS threads of the notebooks' kernels."""

import os

# `pytest` runs two workers (-n 2, one notebook each) on the two cores CI has. A kernel
# whose BLAS also starts two threads oversubscribes them, and OpenBLAS's waiting threads
# then slow the small products of a chapter several times over. The kernels inherit this.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402  (after the variables, so this process reads them too)
import pytest  # noqa: E402

import rnnbook._workspace  # noqa: E402


@pytest.fixture
def nan_filled_memory(monkeypatch):
    """New work buffers hold NaN instead of whatever memory held before (often the right
    numbers of an earlier, identical run), so reading one before writing it shows."""
    monkeypatch.setattr(rnnbook._workspace, "_allocate",
                        lambda shape, dtype: np.full(shape, np.nan, dtype=dtype))
    monkeypatch.setattr(rnnbook._workspace._local, "pool", {}, raising=False)
