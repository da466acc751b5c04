"""The LSTM and GRU cell diagrams draw without error and name every gate and state."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from rnnbook.plotting import draw_gru_cell, draw_lstm_cell


@pytest.mark.parametrize(("draw", "labels"), [
    (draw_lstm_cell, {"$i_t$", "$f_t$", "$g_t$", "$o_t$", "$c_{t-1}$", "$c_t$", "$h_{t-1}$",
                      "$h_t$", "$x_t$"}),
    (draw_gru_cell, {"$r_t$", "$z_t$", "$n_t$", "$h_{t-1}$", "$h_t$", "$x_t$"}),
])
def test_cell_diagram_labels_every_gate(draw, labels):
    fig, ax = plt.subplots()
    assert draw(ax) is ax
    texts = [text.get_text() for text in ax.texts]
    assert labels <= set(texts), labels - set(texts)
    sigmoids = texts.count(r"$\sigma$")
    assert sigmoids == (3 if draw is draw_lstm_cell else 2)  # one box per sigmoid gate
    assert not ax.axison
    fig.canvas.draw()
    plt.close(fig)
