"""A training loop: batches, a BPTT scheme, clipping and an optimiser, with a history.

:func:`fit` is the loop the practice chapters use::

    history = fit(model, batches, loss, rnnbook.Adam(model.params, lr=3e-3),
                  scheme=TruncatedBPTT(50), clip_norm=1.0, carry_state=True)

Each batch is cut into updates by the scheme (:mod:`rnnbook.bptt`); every update's
gradient is clipped, then the optimiser steps. With ``carry_state`` the final state of one
batch starts the next, as truncated BPTT over a long text needs (see
:class:`rnnbook.tasks.TextBatches`). Ctrl-C stops the loop and returns the history so far.
"""

from __future__ import annotations

import math
import numbers
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rnnbook.bptt import FullBPTT, Loss, RandomizedBPTT, Scheme, TruncatedBPTT
from rnnbook.layers import Seed, make_rng
from rnnbook.optim import clip_grad_norm, clip_grad_value, global_norm


class Optimizer(Protocol):
    params: Any

    def step(self, grads: dict[str, np.ndarray]) -> None: ...


@dataclass
class History:
    """What :func:`fit` recorded: one entry per update, and one per validation.

    ``loss`` is the loss the update's gradient was computed from (as the loss function
    reported it); ``grad_norm`` the global norm of the gradient *before* clipping;
    ``tokens`` the number of steps whose loss that update counted; ``epoch`` the epoch of
    each update. ``val_step`` and ``val_loss`` hold the update count at each validation and
    its result. :func:`~rnnbook.plotting.plot_learning_curve` draws it, as in
    :doc:`/book/g_practice/language_model`.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    interrupted: bool = False

    @property
    def steps(self) -> int:
        """The number of updates made."""
        return len(self.loss)

    def __repr__(self) -> str:
        last = f", last loss {self.loss[-1]:.4g}" if self.loss else ""
        val = f", last validation {self.val_loss[-1]:.4g}" if self.val_loss else ""
        stopped = ", interrupted" if self.interrupted else ""
        return f"History({self.steps} updates{last}{val}{stopped})"


def _progress_bar(total: int | None, enabled: bool):
    """tqdm's notebook widget where ipywidgets is installed, its text bar elsewhere."""
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    return tqdm(total=total, disable=not enabled, unit="batch", dynamic_ncols=True)


@contextmanager
def _interrupt_between_updates() -> Iterator[dict[str, bool]]:
    """While the loop runs, a first Ctrl-C only sets a flag that the loop reads after each
    update, so that an update (the optimiser's step over every array, the history's
    entries) is never cut in half; a second Ctrl-C interrupts at once, as usual."""
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be set from the main thread
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        flag["stop"] = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_positive(name: str, value: object, kind: type = numbers.Real) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 or (
            not math.isfinite(value)):
        what = "int" if kind is numbers.Integral else "number"
        raise ValueError(f"{name}: expected a positive {what} or None, got {value!r}")


def fit(
    model: Any,
    batches: Iterable[tuple[np.ndarray, Any]],
    loss: Loss,
    optimizer: Optimizer,
    *,
    scheme: Scheme | None = None,
    epochs: int = 1,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    carry_state: bool = False,
    validate: Callable[[Any], float] | None = None,
    validate_every: int | None = None,
    seed: Seed = None,
    progress: bool = True,
    history: History | None = None,
) -> History:
    """Train ``model`` on ``batches`` and return its :class:`History`.

    ``model`` is a recurrent layer, or a :class:`~rnnbook.Sequential` of one and
    :class:`~rnnbook.Linear` read-outs; ``batches`` an iterable of ``(x, target)`` with
    ``x`` ``(T, B, D)`` and ``target`` with ``T`` on its first axis (a list or a
    :class:`~rnnbook.tasks.TextBatches` is read again each epoch; a generator only once);
    ``loss(prediction, target) -> (value, d_prediction)``; ``optimizer`` holds
    ``model.params``. ``scheme`` is :class:`~rnnbook.bptt.FullBPTT` (the default),
    :class:`~rnnbook.bptt.TruncatedBPTT` or :class:`~rnnbook.bptt.RandomizedBPTT`.
    ``clip_norm`` / ``clip_value`` clip each update's gradient (by global norm, then by
    value). ``carry_state`` starts each batch from the previous batch's final state (zeros
    at the start of every epoch). ``validate(model) -> float`` runs every
    ``validate_every`` updates and at the end. ``seed`` drives a randomized scheme.
    ``progress=False`` silences the progress bar. Passing an earlier ``history`` appends
    to it, so that training can resume where it stopped.

    Ctrl-C (or the notebook's interrupt button) stops the loop after the update it is in
    and returns the history so far, marked ``interrupted``; a second Ctrl-C stops at once.

    Each update is one step of the optimiser on the (clipped) gradient, the learning rules of
    :doc:`/book/c_bptt/learning` and :doc:`/book/e_remedies/clipping`; the loop trains the
    character model of :doc:`/book/g_practice/language_model`.
    """
    scheme = FullBPTT() if scheme is None else scheme
    if not isinstance(scheme, FullBPTT | TruncatedBPTT | RandomizedBPTT):
        raise TypeError(f"scheme: expected FullBPTT, TruncatedBPTT or RandomizedBPTT, got "
                        f"{type(scheme).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
    _check_positive("clip_norm", clip_norm)
    _check_positive("clip_value", clip_value)
    _check_positive("validate_every", validate_every, numbers.Integral)
    if epochs > 1 and iter(batches) is batches:
        raise ValueError("batches: an iterator can be read only once, but epochs > 1; pass a "
                         "list (or another re-iterable such as TextBatches)")
    params = model.params
    if set(optimizer.params) != set(params) or any(
            optimizer.params[name] is not value for name, value in params.items()):
        raise ValueError("optimizer: it must hold the model's own arrays, model.params")
    history = History() if history is None else history
    first_epoch = history.epoch[-1] + 1 if history.epoch else 0
    rng = make_rng(seed)
    total = len(batches) * epochs if hasattr(batches, "__len__") else None
    bar = _progress_bar(total, progress)
    try:
        with _interrupt_between_updates() as interrupt:
            for epoch in range(first_epoch, first_epoch + epochs):
                state = None
                for x, target in batches:
                    last = None
                    for update in scheme.updates(model, x, target, loss, state, rng):
                        norm = global_norm(update.grads)
                        grads = update.grads
                        if clip_norm is not None:
                            grads, _ = clip_grad_norm(grads, clip_norm)
                        if clip_value is not None:
                            grads = clip_grad_value(grads, clip_value)
                        optimizer.step(grads)
                        # Recorded only once the step is taken, so the lists stay aligned.
                        history.grad_norm.append(norm)
                        history.loss.append(update.loss)
                        history.tokens.append(update.stop - update.start)
                        history.epoch.append(epoch)
                        last = update
                        if validate is not None and validate_every and \
                                history.steps % validate_every == 0:
                            value = float(validate(model))
                            history.val_step.append(history.steps)
                            history.val_loss.append(value)
                        if interrupt["stop"]:
                            raise KeyboardInterrupt
                    bar.update(1)
                    if history.loss:
                        bar.set_postfix(loss=f"{history.loss[-1]:.4f}", refresh=False)
                    state = last.state if carry_state and last is not None else None
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        bar.close()
    if validate is not None and not history.interrupted and (
            not history.val_step or history.val_step[-1] != history.steps):
        history.val_step.append(history.steps)
        history.val_loss.append(float(validate(model)))
    return history
