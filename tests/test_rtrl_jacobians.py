"""RTRL equals BPTT; Jacobian products equal finite differences of the hidden state."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_rnn_problem
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.functional import rnn_backward, rnn_forward
from rnnbook.jacobians import (
    gradient_terms_by_lag,
    jacobian_norms_by_lag,
    state_jacobian,
    step_jacobians,
)
from rnnbook.rtrl import rtrl_gradients, rtrl_memory


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), D=st.integers(1, 3), H=st.integers(1, 4),
       nonlinearity=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 2**32 - 1))
def test_rtrl_equals_bptt(T, B, D, H, nonlinearity, seed):
    params, x, h0, d_out, d_h_n = random_rnn_problem(seed, T=T, B=B, D=D, H=H)
    forward_mode = rtrl_gradients(params, x, d_out, h0, d_h_n, nonlinearity=nonlinearity)
    _, _, cache = rnn_forward(params, x, h0, nonlinearity=nonlinearity)
    reverse_mode = rnn_backward(params, cache, d_out, d_h_n)
    for name, value in forward_mode.items():
        np.testing.assert_allclose(value, reverse_mode[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_rtrl_memory_does_not_depend_on_length():
    assert rtrl_memory(batch=2, input_size=3, hidden_size=4) == 2 * 4 * (12 + 16 + 4)


def test_rtrl_refuses_stacks():
    rnn = rnnbook.RNN(2, 3, num_layers=2, seed=0)
    with pytest.raises(ValueError, match="one layer and one direction"):
        rtrl_gradients(rnn.params, np.zeros((2, 1, 2)), np.zeros((2, 1, 3)))


def test_state_jacobian_matches_finite_differences():
    params, x, h0, _, _ = random_rnn_problem(seed=1, T=6, B=2, D=2, H=3)
    jacobians = step_jacobians(params, x, h0)
    out, _, _ = rnn_forward(params, x, h0)
    t, k = 5, 2
    analytic = state_jacobian(jacobians, t, k)
    eps = 1e-6
    numeric = np.zeros_like(analytic)
    for j in range(3):  # perturb h_k, run steps k+1..t from it
        for sign in (1, -1):
            start = out[k - 1].copy()
            start[:, j] += sign * eps
            later, _, _ = rnn_forward(params, x[k:t], start[None])
            numeric[:, :, j] += sign * later[-1] / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(state_jacobian(jacobians, 3, 3)[0], np.eye(3))


def test_jacobian_norm_by_lag_starts_at_one_and_obeys_the_bound():
    params, x, h0, _, _ = random_rnn_problem(seed=2, T=10, B=2, H=4)
    norms = jacobian_norms_by_lag(params, x, h0)
    assert norms.shape == (11, 2)
    np.testing.assert_allclose(norms[0], 1.0)
    top = np.linalg.norm(params["weight_hh_l0"], 2)
    lags = np.arange(11)[:, None]
    assert np.all(norms <= top**lags * (1 + 1e-12))  # |tanh'| <= 1


def test_gradient_terms_by_lag_add_up_to_bptt():
    params, x, h0, _, d_h_n = random_rnn_problem(seed=3, T=7, B=3, H=4)
    terms = gradient_terms_by_lag(params, x, d_h_n[0], h0)
    _, _, cache = rnn_forward(params, x, h0)
    full = rnn_backward(params, cache, np.zeros((7, 3, 4)), d_h_n)["weight_hh_l0"]
    np.testing.assert_allclose(terms.sum(axis=0), full, rtol=1e-12, atol=1e-14)
    terms_ih = gradient_terms_by_lag(params, x, d_h_n[0], h0, weight="weight_ih_l0")
    full_ih = rnn_backward(params, cache, np.zeros((7, 3, 4)), d_h_n)["weight_ih_l0"]
    np.testing.assert_allclose(terms_ih.sum(axis=0), full_ih, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="weight: expected"):
        gradient_terms_by_lag(params, x, d_h_n[0], h0, weight="bias_hh_l0")


def test_bad_lag():
    with pytest.raises(ValueError, match="t, k: expected 0 <= k <= t <= T"):
        state_jacobian(np.zeros((3, 1, 2, 2)), 2, 3)
