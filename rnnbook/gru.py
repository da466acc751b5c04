"""The GRU (Cho et al., 2014), functional form, with PyTorch's equations and gate order.

``W_ih`` ``(3H, D)`` and ``W_hh`` ``(3H, H)`` stack the reset, update and candidate blocks
(r, z, n):

    r = σ(W_ir x + b_ir + W_hr h + b_hr)           reset gate
    z = σ(W_iz x + b_iz + W_hz h + b_hz)           update gate
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))  candidate state
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

PyTorch puts ``b_hn`` *inside* the reset product, so ``b_ih`` and ``b_hh`` no longer enter
as a sum and get different gradients on the n block.
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


@dataclass(frozen=True)
class GRUDirectionCache(DirectionCache):
    """What BPTT keeps of one GRU direction: the states as for the vanilla RNN, plus
    ``gates`` ``(3, T, B, H)`` (gate-major: r and z activated, and n) and ``recurrent_n``
    ``(T, B, H)``, the term ``W_hn h_{t-1} + b_hn`` that the reset gate multiplied.

    Gate-major storage keeps each gate of each step a contiguous ``(B, H)`` block, so the
    elementwise work of a step runs on contiguous memory (strided ``(B, H)`` views of a
    ``(B, 3H)`` row cost NumPy several times more per operation).
    """

    gates: np.ndarray
    recurrent_n: np.ndarray


#: The reset and update rows are halved, so that one tanh gives tanh(z/2) on both,
#: from which σ(z) = (1 + tanh(z/2)) / 2.
_HALF_ON_SIGMOIDS = (0.5, 0.5, 1.0)


def gru_direction_forward(x, weights, initial_states, reverse=False, previous=None,
                          segment=None):
    """One direction of one GRU layer; ``weights`` = (W_ih, W_hh, b_ih, b_hh), PyTorch's.

    ``x`` ``(T, B, D)``, ``initial_states`` ``(h0,)`` with ``h0`` ``(B, H)``; the steps are
    grouped into segments of ``segment`` steps (one segment of all ``T`` when None)."""
    w_ih, w_hh, b_ih, b_hh = weights
    (h0,) = initial_states
    steps, batch, features = x.shape
    hidden = w_hh.shape[1]
    scale = np.array(_HALF_ON_SIGMOIDS, dtype=x.dtype).reshape(3, 1, 1)
    w_ih_blocks_t = (scale * w_ih.reshape(3, hidden, features)).transpose(0, 2, 1)  # (3, D, H)
    w_hh_blocks_t = np.ascontiguousarray(
        (scale * w_hh.reshape(3, hidden, hidden)).transpose(0, 2, 1))       # (3, H, H)
    # b_hr and b_hz join the input side (they add); b_hn stays inside the reset product.
    bias = b_ih.copy()
    bias[:2 * hidden] += b_hh[:2 * hidden]
    bias = scale * bias.reshape(3, 1, hidden)                               # (3, 1, H)
    b_hn = b_hh[2 * hidden:]
    gates = recycled(previous, "gates", (3, steps, batch, hidden), x.dtype)
    states = recycled(previous, "states", (steps + 1, batch, hidden), x.dtype)
    recurrent_n = recycled(previous, "recurrent_n", (steps, batch, hidden), x.dtype)
    recurrent = scratch("gru.recurrent", (3, batch, hidden), x.dtype)
    work = scratch("gru.work", (batch, hidden), x.dtype)
    if reverse:
        states[steps] = h0
        read, write = 1, 0
    else:
        states[0] = h0
        read, write = 0, 1
    bounds = segment_bounds(steps, segment or steps)
    # The input projection is one product per gate for a chunk of a segment's steps,
    # computed as the loop reaches the chunk (see _chunks).
    for t in projected_steps(x, w_ih_blocks_t, bias, gates, reverse, bounds):
        a = gates[:, t]                                        # (3, B, H)
        h_prev = states[t + read]
        np.matmul(h_prev, w_hh_blocks_t, out=recurrent)
        rz = a[:2]
        rz += recurrent[:2]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5  # σ(z) = (1 + tanh(z/2)) / 2 on r and z together
        r, z, n = a
        np.add(recurrent[2], b_hn, out=recurrent_n[t])
        np.multiply(r, recurrent_n[t], out=work)
        n += work
        np.tanh(n, out=n)
        h_t = states[t + write]
        np.subtract(h_prev, n, out=h_t)
        h_t *= z
        h_t += n  # h_t = n + z (h_{t-1} - n)
    return GRUDirectionCache(x=x, states=states, reverse=reverse, bounds=bounds, gates=gates,
                             recurrent_n=recurrent_n)


def gru_direction_backward(cache: GRUDirectionCache, weights, d_outputs, d_last_states):
    """BPTT through one GRU direction. Returns ``(d_weights, dx, (dh0,))``.

    The gradients of the gate pre-activations are worked out gate-major in a small contiguous
    block, then stored once per step as a row of four blocks, ``[dn, dr, dz, dn_rec]``: the
    input side reads the first three (the n, r, z rows of ``W_ih``) and the recurrent side
    the last three (the r, z, n rows of ``W_hh``), so each is one product per segment of
    steps (``cache.bounds``, the last segment first, each added to the total), and ``dr``
    and ``dz``, which both sides share, are neither copied nor stored twice.
    ``dn_rec = r * dn`` is what reaches ``W_hn h + b_hn`` through the reset gate.
    """
    w_ih, w_hh, _, _ = weights
    x = cache.x
    steps, batch, features = x.shape
    H = w_hh.shape[1]
    input_order = np.concatenate([np.arange(2 * H, 3 * H), np.arange(0, 2 * H)])  # n, r, z
    w_ih_rows = w_ih[input_order]                              # (3H, D), rows n, r, z
    d_rows = scratch("gru.d_gates", (steps, batch, 4 * H), x.dtype)
    d_block = scratch("gru.d_block", (4, batch, H), x.dtype)  # this step, gate-major
    dn, dr, dz, dn_rec = d_block
    dh_next = np.array(d_last_states[0], dtype=x.dtype, copy=True)
    dh = scratch("gru.dh", (batch, H), x.dtype)
    work = scratch("gru.work", (batch, H), x.dtype)
    product = scratch("gru.product", (batch, H), x.dtype)
    slope = scratch("gru.slope", (2, batch, H), x.dtype)
    previous = cache.previous
    dx = np.empty(x.shape, dtype=x.dtype)
    totals = None
    for start, stop in in_loop_order(cache.bounds, not cache.reverse):
        for t in steps_in_loop_order(start, stop, not cache.reverse):
            a = cache.gates[:, t]
            r, z, n = a
            np.add(d_outputs[t], dh_next, out=dh)
            np.subtract(previous[t], n, out=dz)
            dz *= dh                                   # dL/dz = dh (h_{t-1} - n)
            np.subtract(1, a[:2], out=slope)           # 1 - r and 1 - z together
            np.multiply(slope[1], dh, out=dn)          # dL/dn = dh (1 - z)
            np.multiply(n, n, out=work)
            np.subtract(1, work, out=work)
            dn *= work                                 # through tanh: pre-activation of n
            np.multiply(dn, cache.recurrent_n[t], out=dr)  # dL/dr = dn (W_hn h + b_hn)
            slope *= a[:2]
            d_block[1:3] *= slope                      # through both sigmoids at once
            np.multiply(dn, r, out=dn_rec)             # the n block reaches W_hn through r
            row = d_rows[t]
            np.copyto(row.reshape(batch, 4, H), d_block.transpose(1, 0, 2))
            np.matmul(row[:, H:], w_hh, out=product)   # [dr, dz, dn_rec] times W_hh's r, z, n
            np.multiply(dh, z, out=dh_next)            # the direct path h_{t-1} -> h_t
            dh_next += product
        rows = d_rows[start:stop].reshape(-1, 4 * H)  # this segment's rows
        rows_in = rows[:, :3 * H]                        # input side: n, r, z
        rows_rec = rows[:, H:]                           # recurrent side: r, z, n
        totals = add_segment(totals, "gru.segment",
                             [(rows_in.T, x[start:stop].reshape(-1, features)),
                              (rows_rec.T, previous[start:stop].reshape(-1, H))],
                             [rows_in, rows_rec])
        np.matmul(rows_in, w_ih_rows, out=dx[start:stop].reshape(-1, features))
    d_w_ih_nrz, d_w_hh, d_b_ih_nrz, d_b_hh = totals
    d_w_ih = np.empty_like(w_ih)
    d_w_ih[input_order] = d_w_ih_nrz                           # back to PyTorch's r, z, n
    d_b_ih = np.empty(3 * H, dtype=x.dtype)
    d_b_ih[input_order] = d_b_ih_nrz
    return (d_w_ih, d_w_hh, d_b_ih, d_b_hh), dx, (dh_next,)


def gru_forward(
    params: dict[str, np.ndarray], x: np.ndarray, h0: np.ndarray | None = None,
    *, recycle: StackCache | None = None, segment: int | None = None,
) -> tuple[np.ndarray, np.ndarray, StackCache]:
    """Forward pass of a (multi-layer, optionally bidirectional) GRU, PyTorch's layout.

    Computes eq. :eq:`eq-gru` of :doc:`/book/f_gated/lstm_gru` in every layer and direction:
    the reset and update gates ``r, z``, the candidate ``n = tanh(W_in x_t + b_in + r ⊙
    (W_hn h_{t-1} + b_hn))`` and ``h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}``. ``params`` holds the
    arrays of :func:`~rnnbook.rnn_param_shapes` with ``gates=3`` (``weight_ih_l0``
    ``(3H, D)``, ``weight_hh_l0`` ``(3H, H)``, biases ``(3H,)``, blocks in the order r, z, n).

    ``x`` ``(T, B, D)``, ``h0`` ``(L * K, B, H)`` or None for zeros. Returns ``out``
    ``(T, B, K * H)``, the top layer's ``h_t`` (read-only), ``h_n`` ``(L * K, B, H)`` and the
    cache for :func:`~rnnbook.gru_backward`. ``recycle`` and ``segment`` as for
    :func:`~rnnbook.rnn_forward`: ``segment`` groups the work of this pass and of its
    backward pass into segments of ``k`` steps, by default :func:`~rnnbook.sqrt_segment`
    ``(T)``.
    """
    config = infer_config(params, gates=3)
    x = check_input(x, config)
    h0 = check_state("h0", h0, config, x.shape[1])
    out, (h_n,), cache = stack_forward(params, x, (h0,), config.num_layers,
                                       config.bidirectional, gru_direction_forward, "gru",
                                       recycle, segment)
    return out, h_n, cache


def gru_backward(
    params: dict[str, np.ndarray], cache: StackCache, d_out: np.ndarray,
    d_h_n: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """BPTT for :func:`~rnnbook.gru_forward`: parameter gradients, ``"input"`` and ``"h0"``.

    Backpropagates eq. :eq:`eq-gru` of :doc:`/book/f_gated/lstm_gru` step by step: ``h_{t-1}``
    gets ``z ⊙ dh`` on the direct path plus the gates' share through ``W_hh``. ``d_out``
    ``(T, B, K * H)`` is the gradient of the loss with respect to ``out`` and ``d_h_n``
    ``(L * K, B, H)`` that with respect to ``h_n`` (None means zero). Returns every
    parameter's gradient under its name and with its shape (``weight_ih_l0`` ``(3H, D)``,
    ...; ``bias_ih_l{l}`` and ``bias_hh_l{l}`` differ on the n block, where ``b_hn`` sits
    inside the reset product), ``"input"`` ``(T, B, D)`` and ``"h0"`` ``(L * K, B, H)``.
    """
    if not isinstance(cache, StackCache) or cache.kind != "gru":
        raise TypeError(f"cache: expected the cache of gru_forward, got {type(cache).__name__}")
    config = infer_config(params, gates=3)
    d_h_n = check_state("d_h_n", d_h_n, config, cache.layers[0][0].x.shape[1])
    grads, d_input, (d_h0,) = stack_backward(
        params, cache, d_out, (d_h_n,), config.num_layers, config.bidirectional,
        gru_direction_backward, config.hidden_size, config.dtype,
    )
    grads.update({"input": d_input, "h0": d_h0})
    return grads
