"""rnnbook's weights load into PyTorch unchanged and give the same numbers.

Skipped when torch is not installed: it is never a requirement of the book or the tests.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnbook

torch = pytest.importorskip("torch")


def as_torch(array, requires_grad=False):
    return torch.from_numpy(np.array(array)).requires_grad_(requires_grad)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_rnn_outputs_and_gradients_equal_torch(num_layers, bidirectional, nonlinearity):
    rng = np.random.default_rng(0)
    T, B, D, H = 6, 3, 4, 5
    K = 2 if bidirectional else 1
    ours = rnnbook.RNN(D, H, num_layers, nonlinearity, bidirectional, seed=1)
    theirs = torch.nn.RNN(D, H, num_layers, nonlinearity=nonlinearity,
                          bidirectional=bidirectional, dtype=torch.float64)
    theirs.load_state_dict({k: as_torch(v) for k, v in ours.params.items()}, strict=True)

    x = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(num_layers * K, B, H))
    d_out = rng.normal(size=(T, B, K * H))
    d_h_n = rng.normal(size=(num_layers * K, B, H))

    out, h_n = ours.forward(x, h0)
    grads = ours.backward(d_out, d_h_n)

    x_t, h0_t = as_torch(x, True), as_torch(h0, True)
    out_t, h_n_t = theirs(x_t, h0_t)
    ((out_t * as_torch(d_out)).sum() + (h_n_t * as_torch(d_h_n)).sum()).backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_n, h_n_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(grads["input"], x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["h0"], h0_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sequential_keys_are_pytorch_state_dict_keys():
    model = rnnbook.Sequential(rnnbook.RNN(2, 3, num_layers=2, seed=0), rnnbook.Linear(3, 4, seed=1))
    theirs = torch.nn.Sequential(torch.nn.RNN(2, 3, num_layers=2), torch.nn.Linear(3, 4)).double()
    assert list(model.params) == list(theirs.state_dict())
    theirs.load_state_dict({k: as_torch(v) for k, v in model.params.items()}, strict=True)


def test_losses_equal_torch():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 3, 4))
    target = rng.integers(0, 4, size=(5, 3))
    loss, grad = rnnbook.cross_entropy_loss(logits, target)
    logits_t = as_torch(logits, True)
    loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, 4), as_torch(target).reshape(-1))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, logits_t.grad.numpy(), rtol=1e-10, atol=1e-14)

    prediction, y = rng.normal(size=(5, 3, 2)), rng.normal(size=(5, 3, 2))
    loss, grad = rnnbook.mse_loss(prediction, y)
    prediction_t = as_torch(prediction, True)
    loss_t = torch.nn.functional.mse_loss(prediction_t, as_torch(y))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, prediction_t.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_lstm_outputs_and_gradients_equal_torch(num_layers, bidirectional):
    rng = np.random.default_rng(2)
    T, B, D, H = 6, 3, 4, 5
    K = 2 if bidirectional else 1
    ours = rnnbook.LSTM(D, H, num_layers, bidirectional, seed=1)
    theirs = torch.nn.LSTM(D, H, num_layers, bidirectional=bidirectional, dtype=torch.float64)
    theirs.load_state_dict({k: as_torch(v) for k, v in ours.params.items()}, strict=True)
    x, h0, c0 = (rng.normal(size=s) for s in ((T, B, D), (num_layers * K, B, H), (num_layers * K, B, H)))
    d_out, d_h, d_c = (rng.normal(size=s) for s in ((T, B, K * H), h0.shape, c0.shape))

    out, (_, c_n) = ours.forward(x, (h0, c0))
    grads = ours.backward(d_out, (d_h, d_c))
    x_t, h0_t, c0_t = as_torch(x, True), as_torch(h0, True), as_torch(c0, True)
    out_t, (h_t, c_t) = theirs(x_t, (h0_t, c0_t))
    ((out_t * as_torch(d_out)).sum() + (h_t * as_torch(d_h)).sum()
     + (c_t * as_torch(d_c)).sum()).backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c_n, c_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), rtol=1e-10, atol=1e-12)
    for ours_name, tensor in (("input", x_t), ("h0", h0_t), ("c0", c0_t)):
        np.testing.assert_allclose(grads[ours_name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_gru_outputs_and_gradients_equal_torch(num_layers, bidirectional):
    rng = np.random.default_rng(3)
    T, B, D, H = 6, 3, 4, 5
    K = 2 if bidirectional else 1
    ours = rnnbook.GRU(D, H, num_layers, bidirectional, seed=1)
    theirs = torch.nn.GRU(D, H, num_layers, bidirectional=bidirectional, dtype=torch.float64)
    theirs.load_state_dict({k: as_torch(v) for k, v in ours.params.items()}, strict=True)
    x, h0 = rng.normal(size=(T, B, D)), rng.normal(size=(num_layers * K, B, H))
    d_out, d_h = rng.normal(size=(T, B, K * H)), rng.normal(size=h0.shape)

    out, h_n = ours.forward(x, h0)
    grads = ours.backward(d_out, d_h)
    x_t, h0_t = as_torch(x, True), as_torch(h0, True)
    out_t, h_t = theirs(x_t, h0_t)
    ((out_t * as_torch(d_out)).sum() + (h_t * as_torch(d_h)).sum()).backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_n, h_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["input"], x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["h0"], h0_t.grad.numpy(), rtol=1e-10, atol=1e-12)
