"""Bad input gets a clear error naming the argument, what was expected and what was given."""

from __future__ import annotations

import numpy as np
import pytest

import rnnbook


@pytest.fixture
def rnn():
    return rnnbook.RNN(3, 4, num_layers=2, seed=0)


def test_wrong_rank(rnn):
    with pytest.raises(ValueError, match=r"x: expected a 3-d array of shape \(T, B, D\).*got 2-d shape \(5, 3\)"):
        rnn.forward(np.zeros((5, 3)))


def test_wrong_feature_size(rnn):
    with pytest.raises(ValueError, match=r"x: expected shape \(T, B, D\) = \('\*', '\*', 3\), got \(5, 2, 7\)"):
        rnn.forward(np.zeros((5, 2, 7)))


def test_batch_first_input_is_caught_by_its_feature_axis(rnn):
    with pytest.raises(ValueError, match=r"got \(2, 5, 4\)"):
        rnn.forward(np.zeros((2, 5, 4)))


def test_mismatched_h0(rnn):
    with pytest.raises(ValueError, match=r"h0: expected shape \(L \* K, B, H\) = \(2, 2, 4\), got \(1, 2, 4\)"):
        rnn.forward(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))


def test_h0_is_never_broadcast(rnn):
    with pytest.raises(ValueError, match="h0"):
        rnn.forward(np.zeros((5, 2, 3)), np.zeros((2, 1, 4)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(rnn, bad):
    x = np.zeros((5, 2, 3))
    x[2, 1, 0] = bad
    with pytest.raises(ValueError, match="x: contains NaN or inf"):
        rnn.forward(x)


def test_non_finite_h0(rnn):
    h0 = np.zeros((2, 2, 4))
    h0[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="h0: contains NaN or inf"):
        rnn.forward(np.zeros((5, 2, 3)), h0)


def test_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of \('tanh', 'relu'\), got 'sigmoid'"):
        rnnbook.RNN(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.complex128, "float128-ish"])
def test_unsupported_dtype(dtype):
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        rnnbook.RNN(3, 4, dtype=dtype)


def test_input_dtype_must_match_the_layer(rnn):
    with pytest.raises(TypeError, match="x: expected dtype float64, got float32"):
        rnn.forward(np.zeros((5, 2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="x: expected dtype float64, got int64"):
        rnn.forward(np.zeros((5, 2, 3), dtype=np.int64))


def test_input_must_be_an_array(rnn):
    with pytest.raises(TypeError, match=r"x: expected a numpy\.ndarray, got list"):
        rnn.forward([[[0.0, 0.0, 0.0]]])


def test_empty_sequence(rnn):
    with pytest.raises(ValueError, match=r"x: expected at least one time step, got shape \(0, 2, 3\)"):
        rnn.forward(np.zeros((0, 2, 3)))


def test_empty_batch(rnn):
    with pytest.raises(ValueError, match=r"x: expected a batch of at least one sequence"):
        rnn.forward(np.zeros((4, 0, 3)))


@pytest.mark.parametrize("name,value", [("input_size", 0), ("hidden_size", -1), ("num_layers", 0)])
def test_sizes_must_be_positive(name, value):
    sizes = {"input_size": 3, "hidden_size": 4, "num_layers": 1, name: value}
    with pytest.raises(ValueError, match=f"{name}: expected a positive int, got {value}"):
        rnnbook.RNN(**sizes)


def test_sizes_must_be_integers():
    with pytest.raises(TypeError, match="hidden_size: expected a positive int, got float"):
        rnnbook.RNN(3, 4.0)


def test_a_parameter_of_the_wrong_shape_is_named(rnn):
    rnn.params["weight_hh_l1"] = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"params\['weight_hh_l1'\]: expected shape \(4, 4\), got \(4, 5\)"):
        rnn.forward(np.zeros((5, 2, 3)))


def test_a_non_finite_parameter_is_named(rnn):
    rnn.params["bias_hh_l0"][1] = np.inf
    with pytest.raises(ValueError, match=r"params\['bias_hh_l0'\]: contains NaN or inf"):
        rnn.forward(np.zeros((5, 2, 3)))


def test_a_missing_parameter_is_named(rnn):
    del rnn.params["bias_ih_l1"]
    with pytest.raises(ValueError, match="params: expected keys"):
        rnn.forward(np.zeros((5, 2, 3)))
