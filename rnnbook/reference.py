"""The textbook RNN: one sample and one time step at a time, written to be read.

These loops are the equations of the book, line for line, in the column-vector form
``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``. They are slow on purpose: the tests
prove that the fast core in :mod:`rnnbook.functional` computes exactly the same numbers.
"""

from __future__ import annotations

import numpy as np

from rnnbook.activations import get_activation
from rnnbook.functional import RNN_NONLINEARITIES, check_input, check_state, infer_config
from rnnbook.functional import param_names as _names


def layer_forward(W_ih, W_hh, b_ih, b_hh, xs, h0, f, reverse=False):
    """One direction of one layer for one sample.

    ``xs`` is the list of ``T`` inputs ``x_t`` ``(D,)``; returns the list of ``h_t`` ``(H,)``
    in time order (a reverse layer reads the sequence from its end).
    """
    T = len(xs)
    hs = [None] * T
    h = h0
    for t in reversed(range(T)) if reverse else range(T):
        z = W_ih @ xs[t] + b_ih + W_hh @ h + b_hh
        h = f(z)
        hs[t] = h
    return hs


def layer_backward(W_ih, W_hh, xs, h0, hs, dhs, dh_last, f_grad_from_output, reverse=False):
    """BPTT through one direction of one layer for one sample.

    ``dhs[t]`` is the gradient that reaches ``h_t`` from above (the loss or the next layer),
    ``dh_last`` the gradient of the final state. Walking back in time, the gradient of
    ``h_t`` is ``dhs[t]`` plus ``dh_next``, the gradient flowing back from step ``t + 1``.
    Returns ``(dW_ih, dW_hh, db, dxs, dh0)``; ``db`` is the gradient of ``b_ih`` and of
    ``b_hh`` alike, since both enter as a sum.
    """
    T = len(xs)
    dW_ih = np.zeros_like(W_ih)
    dW_hh = np.zeros_like(W_hh)
    db = np.zeros(W_hh.shape[0], dtype=W_hh.dtype)
    dxs = [None] * T
    dh_next = dh_last.copy()
    for t in range(T) if reverse else reversed(range(T)):
        if reverse:
            h_prev = hs[t + 1] if t + 1 < T else h0
        else:
            h_prev = hs[t - 1] if t > 0 else h0
        dh = dhs[t] + dh_next  # from the output at t, plus from the future
        delta = dh * f_grad_from_output(hs[t])  # dL/dz_t
        dW_ih += np.outer(delta, xs[t])
        dW_hh += np.outer(delta, h_prev)
        db += delta
        dxs[t] = W_ih.T @ delta
        dh_next = W_hh.T @ delta  # passed back to step t - 1
    return dW_ih, dW_hh, db, dxs, dh_next


def _sample_forward(params, config, xs, h0s, f):
    """All layers and directions for one sample; returns per-layer inputs and states."""
    inputs, states = [], []
    for layer in range(config.num_layers):
        inputs.append(xs)
        layer_states = []
        for d, reverse in enumerate((False, True)[: config.num_directions]):
            W_ih, W_hh, b_ih, b_hh = (params[n] for n in _names(layer, reverse))
            h0 = h0s[layer * config.num_directions + d]
            layer_states.append(layer_forward(W_ih, W_hh, b_ih, b_hh, xs, h0, f, reverse))
        states.append(layer_states)
        xs = [np.concatenate([hs[t] for hs in layer_states]) for t in range(len(xs))]
    return inputs, states


def _prepare(params, x, h0, nonlinearity):
    activation = get_activation(nonlinearity, RNN_NONLINEARITIES)
    config = infer_config(params)
    x = check_input(x, config)
    h0 = check_state("h0", h0, config, x.shape[1])
    return activation, config, x, h0


def reference_rnn_forward(params, x, h0=None, *, nonlinearity="tanh"):
    """Same contract as :func:`rnnbook.functional.rnn_forward`, minus the cache."""
    activation, config, x, h0 = _prepare(params, x, h0, nonlinearity)
    T, B, _ = x.shape
    K, H = config.num_directions, config.hidden_size
    out = np.zeros((T, B, K * H), dtype=x.dtype)
    h_n = np.zeros_like(h0)
    for b in range(B):
        _, states = _sample_forward(params, config, list(x[:, b]), h0[:, b], activation.forward)
        for t in range(T):
            out[t, b] = np.concatenate([hs[t] for hs in states[-1]])
        for layer, layer_states in enumerate(states):
            for d, hs in enumerate(layer_states):
                h_n[layer * K + d, b] = hs[0] if d == 1 else hs[-1]
    return out, h_n


def reference_rnn_backward(params, x, h0=None, d_out=None, d_h_n=None, *, nonlinearity="tanh"):
    """Gradients of ``sum(d_out * out) + sum(d_h_n * h_n)`` by the textbook loop.

    Returns the same dict as :func:`rnnbook.functional.rnn_backward`: every parameter
    name, plus ``"input"`` and ``"h0"``.
    """
    activation, config, x, h0 = _prepare(params, x, h0, nonlinearity)
    T, B, _ = x.shape
    K, H, L = config.num_directions, config.hidden_size, config.num_layers
    d_out = np.zeros((T, B, K * H), x.dtype) if d_out is None else d_out
    d_h_n = np.zeros_like(h0) if d_h_n is None else d_h_n
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    grads["input"] = np.zeros_like(x)
    grads["h0"] = np.zeros_like(h0)
    for b in range(B):
        inputs, states = _sample_forward(
            params, config, list(x[:, b]), h0[:, b], activation.forward
        )
        d_above = [d_out[t, b] for t in range(T)]
        for layer in reversed(range(L)):
            d_below = [np.zeros(len(inputs[layer][0]), x.dtype) for _ in range(T)]
            for d, reverse in enumerate((False, True)[:K]):
                names = _names(layer, reverse)
                W_ih, W_hh = params[names[0]], params[names[1]]
                dhs = [d_above[t][d * H:(d + 1) * H] for t in range(T)]
                dW_ih, dW_hh, db, dxs, dh0 = layer_backward(
                    W_ih, W_hh, inputs[layer], h0[layer * K + d, b], states[layer][d], dhs,
                    d_h_n[layer * K + d, b], activation.grad_from_output, reverse,
                )
                grads[names[0]] += dW_ih
                grads[names[1]] += dW_hh
                grads[names[2]] += db
                grads[names[3]] += db
                grads["h0"][layer * K + d, b] = dh0
                d_below = [acc + dx for acc, dx in zip(d_below, dxs, strict=True)]
            d_above = d_below
        for t in range(T):
            grads["input"][t, b] = d_above[t]
    return grads
