"""Real-time recurrent learning (Williams & Zipser, 1989): BPTT's forward-mode twin.

RTRL carries the *sensitivities* ``P_t = dh_t/dθ`` forward in time, next to the hidden state:

    P_t = diag(f'(z_t)) (∂z_t/∂θ + W_hh P_{t-1}),   P_0 = 0,

and adds ``(dL/dh_t)^T P_t`` to the gradient at every step, so nothing about the past has to
be stored: memory does not grow with ``T``. The price is the size of ``P_t``: ``H`` rows for
each of the ``n = H D + H^2 + H`` parameters, and the product ``W_hh P_{t-1}`` costs
``O(H^4)`` per step, against BPTT's ``O(H^2)``.

This module covers one layer and one direction, which is what the book compares with BPTT.
"""

from __future__ import annotations

import numpy as np

from rnnbook._checks import check_array
from rnnbook.activations import get_activation
from rnnbook.functional import RNN_NONLINEARITIES, check_input, check_state, infer_config


def rtrl_gradients(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    d_out: np.ndarray,
    h0: np.ndarray | None = None,
    d_h_n: np.ndarray | None = None,
    *,
    nonlinearity: str = "tanh",
) -> dict[str, np.ndarray]:
    """Gradients of ``L = sum(d_out * out) + sum(d_h_n * h_n)`` by forward-mode RTRL.

    ``x`` ``(T, B, D)``; ``d_out`` ``(T, B, H)`` is the gradient of the loss with respect to
    each ``h_t``, consumed step by step as it would arrive online. Returns the gradients of
    ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` and ``"h0"``, equal to
    BPTT's (the input's gradient needs a sensitivity per input entry and is not computed).
    ``h0`` and ``d_h_n`` ``(1, B, H)`` or None; one layer, one direction.

    The sensitivities follow eq. :eq:`eq-rtrl-update` of :doc:`/book/d_gradients/rtrl`,
    ``P_t = diag(f'(z_t)) (dz_t/dθ + W_hh P_{t-1})``, ``(B, H, n)`` with
    ``n = H D + H^2 + H``; the gradient adds ``(dL/dh_t)^T P_t`` at every step.
    """
    activation = get_activation(nonlinearity, RNN_NONLINEARITIES)
    config = infer_config(params)
    if config.num_layers != 1 or config.bidirectional:
        raise ValueError(
            "params: RTRL here covers one layer and one direction; got "
            f"num_layers={config.num_layers}, bidirectional={config.bidirectional}"
        )
    x = check_input(x, config)
    T, B, D = x.shape
    H = config.hidden_size
    d_out = check_array("d_out", d_out, (T, B, H), config.dtype, axes="(T, B, H)")
    h = check_state("h0", h0, config, B)[0].copy()
    d_h_n = check_state("d_h_n", d_h_n, config, B)[0]
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    bias = params["bias_ih_l0"] + params["bias_hh_l0"]

    n_ih, n_hh = H * D, H * H
    n = n_ih + n_hh + H  # θ = [vec(W_ih), vec(W_hh), b], row-major
    P = np.zeros((B, H, n), dtype=x.dtype)  # P[b, i, k] = d h_t[b, i] / d θ_k
    S = np.broadcast_to(np.eye(H, dtype=x.dtype), (B, H, H)).copy()  # d h_t / d h_0
    grad = np.zeros(n, dtype=x.dtype)
    grad_h0 = np.zeros((B, H), dtype=x.dtype)
    rows = np.arange(H)
    derivative = np.empty((B, H), dtype=x.dtype)
    for t in range(T):
        h_prev = h
        h = activation.forward(x[t] @ W_ih.T + h_prev @ W_hh.T + bias)
        activation.grad_from_output(h, out=derivative)
        # W_hh P_{t-1}: the recurrent part of the sensitivity (the O(H^4) product).
        P = np.matmul(W_hh, P)
        # ∂z_t/∂θ: z_i depends on W_ih[i, :] through x_t, on W_hh[i, :] through h_{t-1}, on b_i.
        P[:, :, :n_ih].reshape(B, H, H, D)[:, rows, rows, :] += x[t][:, None, :]
        P[:, :, n_ih:n_ih + n_hh].reshape(B, H, H, H)[:, rows, rows, :] += h_prev[:, None, :]
        P[:, rows, n_ih + n_hh + rows] += 1.0
        P *= derivative[:, :, None]
        S = derivative[:, :, None] * np.matmul(W_hh, S)
        grad += np.einsum("bi,bik->k", d_out[t], P)
        grad_h0 += np.einsum("bi,bik->bk", d_out[t], S)
    grad += np.einsum("bi,bik->k", d_h_n, P)
    grad_h0 += np.einsum("bi,bik->bk", d_h_n, S)
    d_bias = grad[n_ih + n_hh:]
    return {
        "weight_ih_l0": grad[:n_ih].reshape(H, D),
        "weight_hh_l0": grad[n_ih:n_ih + n_hh].reshape(H, H),
        "bias_ih_l0": d_bias.copy(),
        "bias_hh_l0": d_bias.copy(),
        "h0": grad_h0[None],
    }


def rtrl_memory(batch: int, input_size: int, hidden_size: int) -> int:
    """Entries RTRL keeps between steps: the sensitivities ``(B, H, HD + H^2 + H)``.

    ``B H (H D + H^2 + H)`` numbers whatever ``T``, the ``P_t`` of eq. :eq:`eq-rtrl-update`
    of :doc:`/book/d_gradients/rtrl`, against BPTT's cache that grows with ``T``.
    """
    H = hidden_size
    return batch * H * (H * input_size + H * H + H)
