"""Reusable scratch arrays for temporaries that never leave a function.

Each call of a backward pass needs large temporaries (the stacked error terms of every
step). Allocating them afresh costs page faults on first touch, which on some machines is a
good part of the run time; reusing them between calls avoids it. Only arrays that no caller
ever sees may come from here: the pool hands out the same memory again on the next call.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype``, reused across calls under ``name``.

    The contents are whatever the last user left; the array is valid until the next call
    with the same ``name`` in this thread.
    """
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (name, tuple(shape), np.dtype(dtype))
    array = pool.get(key)
    if array is None:
        # Keep one array per name: a new shape replaces the old one.
        for old in [k for k in pool if k[0] == name]:
            del pool[old]
        array = pool[key] = np.empty(shape, dtype=dtype)
    return array


def recycled(previous: object, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``previous.name`` if it has this shape and dtype and nothing else refers to it, else a
    new uninitialised array.

    A layer passes its previous forward pass's cache as ``previous``: when the caller no
    longer holds anything that shares memory with that buffer (not even a view, such as the
    ``out`` of that call), the buffer is free and is reused instead of faulting in new
    memory. CPython's reference count tells: the attribute itself, the local name and the
    argument of ``sys.getrefcount`` make three; any view held elsewhere makes more.
    """
    candidate = getattr(previous, name, None) if previous is not None else None
    if (
        isinstance(candidate, np.ndarray)
        and candidate.shape == tuple(shape)
        and candidate.dtype == dtype
        and sys.getrefcount(candidate) <= 3
    ):
        return candidate
    return np.empty(shape, dtype=dtype)
