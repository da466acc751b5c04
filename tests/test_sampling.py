"""rnnbook.sampling: logits of id sequences, tempered sampling, held-out cross-entropy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.sampling import evaluate, forward_ids, sample, softmax_with_temperature
from rnnbook.tasks import one_hot

CELLS = (rnnbook.RNN, rnnbook.LSTM, rnnbook.GRU)


def char_model(cell=rnnbook.LSTM, V=7, H=9, seed=0, readout_scale=1.0, num_layers=1):
    """A character model; a larger readout_scale spreads the logits (a more confident model)."""
    model = rnnbook.Sequential(cell(V, H, num_layers, seed=seed),
                               rnnbook.Linear(H, V, seed=seed + 1))
    model.layers[1].params["weight"] *= readout_scale
    return model


def entropy(p):
    p = np.asarray(p)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), axis=-1)


# --- forward_ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_forward_ids_is_the_models_forward_on_one_hot_inputs(cell):
    model = char_model(cell)
    ids = np.random.default_rng(1).integers(0, 7, size=(11, 3))
    logits, _ = forward_ids(model, ids)
    np.testing.assert_array_equal(logits, model.forward(one_hot(ids, 7)))
    single, state = forward_ids(model, ids[:, 0])
    np.testing.assert_allclose(single, logits[:, 0], rtol=1e-12, atol=1e-12)
    h = state[0] if cell is rnnbook.LSTM else state
    assert h.shape == (1, 1, 9)


@pytest.mark.parametrize("cell", CELLS)
def test_forward_ids_carries_the_state(cell):
    model = char_model(cell, num_layers=2)
    ids = np.random.default_rng(2).integers(0, 7, size=20)
    whole, _ = forward_ids(model, ids)
    first, state = forward_ids(model, ids[:8])
    rest, _ = forward_ids(model, ids[8:], state)
    np.testing.assert_allclose(np.concatenate([first, rest]), whole, rtol=1e-12, atol=1e-12)
    cold, _ = forward_ids(model, ids[8:])  # negative control: the state matters
    assert not np.allclose(cold, whole[8:])


def test_a_recurrent_layer_alone_is_a_model_whose_outputs_are_logits():
    layer = rnnbook.GRU(5, 5, seed=0)
    ids = np.array([0, 4, 2, 2])
    logits, _ = forward_ids(layer, ids)
    np.testing.assert_array_equal(logits, layer.forward(one_hot(ids[:, None], 5))[0][:, 0])
    assert sample(layer, ids, 3, seed=0).shape == (3,)


# --- softmax_with_temperature ---------------------------------------------------------------


def test_temperature_one_is_the_softmax_and_zero_is_the_argmax():
    z = np.array([[0.3, -1.0, 2.0, 1.9], [5.0, 5.0, -2.0, 0.0]])
    np.testing.assert_allclose(softmax_with_temperature(z, 1.0), rnnbook.softmax(z))
    np.testing.assert_array_equal(softmax_with_temperature(z, 0),
                                  [[0, 0, 1, 0], [1, 0, 0, 0]])  # ties: the first
    np.testing.assert_allclose(softmax_with_temperature(z, 0.5), rnnbook.softmax(2 * z))
    np.testing.assert_allclose(softmax_with_temperature(z[:1], 1e-3), [[0, 0, 1, 0]], atol=1e-40)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), classes=st.integers(2, 30))
def test_entropy_rises_with_temperature_from_zero_to_log_v(seed, classes):
    z = np.random.default_rng(seed).normal(scale=3.0, size=classes)
    temperatures = np.array([1e-3, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 1e4])
    h = entropy(softmax_with_temperature(z[None, :] / temperatures[:, None], 1.0))
    # dH/dT = Var_p(z) / T^3 > 0 unless all logits are equal
    assert np.all(np.diff(h) > 0)
    assert entropy(softmax_with_temperature(z, 0)) == 0
    np.testing.assert_allclose(h[-1], np.log(classes), rtol=1e-4)
    np.testing.assert_allclose(
        [entropy(softmax_with_temperature(z, t)) for t in temperatures], h, rtol=1e-9, atol=1e-12
    )


# --- sample ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_the_same_seed_gives_the_same_text(cell):
    model = char_model(cell)
    prompt = np.array([3, 1, 4])
    a = sample(model, prompt, 40, seed=5)
    np.testing.assert_array_equal(a, sample(model, prompt, 40, seed=5))
    np.testing.assert_array_equal(
        a, sample(model, prompt, 40, seed=np.random.default_rng(5)))
    assert not np.array_equal(a, sample(model, prompt, 40, seed=6))
    assert a.dtype == np.int64 and a.shape == (40,) and a.min() >= 0 and a.max() < 7


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), cell=st.sampled_from(CELLS),
       prompt_length=st.integers(1, 6), length=st.integers(1, 25))
def test_greedy_is_the_argmax_of_a_forward_pass_over_the_text_it_wrote(
        seed, cell, prompt_length, length):
    model = char_model(cell, seed=seed)
    prompt = np.random.default_rng(seed).integers(0, 7, size=prompt_length)
    greedy = sample(model, prompt, length, temperature=0)
    # An independent computation: one pass of Sequential.forward over prompt + output, from
    # zeros; the logits at the prompt's last step and at every written character but the
    # last must have their argmax at the next written character.
    text = np.concatenate([prompt, greedy])
    logits = model.forward(one_hot(text[:, None], 7))[:, 0]
    np.testing.assert_array_equal(np.argmax(logits[prompt_length - 1:-1], axis=-1), greedy)


@pytest.mark.parametrize("cell", CELLS)
def test_a_near_zero_temperature_samples_the_greedy_text(cell):
    model = char_model(cell, readout_scale=20.0)
    prompt = np.array([0, 5, 2])
    greedy = sample(model, prompt, 60, temperature=0)
    text = np.concatenate([prompt, greedy])
    logits = forward_ids(model, text)[0][len(prompt) - 1:-1]
    # Given the greedy prefix, step t leaves it with probability 1 - p_max,t at temperature
    # T, so P(the sample differs) <= sum_t (1 - p_max,t), which is tiny here.
    p_max = softmax_with_temperature(logits, 1e-3).max(axis=-1)
    assert np.sum(1 - p_max) < 1e-9
    for seed in range(5):
        np.testing.assert_array_equal(
            sample(model, prompt, 60, temperature=1e-3, seed=seed), greedy)
    # negative control: at temperature 1 the sample is not the greedy text
    assert not np.array_equal(sample(model, prompt, 60, temperature=1.0, seed=0), greedy)


def test_a_batch_of_prompts_gives_independent_columns():
    model = char_model(rnnbook.GRU)
    prompts = np.array([[1, 2], [3, 3], [0, 6]])  # (P, B) = (3, 2)
    out = sample(model, prompts, 15, temperature=0)
    assert out.shape == (15, 2)
    for b in range(2):
        np.testing.assert_array_equal(out[:, b], sample(model, prompts[:, b], 15, temperature=0))


def test_sampling_from_a_given_state_continues_the_text():
    model = char_model(rnnbook.LSTM)
    text = np.array([1, 2, 3, 4, 5, 6])
    _, state = forward_ids(model, text[:4])
    np.testing.assert_array_equal(sample(model, text[4:], 12, seed=3, state=state),
                                  sample(model, text, 12, seed=3))


def chi_square(counts, p):
    expected = counts.sum() * p
    return float(np.sum((counts - expected) ** 2 / expected))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_frequencies_match_the_tempered_softmax(temperature):
    # A fixed state: every column reads the same prompt, so each first draw is a draw from
    # one distribution p; 20,000 draws against it with a chi-square test on V - 1 = 6 degrees
    # of freedom. Under the right p the statistic has mean 6 and standard deviation
    # sqrt(12) = 3.5; 6 + 7 * 3.5 = 30 is exceeded with probability below 1e-4.
    model = char_model(rnnbook.LSTM, readout_scale=4.0)
    n = 20_000
    prompt = np.repeat(np.array([[2], [5]]), n, axis=1)
    draws = sample(model, prompt, 1, temperature=temperature, seed=11)[0]
    counts = np.bincount(draws, minlength=7)
    logits = forward_ids(model, np.array([2, 5]))[0][-1]
    p = softmax_with_temperature(logits, temperature)
    assert p.min() > 5 / n  # every expected count is large enough for the test
    limit = 6 + 7 * np.sqrt(12)
    assert chi_square(counts, p) < limit
    # negative control: the untempered softmax is rejected unless the temperature is 1
    if temperature != 1.0:
        assert chi_square(counts, rnnbook.softmax(logits)) > 2 * limit


def test_a_higher_temperature_writes_more_varied_text():
    model = char_model(rnnbook.GRU, readout_scale=4.0)
    prompt = np.zeros((1, 200), dtype=np.int64)
    h = {}
    for t in (0.5, 1.0, 2.0):
        out = sample(model, prompt, 30, temperature=t, seed=0)
        text = np.concatenate([prompt, out[:-1]])
        logits = forward_ids(model, text)[0]
        h[t] = entropy(softmax_with_temperature(logits, t)).mean()
    assert h[0.5] < h[1.0] < h[2.0]


# --- evaluate -------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_evaluate_is_the_mean_cross_entropy_of_the_next_character(cell):
    model = char_model(cell)
    ids = np.random.default_rng(4).integers(0, 7, size=101)
    expected, _ = rnnbook.cross_entropy_loss(model.forward(one_hot(ids[:-1, None], 7)),
                                             ids[1:, None])
    np.testing.assert_allclose(evaluate(model, ids), expected, rtol=1e-12)
    np.testing.assert_allclose(evaluate(model, ids, chunk=7), expected, rtol=1e-12)
    # three tracks of (101 - 1) // 3 = 33 predictions, each from the zero state
    x = ids[:99].reshape(3, 33).T
    y = ids[1:100].reshape(3, 33).T
    tracked, _ = rnnbook.cross_entropy_loss(model.forward(one_hot(x, 7)), y)
    np.testing.assert_allclose(evaluate(model, ids, tracks=3, chunk=10), tracked, rtol=1e-12)
    assert not np.isclose(tracked, expected)  # negative control: the cuts change the context


def test_a_uniform_model_has_cross_entropy_log_v_and_perplexity_v():
    model = char_model(rnnbook.RNN, V=11)
    model.layers[1].params["weight"][:] = 0
    model.layers[1].params["bias"][:] = 0.7
    ids = np.random.default_rng(0).integers(0, 11, size=50)
    ce = evaluate(model, ids, tracks=2)
    np.testing.assert_allclose(ce, np.log(11), rtol=1e-14)
    np.testing.assert_allclose(np.exp(ce), 11, rtol=1e-13)


def test_float32_models_are_evaluated_in_float64():
    model = rnnbook.Sequential(rnnbook.LSTM(5, 4, dtype=np.float32, seed=0),
                               rnnbook.Linear(4, 5, dtype=np.float32, seed=1))
    ids = np.random.default_rng(0).integers(0, 5, size=40)
    assert isinstance(evaluate(model, ids), float)
    assert sample(model, ids[:3], 4, seed=0).shape == (4,)


# --- errors ---------------------------------------------------------------------------------


def test_bad_models_are_refused():
    with pytest.raises(TypeError, match="model: expected an RNN"):
        sample("lstm", np.array([0]), 3)
    with pytest.raises(TypeError, match="recurrent layer followed by Linear"):
        forward_ids(rnnbook.Sequential(rnnbook.Linear(3, 3)), np.array([0]))
    with pytest.raises(ValueError, match="bidirectional"):
        evaluate(rnnbook.RNN(4, 4, bidirectional=True), np.array([0, 1, 2]))
    mismatched = rnnbook.Sequential(rnnbook.RNN(4, 6), rnnbook.Linear(6, 5))
    with pytest.raises(ValueError, match="5 classes and input size 4"):
        sample(mismatched, np.array([0]), 2)


@pytest.mark.parametrize(("prompt", "error", "match"), [
    ([0, 1], TypeError, "integer numpy.ndarray"),
    (np.array([0.0, 1.0]), TypeError, "of float64"),
    (np.zeros((2, 2, 2), dtype=int), ValueError, r"\(T,\) or \(T, B\)"),
    (np.array([], dtype=int), ValueError, "at least one id"),
    (np.array([0, 7]), ValueError, r"ids in \[0, 7\), got \[0, 7\]"),
    (np.array([-1, 2]), ValueError, r"got \[-1, 2\]"),
])
def test_bad_prompts_are_refused(prompt, error, match):
    with pytest.raises(error, match="prompt: .*" + match):
        sample(char_model(), prompt, 3)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"length": 0}, ValueError, "length: expected a positive int"),
    ({"length": 2.0}, TypeError, "length: expected a positive int"),
    ({"length": True}, TypeError, "length"),
    ({"temperature": -0.1}, ValueError, "temperature: expected a finite number >= 0, got -0.1"),
    ({"temperature": float("nan")}, ValueError, "temperature"),
    ({"temperature": float("inf")}, ValueError, "temperature"),
    ({"temperature": "hot"}, TypeError, "temperature: expected a number >= 0, got str"),
    ({"temperature": True}, TypeError, "temperature"),
])
def test_bad_sampling_arguments_are_refused(kwargs, error, match):
    arguments = {"length": 3} | kwargs
    with pytest.raises(error, match=match):
        sample(char_model(), np.array([1]), **arguments)


def test_bad_evaluation_arguments_are_refused():
    model = char_model()
    with pytest.raises(ValueError, match="ids: expected a 1-d array"):
        evaluate(model, np.zeros((4, 2), dtype=int))
    with pytest.raises(ValueError, match="tracks: 5 tracks need at least tracks"):
        evaluate(model, np.arange(5), tracks=5)
    with pytest.raises(ValueError, match="chunk: expected a positive int"):
        evaluate(model, np.arange(5), chunk=0)
    with pytest.raises(ValueError, match="logits: contains NaN"):
        softmax_with_temperature(np.array([0.0, np.nan]), 1.0)
    with pytest.raises(ValueError, match="at least one class"):
        softmax_with_temperature(np.zeros((2, 0)), 1.0)


def test_a_subnormal_temperature_is_greedy_not_nan():
    logits = np.array([[1.0, 2.0, -3.0], [0.5, 0.5, -1.0]])
    probs = softmax_with_temperature(logits, 1e-310)
    np.testing.assert_array_equal(probs, [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
