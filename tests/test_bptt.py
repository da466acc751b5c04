"""BPTT for the vanilla RNN, proved right three ways: against finite differences, against
the textbook loop, and against SymPy's exact derivative of the unrolled graph."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from helpers import probe_loss, random_rnn_problem
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.functional import rnn_backward, rnn_forward
from rnnbook.gradcheck import gradcheck
from rnnbook.reference import reference_rnn_backward
from rnnbook.symbolic import gradient, matrix_symbol, unrolled_rnn

CONFIGS = [
    pytest.param(layers, bi, nl, id=f"L{layers}-{'bi' if bi else 'uni'}-{nl}")
    for layers in (1, 2) for bi in (False, True) for nl in ("tanh", "relu")
]


def analytic(params, x, h0, d_out, d_h_n, nonlinearity="tanh"):
    _, _, cache = rnn_forward(params, x, h0, nonlinearity=nonlinearity)
    return rnn_backward(params, cache, d_out, d_h_n)


@pytest.mark.parametrize("with_h0", [True, False], ids=["h0", "no-h0"])
@pytest.mark.parametrize("num_layers,bidirectional,nonlinearity", CONFIGS)
def test_every_gradient_matches_finite_differences(num_layers, bidirectional, nonlinearity, with_h0):
    params, x, h0, d_out, d_h_n = random_rnn_problem(
        seed=num_layers + 2 * bidirectional, num_layers=num_layers, bidirectional=bidirectional,
        with_h0=with_h0,
    )
    grads = analytic(params, x, h0, d_out, d_h_n, nonlinearity)
    arrays = dict(params, input=x)
    if with_h0:
        arrays["h0"] = h0
    report = gradcheck(lambda: probe_loss(params, x, h0, d_out, d_h_n, nonlinearity), arrays, grads)
    assert report.passed(1e-6), f"\n{report}"
    if not with_h0:  # the gradient of a zero initial state is still reported
        expected = analytic(params, x, np.zeros_like(grads["h0"]), d_out, d_h_n, nonlinearity)["h0"]
        np.testing.assert_allclose(grads["h0"], expected)


@pytest.mark.parametrize("num_layers,bidirectional,nonlinearity", CONFIGS)
def test_fast_path_equals_the_textbook_loop(num_layers, bidirectional, nonlinearity,
                                            nan_filled_memory):
    params, x, h0, d_out, d_h_n = random_rnn_problem(
        seed=7, T=6, B=3, num_layers=num_layers, bidirectional=bidirectional
    )
    fast = analytic(params, x, h0, d_out, d_h_n, nonlinearity)
    slow = reference_rnn_backward(params, x, h0, d_out, d_h_n, nonlinearity=nonlinearity)
    assert list(fast) == list(slow)
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_gradients_equal_sympy_on_the_unrolled_graph():
    """The third witness: exact symbolic derivatives of a 2-unit RNN unrolled over 3 steps."""
    T, D, H = 3, 1, 2
    W_ih, W_hh = matrix_symbol("u", H, D), matrix_symbol("w", H, H)
    b, h0 = matrix_symbol("b", H, 1), matrix_symbol("s", H, 1)
    xs = [sp.Matrix([[sp.Symbol(f"x_{t}", real=True)]]) for t in range(T)]
    c = [matrix_symbol(f"c{t}", H, 1) for t in range(T)]  # d_out, as symbols
    states = unrolled_rnn(W_ih, W_hh, b, xs, h0)
    loss = sum((c[t].T * states[t])[0, 0] for t in range(T))

    params, x, h0_value, d_out, _ = random_rnn_problem(seed=11, T=T, B=1, D=D, H=H)
    values = {}
    for matrix, array in [(W_ih, params["weight_ih_l0"]), (W_hh, params["weight_hh_l0"]),
                          (b, (params["bias_ih_l0"] + params["bias_hh_l0"])[:, None]),
                          (h0, h0_value[0, 0][:, None])]:
        values.update(zip(matrix, array.ravel(), strict=True))
    for t in range(T):
        values[xs[t][0, 0]] = x[t, 0, 0]
        values.update(zip(c[t], d_out[t, 0], strict=True))

    grads = analytic(params, x, h0_value, d_out, None)
    for matrix, name in [(W_ih, "weight_ih_l0"), (W_hh, "weight_hh_l0"), (b, "bias_hh_l0")]:
        exact = np.array(gradient(loss, matrix).subs(values).evalf(30), dtype=float)
        np.testing.assert_allclose(grads[name], exact.reshape(grads[name].shape), rtol=1e-12)
    exact_h0 = np.array(gradient(loss, h0).subs(values).evalf(30), dtype=float)
    np.testing.assert_allclose(grads["h0"][0, 0], exact_h0.ravel(), rtol=1e-12)


def test_masked_sequence_loss_matches_finite_differences():
    """Padded sequences: RNN -> Linear -> cross-entropy with a (T, B) mask, end to end."""
    rng = np.random.default_rng(5)
    T, B, D, H, C = 5, 3, 2, 4, 3
    model = rnnbook.Sequential(rnnbook.RNN(D, H, seed=0), rnnbook.Linear(H, C, seed=1))
    x = rng.normal(size=(T, B, D))
    lengths = np.array([5, 3, 1])
    mask = np.arange(T)[:, None] < lengths[None, :]
    target = rng.integers(0, C, size=(T, B))

    def loss():
        return rnnbook.cross_entropy_loss(model.forward(x), target, mask=mask)[0]

    _, d_logits = rnnbook.cross_entropy_loss(model.forward(x), target, mask=mask)
    grads = model.backward(d_logits)
    report = gradcheck(loss, dict(model.params, input=x), grads)
    assert report.passed(1e-6), f"\n{report}"
    # Padding changes nothing: the input after each sequence's end gets no gradient...
    assert np.all(grads["input"][~mask] == 0)
    # ...and the loss does not depend on it.
    before = loss()
    x[~mask] = 100.0
    assert loss() == pytest.approx(before, abs=1e-14)


@settings(max_examples=30, deadline=None)
@given(
    T=st.integers(1, 6), B=st.integers(1, 3), D=st.integers(1, 3), H=st.integers(1, 4),
    num_layers=st.integers(1, 2), bidirectional=st.booleans(),
    nonlinearity=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 2**32 - 1),
)
def test_property_bptt_is_exact_for_any_shape(T, B, D, H, num_layers, bidirectional, nonlinearity, seed):
    params, x, h0, d_out, d_h_n = random_rnn_problem(
        seed, T=T, B=B, D=D, H=H, num_layers=num_layers, bidirectional=bidirectional
    )
    grads = analytic(params, x, h0, d_out, d_h_n, nonlinearity)
    slow = reference_rnn_backward(params, x, h0, d_out, d_h_n, nonlinearity=nonlinearity)
    for name in grads:
        np.testing.assert_allclose(grads[name], slow[name], rtol=1e-10, atol=1e-12, err_msg=name)
    report = gradcheck(
        lambda: probe_loss(params, x, h0, d_out, d_h_n, nonlinearity),
        {"weight_hh_l0": params["weight_hh_l0"], "weight_ih_l0": params["weight_ih_l0"],
         "input": x, "h0": h0},
        grads,
    )
    # ReLU has kinks: a pre-activation within eps of 0 makes the difference quotient wrong.
    assert report.passed(1e-6) or nonlinearity == "relu", f"\n{report}"


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 5), B=st.integers(2, 4), seed=st.integers(0, 2**32 - 1))
def test_property_batch_entries_are_independent(T, B, seed):
    params, x, h0, d_out, d_h_n = random_rnn_problem(seed, T=T, B=B, num_layers=2)
    together = analytic(params, x, h0, d_out, d_h_n)
    apart = [analytic(params, x[:, b:b + 1], h0[:, b:b + 1], d_out[:, b:b + 1], d_h_n[:, b:b + 1])
             for b in range(B)]
    for name in params:  # a shared weight's gradient is the sum over the batch
        np.testing.assert_allclose(together[name], sum(g[name] for g in apart), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(together["input"], np.concatenate([g["input"] for g in apart], axis=1))


def test_zero_upstream_gradient_gives_zero_gradients():
    params, x, h0, d_out, _ = random_rnn_problem(seed=3, num_layers=2, bidirectional=True)
    grads = analytic(params, x, h0, np.zeros_like(d_out), None)
    assert all(not np.any(g) for g in grads.values())


def test_float32_runs_end_to_end_and_agrees_with_float64():
    """float32 keeps about 7 digits; after a 20-step BPTT, gradients agree to 1e-4 relative."""
    params, x, h0, d_out, d_h_n = random_rnn_problem(seed=4, T=20, B=3, num_layers=2, bidirectional=True)
    grads64 = analytic(params, x, h0, d_out, d_h_n)
    to32 = lambda a: a.astype(np.float32)  # noqa: E731
    grads32 = analytic({k: to32(v) for k, v in params.items()}, to32(x), to32(h0), to32(d_out), to32(d_h_n))
    for name, g64 in grads64.items():
        assert grads32[name].dtype == np.float32
        scale = np.abs(g64).max()
        np.testing.assert_allclose(grads32[name], g64, atol=1e-4 * scale, err_msg=name)


def test_layer_backward_matches_functional_and_accepts_none():
    rnn = rnnbook.RNN(3, 4, num_layers=2, bidirectional=True, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    out, h_n = rnn.forward(x)
    d_out = np.ones_like(out)
    grads = rnn.backward(d_out)
    _, _, cache = rnn_forward(rnn.params, x)
    expected = rnn_backward(rnn.params, cache, d_out, np.zeros_like(h_n))
    assert set(grads) == set(rnn.params) | {"input", "h0"}
    for name in expected:
        np.testing.assert_array_equal(grads[name], expected[name])


class TestBadInput:
    @pytest.fixture
    def rnn(self):
        rnn = rnnbook.RNN(3, 4, num_layers=2, seed=0)
        rnn.forward(np.zeros((5, 2, 3)))
        return rnn

    def test_backward_before_forward(self):
        with pytest.raises(RuntimeError, match="call forward first"):
            rnnbook.RNN(3, 4).backward(np.zeros((5, 2, 4)))

    def test_wrong_d_out_shape(self, rnn):
        with pytest.raises(ValueError, match=r"d_out: expected shape \(T, B, K \* H\) = \(5, 2, 4\), got \(5, 2, 3\)"):
            rnn.backward(np.zeros((5, 2, 3)))

    def test_d_out_is_never_broadcast(self, rnn):
        with pytest.raises(ValueError, match="d_out"):
            rnn.backward(np.zeros((1, 2, 4)))

    def test_wrong_d_h_n_shape(self, rnn):
        with pytest.raises(ValueError, match=r"d_h_n: expected shape \(L \* K, B, H\) = \(2, 2, 4\), got \(1, 2, 4\)"):
            rnn.backward(np.zeros((5, 2, 4)), np.zeros((1, 2, 4)))

    def test_non_finite_d_out(self, rnn):
        d_out = np.zeros((5, 2, 4))
        d_out[0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="d_out: contains NaN or inf"):
            rnn.backward(d_out)

    def test_d_out_dtype(self, rnn):
        with pytest.raises(TypeError, match="d_out: expected dtype float64, got float32"):
            rnn.backward(np.zeros((5, 2, 4), dtype=np.float32))

    def test_cache_of_another_network(self):
        _, _, cache = rnn_forward(rnnbook.RNN(3, 4, num_layers=1, seed=0).params, np.zeros((5, 2, 3)))
        with pytest.raises(ValueError, match="cache: it was made by a network of another shape"):
            rnn_backward(rnnbook.RNN(3, 4, num_layers=2, seed=0).params, cache, np.zeros((5, 2, 4)))

    def test_not_a_cache(self):
        with pytest.raises(TypeError, match="cache: expected the cache of rnn_forward"):
            rnn_backward(rnnbook.RNN(3, 4).params, {"h": 1}, np.zeros((5, 2, 4)))
