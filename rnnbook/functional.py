"""The functional core of the vanilla RNN: pure functions over a dict of parameters.

Shapes follow PyTorch (``batch_first=False``):

* ``x``: ``(T, B, D)``, the input sequence (time, batch, features);
* ``h0`` and ``h_n``: ``(L * K, B, H)``, one state per layer ``L`` and direction ``K``;
* ``out``: ``(T, B, K * H)``, the hidden states of the top layer.

Parameters carry PyTorch's names: ``weight_ih_l{l}`` ``(H, D_l)``, ``weight_hh_l{l}``
``(H, H)``, ``bias_ih_l{l}`` and ``bias_hh_l{l}`` ``(H,)``, with the suffix ``_reverse`` for
the backward direction of a bidirectional layer.

The forward pass is written for speed, as the book explains in its chapter on fast BPTT:
the input projection of a whole segment of time steps is one matrix product, and inside the
time loop only the recurrent product and the elementwise work remain. The backward pass
stacks a segment's error terms so that its weight gradients are one product each.

Segments: every pass groups its steps into segments of ``k`` steps (``segment=k``; by default
``k =`` :func:`~rnnbook.sqrt_segment` ``(T)``, about ``sqrt(T)``), the grouping checkpointed
BPTT (:mod:`rnnbook.checkpoint`) must use. Both paths then make the same floating-point operations,
and their outputs and gradients are equal bit for bit (see :mod:`rnnbook._chunks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbook._checks import check_array, check_dtype
from rnnbook._chunks import (
    Bounds,
    add_segment,
    in_loop_order,
    segment_bounds,
    steps_in_loop_order,
)
from rnnbook._stack import StackCache, param_names, stack_backward, stack_forward
from rnnbook._workspace import recycled, scratch
from rnnbook.activations import Activation, get_activation

RNN_NONLINEARITIES = ("tanh", "relu")


def rnn_param_shapes(
    input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
    gates: int = 1,
) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the parameters, in PyTorch's order.

    ``input_size`` is ``D``, ``hidden_size`` ``H``, ``num_layers`` ``L``; ``bidirectional``
    gives ``K = 2`` directions (else ``K = 1``). ``gates`` ``G`` is the number of stacked
    blocks per weight: 1 for the vanilla RNN, 3 for the GRU and 4 for the LSTM. Layer ``l``
    (``0 .. L - 1``) has

    * ``weight_ih_l0`` ``(G * H, D)`` and, above the first layer, ``weight_ih_l{l}``
      ``(G * H, K * H)``: a layer reads the concatenated directions of the layer below;
    * ``weight_hh_l{l}`` ``(G * H, H)``, ``bias_ih_l{l}`` and ``bias_hh_l{l}`` ``(G * H,)``;
    * when ``K = 2``, the same four again with the suffix ``_reverse``.

    These are the ``W_ih``, ``W_hh``, ``b_ih``, ``b_hh`` of eq. :eq:`eq-elman-cell` of
    :doc:`/book/a_recurrent_networks/what_is_an_rnn`, with the gates' blocks stacked by rows
    as in eq. :eq:`eq-lstm` and eq. :eq:`eq-gru` of :doc:`/book/f_gated/lstm_gru`.
    """
    directions = 2 if bidirectional else 1
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        for reverse in (False, True)[:directions]:
            w_ih, w_hh, b_ih, b_hh = param_names(layer, reverse)
            shapes[w_ih] = (gates * hidden_size, layer_input)
            shapes[w_hh] = (gates * hidden_size, hidden_size)
            shapes[b_ih] = (gates * hidden_size,)
            shapes[b_hh] = (gates * hidden_size,)
    return shapes


@dataclass(frozen=True)
class RNNConfig:
    """What the parameter dict says about the network: its sizes and its dtype."""

    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    dtype: np.dtype

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1


def infer_config(params: dict[str, np.ndarray], gates: int = 1) -> RNNConfig:
    """Read sizes from ``params`` and check every array's shape, dtype and finiteness."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for key in ("weight_ih_l0", "weight_hh_l0"):
        if key not in params:
            raise ValueError(f"params: missing {key!r}; got keys {sorted(params)}")
    w_ih = params["weight_ih_l0"]
    if not isinstance(w_ih, np.ndarray) or w_ih.ndim != 2:
        raise ValueError("params['weight_ih_l0']: expected a 2-d array (gates * H, D)")
    dtype = check_dtype(w_ih.dtype)
    num_layers = 0
    while f"weight_ih_l{num_layers}" in params:
        num_layers += 1
    config = RNNConfig(
        input_size=w_ih.shape[1],
        hidden_size=w_ih.shape[0] // gates,
        num_layers=num_layers,
        bidirectional="weight_ih_l0_reverse" in params,
        dtype=dtype,
    )
    expected = rnn_param_shapes(
        config.input_size, config.hidden_size, num_layers, config.bidirectional, gates
    )
    if set(params) != set(expected):
        raise ValueError(
            f"params: expected keys {sorted(expected)}, got {sorted(params)}"
        )
    for name, shape in expected.items():
        check_array(f"params[{name!r}]", params[name], shape, dtype)
    return config


def check_input(x: object, config: RNNConfig) -> np.ndarray:
    """Check the input sequence ``x`` of shape ``(T, B, D)`` against the network."""
    x = check_array("x", x, (None, None, config.input_size), config.dtype, axes="(T, B, D)")
    if x.shape[0] == 0:
        raise ValueError(f"x: expected at least one time step, got shape {x.shape}")
    if x.shape[1] == 0:
        raise ValueError(f"x: expected a batch of at least one sequence, got shape {x.shape}")
    return x


def check_state(name: str, state: object, config: RNNConfig, batch: int) -> np.ndarray:
    """Check (or create, for ``None``) a state of shape ``(L * K, B, H)``."""
    shape = (config.num_layers * config.num_directions, batch, config.hidden_size)
    if state is None:
        return np.zeros(shape, dtype=config.dtype)
    return check_array(name, state, shape, config.dtype, axes="(L * K, B, H)")


@dataclass(frozen=True)
class DirectionCache:
    """What BPTT keeps of one direction of one layer.

    ``states`` holds the initial state and the ``T`` hidden states in time order, shape
    ``(T + 1, B, H)``: for the forward direction ``h0`` is at index 0, for the reverse
    direction it is at index ``T``. Both ``outputs`` (the ``h_t``) and ``previous`` (the
    ``h_{t-1}`` each step read) are then contiguous views of the one buffer. ``bounds`` are
    the ``(start, stop)`` segments the forward pass grouped its steps by; the backward pass
    groups its work by the same ones.
    """

    x: np.ndarray  # (T, B, D_l), the layer's input: the network input or the layer below
    states: np.ndarray  # (T + 1, B, H)
    reverse: bool
    bounds: Bounds  # ((0, k), (k, 2k), ..., (., T))

    def _now(self, buffer: np.ndarray) -> np.ndarray:
        """The values written at steps 1..T of a ``(T + 1, ...)`` buffer, in time order."""
        return buffer[:-1] if self.reverse else buffer[1:]

    def _before(self, buffer: np.ndarray) -> np.ndarray:
        """The values each step read: the initial one and all but the last written."""
        return buffer[1:] if self.reverse else buffer[:-1]

    def _final(self, buffer: np.ndarray) -> np.ndarray:
        return buffer[0] if self.reverse else buffer[-1]

    @property
    def outputs(self) -> np.ndarray:
        return self._now(self.states)

    @property
    def previous(self) -> np.ndarray:
        return self._before(self.states)

    @property
    def last(self) -> np.ndarray:
        return self._final(self.states)

    @property
    def last_states(self) -> tuple[np.ndarray]:
        return (self.last,)


#: The cache of :func:`rnn_forward`: per layer, one ``DirectionCache`` per direction.
RNNCache = StackCache


def direction_forward(
    x: np.ndarray,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray,
    activation: Activation,
    reverse: bool = False,
    previous: DirectionCache | None = None,
    segment: int | None = None,
) -> DirectionCache:
    """Run one direction of one layer over the sequence; no input checks (callers do them).

    ``x`` ``(T, B, D)``, ``weight_ih`` ``(H, D)``, ``weight_hh`` ``(H, H)``,
    ``bias = b_ih + b_hh`` ``(H,)``, ``h0`` ``(B, H)``. The steps are grouped into segments
    of ``segment`` steps (one segment of all ``T`` when None), each one's input projection
    one product.
    """
    steps, batch, features = x.shape
    hidden = weight_hh.shape[0]
    bounds = segment_bounds(steps, segment or steps)
    z = scratch("rnn.z", (steps, batch, hidden), x.dtype)
    # OpenBLAS is much slower on a transposed small operand: keep a contiguous W_hh^T.
    weight_hh_t = np.ascontiguousarray(weight_hh.T)
    states = recycled(previous, "states", (steps + 1, batch, hidden), x.dtype)
    recurrent = scratch("rnn.recurrent", (batch, hidden), x.dtype)
    if reverse:
        states[steps] = h0
        read, write = 1, 0  # step t reads states[t + 1] and writes states[t]
    else:
        states[0] = h0
        read, write = 0, 1  # step t reads states[t] and writes states[t + 1]
    for start, stop in in_loop_order(bounds, reverse):
        # The input projection of the segment's steps in one product, outside the loop.
        np.matmul(x[start:stop].reshape(-1, features), weight_ih.T,
                  out=z[start:stop].reshape(-1, hidden))
        z[start:stop] += bias
        for t in steps_in_loop_order(start, stop, reverse):
            np.matmul(states[t + read], weight_hh_t, out=recurrent)
            h_t = states[t + write]
            np.add(z[t], recurrent, out=h_t)
            activation.forward(h_t, out=h_t)
    return DirectionCache(x=x, states=states, reverse=reverse, bounds=bounds)


def rnn_direction_passes(nonlinearity: str = "tanh") -> tuple[Callable[..., Any],
                                                                Callable[..., Any]]:
    """The Elman cell's forward and backward pass over one direction of one layer, in the
    form the stacking driver (``rnnbook._stack``) and checkpointing call them:
    ``forward(x, (W_ih, W_hh, b_ih, b_hh), (h0,), reverse, previous, segment) ->
    DirectionCache`` and ``backward(cache, weights, d_outputs, (d_last,)) -> (d_weights, dx,
    (dh0,))``."""
    activation = get_activation(nonlinearity, RNN_NONLINEARITIES)

    def forward(layer_input, weights, start, reverse, previous, segment=None):
        w_ih, w_hh, b_ih, b_hh = weights
        return direction_forward(layer_input, w_ih, w_hh, b_ih + b_hh, start[0], activation,
                                 reverse, previous, segment)

    def backward(direction_cache, weights, d_outputs, d_last):
        w_ih, w_hh, _, _ = weights
        d_w_ih, d_w_hh, d_b, dx, dh0 = direction_backward(
            direction_cache, w_ih, w_hh, activation, d_outputs, d_last[0]
        )
        return (d_w_ih, d_w_hh, d_b, d_b.copy()), dx, (dh0,)

    return forward, backward


def rnn_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None = None,
    *,
    nonlinearity: str = "tanh",
    recycle: RNNCache | None = None,
    segment: int | None = None,
) -> tuple[np.ndarray, np.ndarray, RNNCache]:
    """Forward pass of a (multi-layer, optionally bidirectional) Elman RNN.

    Computes eq. :eq:`eq-elman-cell` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`,
    ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, in every layer and direction, for
    the whole batch at once in the row form of eq. :eq:`eq-row-form`,
    ``S_t = f(X_t W_ih^T + S_{t-1} W_hh^T + b_ih + b_hh)`` with ``(B, H)`` rows ``S_t``; the
    layer above reads the concatenated hidden states of the layer below, ``(T, B, K * H)``.

    ``params`` holds the arrays of :func:`~rnnbook.rnn_param_shapes` (``weight_ih_l0``
    ``(H, D)``, ``weight_hh_l0`` ``(H, H)``, ...), ``x`` is ``(T, B, D)``, ``h0``
    ``(L * K, B, H)`` or None for zeros, and ``nonlinearity`` is ``f``, ``"tanh"`` or
    ``"relu"``. Returns ``out`` ``(T, B, K * H)``, the top layer's ``h_t`` (read-only: it
    shares memory with the cache), ``h_n`` ``(L * K, B, H)`` and the cache for
    :func:`~rnnbook.rnn_backward`. ``recycle``, the cache of an earlier call that the caller
    will not use again, lends its memory. ``segment`` groups the work of this pass and of its
    backward pass into segments of ``k`` steps (by default :func:`~rnnbook.sqrt_segment`
    ``(T)``): the same ``k`` as :func:`~rnnbook.checkpoint_forward` ``(..., segment=k)``
    gives the checkpointed numbers bit for bit.
    """
    forward, _ = rnn_direction_passes(nonlinearity)
    config = infer_config(params)
    x = check_input(x, config)
    h0 = check_state("h0", h0, config, x.shape[1])
    out, (h_n,), cache = stack_forward(params, x, (h0,), config.num_layers,
                                       config.bidirectional, forward, f"rnn_{nonlinearity}",
                                       recycle, segment)
    return out, h_n, cache


def direction_backward(
    cache: DirectionCache,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    activation: Activation,
    d_outputs: np.ndarray,
    d_last: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BPTT through one direction of one layer.

    ``d_outputs`` ``(T, B, H)`` is the gradient reaching each ``h_t`` from above and
    ``d_last`` ``(B, H)`` that of the final state. The loop only carries ``dh_next`` back
    and stores ``delta_t = dL/dz_t``. It runs segment by segment (``cache.bounds``, the last
    segment first); after each, the segment's weight gradients are one large product each
    over its ``k * B`` rows, added to the total. (Checkpointed BPTT must work segment by
    segment; grouped the same way, the two give the same numbers bit for bit.) Returns
    ``(dW_ih, dW_hh, db, dx, dh0)``.
    """
    x, previous = cache.x, cache.previous
    outputs = cache.outputs
    steps, batch, features = x.shape
    hidden = weight_hh.shape[0]
    delta = scratch("rnn.delta", (steps, batch, hidden), x.dtype)
    derivative = scratch("rnn.derivative", (batch, hidden), x.dtype)
    dx = np.empty(x.shape, dtype=x.dtype)
    dh_next = np.array(d_last, dtype=x.dtype, copy=True)
    totals = None
    for start, stop in in_loop_order(cache.bounds, not cache.reverse):
        for t in steps_in_loop_order(start, stop, not cache.reverse):
            delta_t = delta[t]
            np.add(d_outputs[t], dh_next, out=delta_t)  # from the output at t, plus the future
            activation.grad_from_output(outputs[t], out=derivative)
            delta_t *= derivative
            np.matmul(delta_t, weight_hh, out=dh_next)  # passed back to step t - 1
        # The segment's weight gradients: one product each over its rows, added to the totals.
        rows = delta[start:stop].reshape(-1, hidden)  # this segment's stacked delta_t
        totals = add_segment(totals, "rnn.segment",
                             [(rows.T, x[start:stop].reshape(-1, features)),       # dW_ih
                              (rows.T, previous[start:stop].reshape(-1, hidden))],  # dW_hh
                             [rows])                                               # db
        np.matmul(rows, weight_ih, out=dx[start:stop].reshape(-1, features))
    d_weight_ih, d_weight_hh, d_bias = totals
    return d_weight_ih, d_weight_hh, d_bias, dx, dh_next


def rnn_backward(
    params: dict[str, np.ndarray],
    cache: RNNCache,
    d_out: np.ndarray,
    d_h_n: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`~rnnbook.rnn_forward`.

    Each direction of each layer, from the top layer down, carries the error terms back in
    time with eq. :eq:`eq-delta-code-order` of :doc:`/book/c_bptt/bptt_derivation`,
    ``delta_t = f'(z_t) ⊙ (g_t + W_hh^T delta_{t+1})``, where ``g_t`` is the gradient
    reaching ``h_t`` from ``d_out`` (or from the layer above) in place of the readout's
    ``W_ho^T dL_t/do_t``. The weight gradients of eq. :eq:`eq-bptt-gradients` are sums of
    outer products, computed as stacked products (``dL/dW_hh = Delta^T S_prev``, eq.
    :eq:`eq-stacked-outer-products` of :doc:`/book/g_practice/fast_bptt`), one per segment of
    ``k`` steps added to a running total (eq. :eq:`eq-segment-sum`).

    ``d_out`` ``(T, B, K * H)`` is the gradient of the loss with respect to ``out`` and
    ``d_h_n`` ``(L * K, B, H)`` that with respect to ``h_n`` (``None`` means zero).
    Returns the gradient of every parameter under its own name and with its shape
    (``weight_ih_l0`` ``(H, D)``, ...; ``bias_ih_l{l}`` and ``bias_hh_l{l}`` both get
    ``dL/db``), of the input (``"input"``, ``(T, B, D)``) and of the initial state
    (``"h0"``, ``(L * K, B, H)``).
    """
    if not isinstance(cache, StackCache) or not cache.kind.startswith("rnn_"):
        raise TypeError(f"cache: expected the cache of rnn_forward, got {type(cache).__name__}")
    _, backward = rnn_direction_passes(cache.kind.removeprefix("rnn_"))
    config = infer_config(params)
    batch = cache.layers[0][0].x.shape[1]
    d_h_n = check_state("d_h_n", d_h_n, config, batch)
    grads, d_input, (d_h0,) = stack_backward(
        params, cache, d_out, (d_h_n,), config.num_layers, config.bidirectional, backward,
        config.hidden_size, config.dtype,
    )
    grads["input"] = d_input
    grads["h0"] = d_h0
    return grads


def linear_forward(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Readout ``o = x W^T + b`` over the last axis: ``x`` ``(..., F_in)`` -> ``(..., F_out)``.

    The output layer of eq. :eq:`eq-elman-output` of
    :doc:`/book/a_recurrent_networks/what_is_an_rnn` before its softmax, ``o_t = W_ho h_t +
    b_o``, in row form: ``params`` holds ``weight`` ``W_ho`` ``(F_out, F_in)`` and ``bias``
    ``b_o`` ``(F_out,)``; on hidden states ``(T, B, H)`` it gives the logits ``(T, B, C)``.
    All time steps are one matrix product: ``(T * B, H) @ (H, C)``.
    """
    weight, bias = params["weight"], params["bias"]
    ndim = x.ndim if isinstance(x, np.ndarray) else 1
    x = check_array(
        "x", x, (*[None] * (ndim - 1), weight.shape[1]), weight.dtype, axes="(..., in_features)"
    )
    flat = x.reshape(-1, weight.shape[1])
    return (flat @ weight.T + bias).reshape(*x.shape[:-1], weight.shape[0])


def linear_backward(
    params: dict[str, np.ndarray], x: np.ndarray, d_out: np.ndarray
) -> dict[str, np.ndarray]:
    """Gradients of the readout: ``weight`` ``(F_out, F_in)``, ``bias`` and ``input``.

    ``x`` ``(..., F_in)`` is the input :func:`~rnnbook.linear_forward` read and ``d_out``
    ``(..., F_out)`` the gradient of the loss with respect to its output. Returns
    ``"weight"`` ``(F_out, F_in)``, the outer products ``d_out x^T`` summed over every
    leading position (the ``dL/dW_ho`` of eq. :eq:`eq-bptt-gradients` of
    :doc:`/book/c_bptt/bptt_derivation`), ``"bias"`` ``(F_out,)``, ``d_out`` summed the
    same way, and ``"input"`` ``(..., F_in)``, ``d_out W``.
    """
    weight = params["weight"]
    d_out = check_array("d_out", d_out, (*x.shape[:-1], weight.shape[0]), weight.dtype)
    flat_x = x.reshape(-1, weight.shape[1])
    flat_d = d_out.reshape(-1, weight.shape[0])
    return {
        "weight": flat_d.T @ flat_x,
        "bias": flat_d.sum(axis=0),
        "input": (flat_d @ weight).reshape(x.shape),
    }
