"""Hidden-state Jacobians and how gradients travel back in time.

For ``h_t = f(W_ih x_t + W_hh h_{t-1} + b)`` the Jacobian of one step is

    J_t = dh_t/dh_{t-1} = diag(f'(z_t)) W_hh,

and over several steps ``dh_t/dh_k = J_t J_{t-1} ... J_{k+1}``. These functions compute
them for a one-layer, one-direction RNN (the functional parameter dict), batched.
"""

from __future__ import annotations

import numpy as np

from rnnbook.activations import get_activation
from rnnbook.functional import RNN_NONLINEARITIES, rnn_forward


def _states_and_derivatives(params, x, h0, nonlinearity):
    if "weight_ih_l1" in params or "weight_ih_l0_reverse" in params:
        raise ValueError("params: these Jacobians cover one layer and one direction")
    activation = get_activation(nonlinearity, RNN_NONLINEARITIES)
    out, _, _ = rnn_forward(params, x, h0, nonlinearity=nonlinearity)
    return out, activation.grad_from_output(out)


def step_jacobians(
    params: dict[str, np.ndarray], x: np.ndarray, h0: np.ndarray | None = None,
    *, nonlinearity: str = "tanh",
) -> np.ndarray:
    """``J_t = diag(f'(z_t)) W_hh`` for every step: shape ``(T, B, H, H)``.

    ``params`` one layer, one direction (``weight_hh_l0`` ``(H, H)``); ``x`` ``(T, B, D)``;
    ``h0`` ``(1, B, H)`` or None. ``J_t = dh_t/dh_{t-1}`` is the factor that
    :doc:`/book/d_gradients/recurrence` multiplies along the chain, and whose product
    eq. :eq:`eq-vanishing-bound` of :doc:`/book/d_gradients/vanishing_exploding` bounds.
    """
    _, derivative = _states_and_derivatives(params, x, h0, nonlinearity)
    return derivative[..., :, None] * params["weight_hh_l0"]


def state_jacobian(jacobians: np.ndarray, t: int, k: int) -> np.ndarray:
    """``dh_t/dh_k = J_t ... J_{k+1}`` for ``0 <= k <= t <= T``, shape ``(B, H, H)``.

    ``jacobians`` is the output of :func:`step_jacobians`; steps count from 1 as in the book
    (``jacobians[t - 1]`` is ``J_t``), and ``k = t`` gives the identity. Its spectral norm
    is at most ``(gamma lambda_1)^(t - k)``, eq. :eq:`eq-vanishing-bound` of
    :doc:`/book/d_gradients/vanishing_exploding`.
    """
    T, B, H, _ = jacobians.shape
    if not 0 <= k <= t <= T:
        raise ValueError(f"t, k: expected 0 <= k <= t <= T = {T}, got t = {t}, k = {k}")
    product = np.broadcast_to(np.eye(H, dtype=jacobians.dtype), (B, H, H)).copy()
    for j in range(k + 1, t + 1):  # left-multiply the later steps: J_j (J_{j-1} ... )
        product = jacobians[j - 1] @ product
    return product


def jacobian_norms_by_lag(
    params: dict[str, np.ndarray], x: np.ndarray, h0: np.ndarray | None = None,
    *, nonlinearity: str = "tanh",
) -> np.ndarray:
    """Spectral norms ``||dh_T/dh_{T-l}||_2`` for lags ``l = 0 .. T``, shape ``(T + 1, B)``.

    ``x`` ``(T, B, D)``, ``h0`` ``(1, B, H)`` or None. The left-hand side of
    eq. :eq:`eq-vanishing-bound` of :doc:`/book/d_gradients/vanishing_exploding`, at every
    lag, for each sequence of the batch.
    """
    jacobians = step_jacobians(params, x, h0, nonlinearity=nonlinearity)
    T, B, H, _ = jacobians.shape
    norms = np.empty((T + 1, B))
    product = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    norms[0] = 1.0
    for lag in range(1, T + 1):
        product = product @ jacobians[T - lag]  # dh_T/dh_{T-lag} = (dh_T/dh_{T-lag+1}) J
        norms[lag] = np.linalg.norm(product, ord=2, axis=(1, 2))
    return norms


def gradient_terms_by_lag(
    params: dict[str, np.ndarray], x: np.ndarray, d_h_T: np.ndarray,
    h0: np.ndarray | None = None, *, nonlinearity: str = "tanh", weight: str = "weight_hh_l0",
) -> np.ndarray:
    """The gradient of ``L = sum(d_h_T * h_T)`` with respect to one weight, split by lag.

    Term ``l`` is the part of the gradient that comes through the copy of the weight used
    ``l`` steps before the end: ``sum_b delta_{T,T-l} a^T`` with ``a = h_{T-l-1}`` for
    ``weight_hh_l0`` and ``a = x_{T-l}`` for ``weight_ih_l0``. Shape ``(T, H, H)`` or
    ``(T, H, D)``; the terms add up to the full gradient. ``x`` ``(T, B, D)``, ``d_h_T``
    ``(B, H)``. These are the terms of lag ``l`` of eq. :eq:`eq-trunc-lag-sum` of
    :doc:`/book/e_remedies/truncation`, for one loss at the last step.
    """
    if weight not in ("weight_hh_l0", "weight_ih_l0"):
        raise ValueError(f"weight: expected 'weight_hh_l0' or 'weight_ih_l0', got {weight!r}")
    out, derivative = _states_and_derivatives(params, x, h0, nonlinearity)
    T, B, H = out.shape
    if weight == "weight_hh_l0":
        start = np.zeros((B, H), dtype=out.dtype) if h0 is None else h0[0]
        read = np.concatenate([start[None], out[:-1]])  # h_{t-1}
    else:
        read = x  # x_t
    W_hh = params["weight_hh_l0"]
    terms = np.empty((T, H, read.shape[-1]), dtype=out.dtype)
    dh = np.array(d_h_T, dtype=out.dtype)
    for lag in range(T):
        t = T - 1 - lag
        delta = derivative[t] * dh
        terms[lag] = delta.T @ read[t]
        dh = delta @ W_hh
    return terms
