"""Elementwise nonlinearities and their derivatives.

Each derivative is also written as a function of the activation's *output*
(``tanh'(z) = 1 - tanh(z)^2``), which is what BPTT uses: the hidden states are stored
anyway, so the pre-activations need not be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnbook._checks import check_choice

ArrayFn = Callable[..., np.ndarray]


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, computed as ``(1 + tanh(z/2)) / 2``.

    The tanh form never overflows, for any finite ``z``. ``z`` of any shape (a number or a
    list too); the result has its shape, and float32 stays float32. The first of
    eq. :eq:`eq-activations` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`.
    """
    if out is None:  # a scalar or a list works too; ``out`` is for the package's hot loops
        z = np.asarray(z)
        if not np.issubdtype(z.dtype, np.floating):
            z = z.astype(float)
        return 0.5 + 0.5 * np.tanh(0.5 * z)  # keeps float32 as float32
    result = np.multiply(z, 0.5, out=out)
    np.tanh(result, out=result)
    result *= 0.5
    result += 0.5
    return result


def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Rectified linear unit ``max(z, 0)``, elementwise, of the shape of ``z``.

    The last of eq. :eq:`eq-activations` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`.
    """
    return np.maximum(z, 0, out=out)


def _tanh_grad_from_output(h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    result = np.multiply(h, h, out=out)
    np.subtract(1, result, out=result)
    return result


def _sigmoid_grad_from_output(s: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    result = np.subtract(1, s, out=out)
    result *= s
    return result


def _relu_grad_from_output(h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # ReLU's derivative at 0 is taken as 0, as PyTorch does.
    if out is None:
        return (h > 0).astype(h.dtype)
    return np.greater(h, 0, out=out)


@dataclass(frozen=True)
class Activation:
    """A nonlinearity ``f`` with its derivative, as a function of ``z`` and of ``f(z)``.

    ``grad_from_output(h)`` is ``f'(z)`` written in terms of ``h = f(z)``, the forms of
    eq. :eq:`eq-activation-derivatives` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`
    (``1 - h^2`` for tanh, ``h (1 - h)`` for the sigmoid, ``[h > 0]`` for ReLU): BPTT keeps
    the states ``h_t`` ``(T, B, H)`` and needs no pre-activations. ``bound`` is
    ``sup |f'(z)|``, the ``gamma`` of :doc:`/book/d_gradients/vanishing_exploding`.
    """

    name: str
    forward: ArrayFn
    grad_from_output: ArrayFn
    bound: float  # sup |f'(z)|: 1 for tanh and ReLU, 1/4 for the sigmoid

    def grad(self, z: np.ndarray) -> np.ndarray:
        """``f'(z)`` evaluated elementwise."""
        return self.grad_from_output(self.forward(z)).astype(z.dtype, copy=False)


#: The nonlinearities by name: ``"tanh"``, ``"sigmoid"`` and ``"relu"``.
ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _tanh_grad_from_output, 1.0),
    "sigmoid": Activation("sigmoid", sigmoid, _sigmoid_grad_from_output, 0.25),
    "relu": Activation("relu", relu, _relu_grad_from_output, 1.0),
}


def get_activation(name: str, allowed: tuple[str, ...] = tuple(ACTIVATIONS)) -> Activation:
    """Look up a nonlinearity by name in :data:`~rnnbook.activations.ACTIVATIONS`.

    ``allowed`` restricts the names (the Elman RNN takes ``"tanh"`` and ``"relu"``); another
    name raises ``ValueError`` listing the allowed ones.
    """
    return ACTIVATIONS[check_choice("nonlinearity", name, allowed)]
