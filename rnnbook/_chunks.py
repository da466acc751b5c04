"""Chunks of time steps small enough that a chunk's gates stay in cache.

The gated cells hoist their input projection out of the time loop, but not for the whole
sequence at once: one product per chunk of steps, computed just before the loop reaches
the chunk. The loop then reads gates that the product has just written, from cache rather
than from main memory, and the product is still large enough to run at full speed.
"""

from __future__ import annotations

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
