"""Losses return the gradient of the loss they report, for every reduction, mask and mode."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbook.gradcheck import gradcheck
from rnnbook.losses import cross_entropy_loss, last_step_weights, log_softmax, mse_loss, softmax

T, B, C = 4, 3, 5
RNG = np.random.default_rng(0)
MASK = np.arange(T)[:, None] < np.array([4, 2, 1])[None, :]


def cases():
    for reduction in ("mean", "sum"):
        for mask in (None, MASK):
            for last_step in (False, True):
                yield pytest.param(reduction, mask, last_step,
                                   id=f"{reduction}-{'mask' if mask is not None else 'nomask'}-{'last' if last_step else 'all'}")


@pytest.mark.parametrize("reduction,mask,last_step", list(cases()))
def test_mse_gradient_matches_finite_differences(reduction, mask, last_step):
    prediction = RNG.normal(size=(T, B, C))
    target = RNG.normal(size=(B, C) if last_step else (T, B, C))
    kwargs = dict(reduction=reduction, mask=mask, last_step=last_step)
    _, grad = mse_loss(prediction, target, **kwargs)
    report = gradcheck(lambda: mse_loss(prediction, target, **kwargs)[0], {"p": prediction}, {"p": grad})
    assert report.passed(1e-7), f"\n{report}"


@pytest.mark.parametrize("reduction,mask,last_step", list(cases()))
def test_cross_entropy_gradient_matches_finite_differences(reduction, mask, last_step):
    logits = 3 * RNG.normal(size=(T, B, C))
    target = RNG.integers(0, C, size=(B,) if last_step else (T, B))
    kwargs = dict(reduction=reduction, mask=mask, last_step=last_step)
    _, grad = cross_entropy_loss(logits, target, **kwargs)
    report = gradcheck(lambda: cross_entropy_loss(logits, target, **kwargs)[0], {"z": logits}, {"z": grad})
    assert report.passed(1e-7), f"\n{report}"


def test_mse_values_by_hand():
    prediction = np.array([[[1.0, 2.0]], [[3.0, 5.0]]])  # (T=2, B=1, C=2)
    target = np.zeros((2, 1, 2))
    assert mse_loss(prediction, target, reduction="sum")[0] == 1 + 4 + 9 + 25
    assert mse_loss(prediction, target)[0] == (1 + 4 + 9 + 25) / 4
    assert mse_loss(prediction, np.zeros((1, 2)), last_step=True, reduction="sum")[0] == 9 + 25
    mask = np.array([[True], [False]])
    assert mse_loss(prediction, target, mask=mask)[0] == (1 + 4) / 2


def test_cross_entropy_values_by_hand():
    logits = np.log(np.array([[[0.2, 0.3, 0.5]], [[0.1, 0.1, 0.8]]]))  # (T=2, B=1, C=3)
    target = np.array([[2], [0]])
    loss, grad = cross_entropy_loss(logits, target, reduction="sum")
    assert loss == pytest.approx(-np.log(0.5) - np.log(0.1), rel=1e-14)
    np.testing.assert_allclose(grad[0, 0], [0.2, 0.3, -0.5], atol=1e-15)
    np.testing.assert_allclose(grad[1, 0], [-0.9, 0.1, 0.8], atol=1e-15)
    mean, _ = cross_entropy_loss(logits, target)
    assert mean == pytest.approx(loss / 2, rel=1e-14)


def test_mean_is_sum_over_counted_positions():
    logits = RNG.normal(size=(T, B, C))
    target = RNG.integers(0, C, size=(T, B))
    total, d_total = cross_entropy_loss(logits, target, reduction="sum", mask=MASK)
    mean, d_mean = cross_entropy_loss(logits, target, reduction="mean", mask=MASK)
    assert mean == pytest.approx(total / MASK.sum(), rel=1e-14)
    np.testing.assert_allclose(d_mean, d_total / MASK.sum(), rtol=1e-14)


def test_last_step_uses_the_last_unmasked_step():
    weights = last_step_weights((T, B), MASK)
    np.testing.assert_array_equal(np.argmax(weights, axis=0), [3, 1, 0])
    assert weights.sum() == B
    np.testing.assert_array_equal(last_step_weights((T, B))[-1], np.ones(B))


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[[1e4, 0.0, -1e4]]])
    loss, grad = cross_entropy_loss(logits, np.array([[1]]))
    assert loss == pytest.approx(1e4)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(softmax(logits).sum(), 1.0)
    assert np.isfinite(log_softmax(logits)).all()


def test_masked_positions_get_zero_gradient():
    logits = RNG.normal(size=(T, B, C))
    _, grad = cross_entropy_loss(logits, RNG.integers(0, C, size=(T, B)), mask=MASK)
    assert np.all(grad[~MASK] == 0)


class TestBadInput:
    def test_unknown_reduction(self):
        with pytest.raises(ValueError, match=r"reduction: expected one of \('mean', 'sum'\), got 'avg'"):
            mse_loss(np.zeros((2, 1, 1)), np.zeros((2, 1, 1)), reduction="avg")

    def test_target_shape(self):
        with pytest.raises(ValueError, match=r"target: expected a 3-d array of shape \(2, 1, 3\), got 2-d shape \(2, 3\)"):
            mse_loss(np.zeros((2, 1, 3)), np.zeros((2, 3)))

    def test_mask_shape(self):
        with pytest.raises(ValueError, match=r"mask: expected shape \(2, 1\).*got \(1, 2\)"):
            mse_loss(np.zeros((2, 1, 3)), np.zeros((2, 1, 3)), mask=np.ones((1, 2), bool))

    def test_everything_masked(self):
        with pytest.raises(ValueError, match="mask: every position is masked out"):
            mse_loss(np.zeros((2, 1, 3)), np.zeros((2, 1, 3)), mask=np.zeros((2, 1), bool))

    def test_last_step_of_an_empty_sequence(self):
        mask = np.array([[True, False], [True, False]])
        with pytest.raises(ValueError, match=r"mask: sequences \[1\] have no unmasked step"):
            cross_entropy_loss(np.zeros((2, 2, 3)), np.zeros(2, int), mask=mask, last_step=True)

    def test_class_index_out_of_range(self):
        with pytest.raises(ValueError, match=r"target: class indices must lie in \[0, 3\)"):
            cross_entropy_loss(np.zeros((2, 1, 3)), np.array([[0], [3]]))

    def test_float_targets_for_cross_entropy(self):
        with pytest.raises(TypeError, match="target: expected an integer array"):
            cross_entropy_loss(np.zeros((2, 1, 3)), np.zeros((2, 1)))

    def test_nan_prediction(self):
        with pytest.raises(ValueError, match="prediction: contains NaN or inf"):
            mse_loss(np.full((2, 1, 1), np.nan), np.zeros((2, 1, 1)))
