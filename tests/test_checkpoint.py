"""Checkpointed BPTT: the plain path's outputs and gradients bit for bit when both group
their steps by the same segments (and only to rounding when they do not), O(sqrt T) stored
states, finite differences, the layer wrapper and bad input."""

from __future__ import annotations

import doctest
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
import rnnbook._chunks
import rnnbook._workspace
from rnnbook import checkpoint, reference
from rnnbook.activations import get_activation
from rnnbook.checkpoint import (
    Checkpointed,
    Checkpoints,
    checkpoint_backward,
    checkpoint_forward,
    segment_bounds,
    sqrt_segment,
    stored_bytes,
)
from rnnbook.functional import direction_forward, rnn_backward, rnn_forward, rnn_param_shapes
from rnnbook.gradcheck import gradcheck
from rnnbook.gru import gru_backward, gru_direction_forward, gru_forward
from rnnbook.lstm import lstm_backward, lstm_direction_forward, lstm_forward

#: (cell, nonlinearity) of every variant; the RNN with both of its activations.
VARIANTS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
#: Largest difference from the plain path, relative to the gradient's largest entry, when
#: the two group their steps differently (the negative controls): float32 rounding (about
#: 1e-7) grown over 50 steps of two layers.
ROUNDING = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-4}
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def problem(cell, seed, T=10, B=2, D=3, H=4, num_layers=1, bidirectional=False,
            dtype=np.float64, with_state=True, with_d_state=True):
    """Parameters, input, initial state, and the upstream gradients of the probe loss
    ``sum(d_out * out) + sum(d_state * final state)``."""
    rng = np.random.default_rng(seed)
    K = 2 if bidirectional else 1
    shapes = rnn_param_shapes(D, H, num_layers, bidirectional, gates=GATES[cell])
    params = {n: (0.6 * rng.normal(size=s)).astype(dtype) for n, s in shapes.items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    count = 2 if cell == "lstm" else 1
    states = [(0.5 * rng.normal(size=(num_layers * K, B, H))).astype(dtype)
              for _ in range(count)]
    d_out = rng.normal(size=(T, B, K * H)).astype(dtype)
    d_states = [rng.normal(size=s.shape).astype(dtype) for s in states]
    pack = (lambda pair: tuple(pair)) if cell == "lstm" else (lambda pair: pair[0])
    state = pack(states) if with_state else None
    d_state = pack(d_states) if with_d_state else None
    return params, x, state, d_out, d_state


def plain(cell, nonlinearity, params, x, state, d_out, d_state, segment=None):
    """The plain path grouped by ``segment`` (None: its default, ``sqrt_segment(T)``):
    ``(out, final state, gradients, cache)``."""
    if cell == "rnn":
        out, final, cache = rnn_forward(params, x, state, nonlinearity=nonlinearity,
                                        segment=segment)
        return out, final, rnn_backward(params, cache, d_out, d_state), cache
    if cell == "lstm":
        out, final, cache = lstm_forward(params, x, state, segment=segment)
        return out, final, lstm_backward(params, cache, d_out, d_state), cache
    out, final, cache = gru_forward(params, x, state, segment=segment)
    return out, final, gru_backward(params, cache, d_out, d_state), cache


def checkpointed(cell, nonlinearity, params, x, state, d_out, d_state, segment=None):
    out, final, checkpoints = checkpoint_forward(cell, params, x, state, segment=segment,
                                                 nonlinearity=nonlinearity)
    return out, final, checkpoint_backward(params, checkpoints, d_out, d_state), checkpoints


def assert_rounding_close(actual, expected, name=""):
    """Equal up to rounding: the largest difference is tiny next to the largest entry."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, name
    scale = max(float(np.abs(expected).max()), np.finfo(expected.dtype).tiny)
    worst = float(np.abs(actual - expected).max()) / scale
    assert worst <= ROUNDING[expected.dtype], f"{name}: relative difference {worst:.1e}"


def as_tuple(final):
    return final if isinstance(final, tuple) else (final,)


def assert_bit_for_bit(checkpointed_run, plain_run):
    """Outputs, final states and every gradient (parameters, input, initial states) equal
    bit for bit, with the same names, in the same order, of the same dtype."""
    out_c, final_c, grads_c, _ = checkpointed_run
    out, final, grads, _ = plain_run
    assert out_c.dtype == out.dtype
    np.testing.assert_array_equal(out_c, out, err_msg="out")
    for a, b in zip(as_tuple(final_c), as_tuple(final), strict=True):
        np.testing.assert_array_equal(a, b, err_msg="final state")
    assert list(grads_c) == list(grads)
    for name in grads:
        assert grads_c[name].dtype == grads[name].dtype, name
        np.testing.assert_array_equal(grads_c[name], grads[name], err_msg=name)


def differing_weights(grads_a, grads_b):
    """Names of the weight and bias gradients that differ in at least one bit."""
    return [name for name in grads_a if name.startswith(WEIGHTS)
            and not np.array_equal(grads_a[name], grads_b[name])]


CONFIGS = [pytest.param(cell, nl, layers, bi, id=f"{cell}-{nl}-L{layers}-{'bi' if bi else 'uni'}")
           for cell, nl in VARIANTS for layers in (1, 2) for bi in (False, True)]


@pytest.mark.parametrize("states", ["given", "none"])
@pytest.mark.parametrize("segment", [None, 1, 3, 4, 5, 9, 10, 11, 1000],
                         ids=lambda k: f"k{k}")
@pytest.mark.parametrize("cell,nonlinearity,num_layers,bidirectional", CONFIGS)
def test_gradients_equal_the_plain_ones_bit_for_bit(cell, nonlinearity, num_layers,
                                                    bidirectional, segment, states):
    """T = 10: k = 5 divides it, 3, 4 and 9 leave a short last segment, k = 1 is one step
    per segment, k >= 10 one segment; None is both paths' default, sqrt_segment(10) = 3."""
    given_ = states == "given"
    args = problem(cell, 0, num_layers=num_layers, bidirectional=bidirectional,
                   with_state=given_, with_d_state=given_)
    plain_run = plain(cell, nonlinearity, *args, segment=segment)
    checkpointed_run = checkpointed(cell, nonlinearity, *args, segment)
    expected_k = sqrt_segment(10) if segment is None else min(segment, 10)
    assert checkpointed_run[3].segment == plain_run[3].segment == expected_k
    assert checkpointed_run[3].bounds == plain_run[3].bounds
    assert_bit_for_bit(checkpointed_run, plain_run)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("segment", [None, 4, 7, 50], ids=lambda k: f"k{k}")
@pytest.mark.parametrize("cell,nonlinearity,num_layers,bidirectional", CONFIGS)
def test_bit_for_bit_at_sizes_where_blas_rounding_depends_on_the_row_block(
        cell, nonlinearity, num_layers, bidirectional, segment, dtype):
    """T = 50, B = 4, D = 8, H = 16: here OpenBLAS rounds a float32 row of the input
    projection differently in a product of all T * B rows than in one of a segment's rows
    (the next test shows it), so equality needs the plain path's products grouped by the
    segments too. sqrt_segment(50) = 7, which does not divide 50."""
    args = problem(cell, 1, T=50, B=4, D=8, H=16, num_layers=num_layers,
                   bidirectional=bidirectional, dtype=dtype)
    assert_bit_for_bit(checkpointed(cell, nonlinearity, *args, segment),
                       plain(cell, nonlinearity, *args, segment=segment))


@pytest.mark.parametrize("cell,nonlinearity", VARIANTS)
def test_negative_control_another_grouping_differs_in_the_weight_gradients(cell,
                                                                           nonlinearity):
    """Without the shared grouping the equality above fails: the plain path grouped by
    k = 5 or by one segment of all T steps against checkpointing with k = 7 (T = 50). The
    weight and bias gradients, sums over segments grouped and added differently, differ in
    some bit in both dtypes; yet only by rounding. (In float32 at these sizes the outputs
    differ too, through the input projection's row blocks, on this BLAS; that is printed,
    not asserted, as it depends on the BLAS library and the processor.)"""
    for dtype in (np.float32, np.float64):
        args = problem(cell, 2, T=50, B=4, D=8, H=16, num_layers=2, dtype=dtype)
        out_c, _, grads_c, _ = checkpointed(cell, nonlinearity, *args, 7)
        for other in (5, 50):
            out, _, grads, _ = plain(cell, nonlinearity, *args, segment=other)
            differ = differing_weights(grads_c, grads)
            assert differ, f"{np.dtype(dtype)}, plain k = {other}: every weight gradient equal"
            for name in grads:
                assert_rounding_close(grads_c[name], grads[name], name)
            assert_rounding_close(out_c, out, "out")
            print(f"{np.dtype(dtype)} k = {other}: {len(differ)} weight gradients differ, "
                  f"outputs equal: {np.array_equal(out_c, out)}")


def test_default_groupings_are_the_same_and_sqrt_T():
    """The plain path's default segment is checkpointing's: sqrt_segment(T), T = 1 .. 40."""
    for T in range(1, 41):
        args = problem("gru", T, T=T)
        _, _, cache = gru_forward(args[0], args[1], args[2])
        _, _, checkpoints = checkpoint_forward("gru", args[0], args[1], args[2])
        assert cache.bounds == checkpoints.bounds == segment_bounds(T, sqrt_segment(T))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chunks_of_the_input_projection_stay_inside_segments(cell, monkeypatch,
                                                             nan_filled_memory):
    """Chunks of 2 steps (CHUNK_BYTES made small) inside segments of 5 (T = 23): the
    projections are still per segment, and both paths equal bit for bit."""
    args = problem(cell, 3, T=23, B=3, D=4, H=5, num_layers=2, bidirectional=True,
                   dtype=np.float32)
    step_bytes = GATES[cell] * 3 * 5 * 4
    monkeypatch.setattr(rnnbook._chunks, "CHUNK_BYTES", 2 * step_bytes)
    calls = []
    original = rnnbook._chunks.time_chunks
    monkeypatch.setattr(rnnbook._chunks, "time_chunks",
                        lambda *a: calls.append(a[0]) or original(*a))
    plain_run = plain(cell, "tanh", *args, segment=5)
    assert set(calls) == {5, 3}  # chunked segment by segment: 4 of 5 steps, 1 of 3
    assert_bit_for_bit(checkpointed(cell, "tanh", *args, 5), plain_run)


@settings(max_examples=60, deadline=None)
@given(variant=st.sampled_from(VARIANTS), T=st.integers(1, 12), B=st.integers(1, 3),
       D=st.integers(1, 3), H=st.integers(1, 4), num_layers=st.integers(1, 2),
       bidirectional=st.booleans(), segment=st.one_of(st.none(), st.integers(1, 14)),
       dtype=st.sampled_from([np.float32, np.float64]), with_state=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_property_checkpointed_equals_plain_bit_for_bit(variant, T, B, D, H, num_layers,
                                                        bidirectional, segment, dtype,
                                                        with_state, seed):
    cell, nonlinearity = variant
    args = problem(cell, seed, T, B, D, H, num_layers, bidirectional, dtype,
                   with_state=with_state, with_d_state=with_state)
    checkpointed_run = checkpointed(cell, nonlinearity, *args, segment)
    k = sqrt_segment(T) if segment is None else min(segment, T)
    bounds = checkpointed_run[3].bounds
    assert [stop - start for start, stop in bounds][:-1] == [k] * (len(bounds) - 1)
    assert_bit_for_bit(checkpointed_run, plain(cell, nonlinearity, *args, segment=segment))


@settings(max_examples=30, deadline=None)
@given(variant=st.sampled_from(VARIANTS), T=st.integers(1, 9), B=st.integers(1, 3),
       num_layers=st.integers(1, 2), bidirectional=st.booleans(),
       segment=st.one_of(st.none(), st.integers(1, 10)), seed=st.integers(0, 2**32 - 1))
def test_property_plain_path_in_any_grouping_equals_the_textbook_loop(
        variant, T, B, num_layers, bidirectional, segment, seed):
    """An independent method for the grouped plain path (and so, by the equality above,
    for checkpointing): the per-sample, per-step loops of rnnbook.reference, float64."""
    cell, nonlinearity = variant
    params, x, state, d_out, d_state = problem(cell, seed, T, B, 2, 3, num_layers,
                                               bidirectional)
    out, final, grads, _ = plain(cell, nonlinearity, params, x, state, d_out, d_state,
                                 segment=segment)
    states, d_states = as_tuple(state), as_tuple(d_state)
    ref_out, ref_final = reference.reference_forward(cell, params, x, states, nonlinearity)
    ref_grads = reference.reference_backward(cell, params, x, states, d_out, d_states,
                                             nonlinearity)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-13)
    for a, b in zip(as_tuple(final), ref_final, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    assert set(grads) == set(ref_grads)
    for name in grads:
        np.testing.assert_allclose(grads[name], ref_grads[name], rtol=1e-11, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("cell,nonlinearity,num_layers,bidirectional", CONFIGS)
def test_finite_differences(cell, nonlinearity, num_layers, bidirectional):
    """An independent check: centred differences of the probe loss (float64)."""
    params, x, state, d_out, d_state = problem(cell, 4, T=5, B=2, D=2, H=2,
                                               num_layers=num_layers,
                                               bidirectional=bidirectional)

    def loss_and_grads():
        out, final, grads, _ = checkpointed(cell, nonlinearity, params, x, state, d_out,
                                            d_state, 2)
        loss = np.sum(d_out * out) + sum(np.sum(d * f) for d, f in
                                         zip(as_tuple(d_state), as_tuple(final), strict=True))
        return float(loss), grads

    _, grads = loss_and_grads()
    arrays = dict(params, input=x)
    arrays.update(zip(("h0", "c0"), as_tuple(state), strict=False))
    report = gradcheck(lambda: loss_and_grads()[0], arrays, grads)
    assert report.passed(1e-6), f"\n{report}"


def _rnn_direction_forward(x, weights, start):
    w_ih, w_hh, b_ih, b_hh = weights
    return direction_forward(x, w_ih, w_hh, b_ih + b_hh, start[0], get_activation("tanh"))


@pytest.mark.parametrize("cell,direction_forward", [("rnn", _rnn_direction_forward),
                                                    ("lstm", lstm_direction_forward),
                                                    ("gru", gru_direction_forward)])
def test_recomputing_a_segment_reproduces_the_next_checkpoint_bit_for_bit(cell,
                                                                           direction_forward):
    """The backward pass relies on it: a segment recomputed from its stored state ends in
    exactly the state stored for the next segment."""
    params, x, state, _, _ = problem(cell, 5, T=23, B=3, D=4, H=5)
    _, _, checkpoints = checkpoint_forward(cell, params, x, state, segment=5)
    weights = tuple(params[n] for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                        "bias_hh_l0"))
    stored = checkpoints.states[0][0]
    for j, (start, stop) in enumerate(checkpoints.bounds[:-1]):
        cache = direction_forward(x[start:stop], weights, tuple(s[j] for s in stored))
        for recomputed, kept in zip(cache.last_states, stored, strict=True):
            np.testing.assert_array_equal(recomputed, kept[j + 1])


@pytest.mark.parametrize("cell,nonlinearity,num_layers,bidirectional", CONFIGS)
def test_stored_bytes_are_the_checkpoints_and_the_inputs_of_upper_bidirectional_layers(
        cell, nonlinearity, num_layers, bidirectional):
    T, B, H, k = 10, 2, 4, 3
    args = problem(cell, 6, T=T, B=B, H=H, num_layers=num_layers, bidirectional=bidirectional)
    _, _, checkpoints = checkpoint_forward(cell, args[0], args[1], args[2], segment=k,
                                           nonlinearity=nonlinearity)
    K = 2 if bidirectional else 1
    kinds = 2 if cell == "lstm" else 1
    assert checkpoints.num_stored_states == num_layers * K * kinds * math.ceil(T / k)
    expected = checkpoints.num_stored_states * B * H * 8
    if bidirectional:
        expected += (num_layers - 1) * T * B * 2 * H * 8
    assert stored_bytes(checkpoints) == expected


def test_stored_bytes_counts_a_buffer_once_however_many_views_hold_it():
    """In a two-layer plain RNN, layer 1's input is a view of layer 0's states: the cache
    holds (T + 1) B H numbers per layer, not that plus the view again."""
    T, B, H = 10, 2, 4
    params, x, state, _, _ = problem("rnn", 3, T=T, B=B, H=H, num_layers=2)
    _, _, cache = rnn_forward(params, x, state)
    assert stored_bytes(cache) == 2 * (T + 1) * B * H * 8 == 1408
    # Negative control: counting every view separately (the input x left out) gives more.
    every_view = sum(a.nbytes for a in checkpoint._arrays(cache) if a is not x)
    assert every_view == 2048


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_plain_cache_bytes_grow_linearly_in_T(cell):
    """The plain cache, measured the same way: (T + 1) or T entries per stored array."""
    per_step = {"rnn": 1, "lstm": 7, "gru": 5}[cell]  # h; h, 4 gates, c, tanh c; h, 3 gates, W_hn h
    sizes = []
    for T in (10, 20, 40):
        cache = plain(cell, "tanh", *problem(cell, 7, T=T, B=2, H=4))[3]
        sizes.append(stored_bytes(cache))
    assert sizes[1] - sizes[0] == 10 * per_step * 2 * 4 * 8
    assert sizes[2] - sizes[1] == 2 * (sizes[1] - sizes[0])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_stored_states_grow_like_sqrt_T(cell):
    """With k = round(sqrt T), ceil(T / k) states: twice as many at 4T, whatever the cell."""
    sizes = {}
    for T in (100, 400, 1600, 6400):
        params, x, state, _, _ = problem(cell, 8, T=T, B=1, D=1, H=2)
        _, _, checkpoints = checkpoint_forward(cell, params, x, state)
        assert checkpoints.segment == round(math.sqrt(T))
        sizes[T] = stored_bytes(checkpoints)
    assert sizes[400] == 2 * sizes[100] and sizes[1600] == 2 * sizes[400]
    assert sizes[6400] == 2 * sizes[1600]


@pytest.mark.parametrize("T", [2, 3, 300, 1001, 4097])
def test_stored_states_at_most_sqrt_T_plus_one_when_T_is_not_a_square(T):
    """ceil(T / round(sqrt T)) states are stored per state kind: at most sqrt T + 1, also
    when sqrt T is not an integer (T = 300: k = 17, 18 states)."""
    params, x, state, _, _ = problem("rnn", 8, T=T, B=1, D=1, H=2)
    _, _, checkpoints = checkpoint_forward("rnn", params, x, state)
    count = checkpoints.num_stored_states
    assert count == math.ceil(T / sqrt_segment(T)) <= math.sqrt(T) + 1
    if T == 300:
        assert (checkpoints.segment, count) == (17, 18)


@given(steps=st.integers(1, 10**6))
def test_sqrt_segment_stores_at_most_sqrt_T_plus_one_states(steps):
    assert math.ceil(steps / sqrt_segment(steps)) <= math.sqrt(steps) + 1


def _backward_peak(run):
    """tracemalloc's peak while ``run`` works, minus what it returns, with an empty pool of
    work buffers so that every temporary counts."""
    rnnbook._workspace._local.pool = {}
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = sum(a.nbytes for a in result.values())
    return peak - returned


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backward_peak_grows_like_sqrt_T_and_the_plain_one_like_T(cell, monkeypatch):
    """Stored bytes plus the backward pass's own peak: four times T, four times the memory
    on the plain path, twice the memory with checkpoints every round(sqrt T) steps."""
    monkeypatch.setattr(rnnbook._workspace._local, "pool", {}, raising=False)
    forward = {"rnn": rnn_forward, "lstm": lstm_forward, "gru": gru_forward}[cell]
    backward = {"rnn": rnn_backward, "lstm": lstm_backward, "gru": gru_backward}[cell]
    peaks = {"plain": [], "checkpointed": []}
    for T in (400, 1600):
        params, x, state, d_out, d_state = problem(cell, 9, T=T, B=4, D=1, H=16)
        _, _, cache = forward(params, x, state)
        peaks["plain"].append(stored_bytes(cache) + _backward_peak(
            lambda p=params, c=cache, d=d_out, s=d_state: backward(p, c, d, s)))
        del cache
        _, _, checkpoints = checkpoint_forward(cell, params, x, state)
        peaks["checkpointed"].append(stored_bytes(checkpoints) + _backward_peak(
            lambda p=params, c=checkpoints, d=d_out, s=d_state: checkpoint_backward(p, c, d, s)))
    plain_ratio = peaks["plain"][1] / peaks["plain"][0]
    checkpointed_ratio = peaks["checkpointed"][1] / peaks["checkpointed"][0]
    assert 3.5 < plain_ratio < 4.5, plain_ratio
    assert 1.5 < checkpointed_ratio < 2.5, checkpointed_ratio


@given(steps=st.integers(1, 200), segment=st.integers(1, 250))
def test_segment_bounds_cover_every_step_once(steps, segment):
    bounds = segment_bounds(steps, segment)
    assert [t for start, stop in bounds for t in range(start, stop)] == list(range(steps))
    assert len(bounds) == math.ceil(steps / segment)
    assert all(stop - start == segment for start, stop in bounds[:-1])


@given(steps=st.integers(1, 10**6))
def test_sqrt_segment_minimises_the_count_of_held_states(steps):
    """T / k + k, the states stored plus a segment held, is smallest near sqrt T."""
    k = sqrt_segment(steps)
    assert abs(k - math.sqrt(steps)) <= 0.5
    best = min(range(1, 2 * k + 2), key=lambda j: steps / j + j)
    assert steps / k + k <= steps / best + best + 1  # within one state of the optimum


@pytest.mark.parametrize("segment", [None, 3], ids=lambda k: f"k{k}")
@pytest.mark.parametrize("cell,nonlinearity,num_layers,bidirectional", CONFIGS[::3])
def test_checkpointed_layer_gives_the_layers_numbers(cell, nonlinearity, num_layers,
                                                     bidirectional, segment):
    """The wrapper and the layer, both by default or both with segment=3: bit for bit."""
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    layer = getattr(rnnbook, cell.upper())(3, 4, num_layers=num_layers,
                                           bidirectional=bidirectional, seed=0, **kwargs)
    wrapped = Checkpointed(layer, segment=segment)
    assert wrapped.params is layer.params
    _, x, state, d_out, d_state = problem(cell, 10, num_layers=num_layers,
                                          bidirectional=bidirectional)
    out, final = layer.forward(x, state, segment=segment)
    plain_run = (out.copy(), final, layer.backward(d_out, d_state), None)
    out_c, final_c = wrapped(x, state)
    assert_bit_for_bit((out_c, final_c, wrapped.backward(d_out, d_state), None), plain_run)
    assert f"segment={segment}" in repr(wrapped)


def test_checkpointed_layer_inside_sequential():
    """A Sequential calls the layer's forward with the default grouping; the default
    Checkpointed layer gives the same numbers bit for bit, one grouped by 4 steps only to
    rounding (T = 12, sqrt_segment(12) = 3)."""
    rnn = rnnbook.LSTM(2, 5, seed=0)
    readout = rnnbook.Linear(5, 1, seed=1)
    x = np.random.default_rng(11).normal(size=(12, 3, 2))
    d_y = np.random.default_rng(12).normal(size=(12, 3, 1))
    plain_model = rnnbook.Sequential(rnn, readout)
    y = plain_model.forward(x)
    expected = plain_model.backward(d_y)
    model = rnnbook.Sequential(Checkpointed(rnn), readout)
    np.testing.assert_array_equal(model.forward(x), y)
    grads = model.backward(d_y)
    assert list(grads) == list(expected)
    for name in grads:
        np.testing.assert_array_equal(grads[name], expected[name], err_msg=name)
    other = rnnbook.Sequential(Checkpointed(rnn, segment=4), readout)
    other.forward(x)
    grads = other.backward(d_y)
    assert differing_weights({k.removeprefix("0."): v for k, v in grads.items()},
                             {k.removeprefix("0."): v for k, v in expected.items()})
    for name in grads:
        assert_rounding_close(grads[name], expected[name], name)


def test_module_docstring_examples():
    failures, attempted = doctest.testmod(checkpoint)
    assert attempted > 0 and failures == 0


@pytest.mark.parametrize("segment,error", [(0, ValueError), (-2, ValueError),
                                           (2.5, TypeError), (True, TypeError),
                                           ("3", TypeError)])
def test_bad_segment(segment, error):
    params, x, state, _, _ = problem("rnn", 0)
    with pytest.raises(error, match="segment"):
        checkpoint_forward("rnn", params, x, state, segment=segment)
    with pytest.raises(error, match="segment"):
        Checkpointed(rnnbook.RNN(3, 4), segment=segment)
    with pytest.raises(error, match="segment"):
        rnn_forward(params, x, state, segment=segment)
    for layer in (rnnbook.RNN(3, 4), rnnbook.LSTM(3, 4), rnnbook.GRU(3, 4)):
        with pytest.raises(error, match="segment"):
            layer.forward(x, segment=segment)


def test_bad_input():
    params, x, state, d_out, _ = problem("rnn", 0)
    with pytest.raises(ValueError, match="cell"):
        checkpoint_forward("transformer", params, x)
    with pytest.raises(ValueError, match="nonlinearity"):
        checkpoint_forward("rnn", params, x, nonlinearity="sigmoid")
    lstm_params, lstm_x, _, _, _ = problem("lstm", 0)
    with pytest.raises(ValueError, match="nonlinearity"):
        checkpoint_forward("lstm", lstm_params, lstm_x, nonlinearity="relu")
    with pytest.raises(TypeError, match="state"):
        checkpoint_forward("lstm", lstm_params, lstm_x, np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="x"):
        checkpoint_forward("rnn", params, x[:, :, :2])
    with pytest.raises(ValueError, match="h0"):
        checkpoint_forward("rnn", params, x, state[:, :1])
    with pytest.raises(ValueError, match="params"):
        checkpoint_forward("gru", params, x)  # an RNN's parameters are not a GRU's
    _, _, checkpoints = checkpoint_forward("rnn", params, x, state, segment=3)
    with pytest.raises(TypeError, match="checkpoints"):
        checkpoint_backward(params, object(), d_out)
    with pytest.raises(ValueError, match="d_out"):
        checkpoint_backward(params, checkpoints, d_out[:, :, :2])
    with pytest.raises(ValueError, match="d_h_n"):
        checkpoint_backward(params, checkpoints, d_out, np.zeros((2, 2, 4)))
    other, _, _, _, _ = problem("rnn", 0, num_layers=2)
    with pytest.raises(ValueError, match="checkpoints"):
        checkpoint_backward(other, checkpoints, d_out)
    with pytest.raises(TypeError, match="layer"):
        Checkpointed(rnnbook.Linear(3, 4))
    with pytest.raises(RuntimeError, match="forward first"):
        Checkpointed(rnnbook.GRU(3, 4)).backward(d_out)
    with pytest.raises(TypeError, match="cache"):
        stored_bytes(checkpoints.states)
    assert isinstance(checkpoints, Checkpoints)
