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


def _allocate(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Every buffer of this module comes from here, so that a test can replace it by one
    that fills new memory with NaN and prove that nothing is read before it is written."""
    return np.empty(shape, dtype=dtype)


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
        array = pool[key] = _allocate(shape, dtype)
    return array


def _references_to(holder: object, name: str) -> int:
    """``sys.getrefcount`` of ``holder.name``, taken always by this same code path."""
    candidate = getattr(holder, name)
    return sys.getrefcount(candidate)


class _Holder:
    array = np.empty(1)


#: What ``_references_to`` reports when only the holder's attribute refers to the array.
#: Measured rather than assumed, since interpreters count borrowed references differently.
_UNSHARED = _references_to(_Holder, "array")


def recycled(previous: object, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``previous.name`` if it has this shape and dtype and nothing else refers to it, else a
    new uninitialised array.

    A layer passes its previous forward pass's cache as ``previous``: when the caller no
    longer holds anything that shares memory with that buffer (not even a view, such as the
    ``out`` of that call), the buffer is free and is reused instead of faulting in new
    memory. The reference count tells: any view held elsewhere adds one to it.
    """
    candidate = getattr(previous, name, None) if previous is not None else None
    if (
        isinstance(candidate, np.ndarray)
        and candidate.shape == tuple(shape)
        and candidate.dtype == dtype
    ):
        del candidate  # do not count this function's own reference
        if _references_to(previous, name) <= _UNSHARED:
            return getattr(previous, name)
    return _allocate(shape, dtype)
