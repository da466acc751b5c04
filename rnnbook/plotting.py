"""The book's figure style and the diagrams that recur from chapter to chapter."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

#: Colours of the book: inputs, hidden states, outputs, and a highlight for gradients.
COLORS = {"input": "#4C72B0", "hidden": "#55A868", "output": "#C44E52", "grad": "#8172B2"}

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "font.size": 10,
    "axes.prop_cycle": mpl.cycler(color=[*COLORS.values(), "#DD8452", "#937860"]),
}


#: Width of the book's text column in inches at the style's ``figure.dpi`` (784 px on the
#: site at 1400 px). A wider figure is shrunk to fit and its text with it: beyond about
#: 8.5 in, the style's 10 pt text reads smaller than 80% of the body text (16 px).
COLUMN_WIDTH = 7.1


def use_book_style() -> None:
    """Apply the book's matplotlib style to every figure drawn after this call.

    In a Jupyter kernel, figures are also sent as PNG at twice their resolution and shown at
    their size (matplotlib-inline's "retina" format): sharp on high-density screens.
    """
    mpl.rcParams.update(BOOK_STYLE)
    _sharp_inline_figures()


def _sharp_inline_figures() -> None:
    # Only with the inline backend of a running IPython kernel: a script or a test has no
    # inline figures, and asking for the shell there would create one.
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None or "inline" not in mpl.get_backend():
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


def _node(ax: Axes, x: float, y: float, text: str, color: str, width: float = 0.7) -> None:
    box = FancyBboxPatch(
        (x - width / 2, y - 0.25), width, 0.5,
        boxstyle="round,pad=0.05", facecolor=color, edgecolor="black", alpha=0.85, lw=1,
    )
    ax.add_patch(box)
    ax.text(x, y, text, ha="center", va="center", color="white", fontsize=10)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "",
           color: str = "black", offset: tuple[float, float] = (0.0, 0.0)) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color,
                                 lw=1.2, shrinkA=0, shrinkB=0))
    if label:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, label, ha="center", va="center", fontsize=9, color=color,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def draw_unrolled_rnn(ax: Axes, steps: int = 4, folded: bool = True) -> Axes:
    """Draw the recurrent loop (left, if ``folded``) and its unrolling over ``steps`` steps.

    Every column of the unrolled graph carries the same labels ``W_ih``, ``W_hh`` and
    ``W_ho``: one set of weights, used at every time step.
    """
    ax.set_axis_off()
    start = 0.0
    if folded:
        _node(ax, 0, 0, r"$x_t$", COLORS["input"])
        _node(ax, 0, 1.5, r"$h_t$", COLORS["hidden"])
        _node(ax, 0, 3, r"$o_t$", COLORS["output"])
        _arrow(ax, (0, 0.3), (0, 1.2), r"$W_{ih}$")
        _arrow(ax, (0, 1.8), (0, 2.7), r"$W_{ho}$")
        ax.add_patch(FancyArrowPatch((0.4, 1.6), (0.4, 1.4), connectionstyle="arc3,rad=-2.8",
                                     arrowstyle="-|>", mutation_scale=12, lw=1.2))
        ax.text(1.0, 1.5, r"$W_{hh}$", fontsize=9, va="center")
        ax.text(1.7, 1.5, "=", fontsize=18, va="center", ha="center")
        start = 2.6
    spacing = 1.6
    _node(ax, start, 1.5, r"$h_0$", "gray")
    for t in range(1, steps + 1):
        x = start + t * spacing
        _node(ax, x, 0, rf"$x_{t}$", COLORS["input"])
        _node(ax, x, 1.5, rf"$h_{t}$", COLORS["hidden"])
        _node(ax, x, 3, rf"$o_{t}$", COLORS["output"])
        _arrow(ax, (x, 0.3), (x, 1.2), r"$W_{ih}$")
        _arrow(ax, (x, 1.8), (x, 2.7), r"$W_{ho}$")
        _arrow(ax, (x - spacing + 0.4, 1.5), (x - 0.4, 1.5), r"$W_{hh}$", offset=(0, 0.3))
    ax.set_xlim(-0.6, start + steps * spacing + 0.6)
    ax.set_ylim(-0.5, 3.5)
    ax.set_aspect("equal")
    return ax



def _column(ax: Axes, x: float, t: int | str, *, has_input: bool, has_output: bool,
            state: str = "h") -> None:
    """One step of an unrolled diagram: input box (y = 0), state (1.2), output (2.4)."""
    if has_input:
        _node(ax, x, 0, rf"$x_{{{t}}}$", COLORS["input"], width=0.6)
        _arrow(ax, (x, 0.3), (x, 0.9))
    _node(ax, x, 1.2, rf"${state}_{{{t}}}$", COLORS["hidden"], width=0.6)
    if has_output:
        _arrow(ax, (x, 1.5), (x, 2.1))
        _node(ax, x, 2.4, rf"$o_{{{t}}}$", COLORS["output"], width=0.6)


def _recurrence(ax: Axes, x0: float, x1: float, **kwargs) -> None:
    """The state arrow from the column at ``x0`` to the one at ``x1`` (height 1.2)."""
    _arrow(ax, (x0 + 0.35, 1.2), (x1 - 0.35, 1.2), **kwargs)


def _frame(ax: Axes, title: str, right: float) -> None:
    ax.set_title(title)
    ax.set_axis_off()
    ax.grid(False)
    ax.set_xlim(-0.6, right + 0.5)
    ax.set_ylim(-0.8, 2.9)
    ax.set_aspect("equal")


def draw_output_modes(axes: Sequence[Axes], steps: int = 4,
                      decoder_steps: int = 3) -> Sequence[Axes]:
    """Draw the four ways to wire an RNN to its outputs, one unrolled diagram per axis.

    ``axes[0]`` many-to-one (inputs at every step, one output ``o_T`` at the last),
    ``axes[1]`` many-to-many (an output at every step), ``axes[2]`` one-to-many (one input
    ``x_1``, an output at every step, each output fed back as the next step's input: dashed),
    ``axes[3]`` encoder-decoder (an encoder reads ``x_1 .. x_T`` and emits nothing; its final
    state ``h_T`` is the initial state of a decoder, states ``h'_t``, that reads the previous
    target ``y_{t-1}``, with ``y_0`` the start symbol, and writes ``o_1 .. o_{T'}``,
    ``T' = decoder_steps``). Colours are the book's (:data:`COLORS`). Returns ``axes``.
    """
    if len(axes) != 4:
        raise ValueError(f"axes must hold 4 axes (one per output mode), got {len(axes)}")
    for name, value in (("steps", steps), ("decoder_steps", decoder_steps)):
        if not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an int >= 2, got {value!r}")
    many_to_one, many_to_many, one_to_many, seq2seq = axes
    last = steps - 1
    for ax, title, output_at in ((many_to_one, "many-to-one", {last}),
                                 (many_to_many, "many-to-many", set(range(steps)))):
        for x in range(steps):
            _column(ax, x, x + 1, has_input=True, has_output=x in output_at)
            if x:
                _recurrence(ax, x - 1, x)
        _frame(ax, title, last)
    for x in range(steps):
        _column(one_to_many, x, x + 1, has_input=x == 0, has_output=True)
        if x:
            _recurrence(one_to_many, x - 1, x)
            one_to_many.add_patch(FancyArrowPatch(  # o_t becomes the input of step t + 1
                (x - 0.75, 2.15), (x - 0.2, 1.45), arrowstyle="-|>", mutation_scale=10,
                lw=1.0, linestyle="--", color="black", shrinkA=0, shrinkB=0))
    _frame(one_to_many, "one-to-many", last)
    # encoder: inputs and states only; decoder: starts from h_T, reads y_{t-1}, writes o_t
    for x in range(steps):
        _column(seq2seq, x, x + 1, has_input=True, has_output=False)
        if x:
            _recurrence(seq2seq, x - 1, x)
    gap = 0.6  # extra room between encoder and decoder for the hand-over arrow
    for k in range(decoder_steps):
        x = steps + gap + k
        _node(seq2seq, x, 0, rf"$y_{{{k}}}$", COLORS["input"], width=0.6)
        _arrow(seq2seq, (x, 0.3), (x, 0.9))
        _node(seq2seq, x, 1.2, rf"$h'_{{{k + 1}}}$", COLORS["hidden"], width=0.6)
        _arrow(seq2seq, (x, 1.5), (x, 2.1))
        _node(seq2seq, x, 2.4, rf"$o_{{{k + 1}}}$", COLORS["output"], width=0.6)
        if k:
            _recurrence(seq2seq, x - 1, x)
    _recurrence(seq2seq, last, steps + gap)
    seq2seq.add_patch(FancyArrowPatch((last + 0.3, 1.8), (last + 0.3, -0.6), lw=0.8,
                                      linestyle=":", color="gray", arrowstyle="-"))
    right = steps + gap + decoder_steps - 1
    seq2seq.text(last / 2, -0.65, "encoder", ha="center", va="center", fontsize=9)
    seq2seq.text((steps + gap + right) / 2, -0.65, "decoder", ha="center", va="center",
                 fontsize=9)
    _frame(seq2seq, "encoder–decoder", right)
    return axes


def _op(ax: Axes, x: float, y: float, text: str, fontsize: int = 10) -> None:
    """A pointwise operation (product, sum, ``1 -``): a small white circle."""
    ax.add_patch(Circle((x, y), 0.2, facecolor="white", edgecolor="black", lw=1.2, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _gate(ax: Axes, x: float, y: float, fn: str, name: str) -> None:
    """A gate: a box holding its nonlinearity, its name written on its right."""
    color = COLORS["grad"] if fn == r"$\sigma$" else COLORS["hidden"]
    _node(ax, x, y, fn, color, width=0.55)
    ax.text(x + 0.35, y + 0.38, name, ha="left", va="center", fontsize=10)


def _line(ax: Axes, xs: list[float], ys: list[float], lw: float = 1.2) -> None:
    ax.plot(xs, ys, color="black", lw=lw, solid_capstyle="round", zorder=1)


def draw_lstm_cell(ax: Axes) -> Axes:
    """Draw one LSTM step in PyTorch's form (gates ``i, f, g, o``; the cell path on top).

    The cell state runs straight along the top, ``c_{t-1}`` to ``c_t``, touched only by
    a product with ``f_t`` and a sum with ``i_t * g_t``: the constant error carousel.
    Below it, ``h_{t-1}`` and ``x_t`` feed the four gate boxes (sigma or tanh), and
    ``h_t = o_t * tanh(c_t)`` leaves on the right. Returns ``ax``.
    """
    ax.set_axis_off()
    ax.grid(False)
    top, gates_y, bus = 3.0, 1.0, 0.0
    xs = {"f": 1.0, "i": 2.0, "g": 3.0, "o": 4.0}
    # the cell path: straight and thick, the only route from c_{t-1} to c_t
    _line(ax, [-0.6, 6.4], [top, top], lw=2.4)
    ax.text(-0.7, top, r"$c_{t-1}$", ha="right", va="center", fontsize=11)
    _arrow(ax, (6.2, top), (6.5, top))
    ax.text(6.6, top, r"$c_t$", ha="left", va="center", fontsize=11)
    # inputs: h_{t-1} from the left and x_t from below join one bus under the gates
    _line(ax, [-0.6, xs["o"]], [bus, bus])
    ax.text(-0.7, bus, r"$h_{t-1}$", ha="right", va="center", fontsize=11)
    _line(ax, [0.2, 0.2], [-0.8, bus])
    ax.text(0.2, -0.95, r"$x_t$", ha="center", va="top", fontsize=11)
    for name, x in xs.items():
        _arrow(ax, (x, bus), (x, gates_y - 0.3))
        _gate(ax, x, gates_y, r"$\tanh$" if name == "g" else r"$\sigma$", f"${name}_t$")
    # forget: c_{t-1} * f_t
    _arrow(ax, (xs["f"], gates_y + 0.3), (xs["f"], top - 0.2))
    _op(ax, xs["f"], top, r"$\odot$")
    # input: i_t * g_t added to the cell
    mid = (xs["i"] + xs["g"]) / 2
    _line(ax, [xs["i"], xs["i"], mid - 0.2], [gates_y + 0.3, 2.0, 2.0])
    _line(ax, [xs["g"], xs["g"], mid + 0.2], [gates_y + 0.3, 2.0, 2.0])
    _op(ax, mid, 2.0, r"$\odot$")
    _arrow(ax, (mid, 2.2), (mid, top - 0.2))
    _op(ax, mid, top, "+")
    # output: h_t = o_t * tanh(c_t), tapped from the cell path after the sum
    _arrow(ax, (5.2, top), (5.2, 2.3))
    _node(ax, 5.2, 2.0, r"$\tanh$", COLORS["hidden"], width=0.55)
    _arrow(ax, (5.2, 1.7), (5.2, gates_y + 0.2))
    _line(ax, [xs["o"] + 0.35, 5.0], [gates_y, gates_y])
    _op(ax, 5.2, gates_y, r"$\odot$")
    _line(ax, [5.2, 5.2, 6.2], [gates_y - 0.2, bus, bus])
    _arrow(ax, (6.2, bus), (6.5, bus))
    ax.text(6.6, bus, r"$h_t$", ha="left", va="center", fontsize=11)
    ax.set_xlim(-1.6, 7.3)
    ax.set_ylim(-1.4, 3.5)
    ax.set_aspect("equal")
    return ax


def draw_gru_cell(ax: Axes) -> Axes:
    """Draw one GRU step in PyTorch's form (gates ``r, z, n``; the state path on top).

    ``h_{t-1}`` runs along the top to ``h_t``, scaled by ``z_t`` and added to
    ``(1 - z_t) * n_t``; the reset gate ``r_t`` enters the candidate's box, where PyTorch
    applies it to ``W_hn h_{t-1} + b_hn``. Returns ``ax``.
    """
    ax.set_axis_off()
    ax.grid(False)
    top, gates_y, bus = 3.0, 1.0, 0.0
    xs = {"z": 1.0, "r": 2.2, "n": 3.6}
    _line(ax, [-0.6, 5.4], [top, top], lw=2.4)
    ax.text(-0.7, top, r"$h_{t-1}$", ha="right", va="center", fontsize=11)
    _arrow(ax, (5.2, top), (5.5, top))
    ax.text(5.6, top, r"$h_t$", ha="left", va="center", fontsize=11)
    # h_{t-1} also feeds the gates, with x_t from below
    _line(ax, [-0.3, -0.3, xs["n"]], [top, bus, bus])
    _line(ax, [0.4, 0.4], [-0.8, bus])
    ax.text(0.4, -0.95, r"$x_t$", ha="center", va="top", fontsize=11)
    for name, x in xs.items():
        _arrow(ax, (x, bus), (x, gates_y - 0.3))
        _gate(ax, x, gates_y, r"$\tanh$" if name == "n" else r"$\sigma$", f"${name}_t$")
    # reset: r_t acts inside the candidate
    _arrow(ax, (xs["r"] + 0.33, gates_y - 0.1), (xs["n"] - 0.33, gates_y - 0.1))
    # update: z_t * h_{t-1} on the top path, (1 - z_t) * n_t added to it
    _arrow(ax, (xs["z"], gates_y + 0.3), (xs["z"], top - 0.2))
    _op(ax, xs["z"], top, r"$\odot$")
    _line(ax, [xs["z"], 2.0], [2.0, 2.0])
    _op(ax, 2.2, 2.0, "1−", fontsize=9)  # plain "1 minus": fits its circle at 9 pt
    _line(ax, [2.4, xs["n"] - 0.2], [2.0, 2.0])
    _arrow(ax, (xs["n"], gates_y + 0.3), (xs["n"], 1.8))
    _op(ax, xs["n"], 2.0, r"$\odot$")
    _arrow(ax, (xs["n"], 2.2), (xs["n"], top - 0.2))
    _op(ax, xs["n"], top, "+")
    ax.set_xlim(-1.6, 6.3)
    ax.set_ylim(-1.4, 3.5)
    ax.set_aspect("equal")
    return ax


def draw_computation_graph(
    ax: Axes,
    positions: dict[str, tuple[float, float]],
    edges: list[tuple[str, str, str]],
    colors: dict[str, str] | None = None,
) -> Axes:
    """Draw a computation graph: a box per node at ``positions[name]``, and for every
    ``(source, target, label)`` an arrow, curved so that edges that skip nodes stay apart.
    """
    ax.set_axis_off()
    colors = colors or {}
    for name, (x, y) in positions.items():
        _node(ax, x, y, name, colors.get(name, COLORS["hidden"]), width=0.8)
    for source, target, label in edges:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        distance = abs(x1 - x0) + abs(y1 - y0)
        bend = 0.0 if distance <= 2.01 else 0.25 + 0.05 * distance
        if bend:  # from the top of one box to the top of the other, over the boxes between
            start, end, height = (x0, y0 + 0.25), (x1, y1 + 0.25), 0.3 + 0.45 * bend * distance
        else:  # side to side
            start, end, height = (x0 + 0.45, y0), (x1 - 0.45, y1), 0.05
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.1,
                                     shrinkA=2, shrinkB=2, connectionstyle=f"arc3,rad={-bend}"))
        if label:
            ax.text((x0 + x1) / 2, max(y0, y1) + height, label, ha="center", va="bottom",
                    fontsize=9, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.9 + 0.25 * (max(xs) - min(xs)))
    ax.set_aspect("equal")
    return ax


def new_figure(ncols: int = 1, nrows: int = 1, **kwargs):
    """``plt.subplots`` in the book's style, with a layout that leaves room for labels.

    Keep ``figsize`` at most ``COLUMN_WIDTH`` inches wide so that the text stays legible.
    """
    use_book_style()
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)


def plot_learning_curve(history, ax: Axes | None = None, *, label: str = "", window: int = 1,
                        per_token: bool = False, color: str | None = None) -> Axes:
    """Training loss per update (a ``window``-update moving average) and validation points.

    ``history`` is a :class:`rnnbook.training.History`. With ``per_token`` each update's
    loss is divided by the number of steps it counted (for a summed loss). Returns the axes.
    """
    import numpy as np

    if ax is None:
        _, ax = new_figure()
    loss = np.asarray(history.loss, dtype=float)
    if per_token:
        loss = loss / np.asarray(history.tokens, dtype=float)
    if window > 1 and len(loss) >= window:
        loss = np.convolve(loss, np.ones(window) / window, mode="valid")
        updates = np.arange(window, len(history.loss) + 1)
    else:
        updates = np.arange(1, len(loss) + 1)
    (line,) = ax.plot(updates, loss, label=f"{label} (training)" if label else "training",
                      color=color)
    if history.val_loss:
        ax.plot(history.val_step, history.val_loss, "o--", ms=4, color=line.get_color(),
                label=f"{label} (validation)" if label else "validation")
    ax.set(xlabel="update", ylabel="loss" + (f" ({window}-update average)" if window > 1
                                             else ""))
    return ax
