"""The RNN layer's forward pass: PyTorch's names, shapes and initialisation, and the
textbook loop computed to the last bits."""

from __future__ import annotations

import numpy as np
import pytest

import rnnbook
from rnnbook.functional import rnn_forward
from rnnbook.reference import reference_rnn_forward


def make(input_size=3, hidden_size=4, num_layers=1, bidirectional=False, **kwargs):
    return rnnbook.RNN(input_size, hidden_size, num_layers, bidirectional=bidirectional,
                       seed=0, **kwargs)


def test_parameter_names_and_shapes_follow_pytorch():
    rnn = make(3, 4, num_layers=2, bidirectional=True)
    assert {name: value.shape for name, value in rnn.params.items()} == {
        "weight_ih_l0": (4, 3), "weight_hh_l0": (4, 4), "bias_ih_l0": (4,), "bias_hh_l0": (4,),
        "weight_ih_l0_reverse": (4, 3), "weight_hh_l0_reverse": (4, 4),
        "bias_ih_l0_reverse": (4,), "bias_hh_l0_reverse": (4,),
        "weight_ih_l1": (4, 8), "weight_hh_l1": (4, 4), "bias_ih_l1": (4,), "bias_hh_l1": (4,),
        "weight_ih_l1_reverse": (4, 8), "weight_hh_l1_reverse": (4, 4),
        "bias_ih_l1_reverse": (4,), "bias_hh_l1_reverse": (4,),
    }
    assert list(rnn.params)[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]


def test_initialisation_is_uniform_within_one_over_sqrt_hidden_and_seeded():
    rnn = make(8, 100)
    bound = 1 / np.sqrt(100)
    values = np.concatenate([p.ravel() for p in rnn.params.values()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound  # it fills the interval, not a corner of it
    assert abs(values.mean()) < 0.05 * bound
    again = make(8, 100)
    for name in rnn.params:
        np.testing.assert_array_equal(rnn.params[name], again.params[name])
    other = rnnbook.RNN(8, 100, seed=1)
    assert not np.array_equal(rnn.params["weight_hh_l0"], other.params["weight_hh_l0"])


def test_seed_accepts_a_generator():
    a = rnnbook.RNN(2, 3, seed=np.random.default_rng(5))
    b = rnnbook.RNN(2, 3, seed=5)
    np.testing.assert_array_equal(a.params["weight_ih_l0"], b.params["weight_ih_l0"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_shapes_and_dtype(dtype):
    rnn = make(3, 4, num_layers=2, bidirectional=True, dtype=dtype)
    out, h_n = rnn.forward(np.ones((5, 2, 3), dtype=dtype))
    assert out.shape == (5, 2, 8) and h_n.shape == (4, 2, 4)
    assert out.dtype == dtype and h_n.dtype == dtype


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True), (3, True)])
def test_forward_equals_the_textbook_loop(nonlinearity, num_layers, bidirectional):
    rng = np.random.default_rng(3)
    rnn = make(3, 4, num_layers, bidirectional, nonlinearity=nonlinearity)
    directions = 2 if bidirectional else 1
    x = rng.normal(size=(6, 2, 3))
    h0 = rng.normal(size=(num_layers * directions, 2, 4))
    out, h_n = rnn.forward(x, h0)
    ref_out, ref_h_n = reference_rnn_forward(rnn.params, x, h0, nonlinearity=nonlinearity)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n, ref_h_n, rtol=1e-12, atol=1e-14)


def test_one_step_by_hand():
    rnn = make(2, 2)
    p = rnn.params
    x = np.array([[[1.0, -2.0]]])
    out, _ = rnn.forward(x)
    z = p["weight_ih_l0"] @ x[0, 0] + p["bias_ih_l0"] + p["bias_hh_l0"]
    np.testing.assert_allclose(out[0, 0], np.tanh(z), rtol=1e-14)


def test_relu_states_are_nonnegative_and_tanh_states_bounded():
    rng = np.random.default_rng(0)
    x = 10 * rng.normal(size=(20, 4, 3))
    assert (make(nonlinearity="relu").forward(x)[0] >= 0).all()
    assert (np.abs(make().forward(x)[0]) <= 1).all()


def test_reverse_direction_reads_from_the_end():
    rnn = make(2, 3, bidirectional=True)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 1, 2))
    out, h_n = rnn.forward(x)
    forward_only = {k: v for k, v in rnn.params.items() if not k.endswith("_reverse")}
    reverse_as_forward = {k.removesuffix("_reverse"): v for k, v in rnn.params.items()
                          if k.endswith("_reverse")}
    fwd, _, _ = rnn_forward(forward_only, x)
    bwd, _, _ = rnn_forward(reverse_as_forward, x[::-1].copy())
    np.testing.assert_allclose(out[..., :3], fwd, rtol=1e-13)
    np.testing.assert_allclose(out[..., 3:], bwd[::-1], rtol=1e-13)
    np.testing.assert_allclose(h_n[1], out[0, :, 3:])  # the reverse direction ends at t = 1


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 4, 3))
    rnn64 = make(3, 8)
    rnn32 = make(3, 8, dtype=np.float32)
    rnn32.params = {k: v.astype(np.float32) for k, v in rnn64.params.items()}
    out64, _ = rnn64.forward(x)
    out32, _ = rnn32.forward(x.astype(np.float32))
    np.testing.assert_allclose(out32, out64, atol=1e-5)


def test_output_is_read_only_so_the_cache_stays_valid():
    out, _ = make().forward(np.ones((3, 1, 3)))
    with pytest.raises(ValueError, match="read-only"):
        out[0] = 0
