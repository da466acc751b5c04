"""The Linear readout and the Sequential model: gradients, names, in-place training."""

from __future__ import annotations

import numpy as np
import pytest

import rnnbook
from rnnbook.gradcheck import gradcheck


def test_linear_matches_its_definition_and_finite_differences():
    rng = np.random.default_rng(0)
    layer = rnnbook.Linear(4, 3, seed=0)
    x = rng.normal(size=(5, 2, 4))
    out = layer.forward(x)
    np.testing.assert_allclose(out, np.einsum("tbi,oi->tbo", x, layer.params["weight"]) + layer.params["bias"])
    d_out = rng.normal(size=out.shape)
    grads = layer.backward(d_out)
    report = gradcheck(lambda: float(np.sum(layer.forward(x) * d_out)), dict(layer.params, input=x), grads)
    assert report.passed(1e-8), f"\n{report}"


def test_linear_init_follows_pytorch_bound():
    layer = rnnbook.Linear(16, 1000, seed=0)
    assert np.abs(layer.params["weight"]).max() <= 0.25
    assert layer.params["weight"].shape == (1000, 16) and layer.params["bias"].shape == (1000,)


def test_sequential_uses_pytorch_keys_and_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    model = rnnbook.Sequential(
        rnnbook.RNN(2, 4, num_layers=2, seed=0), rnnbook.Linear(4, 1, seed=1)
    )
    assert list(model.params)[:2] == ["0.weight_ih_l0", "0.weight_hh_l0"]
    assert list(model.params)[-2:] == ["1.weight", "1.bias"]
    x = rng.normal(size=(6, 3, 2))
    target = rng.normal(size=(6, 3, 1))
    _, d_y = rnnbook.mse_loss(model.forward(x), target)
    grads = model.backward(d_y)
    assert list(grads) == [*model.params, "input"]
    assert model.grads is grads
    report = gradcheck(lambda: rnnbook.mse_loss(model.forward(x), target)[0],
                       dict(model.params, input=x), grads)
    assert report.passed(1e-6), f"\n{report}"


def test_training_a_sequential_model_lowers_its_loss():
    rng = np.random.default_rng(2)
    model = rnnbook.Sequential(rnnbook.RNN(1, 8, seed=0), rnnbook.Linear(8, 1, seed=1))
    x = rng.normal(size=(10, 16, 1))
    target = np.cumsum(x, axis=0) / 3  # a running sum: needs memory
    opt = rnnbook.Adam(model.params, lr=0.02)
    losses = []
    for _ in range(150):
        loss, d_y = rnnbook.mse_loss(model.forward(x), target)
        opt.step(model.backward(d_y))
        losses.append(loss)
    assert losses[-1] < 0.2 * losses[0]


def test_linear_errors():
    layer = rnnbook.Linear(4, 3)
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., in_features\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(RuntimeError, match="call forward first"):
        rnnbook.Linear(4, 3).backward(np.zeros((2, 3)))
    layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"d_out: expected shape \(2, 3\), got \(2, 4\)"):
        layer.backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="layers: expected at least one layer"):
        rnnbook.Sequential()


def test_sigmoid_takes_numbers_lists_and_keeps_float32():
    from rnnbook import sigmoid

    assert sigmoid(0.0) == 0.5 and abs(sigmoid(1.0) - 1 / (1 + np.exp(-1.0))) < 1e-15
    np.testing.assert_allclose(sigmoid([0, 2]), [0.5, 1 / (1 + np.exp(-2.0))], rtol=1e-15)
    assert sigmoid(np.zeros(3, np.float32)).dtype == np.float32
    out = np.empty(2)
    assert sigmoid(np.array([0.0, 0.0]), out=out) is out
