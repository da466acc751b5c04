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


CASES = [
    pytest.param(cell, layers, bi, nl, id=f"{cell}-L{layers}-{'bi' if bi else 'uni'}-{nl}")
    for cell, nls in (("RNN", ("tanh", "relu")), ("LSTM", ("tanh",)), ("GRU", ("tanh",)))
    for layers, bi in ((1, False), (2, False), (2, True))
    for nl in nls
]


@pytest.mark.parametrize("cell,num_layers,bidirectional,nonlinearity", CASES)
def test_outputs_and_gradients_equal_torch(cell, num_layers, bidirectional, nonlinearity):
    """Same weights, inputs, initial states and upstream gradients: the same outputs, final
    states and gradients of every parameter, the input and the initial states."""
    rng = np.random.default_rng(0)
    T, B, D, H = 6, 3, 4, 5
    K = 2 if bidirectional else 1
    extra = {"nonlinearity": nonlinearity} if cell == "RNN" else {}
    ours = getattr(rnnbook, cell)(D, H, num_layers, bidirectional=bidirectional, seed=1, **extra)
    theirs = getattr(torch.nn, cell)(D, H, num_layers, bidirectional=bidirectional,
                                     dtype=torch.float64, **extra)
    theirs.load_state_dict({k: as_torch(v) for k, v in ours.params.items()}, strict=True)

    names = ("h0", "c0") if cell == "LSTM" else ("h0",)
    x = rng.normal(size=(T, B, D))
    starts = [rng.normal(size=(num_layers * K, B, H)) for _ in names]
    d_out = rng.normal(size=(T, B, K * H))
    d_finals = [rng.normal(size=s.shape) for s in starts]

    pack = tuple if cell == "LSTM" else (lambda states: states[0])
    out, finals = ours.forward(x, pack(starts))
    grads = ours.backward(d_out, pack(d_finals))
    finals = finals if cell == "LSTM" else (finals,)

    x_t, starts_t = as_torch(x, True), [as_torch(s, True) for s in starts]
    out_t, finals_t = theirs(x_t, pack(starts_t))
    finals_t = finals_t if cell == "LSTM" else (finals_t,)
    loss = (out_t * as_torch(d_out)).sum()
    for final_t, d_final in zip(finals_t, d_finals, strict=True):
        loss = loss + (final_t * as_torch(d_final)).sum()
    loss.backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for final, final_t in zip(finals, finals_t, strict=True):
        np.testing.assert_allclose(final, final_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(grads["input"], x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, start_t in zip(names, starts_t, strict=True):
        np.testing.assert_allclose(grads[name], start_t.grad.numpy(), rtol=1e-10, atol=1e-12)


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

