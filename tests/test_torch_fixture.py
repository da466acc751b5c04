"""rnnbook reproduces numbers that PyTorch computed, without torch installed.

``fixtures/torch_reference.npz`` holds, for ``nn.RNN`` (tanh, ReLU), ``nn.LSTM`` and
``nn.GRU`` in float64, seeded weights under PyTorch's names, inputs, initial states, and
torch's outputs, final states and gradients of a fixed linear functional of them
(``fixtures/make_torch_fixture.py`` says how to regenerate it). Loading the same weights into
rnnbook's layers must give the same numbers; so the gate orders (LSTM: i, f, g, o; GRU: r, z,
n), the ``_l1``/``_reverse`` names and the ``h_n`` layout are checked on every run, while
``test_torch_interop.py`` needs torch and skips without it. The negative controls swap two
gate blocks, or read ``h_n`` in the other layout, and must fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import rnnbook

FIXTURE = Path(__file__).parent / "fixtures" / "torch_reference.npz"
CASES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(autouse=True)
def no_torch(monkeypatch):
    """Make ``import torch`` fail during each test: the checks must not need it."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.fixture(scope="module")
def stored():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def case(stored, name):
    """The arrays of one case, without the ``"<name>."`` prefix."""
    prefix = f"{name}."
    return {key[len(prefix):]: value for key, value in stored.items() if key.startswith(prefix)}


def build(name, arrays, params=None):
    """The rnnbook layer of a case, holding the stored (or the given) weights."""
    D, H, num_layers, bidirectional = (int(v) for v in arrays["config"])
    if name.startswith("rnn_"):
        layer = rnnbook.RNN(D, H, num_layers, nonlinearity=name[4:],
                            bidirectional=bool(bidirectional), seed=0)
    else:
        cls = {"lstm": rnnbook.LSTM, "gru": rnnbook.GRU}[name]
        layer = cls(D, H, num_layers, bidirectional=bool(bidirectional), seed=0)
    weights = params if params is not None else {
        key[len("param."):]: value for key, value in arrays.items() if key.startswith("param.")}
    assert set(weights) == set(layer.params), "the stored names are PyTorch's, and rnnbook's"
    for key, value in weights.items():
        layer.params[key][...] = value
    return layer


def run(name, arrays, params=None):
    """rnnbook's outputs, final states and gradients for the stored inputs and functional."""
    layer = build(name, arrays, params)
    if name == "lstm":
        out, (h_n, c_n) = layer.forward(arrays["x"], (arrays["h0"], arrays["c0"]))
        grads = layer.backward(arrays["d_out"], (arrays["d_h_n"], arrays["d_c_n"]))
        return {"out": out, "h_n": h_n, "c_n": c_n}, grads
    out, h_n = layer.forward(arrays["x"], arrays["h0"])
    return {"out": out, "h_n": h_n}, layer.backward(arrays["d_out"], arrays["d_h_n"])


def test_fixture_is_small_and_complete(stored):
    assert FIXTURE.stat().st_size < 200_000
    assert str(stored["meta.torch_version"]).startswith("2.13.0")
    for name in CASES:
        arrays = case(stored, name)
        params = [key for key in arrays if key.startswith("param.")]
        grads = [key for key in arrays if key.startswith("grad.")]
        states = ("h0", "c0") if name == "lstm" else ("h0",)
        assert sorted(grads) == sorted(
            [f"grad.{key[len('param.'):]}" for key in params] + ["grad.input"]
            + [f"grad.{s}" for s in states])
        assert all(arrays[key].dtype == np.float64 for key in arrays if key != "config")
    # one case with 2 layers in both directions per cell type that has gates
    for name in ("rnn_tanh", "lstm", "gru"):
        names = set(case(stored, name))
        assert {"param.weight_ih_l1", "param.weight_hh_l1_reverse"} <= names


@pytest.mark.parametrize("name", CASES)
def test_outputs_states_and_gradients_equal_torch(stored, name):
    arrays = case(stored, name)
    finals, grads = run(name, arrays)
    for key, value in finals.items():
        np.testing.assert_allclose(value, arrays[key], rtol=RTOL, atol=ATOL, err_msg=key)
    for key in arrays:
        if key.startswith("grad."):
            got = grads[key[len("grad."):]]
            np.testing.assert_allclose(got, arrays[key], rtol=RTOL, atol=ATOL, err_msg=key)
    assert set(grads) == {key[len("grad."):] for key in arrays if key.startswith("grad.")}


def swapped(arrays, first, second):
    """The stored weights with gate blocks ``first`` and ``second`` (row blocks of size H)
    exchanged in every weight and bias of every layer and direction."""
    H = int(arrays["config"][1])
    params = {}
    for key, value in arrays.items():
        if not key.startswith("param."):
            continue
        value = value.copy()
        a, b = slice(first * H, (first + 1) * H), slice(second * H, (second + 1) * H)
        value[a], value[b] = value[b].copy(), value[a].copy()
        params[key[len("param."):]] = value
    return params


@pytest.mark.parametrize("name,first,second,gates", [
    ("lstm", 0, 1, "i and f"),
    ("lstm", 2, 3, "g and o"),
    ("gru", 0, 1, "r and z"),
    ("gru", 1, 2, "z and n"),
])
def test_swapped_gate_order_fails(stored, name, first, second, gates):
    """Negative control: a layer that reads two gate blocks in the other order differs from
    torch in its outputs and in its gradients, by far more than the tolerance."""
    arrays = case(stored, name)
    finals, grads = run(name, arrays, swapped(arrays, first, second))
    out_gap = np.max(np.abs(finals["out"] - arrays["out"]))
    grad_gap = np.max(np.abs(grads["weight_hh_l0"] - arrays["grad.weight_hh_l0"]))
    assert out_gap > 1e-2, f"swapping {gates} changed out by only {out_gap:.1e}"
    assert grad_gap > 1e-2, f"swapping {gates} changed a gradient by only {grad_gap:.1e}"
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(finals["out"], arrays["out"], rtol=RTOL, atol=ATOL)


def test_h_n_layout_is_layer_major(stored):
    """``h_n`` stacks (layer 0 forward, layer 0 reverse, layer 1 forward, layer 1 reverse):
    torch's ``h_n.view(num_layers, num_directions, B, H)``. The forward direction of the top
    layer ends at the last step of ``out``, the reverse one at the first. Reading the slabs
    direction-major instead (the negative control) does not match torch."""
    arrays = case(stored, "rnn_tanh")
    finals, _ = run("rnn_tanh", arrays)
    _, H, num_layers, bidirectional = (int(v) for v in arrays["config"])
    assert (num_layers, bidirectional) == (2, 1)
    by_layer = arrays["h_n"].reshape(num_layers, 2, -1, H)
    np.testing.assert_allclose(by_layer[1, 0], arrays["out"][-1, :, :H], rtol=RTOL)
    np.testing.assert_allclose(by_layer[1, 1], arrays["out"][0, :, H:], rtol=RTOL)
    direction_major = finals["h_n"].reshape(2, num_layers, -1, H).transpose(1, 0, 2, 3)
    assert not np.allclose(direction_major.reshape(arrays["h_n"].shape), arrays["h_n"])
