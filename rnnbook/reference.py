"""The textbook networks: one sample and one time step at a time, written to be read.

These loops are the equations of the book, line for line, in the column-vector form
``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (and the LSTM and GRU equations in
PyTorch's gate order). They are slow on purpose: the tests prove that the fast functional
core computes exactly the same numbers.
"""

from __future__ import annotations

import numpy as np

from rnnbook._stack import param_names
from rnnbook.activations import get_activation, sigmoid
from rnnbook.functional import RNN_NONLINEARITIES, check_input, check_state, infer_config

# ---------------------------------------------------------------- the Elman RNN, one layer


def layer_forward(W_ih, W_hh, b_ih, b_hh, xs, h0, f, reverse=False):
    """One direction of one layer for one sample.

    ``xs`` is the list of ``T`` inputs ``x_t`` ``(D,)``; returns the list of ``h_t`` ``(H,)``
    in time order (a reverse layer reads the sequence from its end). ``W_ih`` ``(H, D)``,
    ``W_hh`` ``(H, H)``, ``b_ih``, ``b_hh`` and ``h0`` ``(H,)``, ``f`` the nonlinearity.
    Each step is eq. :eq:`eq-elman-cell` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`.
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
    ``b_hh`` alike, since both enter as a sum. ``hs`` are the states of
    :func:`layer_forward`, ``dhs`` a list of ``T`` arrays ``(H,)``, ``dh_last`` ``(H,)``;
    ``f_grad_from_output`` gives ``f'(z_t)`` from ``h_t`` (``grad_from_output`` of an
    :class:`~rnnbook.activations.Activation`). Each step computes
    ``delta_t`` by eq. :eq:`eq-delta-code-order` and adds its terms of
    eq. :eq:`eq-bptt-gradients` (:doc:`/book/c_bptt/bptt_derivation`).
    """
    T = len(xs)
    dW_ih = np.zeros_like(W_ih)
    dW_hh = np.zeros_like(W_hh)
    db = np.zeros(W_hh.shape[0], dtype=W_hh.dtype)
    dxs = [None] * T
    dh_next = dh_last.copy()
    for t in range(T) if reverse else reversed(range(T)):
        h_prev = _previous(hs, h0, t, reverse)
        dh = dhs[t] + dh_next  # from the output at t, plus from the future
        delta = dh * f_grad_from_output(hs[t])  # dL/dz_t
        dW_ih += np.outer(delta, xs[t])
        dW_hh += np.outer(delta, h_prev)
        db += delta
        dxs[t] = W_ih.T @ delta
        dh_next = W_hh.T @ delta  # passed back to step t - 1
    return dW_ih, dW_hh, db, dxs, dh_next


def _previous(values, initial, t, reverse):
    """The value a step read: the one computed just before it in the reading order."""
    if reverse:
        return values[t + 1] if t + 1 < len(values) else initial
    return values[t - 1] if t > 0 else initial


# ---------------------------------------------------------------- the LSTM, one layer


def lstm_layer_forward(W_ih, W_hh, b_ih, b_hh, xs, h0, c0, reverse=False):
    """One LSTM direction for one sample; returns the states ``hs``, the cells ``cs`` and,
    per step, the gates ``(i, f, g, o)``, all in time order.

    ``W_ih`` ``(4H, D)``, ``W_hh`` ``(4H, H)``, ``b_ih``, ``b_hh`` ``(4H,)``, ``xs`` ``T``
    inputs ``(D,)``, ``h0``, ``c0`` ``(H,)``. Each step is eq. :eq:`eq-lstm` of
    :doc:`/book/f_gated/lstm_gru`.
    """
    H = W_hh.shape[1]
    T = len(xs)
    hs, cs, gates = [None] * T, [None] * T, [None] * T
    h, c = h0, c0
    for t in reversed(range(T)) if reverse else range(T):
        a = W_ih @ xs[t] + b_ih + W_hh @ h + b_hh  # (4H,): PyTorch's blocks i, f, g, o
        i = sigmoid(a[0:H])
        f = sigmoid(a[H:2 * H])
        g = np.tanh(a[2 * H:3 * H])
        o = sigmoid(a[3 * H:4 * H])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs[t], cs[t], gates[t] = h, c, (i, f, g, o)
    return hs, cs, gates


def lstm_layer_backward(W_ih, W_hh, xs, h0, c0, hs, cs, gates, dhs, dh_last, dc_last,
                        reverse=False):
    """BPTT through one LSTM direction for one sample.

    Returns ``(dW_ih, dW_hh, db, dxs, dh0, dc0)``. The cell's gradient ``dc`` flows back to
    ``c_{t-1}`` multiplied by the forget gate alone: eq. :eq:`eq-lstm-backward` of
    :doc:`/book/f_gated/lstm_gru`. Shapes as in :func:`lstm_layer_forward`; ``dhs`` a list
    of ``T`` arrays ``(H,)``, ``dh_last`` and ``dc_last`` ``(H,)``.
    """
    T = len(xs)
    dW_ih, dW_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    db = np.zeros(W_hh.shape[0], dtype=W_hh.dtype)
    dxs = [None] * T
    dh_next, dc_next = dh_last.copy(), dc_last.copy()
    for t in range(T) if reverse else reversed(range(T)):
        i, f, g, o = gates[t]
        h_prev = _previous(hs, h0, t, reverse)
        c_prev = _previous(cs, c0, t, reverse)
        dh = dhs[t] + dh_next
        tanh_c = np.tanh(cs[t])
        dc = dc_next + dh * o * (1 - tanh_c**2)
        do = dh * tanh_c
        di, dg, df = dc * g, dc * i, dc * c_prev
        dc_next = dc * f  # dc_t/dc_{t-1} = diag(f_t): the constant error carousel
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2),
                             do * o * (1 - o)])
        dW_ih += np.outer(da, xs[t])
        dW_hh += np.outer(da, h_prev)
        db += da
        dxs[t] = W_ih.T @ da
        dh_next = W_hh.T @ da
    return dW_ih, dW_hh, db, dxs, dh_next, dc_next


# ---------------------------------------------------------------- the GRU, one layer


def gru_layer_forward(W_ih, W_hh, b_ih, b_hh, xs, h0, reverse=False):
    """One GRU direction for one sample; returns ``hs`` and, per step, ``(r, z, n, hn)``
    with ``hn = W_hn h_{t-1} + b_hn``, the term the reset gate multiplies.

    ``W_ih`` ``(3H, D)``, ``W_hh`` ``(3H, H)``, ``b_ih``, ``b_hh`` ``(3H,)``, ``xs`` ``T``
    inputs ``(D,)``, ``h0`` ``(H,)``. Each step is eq. :eq:`eq-gru` of
    :doc:`/book/f_gated/lstm_gru`.
    """
    H = W_hh.shape[1]
    T = len(xs)
    hs, gates = [None] * T, [None] * T
    h = h0
    for t in reversed(range(T)) if reverse else range(T):
        gi = W_ih @ xs[t] + b_ih  # (3H,): PyTorch's blocks r, z, n
        gh = W_hh @ h + b_hh
        r = sigmoid(gi[0:H] + gh[0:H])
        z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
        hn = gh[2 * H:3 * H]
        n = np.tanh(gi[2 * H:3 * H] + r * hn)
        h = (1 - z) * n + z * h
        hs[t], gates[t] = h, (r, z, n, hn)
    return hs, gates


def gru_layer_backward(W_ih, W_hh, xs, h0, hs, gates, dhs, dh_last, reverse=False):
    """BPTT through one GRU direction for one sample.

    Returns ``(dW_ih, dW_hh, db_ih, db_hh, dxs, dh0)``: the two biases differ on the n
    block, where ``b_hn`` sits inside the reset product. Shapes as in
    :func:`gru_layer_forward`; the derivative of eq. :eq:`eq-gru` of
    :doc:`/book/f_gated/lstm_gru`, step by step.
    """
    T = len(xs)
    dW_ih, dW_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    db_ih = np.zeros(W_ih.shape[0], dtype=W_ih.dtype)
    db_hh = np.zeros(W_hh.shape[0], dtype=W_hh.dtype)
    dxs = [None] * T
    dh_next = dh_last.copy()
    for t in range(T) if reverse else reversed(range(T)):
        r, z, n, hn = gates[t]
        h_prev = _previous(hs, h0, t, reverse)
        dh = dhs[t] + dh_next
        dz = dh * (h_prev - n)
        dn_pre = dh * (1 - z) * (1 - n**2)
        dr = dn_pre * hn
        d_input = np.concatenate([dr * r * (1 - r), dz * z * (1 - z), dn_pre])
        d_recurrent = np.concatenate([dr * r * (1 - r), dz * z * (1 - z), dn_pre * r])
        dW_ih += np.outer(d_input, xs[t])
        dW_hh += np.outer(d_recurrent, h_prev)
        db_ih += d_input
        db_hh += d_recurrent
        dxs[t] = W_ih.T @ d_input
        dh_next = dh * z + W_hh.T @ d_recurrent
    return dW_ih, dW_hh, db_ih, db_hh, dxs, dh_next


# ---------------------------------------------------------------- layers, directions, batch


def _cell(kind, nonlinearity="tanh"):
    """Per-sample forward and backward of one direction, in a common form:
    ``forward(weights, xs, start, reverse) -> (hs, record)`` and
    ``backward(weights, xs, start, record, dhs, d_last, reverse)
    -> (d_weights, dxs, d_start)``, with ``start`` the tuple of initial states."""
    if kind == "rnn":
        activation = get_activation(nonlinearity, RNN_NONLINEARITIES)

        def forward(w, xs, start, reverse):
            hs = layer_forward(*w, xs, start[0], activation.forward, reverse)
            return hs, (hs, (hs[0] if reverse else hs[-1],))

        def backward(w, xs, start, record, dhs, d_last, reverse):
            dW_ih, dW_hh, db, dxs, dh0 = layer_backward(
                w[0], w[1], xs, start[0], record[0], dhs, d_last[0],
                activation.grad_from_output, reverse)
            return (dW_ih, dW_hh, db, db), dxs, (dh0,)

    elif kind == "lstm":
        def forward(w, xs, start, reverse):
            hs, cs, gates = lstm_layer_forward(*w, xs, *start, reverse)
            last = 0 if reverse else -1
            return hs, (hs, cs, gates, (hs[last], cs[last]))

        def backward(w, xs, start, record, dhs, d_last, reverse):
            hs, cs, gates, _ = record
            dW_ih, dW_hh, db, dxs, dh0, dc0 = lstm_layer_backward(
                w[0], w[1], xs, *start, hs, cs, gates, dhs, *d_last, reverse)
            return (dW_ih, dW_hh, db, db), dxs, (dh0, dc0)

    else:
        def forward(w, xs, start, reverse):
            hs, gates = gru_layer_forward(*w, xs, start[0], reverse)
            return hs, (hs, gates, (hs[0] if reverse else hs[-1],))

        def backward(w, xs, start, record, dhs, d_last, reverse):
            hs, gates, _ = record
            dW_ih, dW_hh, db_ih, db_hh, dxs, dh0 = gru_layer_backward(
                w[0], w[1], xs, start[0], hs, gates, dhs, d_last[0], reverse)
            return (dW_ih, dW_hh, db_ih, db_hh), dxs, (dh0,)

    return forward, backward


GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _sample_forward(params, config, forward, xs, starts):
    """Every layer and direction for one sample; ``starts[k]`` holds the initial states of
    layer-direction ``k``. Returns each layer's inputs and each direction's records."""
    K = config.num_directions
    inputs, records = [], []
    for layer in range(config.num_layers):
        inputs.append(xs)
        layer_records = []
        for d, reverse in enumerate((False, True)[:K]):
            weights = [params[n] for n in param_names(layer, reverse)]
            layer_records.append(forward(weights, xs, starts[layer * K + d], reverse))
        records.append(layer_records)
        xs = [np.concatenate([hs[t] for hs, _ in layer_records]) for t in range(len(xs))]
    return inputs, records


def _checked(kind, params, x, initial_states):
    """Validate as the fast path does; ``None`` initial states become zeros."""
    config = infer_config(params, gates=GATES[kind])
    x = check_input(x, config)
    names = ("h0", "c0") if kind == "lstm" else ("h0",)
    states = [check_state(name, state, config, x.shape[1])
              for name, state in zip(names, initial_states, strict=True)]
    return config, x, names, states


def reference_forward(kind, params, x, initial_states, nonlinearity="tanh"):
    """``out`` and the final states of a stacked network, by the per-sample loops.

    ``kind`` is ``"rnn"``, ``"lstm"`` or ``"gru"``; ``params`` under PyTorch's names; ``x``
    ``(T, B, D)``; ``initial_states`` a tuple of ``(L * K, B, H)`` arrays or None (one, two
    for the LSTM). Returns ``out`` ``(T, B, K * H)`` and the tuple of final states.
    """
    config, x, _, states = _checked(kind, params, x, initial_states)
    forward, _ = _cell(kind, nonlinearity)
    T, B, _ = x.shape
    K = config.num_directions
    out = np.zeros((T, B, K * config.hidden_size), dtype=x.dtype)
    finals = [np.zeros_like(s) for s in states]
    for b in range(B):
        starts = [tuple(s[k, b] for s in states) for k in range(config.num_layers * K)]
        _, records = _sample_forward(params, config, forward, list(x[:, b]), starts)
        for t in range(T):
            out[t, b] = np.concatenate([hs[t] for hs, _ in records[-1]])
        for layer, layer_records in enumerate(records):
            for d, (_, record) in enumerate(layer_records):
                for final, value in zip(finals, record[-1], strict=True):
                    final[layer * K + d, b] = value
    return out, tuple(finals)


def reference_backward(kind, params, x, initial_states, d_out, d_finals, nonlinearity="tanh"):
    """Gradients of ``sum(d_out * out) + sum(d_final * final)`` by the per-sample loops.

    Arguments as in :func:`reference_forward`, with ``d_out`` ``(T, B, K * H)`` and
    ``d_finals`` shaped as the final states (None for zeros). Returns every parameter's
    gradient, ``"input"`` ``(T, B, D)`` and the initial states' (``"h0"``, and ``"c0"``).
    """
    config, x, names, states = _checked(kind, params, x, initial_states)
    d_finals = [np.zeros_like(s) if d is None else d
                for s, d in zip(states, d_finals, strict=True)]
    forward, backward = _cell(kind, nonlinearity)
    T, B, _ = x.shape
    K, H = config.num_directions, config.hidden_size
    d_out = np.zeros((T, B, K * H), x.dtype) if d_out is None else d_out
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    grads["input"] = np.zeros_like(x)
    for name, s in zip(names, states, strict=True):
        grads[name] = np.zeros_like(s)
    for b in range(B):
        starts = [tuple(s[k, b] for s in states) for k in range(config.num_layers * K)]
        inputs, records = _sample_forward(params, config, forward, list(x[:, b]), starts)
        d_above = [d_out[t, b] for t in range(T)]
        for layer in reversed(range(config.num_layers)):
            d_below = [np.zeros(len(inputs[layer][0]), x.dtype) for _ in range(T)]
            for d, reverse in enumerate((False, True)[:K]):
                index = layer * K + d
                names_ = param_names(layer, reverse)
                weights = [params[n] for n in names_]
                dhs = [d_above[t][d * H:(d + 1) * H] for t in range(T)]
                d_last = tuple(df[index, b] for df in d_finals)
                d_weights, dxs, d_start = backward(
                    weights, inputs[layer], starts[index], records[layer][d][1], dhs, d_last,
                    reverse)
                for name, value in zip(names_, d_weights, strict=True):
                    grads[name] += value
                for name, value in zip(names, d_start, strict=True):
                    grads[name][index, b] = value
                d_below = [acc + dx for acc, dx in zip(d_below, dxs, strict=True)]
            d_above = d_below
        for t in range(T):
            grads["input"][t, b] = d_above[t]
    return grads


def reference_rnn_forward(params, x, h0=None, *, nonlinearity="tanh"):
    """Same contract as :func:`rnnbook.rnn_forward`, minus the cache."""
    out, (h_n,) = reference_forward("rnn", params, x, (h0,), nonlinearity)
    return out, h_n


def reference_rnn_backward(params, x, h0=None, d_out=None, d_h_n=None, *, nonlinearity="tanh"):
    """Same result as :func:`rnnbook.rnn_backward`: parameters, input, h0."""
    return reference_backward("rnn", params, x, (h0,), d_out, (d_h_n,), nonlinearity)


def reference_lstm_forward(params, x, state=None):
    """Same contract as :func:`rnnbook.lstm_forward`, minus the cache."""
    h0, c0 = (None, None) if state is None else state
    out, (h_n, c_n) = reference_forward("lstm", params, x, (h0, c0))
    return out, (h_n, c_n)


def reference_lstm_backward(params, x, state=None, d_out=None, d_state=None):
    """Same result as :func:`rnnbook.lstm_backward`: parameters, input, h0, c0."""
    h0, c0 = (None, None) if state is None else state
    d_h_n, d_c_n = (None, None) if d_state is None else d_state
    return reference_backward("lstm", params, x, (h0, c0), d_out, (d_h_n, d_c_n))


def reference_gru_forward(params, x, h0=None):
    """Same contract as :func:`rnnbook.gru_forward`, minus the cache."""
    out, (h_n,) = reference_forward("gru", params, x, (h0,))
    return out, h_n


def reference_gru_backward(params, x, h0=None, d_out=None, d_h_n=None):
    """Same result as :func:`rnnbook.gru_backward`: parameters, input, h0."""
    return reference_backward("gru", params, x, (h0,), d_out, (d_h_n,))
