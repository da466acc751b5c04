"""Chunks of time steps small enough that a chunk's gates stay in cache.

The gated cells hoist their input projection out of the time loop, but not for the whole
sequence at once: one product per chunk of steps, computed just before the loop reaches
the chunk. The loop then reads gates that the product has just written, from cache rather
than from main memory, and the product is still large enough to run at full speed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Bytes of gates per chunk: a few MB, about what a core's share of the last-level cache
#: holds on current CPUs.
CHUNK_BYTES = 4 * 2**20


def time_chunks(steps: int, step_bytes: int, reverse: bool = False) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks covering ``range(steps)``, each holding about
    ``CHUNK_BYTES`` when one step's gates take ``step_bytes``, in the order the time loop
    visits them (the last chunk first when ``reverse``).
    """
    size = max(1, CHUNK_BYTES // max(1, step_bytes))
    chunks = [(start, min(start + size, steps)) for start in range(0, steps, size)]
    return chunks[::-1] if reverse else chunks


def projected_steps(
    x: np.ndarray, w_ih_blocks_t: np.ndarray, bias: np.ndarray, gates: np.ndarray,
    reverse: bool = False,
) -> Iterator[int]:
    """The time steps in the order the loop visits them, with the input projection of each
    chunk written into ``gates`` just before the chunk's first step is handed out.

    ``x`` ``(T, B, D)``; ``w_ih_blocks_t`` ``(G, D, H)`` and ``bias`` ``(G, 1, H)`` per gate
    block; ``gates`` ``(G, T, B, H)`` receives ``x_t W + b`` for every gate and step.
    """
    blocks, steps, batch, hidden = gates.shape
    for start, stop in time_chunks(steps, blocks * batch * hidden * gates.itemsize, reverse):
        projection = gates[:, start:stop].reshape(blocks, (stop - start) * batch, hidden)
        np.matmul(x[start:stop].reshape(1, -1, x.shape[2]), w_ih_blocks_t, out=projection)
        projection += bias
        yield from range(stop - 1, start - 1, -1) if reverse else range(start, stop)
