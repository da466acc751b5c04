"""The linear recurrence as a scan (rnnbook.scan) and the linear recurrent layer built on it.

Every method is compared with a plain Python loop over every entry; gradients with
finite differences and with BPTT written step by step; the work, depth and call counts of
``scan_cost`` with the running code, on numbers that count their own arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.gradcheck import numerical_gradient, relative_error
from rnnbook.linear_recurrent import (
    LinearRecurrent,
    gates,
    linear_recurrent_backward,
    linear_recurrent_forward,
)
from rnnbook.scan import (
    _ALGORITHMS,
    METHODS,
    balanced_block,
    default_block,
    linear_recurrence,
    linear_recurrence_backward,
    scan_cost,
)

SCANS = [m for m in METHODS if m != "loop"]


def textbook(c, b, a0=None, reverse=False):
    """a_t = b_t + c_t a_{t-1}, one entry at a time, in plain Python floats."""
    T, B, H = b.shape
    a = np.zeros_like(b)
    order = range(T - 1, -1, -1) if reverse else range(T)
    for i in range(B):
        for j in range(H):
            previous = 0.0 if a0 is None else float(a0[i, j])
            for t in order:
                previous = float(b[t, i, j]) + float(c[t, i, j]) * previous
                a[t, i, j] = previous
    return a


def problem(seed, T=9, B=2, H=3, low=-1.0, high=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    c = rng.uniform(low, high, size=(T, B, H)).astype(dtype)
    b = rng.normal(size=(T, B, H)).astype(dtype)
    a0 = rng.normal(size=(B, H)).astype(dtype)
    return c, b, a0


# --- the forward scan ----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("T", [*range(1, 18), 31, 32, 33, 100, 127, 1000])
def test_every_method_equals_the_textbook_loop(method, T):
    c, b, a0 = problem(T, T=T)
    for start in (None, a0):
        for reverse in (False, True):
            expected = textbook(c, b, start, reverse=reverse)
            got = linear_recurrence(c, b, start, method=method, reverse=reverse)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    T=st.integers(1, 70), B=st.integers(1, 3), H=st.integers(1, 4),
    block=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
)
def test_scans_equal_the_loop_for_any_shape_and_block(T, B, H, block, seed):
    c, b, a0 = problem(seed, T, B, H)
    loop = linear_recurrence(c, b, a0, method="loop")
    for method in SCANS:
        np.testing.assert_allclose(linear_recurrence(c, b, a0, method=method), loop,
                                   rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(linear_recurrence(c, b, a0, method="blocked", block=block), loop,
                               rtol=1e-12, atol=1e-12)


def test_inputs_are_not_modified():
    c, b, a0 = problem(0, T=20)
    copies = c.copy(), b.copy(), a0.copy()
    for method in METHODS:
        linear_recurrence(c, b, a0, method=method)
        linear_recurrence_backward(c, b, b, a0, method=method)
    for original, copy in zip((c, b, a0), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_long_sequence_with_c_close_to_one_stays_exact():
    """T = 100 000 with |c| = 1 - U(0, 1e-3): the states carry memory over ~1000 steps,
    and the scans form products of up to 65 536 factors (0.9995^65536 ~ 1e-14)."""
    rng = np.random.default_rng(7)
    T = 100_000
    c = (1 - rng.uniform(0, 1e-3, size=(T, 2, 3))) * rng.choice([-1.0, 1.0], size=(T, 2, 3))
    b = rng.normal(size=(T, 2, 3))
    a0 = rng.normal(size=(2, 3))
    loop = linear_recurrence(c, b, a0, method="loop")
    scale = np.abs(loop).max()
    assert scale > 10  # memory really is long: the states add up many b's
    for method in SCANS:
        error = np.abs(linear_recurrence(c, b, a0, method=method) - loop).max() / scale
        assert error < 1e-12, (method, error)
    # float32: each scan is as accurate as the float32 loop, measured against float64.
    single = [x.astype(np.float32) for x in (c, b, a0)]
    loop_error = np.abs(linear_recurrence(*single, method="loop") - loop).max() / scale
    assert loop_error > 1e-8  # float32 rounding is visible at this length
    for method in SCANS:
        error = np.abs(linear_recurrence(*single, method=method) - loop).max() / scale
        assert error < 2 * loop_error, (method, error, loop_error)


def test_products_that_underflow_do_no_harm():
    """c in [0, 0.05): products of a few hundred c's underflow to zero in float64, and the
    terms they multiply are below rounding."""
    rng = np.random.default_rng(8)
    c = rng.uniform(0, 0.05, size=(5000, 2, 3))
    b = rng.normal(size=(5000, 2, 3))
    assert np.prod(c[:300, 0, 0]) == 0.0  # the underflow is real
    loop = linear_recurrence(c, b, method="loop")
    for method in SCANS:
        got = linear_recurrence(c, b, method=method)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, loop, rtol=1e-12, atol=1e-15)


def test_float32_gives_float32():
    c, b, a0 = problem(1, T=40, dtype=np.float32)
    for method in METHODS:
        a = linear_recurrence(c, b, a0, method=method)
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, textbook(c, b, a0), rtol=1e-4, atol=1e-5)


# --- the backward pass ---------------------------------------------------------------------


def bptt_through_the_loop(c, b, a0, d_a):
    """The backward pass of the step-by-step loop, written out: the gradient of the state
    flows back one step at a time, and each step hands its parameters their share."""
    T = len(b)
    a = textbook(c, b, a0)
    previous = np.zeros_like(b[0]) if a0 is None else a0
    d_c, d_b = np.zeros_like(c), np.zeros_like(b)
    g_next = np.zeros_like(b[0])  # what step t + 1 sends back to a_t
    for t in range(T - 1, -1, -1):
        g = d_a[t] + g_next
        d_b[t] = g
        d_c[t] = g * (a[t - 1] if t > 0 else previous)
        g_next = c[t] * g
    return {"c": d_c, "b": d_b, "a0": g_next}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("with_a0", [True, False], ids=["a0", "zero-a0"])
def test_backward_matches_finite_differences_and_the_loop(method, with_a0):
    c, b, a0 = problem(3, T=11)
    a0 = a0 if with_a0 else None
    d_a = np.random.default_rng(4).normal(size=b.shape)

    def loss():
        return float(np.sum(d_a * linear_recurrence(c, b, a0, method="loop")))

    a = linear_recurrence(c, b, a0, method=method)
    grads = linear_recurrence_backward(c, a, d_a, a0, method=method)
    loop = bptt_through_the_loop(c, b, a0, d_a)
    arrays = {"c": c, "b": b, **({"a0": a0} if with_a0 else {})}
    for name, array in arrays.items():
        assert relative_error(grads[name], numerical_gradient(loss, array)) < 1e-6, name
    for name in ("c", "b", "a0"):
        np.testing.assert_allclose(grads[name], loop[name], rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 40), B=st.integers(1, 3), H=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_backward_of_every_method_equals_bptt_through_the_loop(T, B, H, seed):
    c, b, a0 = problem(seed, T, B, H)
    d_a = np.random.default_rng(seed + 1).normal(size=b.shape)
    loop = bptt_through_the_loop(c, b, a0, d_a)
    for method in METHODS:
        grads = linear_recurrence_backward(c, linear_recurrence(c, b, a0), d_a, a0,
                                           method=method)
        for name in ("c", "b", "a0"):
            np.testing.assert_allclose(grads[name], loop[name], rtol=1e-11, atol=1e-12)


def test_backward_is_a_reverse_scan_with_the_next_steps_coefficient():
    """g_t = d_a_t + c_{t+1} g_{t+1}; using c_t instead (a plausible slip) is wrong."""
    c, b, a0 = problem(5, T=8)
    d_a = np.random.default_rng(6).normal(size=b.shape)
    g = linear_recurrence_backward(c, linear_recurrence(c, b, a0), d_a, a0)["b"]
    shifted = np.concatenate([c[1:], np.zeros_like(c[:1])])
    np.testing.assert_allclose(g, textbook(shifted, d_a, reverse=True), rtol=1e-12)
    assert not np.allclose(g, textbook(c, d_a, reverse=True))


# --- work, depth and calls, counted on the running code ------------------------------------


class Counted:
    """A number that counts every operation done with it and the longest chain behind it."""

    operations = 0
    __slots__ = ("depth", "value")

    def __init__(self, value, depth=0):
        self.value, self.depth = value, depth

    def _apply(self, other, op):
        Counted.operations += 1
        value, depth = (other.value, other.depth) if isinstance(other, Counted) else (other, 0)
        return Counted(op(self.value, value), max(self.depth, depth) + 1)

    def __add__(self, other):
        return self._apply(other, lambda x, y: x + y)

    def __mul__(self, other):
        return self._apply(other, lambda x, y: x * y)

    __radd__, __rmul__ = __add__, __mul__


class CountingArray(np.ndarray):
    """An array that counts the NumPy arithmetic calls made on it."""

    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        CountingArray.calls += 1
        inputs = tuple(x.view(np.ndarray) if isinstance(x, CountingArray) else x
                       for x in inputs)
        outs = kwargs.get("out")
        if outs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, CountingArray) else o
                                  for o in outs)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if outs:
            return outs[0]
        return result.view(CountingArray) if isinstance(result, np.ndarray) else result


def run(method, c, b, block):
    algorithm = _ALGORITHMS[method]
    return algorithm(c, b, None, block) if method == "blocked" else algorithm(c, b, None)


COST_CASES = [(m, T, None) for m in ("loop", "hillis_steele", "blocked")
              for T in [*range(1, 20), 33, 64, 100]]
COST_CASES += [("blelloch", 2**k, None) for k in range(8)]  # no padding: every op is counted
COST_CASES += [("blocked", T, block) for T in (10, 17, 50) for block in (1, 3, 7, 60)]


@pytest.mark.parametrize("method,T,block", COST_CASES)
def test_scan_cost_counts_what_the_code_does(method, T, block):
    rng = np.random.default_rng(T)
    values_c, values_b = rng.uniform(0.5, 1, size=(T, 1, 1)), rng.normal(size=(T, 1, 1))
    c = np.array([Counted(v) for v in values_c.ravel()], dtype=object).reshape(T, 1, 1)
    b = np.array([Counted(v) for v in values_b.ravel()], dtype=object).reshape(T, 1, 1)
    Counted.operations = 0
    a = run(method, c, b, block)
    longest = max(x.depth for x in a.ravel() if isinstance(x, Counted))
    np.testing.assert_allclose([x.value for x in a.ravel()],
                               textbook(values_c, values_b).ravel(), rtol=1e-12)
    CountingArray.calls = 0
    run(method, values_c.view(CountingArray), values_b.view(CountingArray), block)
    cost = scan_cost(T, method, block)
    assert cost["work"] == Counted.operations
    assert cost["calls"] == CountingArray.calls
    # a multiply-add is one dependent operation (the add, when the product was ready) or two
    assert cost["depth"] <= longest <= 2 * cost["depth"]


@pytest.mark.parametrize("T", [*range(1, 200), 1000, 99_999, 100_000, 100_001])
def test_default_block_is_balanced_and_near_the_call_minimum(T):
    """L* = sqrt(2T/5), shortened to the least length that needs no more blocks: the last
    block is then short by less than the number of blocks, and the calls are within a few
    percent of the fewest any block length gives (within 3 calls for short sequences)."""
    L = default_block(T)
    start = max(1, round(np.sqrt(0.4 * T)))
    blocks = -(-T // L)
    assert L <= start and blocks == -(-T // start)
    assert 0 <= blocks * L - T < blocks
    assert balanced_block(T, L) == L
    if L > 1:
        assert -(-T // (L - 1)) > blocks  # one step shorter needs another block
    if T <= 1000:
        fewest = min(scan_cost(T, "blocked", block)["calls"] for block in range(1, T + 1))
        assert scan_cost(T, "blocked")["calls"] <= max(1.05 * fewest, fewest + 3)


def test_work_and_depth_grow_as_the_theory_says():
    T = 2**16
    loop, hs, bl, blocked = (scan_cost(T, m) for m in METHODS)
    assert loop["depth"] == T - 1 and hs["depth"] == 16 and bl["depth"] == 2 * 16 + 1
    assert 2.5 * T * 16 < hs["work"] < 3 * T * 16           # ~ 3 T log2 T
    assert 6 * T < bl["work"] < 8 * T and 4.5 * T < blocked["work"] < 5.5 * T   # O(T)
    assert blocked["depth"] <= 3 * np.sqrt(T)  # L + T/L + L with L = sqrt(2T/5): 2.85 sqrt(T)


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_raises_a_clear_error():
    c, b, a0 = problem(0, T=5)
    with pytest.raises(ValueError, match=r"c: expected shape \(T, B, H\)"):
        linear_recurrence(c[:4], b)
    with pytest.raises(ValueError, match=r"a0: expected shape \(B, H\)"):
        linear_recurrence(c, b, a0[:1])
    with pytest.raises(ValueError, match="b: expected a 3-d array"):
        linear_recurrence(c[:, 0], b[:, 0])
    with pytest.raises(ValueError, match="at least one time step"):
        linear_recurrence(c[:0], b[:0])
    bad = b.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="b: contains NaN"):
        linear_recurrence(c, bad)
    with pytest.raises(ValueError, match="c: contains NaN"):
        linear_recurrence(bad, b)
    with pytest.raises(TypeError, match="c: expected dtype float64, got float32"):
        linear_recurrence(c.astype(np.float32), b)
    with pytest.raises(TypeError, match="b: expected float32 or float64"):
        linear_recurrence(c, b.astype(np.int64))
    with pytest.raises(TypeError, match=r"b: expected a numpy\.ndarray"):
        linear_recurrence(c, b.tolist())
    with pytest.raises(ValueError, match="method: expected one of"):
        linear_recurrence(c, b, method="cumsum")
    with pytest.raises(ValueError, match="block: only the 'blocked' method"):
        linear_recurrence(c, b, method="loop", block=2)
    with pytest.raises(ValueError, match="block: expected a positive int, got 0"):
        linear_recurrence(c, b, block=0)
    with pytest.raises(ValueError, match=r"d_a: expected shape \(T, B, H\)"):
        linear_recurrence_backward(c, b, b[:, :1], a0)
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        scan_cost(0, "loop")


# --- the linear recurrent layer ------------------------------------------------------------


def layer_by_steps(params, x, h0=None):
    """The layer's equations, one step at a time."""
    W, bias = params["weight_ih_l0"], params["bias_ih_l0"]
    H = W.shape[0] // 2
    h = np.zeros((x.shape[1], H)) if h0 is None else h0[0]
    states = []
    for x_t in x:
        z = x_t @ W.T + bias
        c = 1 / (1 + np.exp(-z[:, :H]))
        h = c * h + (1 - c) * z[:, H:]
        states.append(h)
    return np.stack(states)


@pytest.mark.parametrize("method", METHODS)
def test_layer_forward_is_its_equations(method):
    layer = LinearRecurrent(3, 4, seed=1, method=method)
    x = np.random.default_rng(2).normal(size=(13, 2, 3))
    h0 = np.random.default_rng(3).normal(size=(1, 2, 4))
    for start in (None, h0):
        out, h_n = layer.forward(x, start)
        np.testing.assert_allclose(out, layer_by_steps(layer.params, x, start), rtol=1e-12)
        np.testing.assert_array_equal(h_n[0], out[-1])


@pytest.mark.parametrize("method", METHODS)
def test_layer_gradients_match_finite_differences(method):
    rng = np.random.default_rng(5)
    layer = LinearRecurrent(2, 3, seed=4, method=method)
    x, h0 = rng.normal(size=(6, 2, 2)), rng.normal(size=(1, 2, 3))
    d_out, d_h_n = rng.normal(size=(6, 2, 3)), rng.normal(size=(1, 2, 3))

    def loss():
        out, h_n = layer.forward(x, h0)
        return float(np.sum(d_out * out) + np.sum(d_h_n * h_n))

    layer.forward(x, h0)
    grads = layer.backward(d_out, d_h_n)
    for name, array in {**layer.params, "input": x, "h0": h0}.items():
        assert relative_error(grads[name], numerical_gradient(loss, array)) < 1e-6, name
    assert set(grads) == {"weight_ih_l0", "bias_ih_l0", "input", "h0"}


def test_layer_trains_inside_sequential_and_in_float32():
    model = rnnbook.Sequential(LinearRecurrent(2, 4, seed=0, dtype=np.float32),
                               rnnbook.Linear(4, 1, seed=1, dtype=np.float32))
    x = np.random.default_rng(0).normal(size=(8, 3, 2)).astype(np.float32)
    y = model.forward(x)
    assert y.dtype == np.float32 and y.shape == (8, 3, 1)
    grads = model.backward(np.ones_like(y))
    assert set(grads) == {*model.params, "input"}
    assert all(grads[name].dtype == np.float32 for name in grads)


def test_gates_are_accurate_in_both_tails():
    """σ(z) and 1 - σ(z) to float32 precision where 1 - σ(z) is tiny (subtraction would
    give 0 from z = 18 on) and where σ(z) is; no overflow at |z| = 1000."""
    z = np.array([-1000, -40, -20, -16, -12, 0, 12, 16, 20, 40, 1000], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        c, write = gates(z)
    assert c.dtype == write.dtype == np.float32
    finite = np.abs(z) < 100  # beyond, the small gate is below float32's range
    z64 = z[finite].astype(np.float64)
    np.testing.assert_allclose(c[finite], 1 / (1 + np.exp(-z64)), rtol=3e-7)
    np.testing.assert_allclose(write[finite], 1 / (1 + np.exp(z64)), rtol=3e-7)
    assert c[-1] == 1 and write[-1] == 0 and c[0] == 0 and write[0] == 1
    # the subtraction this replaces: exactly 0 at z = 20, where the true value is 2e-9
    assert np.float32(1) - c[z == 20][0] == 0 and write[z == 20][0] > 2e-9


def test_float32_layer_keeps_writing_and_learning_near_c_equal_one():
    """Gate pre-activations z = 12..20: in float32 the keep gate rounds to 1 (or nearly),
    but the write gate 1 - c and the gate's derivative c (1 - c) keep their digits, so the
    states and the gradients agree with float64 to float32 precision."""
    H, T = 4, 20
    layer = LinearRecurrent(2, H, seed=3, dtype=np.float32)
    layer.params["weight_ih_l0"][:H] *= 0.01
    layer.params["bias_ih_l0"][:H] = [12, 16, 18, 20]
    double = LinearRecurrent(2, H, seed=3)
    double.params = {k: v.astype(np.float64) for k, v in layer.params.items()}
    x = np.random.default_rng(0).normal(size=(T, 3, 2))
    d_out = np.random.default_rng(1).normal(size=(T, 3, H))
    out32, _ = layer.forward(x.astype(np.float32))
    out64, _ = double.forward(x)
    assert np.all(out32[-1] != 0)  # every unit writes something
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=0)
    grads32 = layer.backward(d_out.astype(np.float32))
    grads64 = double.backward(d_out)
    gate_bias32, gate_bias64 = grads32["bias_ih_l0"][:H], grads64["bias_ih_l0"][:H]
    assert np.all(gate_bias32 != 0)  # the gate still learns
    np.testing.assert_allclose(gate_bias32, gate_bias64, rtol=1e-3)
    for name in ("weight_ih_l0", "bias_ih_l0", "input"):
        np.testing.assert_allclose(grads32[name], grads64[name], rtol=1e-3,
                                   atol=1e-3 * np.abs(grads64[name]).max())


def test_layer_bad_use_raises():
    layer = LinearRecurrent(2, 3, seed=0)
    with pytest.raises(RuntimeError, match="call forward first"):
        layer.backward(np.zeros((4, 1, 3)))
    with pytest.raises(ValueError, match=r"x: expected shape \(T, B, D\)"):
        layer.forward(np.zeros((4, 1, 5)))
    with pytest.raises(ValueError, match=r"h0: expected shape \(1, B, H\)"):
        layer.forward(np.zeros((4, 1, 2)), np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="method: expected one of"):
        LinearRecurrent(2, 3, method="fast")
    with pytest.raises(TypeError, match="weight_ih_l0: expected float32 or float64"):
        linear_recurrent_forward({"weight_ih_l0": np.zeros((6, 2), int), "bias_ih_l0": None},
                                 np.zeros((4, 1, 2)))
    with pytest.raises(ValueError, match="params: expected the keys"):
        linear_recurrent_forward({"weight_ih_l0": np.zeros((6, 2))}, np.zeros((4, 1, 2)))
    *_, cache = linear_recurrent_forward(layer.params, np.zeros((4, 1, 2)))
    with pytest.raises(ValueError, match=r"d_out: expected shape \(T, B, H\)"):
        linear_recurrent_backward(layer.params, cache, np.zeros((4, 1, 2)))
