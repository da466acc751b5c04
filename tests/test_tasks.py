"""The seeded task generators, the copy task and the text corpus helpers."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnbook
from rnnbook.layers import RNN
from rnnbook.losses import cross_entropy_loss
from rnnbook.tasks import (
    TextBatches,
    Vocabulary,
    copy_task,
    copy_task_baseline,
    load_text,
    one_hot,
    sine_waves,
    train_validation_split,
)


def test_sine_waves_shapes_and_shift():
    x, y = sine_waves(4, 30, seed=0)
    assert x.shape == y.shape == (30, 4, 1)
    np.testing.assert_array_equal(x[1:], y[:-1])  # the target is the next input
    assert np.abs(x).max() <= 1


def test_sine_waves_are_seeded():
    np.testing.assert_array_equal(sine_waves(3, 10, seed=1)[0], sine_waves(3, 10, seed=1)[0])
    assert not np.array_equal(sine_waves(3, 10, seed=1)[0], sine_waves(3, 10, seed=2)[0])


def test_sine_waves_have_the_requested_period():
    x, _ = sine_waves(1, 200, seed=0, min_period=10.0, max_period=10.0)
    np.testing.assert_allclose(x[10:], x[:-10], atol=1e-12)


def test_sine_waves_bad_arguments():
    with pytest.raises(ValueError, match="steps: expected a positive int, got 0"):
        sine_waves(2, 0)
    with pytest.raises(ValueError, match="min_period, max_period"):
        sine_waves(2, 5, min_period=10, max_period=5)


def test_adding_problem():
    from rnnbook.tasks import adding_problem

    x, y = adding_problem(8, 20, seed=0)
    assert x.shape == (20, 8, 2) and y.shape == (8, 1)
    assert np.all(x[:, :, 1].sum(axis=0) == 2)
    assert np.all(x[:10, :, 1].sum(axis=0) == 1)  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0))
    with pytest.raises(ValueError, match="steps: expected at least 2"):
        adding_problem(2, 1)


# The copy task ---------------------------------------------------------------------------

def test_copy_task_shapes_and_dtypes():
    x, y = copy_task(5, 4, 3, seed=0, n_symbols=6)
    assert x.shape == (2 * 4 + 3 + 1, 5, 6 + 2) and x.dtype == np.float64
    assert y.shape == (12, 5) and y.dtype == np.int64
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)  # one-hot
    assert set(np.unique(x)) == {0.0, 1.0}
    assert copy_task(2, 3, 0, seed=0, dtype=np.float32)[0].dtype == np.float32


def test_copy_task_targets():
    length, delay, n = 5, 7, 4
    x, y = copy_task(16, length, delay, seed=3, n_symbols=n)
    read = x.argmax(axis=-1)
    blank, delimiter = n, n + 1
    recall = length + delay + 1
    np.testing.assert_array_equal(y[recall:], read[:length])  # the symbols, in order
    assert np.all(y[:recall] == blank)  # nothing to recall before the delimiter
    assert np.all(read[:length] < n)  # the symbols are symbols
    assert np.all(read[length:length + delay] == blank)
    assert np.all(read[length + delay] == delimiter)
    assert np.all(read[recall:] == blank)
    # The task is not trivially "output the input": the targets are the inputs shifted by the lag.
    assert not np.array_equal(y[recall:], read[recall:])


def test_copy_task_is_seeded():
    a, b, c = (copy_task(4, 6, 2, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(copy_task(4, 6, 2, seed=rng)[1], a[1])


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 6), length=st.integers(1, 8), delay=st.integers(0, 10),
       n_symbols=st.integers(2, 10), seed=st.integers(0, 2**32 - 1))
def test_copy_task_structure_for_any_size(batch, length, delay, n_symbols, seed):
    x, y = copy_task(batch, length, delay, seed=seed, n_symbols=n_symbols)
    steps = 2 * length + delay + 1
    assert x.shape == (steps, batch, n_symbols + 2) and y.shape == (steps, batch)
    read = x.argmax(axis=-1)
    np.testing.assert_array_equal(y[length + delay + 1:], read[:length])
    assert np.all(y[:length + delay + 1] == n_symbols)
    assert np.all(read[length + delay] == n_symbols + 1)
    assert y.min() >= 0 and y.max() <= n_symbols


def test_copy_task_symbols_are_uniform():
    n = 8
    x, _ = copy_task(2000, 10, 0, seed=0, n_symbols=n)
    symbols = x[:10].argmax(axis=-1).ravel()
    freq = np.bincount(symbols, minlength=n) / symbols.size
    se = np.sqrt((1 / n) * (1 - 1 / n) / symbols.size)
    assert np.all(np.abs(freq - 1 / n) < 5 * se), (freq, se)


def test_copy_task_baseline_formula():
    # Arjovsky et al. (2016): 10 symbols out of 8, T blanks-and-delimiter -> 10 log 8 / (T + 20).
    for t in (100, 200, 500):
        np.testing.assert_allclose(copy_task_baseline(10, t - 1, 8), 10 * np.log(8) / (t + 20))
    assert copy_task_baseline(3, 0, 2) == pytest.approx(3 * np.log(2) / 7)


def test_copy_task_baseline_is_what_a_memoryless_model_achieves():
    """Fit the best memoryless predictor (class frequencies per step) on one sample, score it
    on another: its loss matches the baseline; a worse guess and a model with memory do not."""
    length, delay, n = 6, 5, 5
    _, y_fit = copy_task(4000, length, delay, seed=0, n_symbols=n)
    _, y = copy_task(4000, length, delay, seed=1, n_symbols=n)
    classes = n + 1
    counts = np.stack([np.bincount(row, minlength=classes) for row in y_fit])  # (T, C)
    p = (counts + 1e-12) / counts.sum(axis=1, keepdims=True)
    logits = np.broadcast_to(np.log(p)[:, None, :], (*y.shape, classes)).copy()
    loss, _ = cross_entropy_loss(logits, y)
    per_position = -np.take_along_axis(np.log(p)[:, None, :].repeat(y.shape[1], 1),
                                       y[..., None], axis=-1)[..., 0]
    se = per_position.mean(axis=0).std(ddof=1) / np.sqrt(y.shape[1])  # sequences independent
    baseline = copy_task_baseline(length, delay, n)
    # Frequencies fitted on N sequences cost about (n - 1) / (2 N) nats more per recall step.
    bias = length / y.shape[0] * (n - 1) / (2 * y_fit.shape[1])
    assert abs(loss - baseline) < 4 * se + 2 * bias, (loss, baseline, se, bias)
    # A plausible slip, forgetting the delimiter's step in T, is far outside that tolerance.
    assert abs(loss - length * np.log(n) / (2 * length + delay)) > 10 * (4 * se + 2 * bias)
    # Negative controls: ignoring the step (uniform over all classes) is worse; memory is better.
    uniform, _ = cross_entropy_loss(np.zeros((*y.shape, classes)), y)
    assert uniform == pytest.approx(np.log(classes)) and uniform > baseline + 0.5
    oracle = 20.0 * one_hot(y, classes)  # knows the symbols: a model with memory
    remembered, _ = cross_entropy_loss(oracle, y)
    assert remembered < 1e-6 < baseline


def test_copy_task_bad_arguments():
    with pytest.raises(ValueError, match="length: expected a positive int, got 0"):
        copy_task(2, 0, 3)
    with pytest.raises(ValueError, match="delay: expected a non-negative int, got -1"):
        copy_task(2, 3, -1)
    with pytest.raises(TypeError, match="delay: expected a non-negative int, got float"):
        copy_task(2, 3, 1.5)
    with pytest.raises(ValueError, match="n_symbols: expected at least 2"):
        copy_task(2, 3, 1, n_symbols=1)
    with pytest.raises(ValueError, match="n_symbols: expected at least 2"):
        copy_task_baseline(3, 1, n_symbols=1)
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        copy_task(2, 3, 1, dtype=np.int32)


def test_one_hot():
    ids = np.array([[0, 2], [1, 1], [2, 0]])
    out = one_hot(ids, 3)
    assert out.shape == (3, 2, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=-1), ids)
    np.testing.assert_array_equal(out.sum(axis=-1), 1.0)
    assert one_hot(ids, 4, np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"ids: expected values in \[0, 2\), got \[0, 2\]"):
        one_hot(ids, 2)
    with pytest.raises(TypeError, match=r"ids: expected an integer numpy\.ndarray"):
        one_hot(ids.astype(float), 3)


# The text corpus -------------------------------------------------------------------------

DATA = Path(rnnbook.__file__).parent / "data"
SHARED_TEXT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tinyshakespeare.txt"


def test_packaged_text_matches_its_readme():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    raw = (DATA / "tiny_shakespeare.txt").read_bytes()
    stated = re.search(r"sha256 of the slice: ([0-9a-f]{64})", readme).group(1)
    assert hashlib.sha256(raw).hexdigest() == stated
    text = load_text()
    assert text.encode("utf-8") == raw  # read unchanged (plain ASCII, \n line ends)
    assert "127,176 characters" in readme and len(text) == 127_176
    assert "61 distinct characters" in readme and len(set(text)) == 61
    assert text.count("\n") == 5000 and text.endswith("\n")
    assert text.startswith("First Citizen:\n")


@pytest.mark.skipif(not SHARED_TEXT.exists(), reason="the book's shared/ data is not beside the clone")
def test_packaged_text_is_the_stated_slice_of_the_source():
    source = SHARED_TEXT.read_text(encoding="utf-8")
    first_lines = "".join(source.splitlines(keepends=True)[:5000])
    assert load_text() == first_lines


def test_packaged_text_is_package_data():
    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["rnnbook"]
    assert "data/*.txt" in patterns and "data/*.md" in patterns


def test_load_text_from_a_path(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("to be or not\n", encoding="utf-8")
    assert load_text(path) == load_text(str(path)) == "to be or not\n"
    assert path.read_text(encoding="utf-8") == "to be or not\n"
    with pytest.raises(FileNotFoundError):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="path: expected a str, a path or None, got int"):
        load_text(3)


def test_vocabulary_of_the_corpus():
    text = load_text()
    vocab = Vocabulary(text)
    assert vocab.size == len(vocab) == 61
    assert list(vocab.chars) == sorted(set(text))
    ids = vocab.encode(text)
    assert ids.shape == (len(text),) and ids.dtype == np.int64
    assert ids.min() == 0 and ids.max() == vocab.size - 1
    assert vocab.decode(ids) == text  # exact round trip
    assert vocab.chars[ids[0]] == "F"
    assert repr(vocab) == "Vocabulary(size=61)"


def test_vocabulary_errors():
    vocab = Vocabulary("abc")
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: 'd', 'z' \(the first at position 2\)"):
        vocab.encode("abzd")
    with pytest.raises(ValueError, match=r"ids: expected values in \[0, 3\), got \[0, 3\]"):
        vocab.decode(np.array([0, 3]))
    with pytest.raises(ValueError, match="ids: expected a 1-d array"):
        vocab.decode(np.zeros((2, 2), dtype=int))
    with pytest.raises(TypeError, match="ids: expected integers"):
        vocab.decode(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="text: expected at least one character"):
        Vocabulary("")
    with pytest.raises(TypeError, match="text: expected a str, got list"):
        Vocabulary(["a"])
    assert vocab.decode(np.array([], dtype=int)) == ""
    assert vocab.encode("").shape == (0,)


@settings(max_examples=50, deadline=None)
@given(text=st.text(min_size=1, max_size=60))
def test_vocabulary_round_trip_for_any_text(text):
    vocab = Vocabulary(text)
    ids = vocab.encode(text)
    assert vocab.decode(ids) == text
    assert vocab.decode(ids.tolist()) == text
    assert vocab.size == len(set(text))
    assert np.all(np.diff([ord(c) for c in vocab.chars]) > 0)  # sorted, distinct


def test_train_validation_split():
    ids = np.arange(100)
    train, held = train_validation_split(ids, 0.1)
    assert len(train) == 90 and len(held) == 10
    np.testing.assert_array_equal(np.concatenate([train, held]), ids)  # in order, nothing lost
    a, b = train_validation_split("abcdefghij", 0.2)
    assert (a, b) == ("abcdefgh", "ij")
    with pytest.raises(ValueError, match=r"validation: expected a fraction in \(0, 1\), got 1.5"):
        train_validation_split(ids, 1.5)
    with pytest.raises(ValueError, match="data: 3 elements leave 0 for validation"):
        train_validation_split("abc", 0.1)
    with pytest.raises(TypeError, match=r"data: expected a str or a 1-d numpy\.ndarray, got list"):
        train_validation_split([1, 2, 3], 0.5)


# Truncated-BPTT batches ------------------------------------------------------------------


def test_text_batches_shapes():
    ids = np.arange(1000)
    batches = TextBatches(ids, 4, 25)
    # 999 usable inputs (the last id is only a target) -> tracks of 249 -> 9 batches of 25.
    assert len(batches) == 9 and batches.track_length == 225
    np.testing.assert_array_equal(batches.starts, [0, 225, 450, 675])
    for x, y in batches:
        assert x.shape == y.shape == (25, 4)
        assert x.dtype == y.dtype == ids.dtype
    assert len(list(batches)) == len(list(batches)) == 9  # can be iterated once per epoch
    assert repr(batches) == "TextBatches(batch=4, steps=25, offset=0, batches=9)"


def test_text_batches_tile_the_text_in_order():
    text = load_text()
    vocab = Vocabulary(text)
    ids = vocab.encode(text)
    batches = TextBatches(ids, 8, 40, offset=3)
    length = batches.track_length
    xs = np.concatenate([x for x, _ in batches])  # (len * T, B): the tracks, in time
    ys = np.concatenate([y for _, y in batches])
    for b in range(batches.batch):
        start = 3 + b * length
        np.testing.assert_array_equal(xs[:, b], ids[start:start + length])  # track b, in order
        np.testing.assert_array_equal(ys[:, b], ids[start + 1:start + length + 1])  # next char
    # The tracks, one after the other, are the text from the offset on, with no gap.
    np.testing.assert_array_equal(xs.T.ravel(), ids[3:3 + 8 * length])
    assert len(ids) - 3 - 8 * length < 8 * 40 + 1  # fewer than one batch's worth is left over
    x, y = batches[5]
    np.testing.assert_array_equal(x[1:], y[:-1])  # y is x shifted by one step
    assert vocab.decode(batches[0][0][:, 0]) == text[3:43]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), batch=st.integers(1, 7), steps=st.integers(1, 12),
       offset=st.integers(0, 20))
def test_text_batches_for_any_size(n, batch, steps, offset):
    ids = np.arange(n) * 7 % 11  # any stream; compare positions through a second copy
    position = np.arange(n)
    if n - offset < batch * steps + 1:
        with pytest.raises(ValueError, match="batch \\* steps"):
            TextBatches(ids, batch, steps, offset=offset)
        return
    batches = TextBatches(ids, batch, steps, offset=offset)
    where = TextBatches(position, batch, steps, offset=offset)
    assert len(batches) >= 1
    assert batches.track_length == len(batches) * steps
    np.testing.assert_array_equal(batches.starts, offset + batches.track_length * np.arange(batch))
    assert batch * batches.track_length + 1 <= n - offset < batch * (batches.track_length + steps) + 1
    for i in range(len(batches)):
        x, y = batches[i]
        px, py = where[i]
        assert x.shape == (steps, batch)
        np.testing.assert_array_equal(px, where.starts + i * steps + np.arange(steps)[:, None])
        np.testing.assert_array_equal(py, px + 1)
        np.testing.assert_array_equal(x, ids[px])
        np.testing.assert_array_equal(y, ids[py])


def test_text_batches_carry_the_state():
    """Carrying h_n into the next batch reproduces one run over whole tracks; resetting it to
    zero (the negative control) does not."""
    vocab = Vocabulary(load_text()[:2000])
    ids = vocab.encode(load_text()[:2000])
    batches = TextBatches(ids, 3, 20)
    rnn = RNN(vocab.size, 8, seed=0)
    tracks = np.concatenate([x for x, _ in batches])
    whole, _ = rnn.forward(one_hot(tracks, vocab.size))
    whole = whole.copy()
    carried, reset, h = [], [], None
    for x, _ in batches:
        out, h = rnn.forward(one_hot(x, vocab.size), h)
        carried.append(out.copy())
        reset.append(rnn.forward(one_hot(x, vocab.size))[0].copy())
    np.testing.assert_allclose(np.concatenate(carried), whole, rtol=0, atol=1e-12)
    assert not np.allclose(np.concatenate(reset), whole, atol=1e-3)


def test_text_batches_errors_and_indexing():
    ids = np.arange(101)
    batches = TextBatches(ids, 10, 10)  # exactly enough: 100 inputs and one more target
    assert len(batches) == 1
    with pytest.raises(ValueError, match=r"batch \* steps: 10 tracks of 10 steps need batch \* steps \+ 1 = 101 ids, got 100"):
        TextBatches(ids[:100], 10, 10)
    with pytest.raises(ValueError, match="got 99 \\(len\\(ids\\) = 101, offset = 2\\)"):
        TextBatches(ids, 10, 10, offset=2)
    with pytest.raises(ValueError, match="steps: expected a positive int, got 0"):
        TextBatches(ids, 2, 0)
    with pytest.raises(TypeError, match=r"ids: expected a 1-d integer numpy\.ndarray"):
        TextBatches(list(range(50)), 2, 3)
    with pytest.raises(TypeError, match=r"ids: expected a 1-d integer numpy\.ndarray"):
        TextBatches(ids.astype(float), 2, 3)
    with pytest.raises(ValueError, match="ids: expected a 1-d array"):
        TextBatches(ids.reshape(1, -1), 2, 3)
    with pytest.raises(IndexError, match=r"expected a batch in \[0, 1\), got 1"):
        batches[1]
    np.testing.assert_array_equal(batches[-1][0], batches[0][0])
    x, _ = batches[0]
    with pytest.raises(ValueError, match="read-only"):
        x[0, 0] = 5
    assert ids[0] == 0  # the caller's array is untouched
