"""Segments and chunks: how the recurrent cells group their time steps.

**Segments.** Every pass over a sequence of ``T`` steps is grouped into segments of ``k``
steps, ``[0, k), [k, 2k), ...`` (the last one shorter when ``k`` does not divide ``T``). The
forward pass forms the input projection within a segment, and the backward pass runs one
segment at a time, from the segment the loop meets first to the one it meets last, carrying
the state gradient across the boundary; each segment's weight and bias gradients are one
product (or sum) over its ``k * B`` rows, added to the total as the segment is done.

Checkpointed BPTT (:mod:`rnnbook.checkpoint`) must work this way: it recomputes one segment
at a time. The plain path groups its work by the same segments so that both make the very
same floating-point operations, and give the same numbers bit for bit. Floating-point
addition is not associative, so a weight gradient summed in one product over all ``T * B``
rows and the same gradient summed segment by segment differ in their last bits; and a BLAS
library may round a row of a product differently depending on the rows around it. By
default both paths use segments of :func:`sqrt_segment` ``(T)`` steps, the length that
checkpointing needs for its ``O(sqrt T)`` memory.

**Chunks.** The gated cells hoist their input projection out of the time loop, but not for
a whole segment at once when that is large: one product per chunk of a segment's steps,
computed just before the loop reaches the chunk. The loop then reads gates that the product
has just written, from cache rather than from main memory, and the product is still large
enough to run at full speed. Chunks never straddle a segment boundary.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from rnnbook._checks import check_positive_int
from rnnbook._workspace import scratch

#: Bytes of gates per chunk: a few MB, about what a core's share of the last-level cache
#: holds on current CPUs.
CHUNK_BYTES = 4 * 2**20

Bounds = tuple[tuple[int, int], ...]


def sqrt_segment(steps: int) -> int:
    """``round(sqrt(steps))`` (at least 1): the segment length that minimises the number of
    stored states plus recomputed steps held at once, ``steps / k + k``.

    That is the memory ``M(k) = T / k + k`` of checkpointed BPTT, eq.
    :eq:`eq-checkpoint-memory` of :doc:`/book/g_practice/cost_of_bptt`, for ``T = steps``;
    ``round(sqrt(T))`` is its minimum over the integers ``k``.

    That count weighs a stored state and a recomputed step alike. When they cost ``a`` and
    ``b`` bytes (for the LSTM a checkpoint is ``h`` and ``c``, a recomputed step its cache and
    gate gradients), the best segment is ``sqrt(a * steps / b)`` instead.

    It is also the default grouping of the plain forward and backward passes
    (:func:`~rnnbook.rnn_forward` and its twins), so that by default they give the numbers
    of :func:`~rnnbook.checkpoint_forward` and :func:`~rnnbook.checkpoint_backward` bit for
    bit."""
    steps = check_positive_int("steps", steps)
    return max(1, round(math.sqrt(steps)))


def segment_bounds(steps: int, segment: int) -> Bounds:
    """``(start, stop)`` of the segments ``[0, k), [k, 2k), ...`` covering ``range(steps)``;
    the last one is shorter when ``k`` does not divide ``steps``, and ``k >= steps`` gives
    a single segment."""
    steps = check_positive_int("steps", steps)
    segment = check_positive_int("segment", segment)
    return tuple((start, min(start + segment, steps)) for start in range(0, steps, segment))


def default_bounds(steps: int, segment: int | None) -> Bounds:
    """The segments of a pass over ``steps`` steps: of ``segment`` steps, or of
    :func:`sqrt_segment` ``(steps)`` steps when ``segment`` is None."""
    if segment is None:
        return segment_bounds(steps, sqrt_segment(steps))
    return segment_bounds(steps, check_positive_int("segment", segment))


def in_loop_order(bounds: Bounds, backwards: bool) -> Bounds:
    """``bounds`` in the order a time loop meets them: the last segment first when the loop
    runs ``backwards`` (the backward pass of a forward direction, or the forward pass of a
    reverse direction)."""
    return bounds[::-1] if backwards else bounds


def steps_in_loop_order(start: int, stop: int, backwards: bool) -> range:
    """The steps of ``[start, stop)`` in the order the loop visits them."""
    return range(stop - 1, start - 1, -1) if backwards else range(start, stop)


def add_segment(
    totals: list[np.ndarray] | None,
    name: str,
    products: Sequence[tuple[np.ndarray, np.ndarray]],
    sums: Sequence[np.ndarray],
) -> list[np.ndarray]:
    """Add one segment's weight and bias gradients to the running ``totals``.

    ``products`` holds pairs ``(a, b)`` whose product ``a @ b`` is a weight gradient of the
    segment (for example ``Delta^T X`` over its ``k * B`` rows), ``sums`` row blocks whose
    column sum is a bias gradient. Returns the totals in that order: for the first segment
    (``totals`` None) new arrays, after that the same arrays, added to in place. A later
    segment's products go through work buffers (named ``name.0``, ``name.1``, ...) instead of
    new arrays: the numbers are the same, the memory is not allocated again.

    The order of these additions shows in the result's last bits: the plain backward pass
    adds its segments in the order its loop meets them, and checkpointing, one call per
    segment, in the same order."""
    if totals is None:
        return [a @ b for a, b in products] + [rows.sum(axis=0) for rows in sums]
    for i, (total, (a, b)) in enumerate(zip(totals, products, strict=False)):
        part = scratch(f"{name}.{i}", total.shape, total.dtype)
        np.matmul(a, b, out=part)
        total += part
    for total, rows in zip(totals[len(products):], sums, strict=True):
        total += rows.sum(axis=0)
    return totals


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
    reverse: bool = False, bounds: Bounds | None = None,
) -> Iterator[int]:
    """The time steps in the order the loop visits them, with the input projection of each
    chunk written into ``gates`` just before the chunk's first step is handed out.

    ``x`` ``(T, B, D)``; ``w_ih_blocks_t`` ``(G, D, H)`` and ``bias`` ``(G, 1, H)`` per gate
    block; ``gates`` ``(G, T, B, H)`` receives ``x_t W + b`` for every gate and step.
    ``bounds`` are the segments (one segment of all ``T`` steps when None); each segment is
    cut into chunks of its own, so a segment's products are the same whether it is run alone
    or as part of the whole sequence.
    """
    blocks, steps, batch, hidden = gates.shape
    step_bytes = blocks * batch * hidden * gates.itemsize
    for first, last in in_loop_order(bounds or ((0, steps),), reverse):
        for start, stop in time_chunks(last - first, step_bytes, reverse):
            start, stop = first + start, first + stop
            projection = gates[:, start:stop].reshape(blocks, (stop - start) * batch, hidden)
            np.matmul(x[start:stop].reshape(1, -1, x.shape[2]), w_ih_blocks_t, out=projection)
            projection += bias
            yield from steps_in_loop_order(start, stop, reverse)
