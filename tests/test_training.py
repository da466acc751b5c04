"""The training loop (rnnbook.training.fit) and its learning-curve plot."""

from __future__ import annotations

import functools
import os
import signal
import threading

import matplotlib
import numpy as np
import pytest

import rnnbook
from rnnbook.bptt import FullBPTT, RandomizedBPTT, TruncatedBPTT, full_bptt, truncated_bptt
from rnnbook.plotting import plot_learning_curve
from rnnbook.tasks import TextBatches, one_hot, sine_waves
from rnnbook.training import History, fit

matplotlib.use("Agg")
sum_mse = functools.partial(rnnbook.mse_loss, reduction="sum")


def make_model(cell=rnnbook.RNN, seed=0, D=1, H=6, C=1):
    return rnnbook.Sequential(cell(D, H, seed=seed), rnnbook.Linear(H, C, seed=seed + 1))


def sine_batches(count, T=12, B=4, seed=3):
    rng = np.random.default_rng(seed)
    return [sine_waves(B, T, seed=rng) for _ in range(count)]


def test_fit_with_full_bptt_is_the_plain_loop():
    batches = sine_batches(5)
    trained, manual = make_model(), make_model()
    history = fit(trained, batches, rnnbook.mse_loss, rnnbook.SGD(trained.params, lr=0.05),
                  progress=False)
    optimizer = rnnbook.SGD(manual.params, lr=0.05)
    losses = []
    for x, y in batches:
        loss, d = rnnbook.mse_loss(manual.forward(x), y)
        optimizer.step(manual.backward(d))
        losses.append(loss)
    for name in manual.params:
        np.testing.assert_allclose(trained.params[name], manual.params[name], rtol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    assert history.steps == 5 and history.tokens == [12] * 5 and not history.interrupted


@pytest.mark.parametrize("cell", [rnnbook.RNN, rnnbook.LSTM, rnnbook.GRU])
def test_fit_with_truncation_and_a_carried_state_is_the_plain_loop(cell):
    text = np.random.default_rng(0).integers(0, 5, size=400)
    batches = TextBatches(text, batch=3, steps=10)
    loss = functools.partial(rnnbook.cross_entropy_loss, reduction="mean")

    def one_hot_batches():
        return [(one_hot(x, 5), y) for x, y in batches]

    trained, manual = make_model(cell, D=5, C=5), make_model(cell, D=5, C=5)
    history = fit(trained, one_hot_batches(), loss, rnnbook.Adam(trained.params, lr=0.01),
                  scheme=TruncatedBPTT(4, 6), carry_state=True, clip_norm=0.5,
                  progress=False)
    optimizer = rnnbook.Adam(manual.params, lr=0.01)
    state, losses = None, []
    for x, y in one_hot_batches():
        for update in truncated_bptt(manual, x, y, loss, 4, 6, state):
            optimizer.step(rnnbook.clip_grad_norm(update.grads, 0.5)[0])
            losses.append(update.loss)
        state = update.state
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    for name in manual.params:
        np.testing.assert_allclose(trained.params[name], manual.params[name], rtol=1e-12)
    assert history.tokens[:3] == [4, 4, 2]  # steps 0-3, 4-7, 8-9 of each batch of 10


def test_without_carry_state_every_batch_starts_from_zeros():
    text = np.random.default_rng(1).integers(0, 4, size=200)
    batches = [(one_hot(x, 4), y) for x, y in TextBatches(text, batch=2, steps=8)]
    loss = functools.partial(rnnbook.cross_entropy_loss, reduction="sum")
    carried, fresh = make_model(D=4, C=4), make_model(D=4, C=4)
    tiny = 1e-12  # the weights barely move: the losses differ by the initial state only
    h_carried = fit(carried, batches, loss, rnnbook.SGD(carried.params, lr=tiny),
                    carry_state=True, progress=False)
    h_fresh = fit(fresh, batches, loss, rnnbook.SGD(fresh.params, lr=tiny), progress=False)
    assert h_carried.loss[0] == pytest.approx(h_fresh.loss[0], rel=1e-9)
    assert not np.allclose(h_carried.loss[1:], h_fresh.loss[1:], rtol=1e-6)
    expected = full_bptt(fresh, *batches[1], loss).loss
    assert h_fresh.loss[1] == pytest.approx(expected, rel=1e-6)


def test_clipping_bounds_every_step_and_the_history_keeps_the_norm_before():
    model = make_model(H=8)
    model.params["0.weight_hh_l0"] *= 6  # an exploding start: large gradients
    before = {name: value.copy() for name, value in model.params.items()}
    lr, clip = 0.1, 1e-3
    history = fit(model, sine_batches(1, T=30), sum_mse, rnnbook.SGD(model.params, lr=lr),
                  clip_norm=clip, progress=False)
    step = np.sqrt(sum(np.sum((model.params[n] - before[n]) ** 2) for n in before))
    assert history.grad_norm[0] > 100 * clip
    assert step == pytest.approx(lr * clip, rel=1e-9)


def test_keyboard_interrupt_returns_the_history_so_far():
    data = sine_batches(10)

    def batches():
        for index, batch in enumerate(data):
            if index == 3:
                raise KeyboardInterrupt
            yield batch

    model = make_model()
    history = fit(model, batches(), rnnbook.mse_loss, rnnbook.SGD(model.params, lr=0.01),
                  validate=lambda m: 0.0, progress=False)
    assert history.interrupted and history.steps == 3
    assert history.val_loss == []  # no validation after an interrupt
    assert "interrupted" in repr(history)


main_thread_only = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread")


class InterruptingSGD(rnnbook.SGD):
    """Sends Ctrl-C to this process in the middle of its third step."""

    def step(self, grads):
        self.calls = getattr(self, "calls", 0) + 1
        first, *rest = self.params
        self.params[first] -= self.lr * grads[first]
        if self.calls == 3:
            os.kill(os.getpid(), signal.SIGINT)
        for name in rest:
            self.params[name] -= self.lr * grads[name]


@main_thread_only
def test_ctrl_c_inside_an_update_finishes_it_and_keeps_the_history_aligned():
    model = make_model()
    before = signal.getsignal(signal.SIGINT)
    history = fit(model, sine_batches(10), rnnbook.mse_loss,
                  InterruptingSGD(model.params, lr=0.01), validate=lambda m: 1.0,
                  validate_every=2, progress=False)
    assert history.interrupted and history.steps == 3
    assert len(history.grad_norm) == len(history.tokens) == len(history.epoch) == 3
    assert history.val_step == [2] and history.val_loss == [1.0]
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


@main_thread_only
def test_ctrl_c_inside_validation_keeps_steps_and_values_paired():
    model = make_model()

    def validate(m):
        os.kill(os.getpid(), signal.SIGINT)
        return 0.5

    history = fit(model, sine_batches(10), rnnbook.mse_loss, rnnbook.SGD(model.params, lr=0.01),
                  validate=validate, validate_every=3, progress=False)
    assert history.interrupted and history.steps == 3
    assert history.val_step == [3] and history.val_loss == [0.5]
    plot_learning_curve(history)  # a consistent history plots


def test_training_resumes_into_the_same_history():
    model = make_model()
    optimizer = rnnbook.SGD(model.params, lr=0.01)
    history = fit(model, sine_batches(2), rnnbook.mse_loss, optimizer, progress=False)
    again = fit(model, sine_batches(3), rnnbook.mse_loss, optimizer, progress=False,
                history=history)
    assert again is history and history.steps == 5
    assert history.epoch == [0, 0, 1, 1, 1]  # the resumed run is a new epoch


def test_numpy_numbers_are_accepted_and_an_iterator_cannot_serve_two_epochs():
    model = make_model()
    fit(model, sine_batches(1), rnnbook.mse_loss, rnnbook.SGD(model.params, lr=0.01),
        clip_norm=np.float32(1.0), validate_every=np.int64(1), validate=lambda m: 0.0,
        progress=False)
    with pytest.raises(ValueError, match="batches: an iterator"):
        fit(model, iter(sine_batches(2)), rnnbook.mse_loss,
            rnnbook.SGD(model.params, lr=0.01), epochs=2, progress=False)


def test_epochs_read_a_list_again_and_validation_runs_on_schedule():
    model = make_model()
    calls = []

    def validate(m):
        calls.append(1)
        return float(len(calls))

    history = fit(model, sine_batches(4), rnnbook.mse_loss, rnnbook.Adam(model.params),
                  epochs=3, validate=validate, validate_every=5, progress=False)
    assert history.steps == 12 and history.epoch == [0] * 4 + [1] * 4 + [2] * 4
    assert history.val_step == [5, 10, 12] and history.val_loss == [1.0, 2.0, 3.0]


def test_randomized_scheme_is_seeded():
    def run(seed):
        model = make_model()
        return fit(model, sine_batches(3, T=20), sum_mse, rnnbook.SGD(model.params, lr=0.001),
                   scheme=RandomizedBPTT(0.7), seed=seed, progress=False)

    assert run(1).tokens == run(1).tokens
    assert run(1).tokens != run(2).tokens or run(1).tokens != run(3).tokens


def test_fit_learns_the_sine_task():
    model = make_model(H=12)
    history = fit(model, sine_batches(150, T=30, B=16), rnnbook.mse_loss,
                  rnnbook.Adam(model.params, lr=0.01), clip_norm=1.0, progress=False)
    first, last = np.mean(history.loss[:10]), np.mean(history.loss[-10:])
    assert last < 0.2 * first


def test_the_progress_bar_is_silent_when_asked(capsys):
    model = make_model()
    fit(model, sine_batches(2), rnnbook.mse_loss, rnnbook.SGD(model.params, lr=0.01),
        progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(model, sine_batches(2), rnnbook.mse_loss, rnnbook.SGD(model.params, lr=0.01))
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"scheme": "tbptt"}, TypeError, "scheme"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"clip_norm": -1.0}, ValueError, "clip_norm"),
    ({"clip_value": float("inf")}, ValueError, "clip_value"),
    ({"validate_every": 0}, ValueError, "validate_every"),
    ({"validate_every": True}, ValueError, "validate_every"),
    ({"validate_every": 1.5}, ValueError, "validate_every"),
])
def test_bad_arguments(kwargs, error, match):
    model = make_model()
    with pytest.raises(error, match=match):
        fit(model, sine_batches(1), rnnbook.mse_loss, rnnbook.SGD(model.params, lr=0.1),
            progress=False, **kwargs)


def test_an_optimizer_of_other_arrays_is_refused():
    model, other = make_model(), make_model()
    with pytest.raises(ValueError, match="optimizer"):
        fit(model, sine_batches(1), rnnbook.mse_loss, rnnbook.SGD(other.params, lr=0.1),
            progress=False)


def test_bad_schemes_fail_when_built():
    with pytest.raises(ValueError, match="k2"):
        TruncatedBPTT(5, 2)
    with pytest.raises(ValueError, match="continue_prob"):
        RandomizedBPTT(0.0)
    assert list(FullBPTT().updates(make_model(), *sine_batches(1)[0], rnnbook.mse_loss))


def test_learning_curve_plot():
    history = History(loss=[4.0, 2.0, 1.0, 0.5], tokens=[2, 2, 2, 2], val_step=[2, 4],
                      val_loss=[3.0, 1.0])
    ax = plot_learning_curve(history, label="RNN", window=2, per_token=True)
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [1.5, 0.75, 0.375])
    np.testing.assert_allclose(lines[1].get_ydata(), [3.0, 1.0])
    assert lines[0].get_label() == "RNN (training)"
