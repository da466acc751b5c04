"""Shared set-ups for the tests: random networks and the linear probe loss."""

from __future__ import annotations

import numpy as np

from rnnbook.functional import rnn_forward, rnn_param_shapes


def random_rnn_problem(
    seed: int, T=4, B=2, D=3, H=4, num_layers=1, bidirectional=False, dtype=np.float64,
    with_h0=True, scale=0.7,
):
    """Parameters, input, initial state and upstream gradients for one RNN configuration.

    The upstream gradients ``d_out`` and ``d_h_n`` define the probe loss
    ``L = sum(d_out * out) + sum(d_h_n * h_n)``, whose gradient is what ``rnn_backward``
    returns: every loss reaches the RNN through such a pair.
    """
    rng = np.random.default_rng(seed)
    K = 2 if bidirectional else 1
    shapes = rnn_param_shapes(D, H, num_layers, bidirectional)
    params = {n: (scale * rng.normal(size=s)).astype(dtype) for n, s in shapes.items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    h0 = rng.normal(size=(num_layers * K, B, H)).astype(dtype) * 0.5 if with_h0 else None
    d_out = rng.normal(size=(T, B, K * H)).astype(dtype)
    d_h_n = rng.normal(size=(num_layers * K, B, H)).astype(dtype)
    return params, x, h0, d_out, d_h_n


def probe_loss(params, x, h0, d_out, d_h_n, nonlinearity="tanh"):
    """``L = sum(d_out * out) + sum(d_h_n * h_n)`` as a function of its arrays."""
    out, h_n, _ = rnn_forward(params, x, h0, nonlinearity=nonlinearity)
    return float(np.sum(d_out * out) + np.sum(d_h_n * h_n))
