"""The gradient checker itself: exact on a known function, loud on a classic BPTT bug."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import probe_loss, random_rnn_problem

from rnnbook.functional import rnn_backward, rnn_forward
from rnnbook.gradcheck import gradcheck, numerical_gradient, relative_error


def test_numerical_gradient_of_a_cubic():
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda: float(np.sum(a**3)), a)
    np.testing.assert_allclose(grad, 3 * a**2, rtol=1e-9)
    np.testing.assert_array_equal(a, [[1.0, -2.0], [0.5, 3.0]])  # restored exactly


def test_relative_error():
    assert relative_error(np.ones(3), np.ones(3)) == 0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0
    assert relative_error(np.ones(3), -np.ones(3)) == pytest.approx(1.0)


def test_float32_is_refused():
    with pytest.raises(TypeError, match="finite differences need float64, got float32"):
        numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))


def test_the_classic_bug_is_caught():
    """Accumulating dW_hh with h_t instead of h_{t-1}: off by one step, and loud."""
    params, x, h0, d_out, d_h_n = random_rnn_problem(seed=0, T=5)
    _, _, cache = rnn_forward(params, x, h0)
    grads = rnn_backward(params, cache, d_out, d_h_n)
    direction = cache.layers[0][0]
    delta = _deltas(params, direction, d_out, d_h_n)
    buggy = dict(grads, weight_hh_l0=np.einsum("tbi,tbj->ij", delta, direction.outputs))

    def loss():
        return probe_loss(params, x, h0, d_out, d_h_n)

    assert gradcheck(loss, {"weight_hh_l0": params["weight_hh_l0"]}, grads).passed(1e-6)
    report = gradcheck(loss, {"weight_hh_l0": params["weight_hh_l0"]}, buggy)
    assert not report.passed(1e-2)
    assert "weight_hh_l0" in str(report)


def _deltas(params, direction, d_out, d_h_n):
    """delta_t = dL/dz_t, by the backward recursion, to build the buggy gradient from."""
    W_hh = params["weight_hh_l0"]
    h = direction.outputs
    delta = np.zeros_like(h)
    dh_next = d_h_n[0].copy()
    for t in reversed(range(h.shape[0])):
        delta[t] = (d_out[t] + dh_next) * (1 - h[t] ** 2)
        dh_next = delta[t] @ W_hh
    return delta


def test_report_lists_every_array():
    a, b = np.ones(2), np.ones((2, 2))
    report = gradcheck(lambda: float(a.sum() + 2 * b.sum()), {"a": a, "b": b},
                       {"a": np.ones(2), "b": 2 * np.ones((2, 2))})
    assert [row.name for row in report.rows] == ["a", "b"]
    assert report.passed()
    assert "rel. error" in str(report)
