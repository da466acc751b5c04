"""Full, truncated (k1, k2) and randomized BPTT (rnnbook.bptt).

Witnesses: the exact gradient of the layers themselves; centred finite differences of the
truncated objective (each window's loss with its initial state held fixed); the textbook
per-sample loop (rnnbook.reference) run window by window; and, for the randomized
estimator, a Monte-Carlo mean that must match the full gradient within its standard error
while the same estimator without reweighting must not.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.bptt import (
    accumulate,
    continue_probabilities,
    full_bptt,
    randomized_bptt,
    truncated_bptt,
    truncation_schedule,
)
from rnnbook.gradcheck import numerical_gradient, relative_error
from rnnbook.reference import reference_backward, reference_forward

CELLS = {"rnn": rnnbook.RNN, "lstm": rnnbook.LSTM, "gru": rnnbook.GRU}
sum_mse = functools.partial(rnnbook.mse_loss, reduction="sum")


def make_model(kind, num_layers=1, seed=0, D=3, H=4, C=2, bidirectional=False,
               dtype=np.float64):
    cell = CELLS[kind](D, H, num_layers, bidirectional=bidirectional, seed=seed, dtype=dtype)
    return rnnbook.Sequential(cell, rnnbook.Linear(cell.hidden_size * (1 + bidirectional), C,
                                                   seed=seed + 1, dtype=dtype))


def make_data(T, B=2, D=3, C=2, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, D)).astype(dtype), rng.normal(size=(T, B, C)).astype(dtype)


def initial_state(kind, model, B, seed=5):
    cell = model.layers[0]
    rng = np.random.default_rng(seed)
    shape = (cell.num_layers * (1 + cell.bidirectional), B, cell.hidden_size)
    if kind == "lstm":
        return (0.5 * rng.normal(size=shape), 0.5 * rng.normal(size=shape))
    return 0.5 * rng.normal(size=shape)


def layer_gradient(model, x, y, state=None):
    """The exact gradient of the summed loss, from the layers' own forward and backward."""
    cell, readout = model.layers
    out, _ = cell.forward(x, state)
    _, d_prediction = sum_mse(readout.forward(out), y)
    readout_grads = readout.backward(d_prediction)
    cell_grads = cell.backward(readout_grads["input"])
    grads = {f"0.{name}": cell_grads[name] for name in cell.params}
    grads.update({f"1.{name}": readout_grads[name] for name in readout.params})
    return grads


# --- full BPTT and truncation at k >= T are exact -------------------------------------------


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_full_bptt_equals_the_layers_backward_exactly(kind, num_layers):
    model = make_model(kind, num_layers)
    x, y = make_data(7)
    state = initial_state(kind, model, 2)
    update = full_bptt(model, x, y, sum_mse, state=state)
    expected = layer_gradient(model, x, y, state)
    assert list(update.grads) == list(model.params)
    for name, value in expected.items():
        np.testing.assert_array_equal(update.grads[name], value)
    assert (update.start, update.stop, update.reach) == (0, 7, 0)


@pytest.mark.parametrize("kind", CELLS)
def test_full_bptt_accepts_bidirectional_layers(kind):
    model = make_model(kind, 2, bidirectional=True)
    x, y = make_data(6)
    update = full_bptt(model, x, y, sum_mse)
    for name, value in layer_gradient(model, x, y).items():
        np.testing.assert_array_equal(update.grads[name], value)


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize(("k1", "k2"), [(7, 7), (7, 50), (20, 20), (9, 11)])
def test_truncation_with_k_at_least_T_is_full_bptt_exactly(kind, num_layers, k1, k2):
    model = make_model(kind, num_layers)
    x, y = make_data(7)
    state = initial_state(kind, model, 2)
    updates = list(truncated_bptt(model, x, y, sum_mse, k1, k2, state=state))
    assert len(updates) == 1
    full = full_bptt(model, x, y, sum_mse, state=state)
    for name in model.params:
        np.testing.assert_array_equal(updates[0].grads[name], full.grads[name])
    assert updates[0].loss == full.loss


@pytest.mark.parametrize("kind", CELLS)
def test_truncation_below_T_is_not_full_bptt(kind):
    """The negative control of the test above: the comparison can fail."""
    model = make_model(kind)
    x, y = make_data(8)
    _, truncated = accumulate(truncated_bptt(model, x, y, sum_mse, 2))
    full = full_bptt(model, x, y, sum_mse)
    assert relative_error(truncated["0.weight_hh_l0"], full.grads["0.weight_hh_l0"]) > 1e-3
    # The read-out sees no recurrence: its gradient is the same under any truncation.
    np.testing.assert_allclose(truncated["1.weight"], full.grads["1.weight"], rtol=1e-12)


# --- the truncated objective: finite differences and the textbook loop ----------------------


def window_states(model, x, schedule, state):
    """The state at every window's first step, computed once with the current weights."""
    cell = model.layers[0]
    out_states = {0: state}
    for reach, _, _ in schedule:
        if reach and reach not in out_states:
            _, out_states[reach] = cell.forward(x[:reach], state)
    return out_states


def truncated_objective(model, x, y, schedule, states):
    """Sum over windows of the counted losses, each window started from a *fixed* state:
    the function whose gradient TBPTT computes."""
    cell, readout = model.layers
    total = 0.0
    for reach, start, stop in schedule:
        out, _ = cell.forward(x[reach:stop], states[reach])
        total += sum_mse(readout.forward(out[start - reach:]), y[start:stop])[0]
    return total


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize(("k1", "k2"), [(2, 2), (3, 3), (2, 5), (3, 4)])
def test_truncated_gradient_matches_finite_differences(kind, k1, k2):
    model = make_model(kind, num_layers=2 if kind == "rnn" else 1)
    x, y = make_data(8)
    state = initial_state(kind, model, 2)
    schedule = truncation_schedule(8, k1, k2)
    states = window_states(model, x, schedule, state)
    _, grads = accumulate(truncated_bptt(model, x, y, sum_mse, k1, k2, state=state))
    for name, array in model.params.items():
        numeric = numerical_gradient(
            lambda: truncated_objective(model, x, y, schedule, states), array)
        assert relative_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize(("k1", "k2"), [(3, 3), (2, 5)])
def test_truncated_gradient_matches_the_textbook_loop(kind, k1, k2):
    model = make_model(kind)
    cell, readout = model.layers
    x, y = make_data(7)
    state = initial_state(kind, model, 2)
    initial = state if kind == "lstm" else (state,)
    schedule = truncation_schedule(7, k1, k2)
    expected = {name: np.zeros_like(value) for name, value in model.params.items()}
    for reach, start, stop in schedule:
        starts = initial if reach == 0 else reference_forward(kind, cell.params, x[:reach],
                                                              initial)[1]
        out, _ = reference_forward(kind, cell.params, x[reach:stop], starts)
        prediction = out[start - reach:] @ readout.params["weight"].T + readout.params["bias"]
        d_prediction = 2 * (prediction - y[start:stop])
        expected["1.weight"] += np.einsum("tbc,tbh->ch", d_prediction, out[start - reach:])
        expected["1.bias"] += d_prediction.sum(axis=(0, 1))
        d_out = np.zeros_like(out)
        d_out[start - reach:] = d_prediction @ readout.params["weight"]
        grads = reference_backward(kind, cell.params, x[reach:stop], starts, d_out,
                                   (None,) * len(initial))
        for name in cell.params:
            expected[f"0.{name}"] += grads[name]
    _, grads = accumulate(truncated_bptt(model, x, y, sum_mse, k1, k2, state=state))
    for name in model.params:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-10, atol=1e-12)


# --- the schedule and the carried state -----------------------------------------------------


def test_schedule_of_tbptt():
    assert truncation_schedule(10, 4) == [(0, 0, 4), (4, 4, 8), (6, 8, 10)]  # the last: k2 back
    assert truncation_schedule(10, 2, 5) == [(0, 0, 2), (0, 2, 4), (1, 4, 6), (3, 6, 8),
                                             (5, 8, 10)]
    assert truncation_schedule(3, 5, 5) == [(0, 0, 3)]


@given(steps=st.integers(1, 40), k1=st.integers(1, 12), extra=st.integers(0, 12))
def test_schedule_counts_every_loss_once(steps, k1, extra):
    k2 = k1 + extra
    schedule = truncation_schedule(steps, k1, k2)
    counted = [t for _, start, stop in schedule for t in range(start, stop)]
    assert counted == list(range(steps))
    for reach, start, stop in schedule:
        assert 0 <= reach <= start < stop <= steps
        assert stop - reach == min(k2, stop)


@pytest.mark.parametrize("kind", CELLS)
def test_carried_state_is_the_forward_state(kind):
    model = make_model(kind, 2)
    x, y = make_data(9)
    updates = list(truncated_bptt(model, x, y, sum_mse, 2, 3))
    cell = model.layers[0]
    for update in updates:
        _, expected = cell.forward(x[:update.stop])
        got = update.state if kind == "lstm" else (update.state,)
        want = expected if kind == "lstm" else (expected,)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", CELLS)
def test_a_sequence_cut_in_two_batches_with_the_state_carried(kind):
    """TBPTT over x equals TBPTT over its two halves with the state passed on."""
    model = make_model(kind)
    x, y = make_data(8)
    whole = list(truncated_bptt(model, x, y, sum_mse, 4))
    first = list(truncated_bptt(model, x[:4], y[:4], sum_mse, 4))
    second = list(truncated_bptt(model, x[4:], y[4:], sum_mse, 4, state=first[-1].state))
    for a, b in zip(whole, first + second, strict=True):
        for name in model.params:
            np.testing.assert_allclose(a.grads[name], b.grads[name], rtol=1e-12, atol=1e-14)


def test_parameters_changed_between_updates_are_used_by_the_next_window():
    model = make_model("rnn")
    cell, readout = model.layers
    x, y = make_data(6)
    old = {name: value.copy() for name, value in model.params.items()}
    optimizer = rnnbook.SGD(model.params, lr=0.1)
    losses = []
    for update in truncated_bptt(model, x, y, sum_mse, 3):
        losses.append(update.loss)
        optimizer.step(update.grads)
    new = {name: value.copy() for name, value in model.params.items()}

    def window_loss(weights):
        """Loss of steps 3..5 from the state after steps 0..2 computed with the old weights."""
        for name, value in model.params.items():
            value[...] = old[name]
        _, h3 = cell.forward(x[:3])
        for name, value in model.params.items():
            value[...] = weights[name]
        out, _ = cell.forward(x[3:], h3)
        return sum_mse(readout.forward(out), y[3:])[0]

    # The step after the first update changed the weights, and the second window used them.
    assert not np.allclose(new["0.weight_hh_l0"], old["0.weight_hh_l0"])
    after_first = {name: old[name] - 0.1 * g for name, g in
                   next(truncated_bptt(make_model("rnn"), x, y, sum_mse, 3)).grads.items()}
    assert losses[1] == pytest.approx(window_loss(after_first), rel=1e-12)
    assert losses[1] != pytest.approx(window_loss(old), rel=1e-6)  # the old weights differ


def test_a_mean_loss_averages_each_window_on_its_own():
    """With reduction="mean" an update's loss and gradient are those of its own window's
    mean, so summing them is not the gradient of the sequence's mean loss."""
    model = make_model("gru")
    x, y = make_data(8)
    updates = list(truncated_bptt(model, x, y, rnnbook.mse_loss, 3))
    out, _ = model.layers[0].forward(x)
    prediction = model.layers[1].forward(out)
    for update in updates:
        expected = rnnbook.mse_loss(prediction[update.start:update.stop],
                                    y[update.start:update.stop])[0]
        assert update.loss == pytest.approx(expected, rel=1e-12)
    _, summed = accumulate(updates)
    full = full_bptt(model, x, y, rnnbook.mse_loss)
    assert relative_error(summed["1.weight"], full.grads["1.weight"]) > 0.1


def test_arguments_are_checked_when_the_scheme_is_called():
    model = make_model("rnn")
    x, y = make_data(5)
    with pytest.raises(ValueError, match="k1"):
        truncated_bptt(model, x, y, sum_mse, 0)  # no next() needed
    with pytest.raises(ValueError, match="continue_prob"):
        randomized_bptt(model, x, y, sum_mse, 0.0)
    with pytest.raises(ValueError, match="bidirectional"):
        truncated_bptt(make_model("rnn", bidirectional=True), x, y, sum_mse, 2)


# --- randomized truncation ------------------------------------------------------------------


def monte_carlo(model, x, y, samples, reweight=True, c=0.6):
    estimates = [accumulate(randomized_bptt(model, x, y, sum_mse, c, seed=seed,
                                            reweight=reweight))[1]
                 for seed in range(samples)]
    return {name: np.stack([e[name] for e in estimates]) for name in model.params}


def z_scores(samples, exact):
    """|mean - exact| in units of the standard error of the mean, entry by entry."""
    standard_error = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    moving = standard_error > 0
    return np.abs(samples.mean(axis=0) - exact)[moving] / standard_error[moving]


@pytest.mark.parametrize("kind", CELLS)
def test_randomized_truncation_is_unbiased(kind):
    """The mean of 400 seeded estimates is within 4.5 standard errors of the full gradient
    in every entry (a false alarm has probability below 1e-3 over all entries); without
    the reweighting, the same test fails."""
    model = make_model(kind)
    x, y = make_data(10)
    full = full_bptt(model, x, y, sum_mse)
    unbiased = monte_carlo(model, x, y, 400)
    biased = monte_carlo(model, x, y, 400, reweight=False)
    name = "0.weight_hh_l0"
    assert z_scores(unbiased[name], full.grads[name]).max() < 4.5
    assert z_scores(biased[name], full.grads[name]).max() > 4.5


def test_randomized_truncation_is_unbiased_for_two_layers():
    model = make_model("gru", 2)
    x, y = make_data(8)
    full = full_bptt(model, x, y, sum_mse)
    samples = monte_carlo(model, x, y, 400, c=0.5)
    for name in ("0.weight_hh_l0", "0.weight_hh_l1", "0.weight_ih_l0"):
        assert z_scores(samples[name], full.grads[name]).max() < 4.5, name


@pytest.mark.parametrize("kind", CELLS)
def test_randomized_truncation_that_never_truncates_is_full_bptt(kind):
    model = make_model(kind)
    x, y = make_data(6)
    updates = list(randomized_bptt(model, x, y, sum_mse, 1.0, seed=0))
    assert len(updates) == 1
    full = full_bptt(model, x, y, sum_mse)
    for name in model.params:
        np.testing.assert_array_equal(updates[0].grads[name], full.grads[name])


def test_randomized_windows_tile_the_sequence_and_are_seeded():
    model = make_model("lstm")
    x, y = make_data(30)
    a = list(randomized_bptt(model, x, y, sum_mse, 0.8, stride=3, seed=4))
    b = list(randomized_bptt(model, x, y, sum_mse, 0.8, stride=3, seed=4))
    c = list(randomized_bptt(model, x, y, sum_mse, 0.8, stride=3, seed=5))
    assert [(u.start, u.stop) for u in a] == [(u.start, u.stop) for u in b]
    assert [(u.start, u.stop) for u in a] != [(u.start, u.stop) for u in c]
    assert a[0].start == 0 and a[-1].stop == 30
    for before, after in itertools.pairwise(a):
        assert before.stop == after.start and after.start % 3 == 0
        assert after.reach == after.start


def test_reweighting_scales_only_the_crossed_boundaries():
    """One window of 4 steps with a crossed boundary at step 2 (c = 0.5): the estimate is
    the gradient of loss(steps 0..3) where the state gradient into h_1 is doubled; check it
    against the same window computed with the boundary forced in and no scaling, plus the
    extra copy of the cross-boundary part."""
    model = make_model("rnn")
    x, y = make_data(4)
    probs = np.array([1.0, 0.5, 1.0])  # c[1], c[2], c[3]
    # seed chosen so that step 2 is crossed, not truncated
    seed = next(s for s in range(100)
                if len(list(randomized_bptt(model, x, y, sum_mse, probs, seed=s))) == 1)
    estimate = next(randomized_bptt(model, x, y, sum_mse, probs, seed=seed)).grads
    full = full_bptt(model, x, y, sum_mse).grads
    _, cut = accumulate(truncated_bptt(model, x, y, sum_mse, 2))  # windows [0, 2), [2, 4)
    # estimate = cut + 2 * (full - cut): the crossing terms counted twice.
    for name in model.params:
        np.testing.assert_allclose(estimate[name], cut[name] + 2 * (full[name] - cut[name]),
                                   rtol=1e-10, atol=1e-12)


def cut_gradient(model, x, y, cuts):
    """The gradient with the backward pass cut at the given steps (and nothing else): full
    BPTT on each piece, from the state the previous piece ended in."""
    total, state = None, None
    for first, last in itertools.pairwise([0, *cuts, len(x)]):
        update = full_bptt(model, x[first:last], y[first:last], sum_mse, state=state)
        state = update.state
        total = update.grads if total is None else {n: total[n] + g
                                                    for n, g in update.grads.items()}
    return total


def test_two_crossed_boundaries_are_reweighted_by_their_own_probabilities():
    """c = 1/2 at step 2 and 4/5 at step 4, both crossed: the paths that cross only step 2
    count twice, only step 4 count 5/4, both count 5/2 (inclusion-exclusion on the cuts)."""
    model = make_model("lstm")
    x, y = make_data(6)
    probs = np.array([1.0, 0.5, 1.0, 0.8, 1.0])
    seed = next(s for s in range(200)  # a draw that crosses both (one window)
                if len(list(randomized_bptt(model, x, y, sum_mse, probs, seed=s))) == 1)
    (update,) = randomized_bptt(model, x, y, sum_mse, probs, seed=seed)
    none, only_4, only_2, both = (cut_gradient(model, x, y, cuts)
                                  for cuts in ([], [4], [2], [2, 4]))
    for name in model.params:
        cross_2 = only_4[name] - both[name]          # paths crossing step 2, not step 4
        cross_4 = only_2[name] - both[name]          # paths crossing step 4, not step 2
        cross_24 = none[name] - only_4[name] - only_2[name] + both[name]
        expected = both[name] + 2 * cross_2 + 1.25 * cross_4 + 2.5 * cross_24
        np.testing.assert_allclose(update.grads[name], expected, rtol=1e-10, atol=1e-12)


def test_randomized_truncation_is_unbiased_with_probabilities_that_vary_by_step():
    model = make_model("rnn")
    x, y = make_data(10)
    probs = np.where(np.arange(1, 10) % 2, 0.9, 0.4)
    full = full_bptt(model, x, y, sum_mse)
    samples = np.stack([accumulate(randomized_bptt(model, x, y, sum_mse, probs, seed=s))[1]
                        ["0.weight_hh_l0"] for s in range(600)])
    assert z_scores(samples, full.grads["0.weight_hh_l0"]).max() < 4.5


# --- property tests ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(sorted(CELLS)), T=st.integers(1, 9), B=st.integers(1, 3),
       H=st.integers(1, 4), layers=st.integers(1, 2), seed=st.integers(0, 2**16),
       k1=st.integers(1, 5), extra=st.integers(0, 4))
def test_property_truncated_equals_the_fixed_state_objective(kind, T, B, H, layers, seed, k1,
                                                             extra):
    model = make_model(kind, layers, seed=seed, H=H)
    x, y = make_data(T, B=B, seed=seed + 1)
    schedule = truncation_schedule(T, k1, k1 + extra)
    states = window_states(model, x, schedule, None)
    _, grads = accumulate(truncated_bptt(model, x, y, sum_mse, k1, k1 + extra))
    # All parameters at once: a single tiny entry (H = 1, two layers) would sit at the
    # finite differences' rounding floor, u |L| / eps, rather than test the gradient.
    numeric = [numerical_gradient(lambda: truncated_objective(model, x, y, schedule, states),
                                  array) for array in model.params.values()]
    analytic = [grads[name] for name in model.params]
    assert relative_error(np.concatenate([a.ravel() for a in analytic]),
                          np.concatenate([n.ravel() for n in numeric])) < 1e-6


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(sorted(CELLS)), T=st.integers(1, 8), extra=st.integers(0, 5),
       seed=st.integers(0, 2**16), layers=st.integers(1, 2))
def test_property_k_at_least_T_is_exact(kind, T, extra, seed, layers):
    model = make_model(kind, layers, seed=seed)
    x, y = make_data(T, seed=seed)
    (update,) = truncated_bptt(model, x, y, sum_mse, T + extra)
    full = full_bptt(model, x, y, sum_mse)
    for name in model.params:
        np.testing.assert_array_equal(update.grads[name], full.grads[name])


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(sorted(CELLS)), T=st.integers(2, 12), c=st.floats(0.1, 1.0),
       stride=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_property_randomized_windows_partition_the_losses(kind, T, c, stride, seed):
    model = make_model(kind, seed=seed)
    x, y = make_data(T, seed=seed)
    updates = list(randomized_bptt(model, x, y, sum_mse, c, stride=stride, seed=seed))
    assert [t for u in updates for t in range(u.start, u.stop)] == list(range(T))
    full = full_bptt(model, x, y, sum_mse)
    total_loss = sum(u.loss for u in updates)
    assert np.isclose(total_loss, full.loss, rtol=1e-12)  # the forward pass is not truncated


def test_float32_models_are_supported():
    model = make_model("lstm", dtype=np.float32)
    x, y = make_data(6, dtype=np.float32)
    _, grads = accumulate(truncated_bptt(model, x, y, sum_mse, 3, 4))
    assert all(g.dtype == np.float32 for g in grads.values())


# --- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(("k1", "k2", "error", "match"), [
    (0, None, ValueError, "k1"), (3, 2, ValueError, "k2: expected k2 >= k1"),
    (2.0, None, TypeError, "k1"), (True, None, TypeError, "k1"), (2, 0, ValueError, "k2"),
])
def test_bad_truncation_lengths(k1, k2, error, match):
    model = make_model("rnn")
    x, y = make_data(5)
    with pytest.raises(error, match=match):
        list(truncated_bptt(model, x, y, sum_mse, k1, k2))


@pytest.mark.parametrize(("prob", "match"), [
    (0.0, "continue_prob: expected probabilities in \\(0, 1\\]"), (1.5, "continue_prob"),
    (float("nan"), "continue_prob"), (np.array([0.5, 0.0, 0.5, 0.5]), "at step 2"),
    (np.array([0.5, 0.5]), "shape \\(T - 1,\\)"),
])
def test_bad_truncation_distributions(prob, match):
    model = make_model("rnn")
    x, y = make_data(5)
    with pytest.raises(ValueError, match=match):
        list(randomized_bptt(model, x, y, sum_mse, prob))


def test_bad_stride():
    with pytest.raises(ValueError, match="stride"):
        continue_probabilities(5, 0.5, stride=0)
    with pytest.raises(ValueError, match="stride: leave it out"):
        continue_probabilities(5, np.full(4, 0.5), stride=2)


@pytest.mark.parametrize("prob", [True, "0.5", None])
def test_continue_prob_must_be_a_number_or_an_array(prob):
    with pytest.raises(TypeError, match="continue_prob"):
        continue_probabilities(5, prob)


def test_randomized_scheme_takes_an_array_and_an_empty_sequence_is_refused():
    from rnnbook.bptt import RandomizedBPTT

    model = make_model("rnn")
    x, y = make_data(5)
    scheme = RandomizedBPTT(np.full(4, 0.5))
    assert [u.stop for u in scheme.updates(model, x, y, sum_mse, seed=0)][-1] == 5
    with pytest.raises(ValueError, match="x: expected at least one time step"):
        truncated_bptt(model, x[:0], y[:0], sum_mse, 2)


@pytest.mark.parametrize("scheme", ["truncated", "randomized"])
def test_bidirectional_layers_are_refused_by_truncation(scheme):
    model = make_model("gru", bidirectional=True)
    x, y = make_data(5)
    with pytest.raises(ValueError, match="bidirectional"):
        if scheme == "truncated":
            list(truncated_bptt(model, x, y, sum_mse, 2))
        else:
            list(randomized_bptt(model, x, y, sum_mse, 0.5))


def test_bad_models_and_sequences():
    x, y = make_data(5)
    with pytest.raises(TypeError, match="model"):
        full_bptt(rnnbook.Linear(3, 2), x, y, sum_mse)
    with pytest.raises(TypeError, match="model"):
        full_bptt(rnnbook.Sequential(rnnbook.Linear(3, 4), rnnbook.RNN(4, 2)), x, y, sum_mse)
    model = make_model("rnn")
    with pytest.raises(ValueError, match="target: expected T = 5"):
        full_bptt(model, x, y[:4], sum_mse)
    with pytest.raises(ValueError, match="x: expected an array of shape"):
        full_bptt(model, x[0], y, sum_mse)
    with pytest.raises(TypeError, match="state: expected a pair"):
        full_bptt(make_model("lstm"), x, y, sum_mse, state=np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="updates"):
        accumulate([])


def test_a_bare_recurrent_layer_is_a_model():
    cell = rnnbook.GRU(3, 2, seed=0)
    x, y = make_data(5)
    update = full_bptt(cell, x, y, sum_mse)
    out, _ = cell.forward(x)
    grads = cell.backward(2 * (out - y))
    for name in cell.params:
        np.testing.assert_array_equal(update.grads[name], grads[name])
