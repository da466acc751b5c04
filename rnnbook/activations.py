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

    The tanh form never overflows, for any finite ``z``.
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
    """Rectified linear unit ``max(z, 0)``."""
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
    """A nonlinearity ``f`` with its derivative, as a function of ``z`` and of ``f(z)``."""

    name: str
    forward: ArrayFn
    grad_from_output: ArrayFn
    bound: float  # sup |f'(z)|: 1 for tanh and ReLU, 1/4 for the sigmoid

    def grad(self, z: np.ndarray) -> np.ndarray:
        """``f'(z)`` evaluated elementwise."""
        return self.grad_from_output(self.forward(z)).astype(z.dtype, copy=False)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _tanh_grad_from_output, 1.0),
    "sigmoid": Activation("sigmoid", sigmoid, _sigmoid_grad_from_output, 0.25),
    "relu": Activation("relu", relu, _relu_grad_from_output, 1.0),
}


def get_activation(name: str, allowed: tuple[str, ...] = tuple(ACTIVATIONS)) -> Activation:
    """Look up a nonlinearity by name, raising ``ValueError`` for an unknown one."""
    return ACTIVATIONS[check_choice("nonlinearity", name, allowed)]
