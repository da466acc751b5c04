"""The LSTM (Hochreiter & Schmidhuber, 1997; forget gate: Gers et al., 2000), functional form.

PyTorch's equations and gate order (i, f, g, o), with ``W_ih`` ``(4H, D)`` and ``W_hh``
``(4H, H)`` stacking the four gates' weights:

    i = σ(W_ii x + b_ii + W_hi h + b_hi)     input gate
    f = σ(W_if x + b_if + W_hf h + b_hf)     forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)  candidate cell
    o = σ(W_io x + b_io + W_ho h + b_ho)     output gate
    c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

The fast path reorders the gates internally to (i, f, o, g), so that the three sigmoid gates
are contiguous and all four activations are one ``tanh`` call (σ(z) = (1 + tanh(z/2)) / 2);
the gradients are put back in PyTorch's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnbook._chunks import (
    add_segment,
    in_loop_order,
    projected_steps,
    segment_bounds,
    steps_in_loop_order,
)
from rnnbook._stack import StackCache, stack_backward, stack_forward
from rnnbook._workspace import recycled, scratch
from rnnbook.functional import DirectionCache, check_input, check_state, infer_config


def _internal_order(hidden: int) -> np.ndarray:
    """Rows of PyTorch's (i, f, g, o) blocks, rearranged as (i, f, o, g)."""
    return np.concatenate([np.arange(0, 2 * hidden), np.arange(3 * hidden, 4 * hidden),
                           np.arange(2 * hidden, 3 * hidden)])


@dataclass(frozen=True)
class LSTMDirectionCache(DirectionCache):
    """What BPTT keeps of one LSTM direction, in time order: the hidden states as for the
    vanilla RNN, plus ``gates`` ``(4, T, B, H)`` (activated, gate-major, in the internal
    order i, f, o, g), ``cells`` ``(T + 1, B, H)`` (initial cell state included, placed like
    the initial hidden state) and ``tanh_cells`` ``(T, B, H)``, that is ``tanh(c_t)``.

    Gate-major storage keeps each gate of each step a contiguous ``(B, H)`` block, so the
    elementwise work of a step runs on contiguous memory.
    """

    gates: np.ndarray
    cells: np.ndarray
    tanh_cells: np.ndarray

    @property
    def last_states(self) -> tuple[np.ndarray, np.ndarray]:
        return self._final(self.states), self._final(self.cells)


def _gate_blocks(matrix: np.ndarray, hidden: int) -> np.ndarray:
    """PyTorch's stacked ``(4H, K)`` gate weights as ``(4, H, K)`` blocks in order i, f, o, g."""
    return matrix[_internal_order(hidden)].reshape(4, hidden, -1)


def lstm_direction_forward(x, weights, initial_states, reverse=False, previous=None,
                           segment=None):
    """One direction of one LSTM layer; ``weights`` = (W_ih, W_hh, b_ih, b_hh), PyTorch's.

    ``x`` ``(T, B, D)``, ``initial_states`` ``(h0, c0)``, each ``(B, H)``; the steps are
    grouped into segments of ``segment`` steps (one segment of all ``T`` when None)."""
    w_ih, w_hh, b_ih, b_hh = weights
    h0, c0 = initial_states
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    # The sigmoid gates' rows are halved: one tanh over all four gates then gives tanh(z/2)
    # on i, f, o, from which σ(z) = (1 + tanh(z/2)) / 2.
    scale = np.array([0.5, 0.5, 0.5, 1.0], dtype=x.dtype).reshape(4, 1, 1)
    w_ih_blocks_t = (scale * _gate_blocks(w_ih, hidden)).transpose(0, 2, 1)  # (4, D, H)
    w_hh_blocks_t = np.ascontiguousarray(
        (scale * _gate_blocks(w_hh, hidden)).transpose(0, 2, 1))            # (4, H, H)
    bias = scale * _gate_blocks((b_ih + b_hh)[:, None], hidden).transpose(0, 2, 1)  # (4, 1, H)
    gates = recycled(previous, "gates", (4, steps, batch, hidden), x.dtype)
    states = recycled(previous, "states", (steps + 1, batch, hidden), x.dtype)
    cells = recycled(previous, "cells", (steps + 1, batch, hidden), x.dtype)
    tanh_cells = recycled(previous, "tanh_cells", (steps, batch, hidden), x.dtype)
    recurrent = scratch("lstm.recurrent", (4, batch, hidden), x.dtype)
    work = scratch("lstm.work", (batch, hidden), x.dtype)
    if reverse:
        states[steps], cells[steps] = h0, c0
        read, write = 1, 0
    else:
        states[0], cells[0] = h0, c0
        read, write = 0, 1
    bounds = segment_bounds(steps, segment or steps)
    # The input projection is one product per gate for a chunk of a segment's steps,
    # computed as the loop reaches the chunk (see _chunks).
    for t in projected_steps(x, w_ih_blocks_t, bias, gates, reverse, bounds):
        a = gates[:, t]                                        # (4, B, H)
        np.matmul(states[t + read], w_hh_blocks_t, out=recurrent)
        a += recurrent
        np.tanh(a, out=a)  # tanh(z/2) on i, f, o and tanh(z) on g, in one call
        sigmoids = a[:3]
        sigmoids *= 0.5
        sigmoids += 0.5
        i, f, o, g = a
        c_t = cells[t + write]
        np.multiply(f, cells[t + read], out=c_t)
        np.multiply(i, g, out=work)
        c_t += work
        np.tanh(c_t, out=tanh_cells[t])
        np.multiply(o, tanh_cells[t], out=states[t + write])
    return LSTMDirectionCache(x=x, states=states, reverse=reverse, bounds=bounds, gates=gates,
                              cells=cells, tanh_cells=tanh_cells)


def lstm_direction_backward(cache: LSTMDirectionCache, weights, d_outputs, d_last_states):
    """BPTT through one LSTM direction. Returns ``(d_weights, dx, (dh0, dc0))``.

    Walking back, ``dh`` (from the output and from step ``t + 1``) reaches the cell through
    ``h_t = o ⊙ tanh(c_t)``; the cell's gradient ``dc`` also arrives from ``c_{t+1}``
    multiplied by the forget gate only, the "constant error carousel".

    Each step's gate gradients are worked out gate-major in a small contiguous block (fast
    elementwise work), then copied into a row ``(B, 4H)`` of ``d_gates`` ``(T, B, 4H)``, so
    that ``dh_next`` is one product with all of ``W_hh``, and after each segment of ``k``
    steps (``cache.bounds``, the last segment first) its weight gradients and ``dx`` are one
    product each, the weight gradients added to the total.
    """
    w_ih, w_hh, _, _ = weights
    x = cache.x
    steps, batch, features = x.shape
    hidden = w_hh.shape[1]
    order = _internal_order(hidden)
    w_hh_rows = w_hh[order]                                    # (4H, H), gate rows i, f, o, g
    w_ih_rows = w_ih[order]                                    # (4H, D)
    d_gates = scratch("lstm.d_gates", (steps, batch, 4 * hidden), x.dtype)
    da = scratch("lstm.da", (4, batch, hidden), x.dtype)
    di, df, do, dg = da
    dh_next = np.array(d_last_states[0], dtype=x.dtype, copy=True)
    dc = np.array(d_last_states[1], dtype=x.dtype, copy=True)
    dh = scratch("lstm.dh", (batch, hidden), x.dtype)
    work = scratch("lstm.work", (batch, hidden), x.dtype)
    sigmoid_slope = scratch("lstm.sigmoid_slope", (3, batch, hidden), x.dtype)
    cells_before = cache._before(cache.cells)
    previous = cache.previous
    dx = np.empty(x.shape, dtype=x.dtype)
    totals = None
    for start, stop in in_loop_order(cache.bounds, not cache.reverse):
        for t in steps_in_loop_order(start, stop, not cache.reverse):
            a, tanh_c = cache.gates[:, t], cache.tanh_cells[t]
            i, f, o, g = a
            np.add(d_outputs[t], dh_next, out=dh)
            np.multiply(dh, tanh_c, out=do)                    # d o
            np.multiply(tanh_c, tanh_c, out=work)
            np.subtract(1, work, out=work)
            work *= o
            work *= dh
            dc += work                                         # dc + dh o (1 - tanh^2 c)
            np.multiply(dc, g, out=di)
            np.multiply(dc, i, out=dg)
            np.multiply(dc, cells_before[t], out=df)
            dc *= f                                            # passed back to c_{t-1}
            # Through the activations: σ' = s (1 - s) on i, f, o and tanh' = 1 - g^2 on g.
            np.subtract(1, a[:3], out=sigmoid_slope)
            sigmoid_slope *= a[:3]
            da[:3] *= sigmoid_slope
            np.multiply(g, g, out=work)
            np.subtract(1, work, out=work)
            dg *= work
            row = d_gates[t]
            np.copyto(row.reshape(batch, 4, hidden), da.transpose(1, 0, 2))
            np.matmul(row, w_hh_rows, out=dh_next)             # sum over gates of da W_hh
        rows = d_gates[start:stop].reshape(-1, 4 * hidden)  # this segment's gate rows
        totals = add_segment(totals, "lstm.segment",
                             [(rows.T, x[start:stop].reshape(-1, features)),
                              (rows.T, previous[start:stop].reshape(-1, hidden))], [rows])
        np.matmul(rows, w_ih_rows, out=dx[start:stop].reshape(-1, features))
    d_w_ih = np.empty_like(w_ih)
    d_w_hh = np.empty_like(w_hh)
    d_b = np.empty(4 * hidden, dtype=x.dtype)
    d_w_ih[order], d_w_hh[order], d_b[order] = totals          # back to PyTorch's gate order
    return (d_w_ih, d_w_hh, d_b, d_b.copy()), dx, (dh_next, dc)


def lstm_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    state: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    recycle: StackCache | None = None,
    segment: int | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], StackCache]:
    """Forward pass of a (multi-layer, optionally bidirectional) LSTM, PyTorch's layout.

    Computes eq. :eq:`eq-lstm` of :doc:`/book/f_gated/lstm_gru` in every layer and direction:
    the gates ``i, f, o`` (sigmoid) and the candidate ``g`` (tanh) of ``W_ih x_t + b_ih +
    W_hh h_{t-1} + b_hh``, then ``c_t = f ⊙ c_{t-1} + i ⊙ g`` and ``h_t = o ⊙ tanh(c_t)``.
    ``params`` holds the arrays of :func:`~rnnbook.rnn_param_shapes` with ``gates=4``
    (``weight_ih_l0`` ``(4H, D)``, ``weight_hh_l0`` ``(4H, H)``, biases ``(4H,)``, blocks
    in the order i, f, g, o).

    ``x`` ``(T, B, D)``; ``state`` is ``(h0, c0)``, each ``(L * K, B, H)`` (or None for
    zeros), or None for both zero. Returns ``out`` ``(T, B, K * H)``, the top layer's ``h_t``
    (read-only), ``(h_n, c_n)``, each ``(L * K, B, H)``, and the cache for
    :func:`~rnnbook.lstm_backward`. ``recycle`` and ``segment`` as for
    :func:`~rnnbook.rnn_forward`: ``segment`` groups the work of this pass and of its
    backward pass into segments of ``k`` steps, by default :func:`~rnnbook.sqrt_segment`
    ``(T)``.
    """
    config = infer_config(params, gates=4)
    x = check_input(x, config)
    h0, c0 = (None, None) if state is None else _unpack(state)
    h0 = check_state("h0", h0, config, x.shape[1])
    c0 = check_state("c0", c0, config, x.shape[1])
    out, (h_n, c_n), cache = stack_forward(params, x, (h0, c0), config.num_layers,
                                           config.bidirectional, lstm_direction_forward, "lstm",
                                           recycle, segment)
    return out, (h_n, c_n), cache


def lstm_backward(
    params: dict[str, np.ndarray],
    cache: StackCache,
    d_out: np.ndarray,
    d_state: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> dict[str, np.ndarray]:
    """BPTT for :func:`~rnnbook.lstm_forward`. ``d_state`` is ``(d_h_n, d_c_n)``; None means zero.

    Walks each step back with eq. :eq:`eq-lstm-backward` of :doc:`/book/f_gated/lstm_gru`:
    the gradient ``dh`` reaching ``h_t`` (from ``d_out`` or the layer above, and from step
    ``t + 1``) gives ``do`` and adds to the cell's gradient ``dc``, which gives ``di``,
    ``dg`` and ``df`` and passes back to ``c_{t-1}`` through the forget gate alone,
    ``dc ⊙ f_t``; then through the activations to the gates' weights, a product per segment
    as for :func:`~rnnbook.rnn_backward`.

    ``d_out`` ``(T, B, K * H)`` is the gradient of the loss with respect to ``out``;
    ``d_h_n`` and ``d_c_n`` are each ``(L * K, B, H)`` or None. Returns every parameter's
    gradient under its name and with its shape (``weight_ih_l0`` ``(4H, D)``, ...), that of
    the input, ``"input"`` ``(T, B, D)``, and those of the initial states, ``"h0"`` and
    ``"c0"``, each ``(L * K, B, H)``.
    """
    if not isinstance(cache, StackCache) or cache.kind != "lstm":
        raise TypeError(f"cache: expected the cache of lstm_forward, got {type(cache).__name__}")
    config = infer_config(params, gates=4)
    batch = cache.layers[0][0].x.shape[1]
    d_h_n, d_c_n = (None, None) if d_state is None else _unpack(d_state, "d_state")
    d_h_n = check_state("d_h_n", d_h_n, config, batch)
    d_c_n = check_state("d_c_n", d_c_n, config, batch)
    grads, d_input, (d_h0, d_c0) = stack_backward(
        params, cache, d_out, (d_h_n, d_c_n), config.num_layers, config.bidirectional,
        lstm_direction_backward, config.hidden_size, config.dtype,
    )
    grads.update({"input": d_input, "h0": d_h0, "c0": d_c0})
    return grads


def _unpack(pair, name="state"):
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise TypeError(f"{name}: expected a pair (h, c), got {type(pair).__name__}")
    return pair
