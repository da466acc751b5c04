"""Initialisers of rnnbook.init: orthogonality, Haar statistics, gate blocks, IRNN, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.init import haar_orthogonal, identity_, init_recurrent, orthogonal_, set_forget_bias

sizes = st.integers(min_value=1, max_value=12)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
gains = st.floats(min_value=0.05, max_value=5.0)


# --- orthogonal_ ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(n=sizes, seed=seeds, gain=gains)
def test_square_orthogonal_has_every_singular_value_equal_to_gain(n, seed, gain):
    W = orthogonal_(np.empty((n, n)), gain=gain, seed=seed)
    np.testing.assert_allclose(W.T @ W, gain**2 * np.eye(n), atol=1e-12 * gain**2)
    np.testing.assert_allclose(W @ W.T, gain**2 * np.eye(n), atol=1e-12 * gain**2)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), gain, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(rows=sizes, cols=sizes, seed=seeds)
def test_rectangular_orthogonal_follows_torch(rows, cols, seed):
    """Tall: orthonormal columns; wide: orthonormal rows (torch.nn.init.orthogonal_)."""
    W = orthogonal_(np.empty((rows, cols)), seed=seed)
    small = min(rows, cols)
    gram = W.T @ W if rows >= cols else W @ W.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 1.0, rtol=1e-12)


def test_orthogonal_acts_in_place_and_returns_the_array():
    W = np.zeros((5, 5))
    out = orthogonal_(W, seed=0)
    assert out is W and not np.allclose(W, 0)


def test_orthogonal_float32():
    W = orthogonal_(np.empty((16, 16), dtype=np.float32), seed=1)
    assert W.dtype == np.float32
    np.testing.assert_allclose(W.T @ W, np.eye(16), atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(n=sizes, seed=seeds)
def test_orthogonal_is_determined_by_its_seed(n, seed):
    a = orthogonal_(np.empty((n, n)), seed=seed)
    b = orthogonal_(np.empty((n, n)), seed=seed)
    np.testing.assert_array_equal(a, b)
    if n > 1:
        assert not np.allclose(a, orthogonal_(np.empty((n, n)), seed=seed + 1))


def test_a_generator_is_advanced_not_restarted():
    rng = np.random.default_rng(3)
    a = orthogonal_(np.empty((4, 4)), seed=rng)
    b = orthogonal_(np.empty((4, 4)), seed=rng)
    assert not np.allclose(a, b)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), gates=st.integers(1, 4), seed=seeds, gain=gains)
def test_blocks_are_each_orthogonal(n, gates, seed, gain):
    W = orthogonal_(np.empty((gates * n, n)), gain=gain, seed=seed, blocks=gates)
    for k in range(gates):
        block = W[k * n:(k + 1) * n]
        np.testing.assert_allclose(block.T @ block, gain**2 * np.eye(n), atol=1e-12 * gain**2)


def test_whole_stacked_matrix_is_not_blockwise_orthogonal():
    """Negative control: torch's semantics on (4H, H) spread W^T W = I over the gates."""
    n, gates = 6, 4
    whole = orthogonal_(np.empty((gates * n, n)), seed=0)
    np.testing.assert_allclose(whole.T @ whole, np.eye(n), atol=1e-12)
    blocks = [whole[k * n:(k + 1) * n] for k in range(gates)]
    # sum_k tr(B_k^T B_k) = tr(I) = n, so the blocks' mean squared singular value is 1/gates
    mean_square = np.mean([np.sum(b * b) / n for b in blocks])
    np.testing.assert_allclose(mean_square, 1 / gates, rtol=1e-12)
    assert not np.allclose(blocks[0].T @ blocks[0], np.eye(n), atol=0.1)


@pytest.mark.parametrize("gates", [3, 4])
def test_whole_stacked_blocks_spread_their_singular_values(gates):
    """The module docstring: per block, singular values fill about [0, 2 sqrt(G - 1) / G]."""
    n = 128
    whole = orthogonal_(np.empty((gates * n, n)), seed=gates)
    edge = 2 * np.sqrt(gates - 1) / gates
    squares = []
    for k in range(gates):
        sv = np.linalg.svd(whole[k * n:(k + 1) * n], compute_uv=False)
        assert sv.min() < 0.05
        np.testing.assert_allclose(sv.max(), edge, rtol=0.05)
        squares.append(np.mean(sv**2))
    np.testing.assert_allclose(np.mean(squares), 1 / gates, rtol=1e-12)  # exact on average
    assert not np.allclose(squares, 1 / gates, rtol=1e-6)  # not block by block


# --- the Haar distribution ---------------------------------------------------------------------

def _moments(draw, n, count, seed):
    """Mean and standard error of Q[0, 0] and of (tr Q)^2 over ``count`` draws."""
    rng = np.random.default_rng(seed)
    corner, trace_sq = np.empty(count), np.empty(count)
    for i in range(count):
        Q = draw(n, rng)
        corner[i], trace_sq[i] = Q[0, 0], np.trace(Q) ** 2
    se = lambda v: v.std(ddof=1) / np.sqrt(count)  # noqa: E731
    return (corner.mean(), se(corner)), (trace_sq.mean(), se(trace_sq))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_haar_moments(seed):
    """For Haar Q in O(n): E[Q_00] = 0 (symmetry) and E[(tr Q)^2] = 1 (Diaconis-Shahshahani)."""
    n, count = 5, 4000
    (corner, se_c), (trace_sq, se_t) = _moments(
        lambda n, rng: haar_orthogonal(n, n, rng), n, count, seed)
    assert abs(corner) < 4 * se_c
    assert abs(trace_sq - 1.0) < 4 * se_t


def test_qr_without_the_sign_correction_is_not_haar():
    """Negative control: LAPACK's Q alone fails the same moments by many standard errors."""
    n, count = 5, 4000
    (corner, se_c), (trace_sq, se_t) = _moments(
        lambda n, rng: np.linalg.qr(rng.standard_normal((n, n)))[0], n, count, 0)
    assert abs(corner) > 10 * se_c or abs(trace_sq - 1.0) > 10 * se_t


def test_torch_orthogonal_has_the_same_statistics():
    """Not the same numbers (another generator), the same distribution's moments."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    n, count = 5, 2000
    trace_sq = np.array([
        float(torch.trace(torch.nn.init.orthogonal_(torch.empty(n, n, dtype=torch.float64))) ** 2)
        for _ in range(count)
    ])
    ours = np.array([np.trace(orthogonal_(np.empty((n, n)), seed=s)) ** 2 for s in range(count)])
    se = np.hypot(trace_sq.std(ddof=1), ours.std(ddof=1)) / np.sqrt(count)
    assert abs(trace_sq.mean() - ours.mean()) < 4 * se


# --- identity_ ---------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), gates=st.integers(1, 4), gain=gains)
def test_identity_blocks(n, gates, gain):
    W = identity_(np.full((gates * n, n), np.nan), gain=gain, blocks=gates)
    np.testing.assert_array_equal(W, np.tile(gain * np.eye(n), (gates, 1)))


def test_identity_rectangular_like_eye_():
    np.testing.assert_array_equal(identity_(np.ones((2, 4))), np.eye(2, 4))
    np.testing.assert_array_equal(identity_(np.ones((4, 2))), np.eye(4, 2))


# --- init_recurrent ----------------------------------------------------------------------------

LAYERS = [
    lambda: rnnbook.RNN(3, 5, num_layers=2, bidirectional=True, seed=0),
    lambda: rnnbook.LSTM(3, 5, num_layers=2, bidirectional=True, seed=0),
    lambda: rnnbook.GRU(3, 5, num_layers=2, bidirectional=True, seed=0),
]


@pytest.mark.parametrize("make", LAYERS, ids=["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_init_recurrent_orthogonal_sets_every_gate_block(make, gain):
    layer = make()
    before = {name: value.copy() for name, value in layer.params.items()}
    arrays = dict(layer.params)
    init_recurrent(layer, "orthogonal", gain=gain, seed=1)
    H, G = layer.hidden_size, layer.gates
    recurrent = [name for name in layer.params if name.startswith("weight_hh_")]
    assert len(recurrent) == 4  # two layers, two directions
    for name, value in layer.params.items():
        assert value is arrays[name]  # in place: an optimiser's references stay valid
        if name in recurrent:
            assert value.shape == (G * H, H)
            for k in range(G):
                block = value[k * H:(k + 1) * H]
                np.testing.assert_allclose(block.T @ block, gain**2 * np.eye(H), atol=1e-12)
        else:
            np.testing.assert_array_equal(value, before[name])  # inputs and biases untouched
    # each weight_hh_* and each gate block has its own draw (not one Q reused)
    assert not np.allclose(layer.params["weight_hh_l0"], layer.params["weight_hh_l1"])
    if G > 1:
        w = layer.params["weight_hh_l0"]
        for k in range(1, G):
            assert not np.allclose(w[:H], w[k * H:(k + 1) * H])


def test_init_recurrent_is_determined_by_its_seed():
    a = init_recurrent(rnnbook.LSTM(2, 4, seed=0), seed=7)
    b = init_recurrent(rnnbook.LSTM(2, 4, seed=0), seed=7)
    c = init_recurrent(rnnbook.LSTM(2, 4, seed=0), seed=8)
    np.testing.assert_array_equal(a.params["weight_hh_l0"], b.params["weight_hh_l0"])
    assert not np.allclose(a.params["weight_hh_l0"], c.params["weight_hh_l0"])


@pytest.mark.parametrize("make", LAYERS, ids=["RNN", "LSTM", "GRU"])
def test_init_recurrent_identity_zeros_the_biases_of_a_plain_rnn_only(make):
    """IRNN: a plain RNN's biases go to zero; a gated layer keeps its (forget-gate) biases."""
    layer = make()
    before = {name: value.copy() for name, value in layer.params.items()}
    init_recurrent(layer, "identity")
    H, G = layer.hidden_size, layer.gates
    for name, value in layer.params.items():
        if name.startswith("weight_hh_"):
            np.testing.assert_array_equal(value, np.tile(np.eye(H), (G, 1)))
        elif name.startswith("bias_") and isinstance(layer, rnnbook.RNN):
            np.testing.assert_array_equal(value, 0.0)
        else:  # weight_ih_*, and a gated layer's biases: PyTorch's draw kept
            np.testing.assert_array_equal(value, before[name])
            assert np.count_nonzero(value) == value.size


def test_identity_keeps_an_lstm_forget_bias():
    """Negative control of the old behaviour: the forget-gate bias set before survives."""
    lstm = set_forget_bias(rnnbook.LSTM(2, 4, seed=0), 1.0)
    init_recurrent(lstm, "identity")
    total = lstm.params["bias_ih_l0"] + lstm.params["bias_hh_l0"]
    np.testing.assert_array_equal(total[4:8], 1.0)
    zeroed = init_recurrent(set_forget_bias(rnnbook.LSTM(2, 4, seed=0), 1.0), "identity",
                            zero_bias=True)  # asked for explicitly
    np.testing.assert_array_equal(zeroed.params["bias_ih_l0"], 0.0)


def test_zero_bias_overrides_the_scheme():
    kept = init_recurrent(rnnbook.RNN(2, 4, seed=0), "identity", zero_bias=False)
    assert np.count_nonzero(kept.params["bias_ih_l0"]) == 4
    zeroed = init_recurrent(rnnbook.RNN(2, 4, seed=0), "orthogonal", seed=0, zero_bias=True)
    np.testing.assert_array_equal(zeroed.params["bias_hh_l0"], 0.0)


def test_irnn_copies_its_state_for_zero_input():
    """ReLU + identity + zero bias: h_t = relu(h_{t-1}) = h_{t-1} for a positive state."""
    rnn = init_recurrent(rnnbook.RNN(2, 6, nonlinearity="relu", seed=0), "identity")
    h0 = np.random.default_rng(0).uniform(0.1, 1.0, size=(1, 3, 6))
    out, _ = rnn.forward(np.zeros((20, 3, 2)), h0)
    np.testing.assert_array_equal(out, np.broadcast_to(h0, out.shape))
    grads = rnn.backward(np.zeros_like(out), np.ones((1, 3, 6)))
    np.testing.assert_array_equal(grads["h0"], 1.0)  # the gradient comes back unchanged
    # negative control: tanh with the same weights shrinks both
    tanh = init_recurrent(rnnbook.RNN(2, 6, seed=0), "identity")
    out, _ = tanh.forward(np.zeros((20, 3, 2)), h0)
    assert np.all(out[-1] < h0[0])


def test_pytorch_scheme_redraws_the_default():
    layer = init_recurrent(rnnbook.GRU(3, 16, seed=0), "orthogonal", seed=0)
    init_recurrent(layer, "pytorch", seed=5)
    W = layer.params["weight_hh_l0"]
    bound = 1 / np.sqrt(16)
    assert np.all(np.abs(W) <= bound) and W.max() > 0.9 * bound and W.min() < -0.9 * bound
    # uniform(-a, a) has variance a^2 / 3; 768 draws give its standard error
    var, n = W.var(), W.size
    assert abs(var - bound**2 / 3) < 4 * bound**2 * np.sqrt(4 / 45 / n)
    same = init_recurrent(rnnbook.GRU(3, 16, seed=0), "pytorch", seed=5)
    np.testing.assert_array_equal(same.params["weight_hh_l0"], W)


@pytest.mark.parametrize("make", LAYERS, ids=["RNN", "LSTM", "GRU"])
def test_pytorch_scheme_undoes_identity_biases_included(make):
    layer = init_recurrent(make(), "identity", zero_bias=True)
    weight_ih = {n: v.copy() for n, v in layer.params.items() if n.startswith("weight_ih_")}
    init_recurrent(layer, "pytorch", seed=3)
    bound = 1 / np.sqrt(layer.hidden_size)
    biases = [v for n, v in layer.params.items() if n.startswith("bias_")]
    assert len(biases) == 8  # two layers, two directions, ih and hh
    for value in biases:
        assert np.count_nonzero(value) == value.size and np.all(np.abs(value) <= bound)
    drawn = np.concatenate(biases)
    assert drawn.max() > 0.5 * bound and drawn.min() < -0.5 * bound  # spread over the interval
    assert not np.allclose(biases[0], biases[1])  # each bias its own draw
    for name, value in weight_ih.items():  # the input weights are never touched
        np.testing.assert_array_equal(layer.params[name], value)
    # zero_bias=True still wins over the redraw
    zeroed = init_recurrent(make(), "pytorch", seed=3, zero_bias=True)
    np.testing.assert_array_equal(zeroed.params["bias_hh_l0"], 0.0)


def test_float32_layer_stays_float32():
    layer = init_recurrent(rnnbook.RNN(2, 8, dtype=np.float32, seed=0), seed=0)
    W = layer.params["weight_hh_l0"]
    assert W.dtype == np.float32
    np.testing.assert_allclose(W.T @ W, np.eye(8), atol=1e-6)


# --- set_forget_bias ---------------------------------------------------------------------------

def test_set_forget_bias_sets_the_sum_of_both_biases():
    lstm = rnnbook.LSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    before = {name: value.copy() for name, value in lstm.params.items()}
    set_forget_bias(lstm, 1.5)
    H = 4
    forget = slice(H, 2 * H)
    for suffix in ("l0", "l1", "l0_reverse", "l1_reverse"):
        b_ih, b_hh = lstm.params[f"bias_ih_{suffix}"], lstm.params[f"bias_hh_{suffix}"]
        np.testing.assert_array_equal(b_ih[forget] + b_hh[forget], 1.5)
        for other in (slice(0, H), slice(2 * H, 4 * H)):  # i, then g and o
            np.testing.assert_array_equal(b_ih[other], before[f"bias_ih_{suffix}"][other])
            np.testing.assert_array_equal(b_hh[other], before[f"bias_hh_{suffix}"][other])
    # negative control: setting only b_ih (by hand) leaves PyTorch's random b_hh in the sum
    by_hand = rnnbook.LSTM(3, 4, seed=0)
    by_hand.params["bias_ih_l0"][forget] = 1.5
    total = by_hand.params["bias_ih_l0"][forget] + by_hand.params["bias_hh_l0"][forget]
    assert not np.allclose(total, 1.5)


def test_forget_bias_opens_the_gate():
    lstm = set_forget_bias(rnnbook.LSTM(1, 3, seed=0), 40.0)
    lstm.params["weight_ih_l0"][...] = 0.0
    lstm.params["weight_hh_l0"][...] = 0.0
    c0 = np.ones((1, 2, 3))
    _, (_, c_n) = lstm.forward(np.zeros((5, 2, 1)), (np.zeros((1, 2, 3)), c0))
    g = np.tanh(lstm.params["bias_ih_l0"][6:9] + lstm.params["bias_hh_l0"][6:9])
    i = rnnbook.sigmoid(lstm.params["bias_ih_l0"][:3] + lstm.params["bias_hh_l0"][:3])
    np.testing.assert_allclose(c_n[0], np.tile(1.0 + 5 * i * g, (2, 1)), rtol=1e-12)  # f = 1: c_t = c_{t-1} + i g


# --- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("gain", "error"), [
    (0.0, ValueError), (-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
    ("1", TypeError), (True, TypeError), (None, TypeError),
])
def test_bad_gain(gain, error):
    with pytest.raises(error, match="gain"):
        orthogonal_(np.empty((3, 3)), gain=gain)
    with pytest.raises(error, match="gain"):
        identity_(np.empty((3, 3)), gain=gain)
    with pytest.raises(error, match="gain"):
        init_recurrent(rnnbook.RNN(2, 3, seed=0), gain=gain)


def test_bad_arrays():
    with pytest.raises(TypeError, match=r"array: expected a numpy\.ndarray, got list"):
        orthogonal_([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match="array: expected dtype float32 or float64, got int64"):
        orthogonal_(np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"array: expected a 2-d array \(rows, cols\), got shape \(3,\)"):
        identity_(np.zeros(3))
    with pytest.raises(ValueError, match="blocks: expected a divisor of the number of rows 10, got 4"):
        orthogonal_(np.zeros((10, 3)), blocks=4)
    with pytest.raises(ValueError, match="blocks"):
        identity_(np.zeros((4, 4)), blocks=0)


def test_bad_layer_and_scheme():
    with pytest.raises(ValueError, match=r"scheme: expected one of \('orthogonal', 'identity', 'pytorch'\), got 'xavier'"):
        init_recurrent(rnnbook.RNN(2, 3, seed=0), "xavier")
    with pytest.raises(TypeError, match="layer: expected an rnnbook RNN or LSTM or GRU, got Linear"):
        init_recurrent(rnnbook.Linear(2, 3, seed=0))
    with pytest.raises(ValueError, match="gain: the 'pytorch' scheme has no gain"):
        init_recurrent(rnnbook.RNN(2, 3, seed=0), "pytorch", gain=2.0)
    with pytest.raises(TypeError, match="zero_bias"):
        init_recurrent(rnnbook.RNN(2, 3, seed=0), zero_bias=1)


def test_non_square_gate_block_is_refused():
    lstm = rnnbook.LSTM(2, 3, seed=0)
    lstm.params["weight_hh_l0"] = np.zeros((12, 4))
    with pytest.raises(ValueError, match=r"weight_hh_l0: expected shape \(G \* H, H\) = \(12, 3\).*got \(12, 4\)"):
        init_recurrent(lstm)


def test_set_forget_bias_errors():
    with pytest.raises(TypeError, match="lstm: expected an rnnbook LSTM, got GRU"):
        set_forget_bias(rnnbook.GRU(2, 3, seed=0), 1.0)
    with pytest.raises(ValueError, match="value: expected a finite number, got nan"):
        set_forget_bias(rnnbook.LSTM(2, 3, seed=0), np.nan)
    with pytest.raises(TypeError, match="value"):
        set_forget_bias(rnnbook.LSTM(2, 3, seed=0), "1")
