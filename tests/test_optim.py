"""Optimisers against hand-computed steps; clipping by norm and by value."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbook.optim import SGD, Adam, clip_grad_norm, clip_grad_value, global_norm


def test_sgd_step_by_hand():
    params = {"w": np.array([1.0, -2.0])}
    SGD(params, lr=0.1).step({"w": np.array([0.5, 1.0]), "input": np.zeros(7)})
    np.testing.assert_allclose(params["w"], [0.95, -2.1])


def test_sgd_momentum_two_steps_by_hand():
    params = {"w": np.array([1.0])}
    opt = SGD(params, lr=0.1, momentum=0.9)
    opt.step({"w": np.array([1.0])})  # v = 1, w = 1 - 0.1
    opt.step({"w": np.array([2.0])})  # v = 0.9 * 1 + 2 = 2.9, w = 0.9 - 0.29
    np.testing.assert_allclose(params["w"], [0.61])


def test_adam_two_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    params = {"w": np.array([0.5, -1.0])}
    opt = Adam(params, lr=lr, betas=(b1, b2), eps=eps)
    g1, g2 = np.array([0.2, -3.0]), np.array([-0.1, 1.0])
    opt.step({"w": g1})
    # Step 1: m̂ = g, v̂ = g², so the update is lr * g / (|g| + eps): about lr * sign(g).
    w1 = np.array([0.5, -1.0]) - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(params["w"], w1, rtol=1e-12)
    opt.step({"w": g2})
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    w2 = w1 - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(params["w"], w2, rtol=1e-12)


def test_optimiser_updates_the_callers_arrays_in_place():
    weight = np.ones(3)
    Adam({"w": weight}, lr=0.1).step({"w": np.ones(3)})
    np.testing.assert_allclose(weight, 0.9)


def test_clip_grad_norm_rescales_to_max_norm_and_keeps_direction():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]]), "input": np.array([100.0])}
    clipped, norm = clip_grad_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(5.0)  # the input's gradient is not a parameter's
    assert global_norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.8]])
    np.testing.assert_array_equal(clipped["input"], [100.0])
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])  # the input dict is unchanged


def test_clip_grad_norm_leaves_small_gradients_alone():
    grads = {"a": np.array([0.3, 0.4])}
    clipped, norm = clip_grad_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(0.5)
    np.testing.assert_allclose(clipped["a"], grads["a"], rtol=1e-11)


def test_clip_grad_value():
    clipped = clip_grad_value({"a": np.array([-5.0, 0.5, 2.0])}, 1.0)
    np.testing.assert_array_equal(clipped["a"], [-1.0, 0.5, 1.0])


class TestBadInput:
    def test_missing_gradient(self):
        with pytest.raises(ValueError, match="grads: missing the gradient of 'w'"):
            SGD({"w": np.ones(2)}, lr=0.1).step({"v": np.ones(2)})

    def test_gradient_shape(self):
        with pytest.raises(ValueError, match=r"grads\['w'\]: expected shape \(2,\), got \(3,\)"):
            Adam({"w": np.ones(2)}).step({"w": np.ones(3)})

    def test_non_finite_gradient(self):
        with pytest.raises(ValueError, match=r"grads\['w'\]: contains NaN or inf"):
            SGD({"w": np.ones(2)}, lr=0.1).step({"w": np.array([1.0, np.inf])})

    @pytest.mark.parametrize("lr", [0.0, -1.0])
    def test_learning_rate(self, lr):
        with pytest.raises(ValueError, match="lr: expected a positive learning rate"):
            SGD({"w": np.ones(2)}, lr=lr)

    def test_momentum(self):
        with pytest.raises(ValueError, match="momentum"):
            SGD({"w": np.ones(2)}, lr=0.1, momentum=1.0)

    def test_max_norm(self):
        with pytest.raises(ValueError, match="max_norm"):
            clip_grad_norm({"w": np.ones(2)}, 0.0)
