"""LSTM and GRU: finite differences, the textbook loops, hypothesis, float32, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
import rnnbook._chunks
from rnnbook._chunks import time_chunks
from rnnbook.functional import rnn_param_shapes
from rnnbook.gradcheck import gradcheck
from rnnbook.gru import gru_backward, gru_forward
from rnnbook.lstm import lstm_backward, lstm_forward
from rnnbook.reference import reference_gru_backward, reference_lstm_backward

GATES = {"lstm": 4, "gru": 3}


def problem(kind, seed, T=4, B=2, D=3, H=3, num_layers=1, bidirectional=False, with_state=True,
            dtype=np.float64):
    rng = np.random.default_rng(seed)
    K = 2 if bidirectional else 1
    shapes = rnn_param_shapes(D, H, num_layers, bidirectional, gates=GATES[kind])
    params = {n: (0.6 * rng.normal(size=s)).astype(dtype) for n, s in shapes.items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    states = [(0.5 * rng.normal(size=(num_layers * K, B, H))).astype(dtype)
              for _ in range(2 if kind == "lstm" else 1)]
    d_out = rng.normal(size=(T, B, K * H)).astype(dtype)
    d_states = [rng.normal(size=s.shape).astype(dtype) for s in states]
    if not with_state:
        states = [None] * len(states)
    return params, x, states, d_out, d_states


def run(kind, params, x, states, d_out, d_states):
    """Forward, the probe loss, and the analytic gradients."""
    if kind == "lstm":
        out, (h_n, c_n), cache = lstm_forward(params, x, tuple(states) if states[0] is not None else None)
        loss = np.sum(d_out * out) + np.sum(d_states[0] * h_n) + np.sum(d_states[1] * c_n)
        return float(loss), lstm_backward(params, cache, d_out, tuple(d_states))
    out, h_n, cache = gru_forward(params, x, states[0])
    loss = np.sum(d_out * out) + np.sum(d_states[0] * h_n)
    return float(loss), gru_backward(params, cache, d_out, d_states[0])


CONFIGS = [pytest.param(kind, layers, bi, id=f"{kind}-L{layers}-{'bi' if bi else 'uni'}")
           for kind in ("lstm", "gru") for layers in (1, 2) for bi in (False, True)]


@pytest.mark.parametrize("with_state", [True, False], ids=["state", "no-state"])
@pytest.mark.parametrize("kind,num_layers,bidirectional", CONFIGS)
def test_gradients_match_finite_differences(kind, num_layers, bidirectional, with_state):
    params, x, states, d_out, d_states = problem(kind, 1, num_layers=num_layers,
                                                 bidirectional=bidirectional, with_state=with_state)
    _, grads = run(kind, params, x, states, d_out, d_states)
    arrays = dict(params, input=x)
    if with_state:
        arrays.update(zip(("h0", "c0")[:len(states)], states, strict=True))
    report = gradcheck(lambda: run(kind, params, x, states, d_out, d_states)[0], arrays, grads)
    assert report.passed(1e-6), f"\n{report}"


@pytest.mark.parametrize("chunk_steps", [None, 2], ids=["one-chunk", "2-step-chunks"])
@pytest.mark.parametrize("kind,num_layers,bidirectional", CONFIGS)
def test_fast_path_equals_the_textbook_loop(kind, num_layers, bidirectional, chunk_steps,
                                            monkeypatch, nan_filled_memory):
    params, x, states, d_out, d_states = problem(kind, 2, T=7, B=3, num_layers=num_layers,
                                                 bidirectional=bidirectional)
    if chunk_steps:  # the input projection in chunks of 2 steps: 4 chunks, the last one short
        step_bytes = GATES[kind] * 3 * 3 * x.itemsize
        monkeypatch.setattr(rnnbook._chunks, "CHUNK_BYTES", chunk_steps * step_bytes)
        assert len(rnnbook._chunks.time_chunks(7, step_bytes)) == 4
    _, fast = run(kind, params, x, states, d_out, d_states)
    if kind == "lstm":
        slow = reference_lstm_backward(params, x, tuple(states), d_out, tuple(d_states))
    else:
        slow = reference_gru_backward(params, x, states[0], d_out, d_states[0])
    assert list(fast) == list(slow)
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-11, atol=1e-12, err_msg=name)


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(["lstm", "gru"]), T=st.integers(1, 5), B=st.integers(1, 3),
       D=st.integers(1, 3), H=st.integers(1, 3), num_layers=st.integers(1, 2),
       bidirectional=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_gated_bptt_is_exact(kind, T, B, D, H, num_layers, bidirectional, seed):
    params, x, states, d_out, d_states = problem(kind, seed, T, B, D, H, num_layers, bidirectional)
    _, grads = run(kind, params, x, states, d_out, d_states)
    report = gradcheck(lambda: run(kind, params, x, states, d_out, d_states)[0],
                       {"weight_hh_l0": params["weight_hh_l0"], "bias_hh_l0": params["bias_hh_l0"],
                        "input": x}, grads)
    assert report.passed(1e-6), f"\n{report}"


@given(steps=st.integers(1, 50), step_bytes=st.integers(1, 2**23), reverse=st.booleans())
def test_time_chunks_cover_every_step_once_in_loop_order(steps, step_bytes, reverse):
    chunks = time_chunks(steps, step_bytes, reverse)
    visited = [t for start, stop in chunks
               for t in (range(stop - 1, start - 1, -1) if reverse else range(start, stop))]
    assert visited == (list(range(steps))[::-1] if reverse else list(range(steps)))
    sizes = [stop - start for start, stop in chunks]
    assert max(sizes) == min(steps, max(1, rnnbook._chunks.CHUNK_BYTES // step_bytes))


def test_gru_biases_differ_only_on_the_candidate_block():
    params, x, states, d_out, d_states = problem("gru", 3, H=4)
    _, grads = run("gru", params, x, states, d_out, d_states)
    np.testing.assert_allclose(grads["bias_ih_l0"][:8], grads["bias_hh_l0"][:8])
    assert not np.allclose(grads["bias_ih_l0"][8:], grads["bias_hh_l0"][8:])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_float32_agrees_with_float64(kind):
    params, x, states, d_out, d_states = problem(kind, 4, T=20, B=3, num_layers=2, bidirectional=True)
    _, g64 = run(kind, params, x, states, d_out, d_states)
    to32 = lambda a: a.astype(np.float32)  # noqa: E731
    _, g32 = run(kind, {k: to32(v) for k, v in params.items()}, to32(x), [to32(s) for s in states],
                 to32(d_out), [to32(d) for d in d_states])
    for name, value in g64.items():
        assert g32[name].dtype == np.float32
        np.testing.assert_allclose(g32[name], value, atol=1e-4 * np.abs(value).max(), err_msg=name)


def test_layers_follow_pytorch_shapes_and_init():
    lstm = rnnbook.LSTM(3, 5, num_layers=2, bidirectional=True, seed=0)
    assert lstm.params["weight_ih_l0"].shape == (20, 3)
    assert lstm.params["weight_ih_l1_reverse"].shape == (20, 10)
    gru = rnnbook.GRU(3, 5, seed=0)
    assert gru.params["weight_hh_l0"].shape == (15, 5)
    assert np.abs(gru.params["weight_hh_l0"]).max() <= 1 / np.sqrt(5)
    out, (h_n, c_n) = lstm.forward(np.zeros((4, 2, 3)))
    assert out.shape == (4, 2, 10) and h_n.shape == c_n.shape == (4, 2, 5)
    grads = lstm.backward(np.ones_like(out))
    assert set(grads) == set(lstm.params) | {"input", "h0", "c0"}


def test_lstm_cell_gradient_through_time_is_the_forget_gate():
    """dc_t/dc_{t-1} = diag(f_t): with the forget gate pinned open and the input gate shut,
    the cell's gradient reaches c_0 undiminished over any number of steps."""
    H = 2
    lstm = rnnbook.LSTM(1, H, seed=0)
    p = lstm.params
    for name in p:
        p[name][:] = 0.0
    p["bias_ih_l0"][H:2 * H] = 50.0   # f = σ(50) = 1 in float64
    p["bias_ih_l0"][0:H] = -50.0      # i = 0: nothing is written into the cell
    x = np.random.default_rng(0).normal(size=(60, 1, 1))
    c0 = np.array([[[0.3, -0.7]]])
    out, (_, c_n) = lstm.forward(x, (np.zeros((1, 1, H)), c0))
    np.testing.assert_allclose(c_n, c0)
    grads = lstm.backward(np.zeros_like(out), (None, np.ones((1, 1, H))))
    np.testing.assert_allclose(grads["c0"], np.ones((1, 1, H)))


class TestBadInput:
    def test_lstm_state_must_be_a_pair(self):
        with pytest.raises(TypeError, match=r"state: expected a pair \(h, c\)"):
            rnnbook.LSTM(2, 3).forward(np.zeros((4, 1, 2)), np.zeros((1, 1, 3)))

    def test_mismatched_c0(self):
        with pytest.raises(ValueError, match=r"c0: expected shape \(L \* K, B, H\) = \(1, 1, 3\), got \(1, 2, 3\)"):
            rnnbook.LSTM(2, 3).forward(np.zeros((4, 1, 2)), (np.zeros((1, 1, 3)), np.zeros((1, 2, 3))))

    def test_nan_input(self):
        x = np.zeros((4, 1, 2))
        x[1, 0, 1] = np.nan
        with pytest.raises(ValueError, match="x: contains NaN or inf"):
            rnnbook.GRU(2, 3).forward(x)

    def test_empty_sequence(self):
        with pytest.raises(ValueError, match="x: expected at least one time step"):
            rnnbook.GRU(2, 3).forward(np.zeros((0, 1, 2)))

    def test_backward_before_forward(self):
        with pytest.raises(RuntimeError, match=r"GRU\.backward: call forward first"):
            rnnbook.GRU(2, 3).backward(np.zeros((4, 1, 3)))
        with pytest.raises(RuntimeError, match=r"LSTM\.backward: call forward first"):
            rnnbook.LSTM(2, 3).backward(np.zeros((4, 1, 3)))

    def test_wrong_d_out(self):
        gru = rnnbook.GRU(2, 3)
        gru.forward(np.zeros((4, 1, 2)))
        with pytest.raises(ValueError, match=r"d_out: expected shape \(T, B, K \* H\) = \(4, 1, 3\), got \(4, 1, 2\)"):
            gru.backward(np.zeros((4, 1, 2)))

    def test_wrong_d_c_n(self):
        lstm = rnnbook.LSTM(2, 3)
        out, _ = lstm.forward(np.zeros((4, 1, 2)))
        with pytest.raises(ValueError, match="d_c_n: expected shape"):
            lstm.backward(np.zeros_like(out), (None, np.zeros((2, 1, 3))))

    def test_rnn_params_are_not_lstm_params(self):
        with pytest.raises(ValueError, match="params"):
            lstm_forward(rnnbook.RNN(2, 3).params, np.zeros((4, 1, 2)))

    def test_cache_of_another_cell(self):
        _, _, cache = gru_forward(rnnbook.GRU(2, 3).params, np.zeros((4, 1, 2)))
        with pytest.raises(TypeError, match="cache: expected the cache of lstm_forward"):
            lstm_backward(rnnbook.LSTM(2, 3).params, cache, np.zeros((4, 1, 3)))


@pytest.mark.parametrize("cls", [rnnbook.RNN, rnnbook.LSTM, rnnbook.GRU])
def test_layers_reuse_memory_only_when_nobody_holds_it(cls):
    layer = cls(3, 4, seed=0)
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 3))
    out1, _ = layer.forward(x1)
    kept = out1.copy()
    out2, _ = layer.forward(x2)  # out1 is still held: its memory must not be reused
    np.testing.assert_array_equal(out1, kept)
    assert not np.shares_memory(out1, out2)
    del out1
    address = layer._cache.layers[0][0].states.ctypes.data
    del out2
    layer.forward(x1)  # nothing outside the layer refers to the last buffers now
    assert layer._cache.layers[0][0].states.ctypes.data == address
    # ...and the results are those of a fresh layer.
    fresh = cls(3, 4, seed=0)
    np.testing.assert_allclose(layer.forward(x2)[0], fresh.forward(x2)[0], rtol=0, atol=0)
    d_out = rng.normal(size=(5, 2, 4))
    for name, value in layer.backward(d_out).items():
        np.testing.assert_array_equal(value, fresh.backward(d_out)[name])
