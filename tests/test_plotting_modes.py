"""The output-mode diagrams draw into four axes, titled, with the right number of outputs."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook.plotting import COLORS, draw_output_modes

TITLES = ["many-to-one", "many-to-many", "one-to-many", "encoder–decoder"]


def _labels(ax, letter):
    """Box labels of the form ``$letter_{...}$`` (outputs ``o``, inputs ``x``/``y``)."""
    return [t.get_text() for t in ax.texts if t.get_text().startswith(f"${letter}_")]


@settings(max_examples=10, deadline=None)
@given(steps=st.integers(2, 7), decoder_steps=st.integers(2, 6))
def test_output_modes_count_outputs(steps, decoder_steps):
    fig, axes = plt.subplots(2, 2)
    assert draw_output_modes(axes.ravel(), steps, decoder_steps) is not None
    panels = list(axes.ravel())
    assert [ax.get_title() for ax in panels] == TITLES
    # outputs: 1, T, T and the decoder's length; each label once, o_T alone in many-to-one
    assert _labels(panels[0], "o") == [f"$o_{{{steps}}}$"]
    for ax, expected in zip(panels[1:], (steps, steps, decoder_steps), strict=True):
        assert _labels(ax, "o") == [f"$o_{{{t}}}$" for t in range(1, expected + 1)]
    # inputs: T, T, one, and T for the encoder plus y_0 .. y_{T'-1} for the decoder
    assert [len(_labels(ax, "x")) for ax in panels] == [steps, steps, 1, steps]
    assert len(_labels(panels[3], "y")) == decoder_steps
    # one output box in the output colour per output label (no unlabeled box)
    red = matplotlib.colors.to_rgba(COLORS["output"], 0.85)
    for ax in panels:
        boxes = [p for p in ax.patches if p.get_facecolor() == pytest.approx(red)]
        assert len(boxes) == len(_labels(ax, "o"))
    # one-to-many feeds each output back, dashed: T - 1 dashed arrows
    dashed = [p for p in panels[2].patches if p.get_linestyle() in ("--", "dashed")]
    assert len(dashed) == steps - 1
    assert not any(ax.axison for ax in panels)
    fig.canvas.draw()
    plt.close(fig)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": 1}, "steps"), ({"decoder_steps": 0}, "decoder_steps"),
    ({"steps": 2.5}, "steps"),
])
def test_output_modes_bad_sizes(kwargs, message):
    fig, axes = plt.subplots(2, 2)
    with pytest.raises(ValueError, match=message):
        draw_output_modes(axes.ravel(), **kwargs)
    plt.close(fig)


def test_output_modes_needs_four_axes():
    fig, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match=r"axes must hold 4 axes.*got 3"):
        draw_output_modes(axes)
    plt.close(fig)
