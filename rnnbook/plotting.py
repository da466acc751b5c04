"""The book's figure style and the diagrams that recur from chapter to chapter."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

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


def use_book_style() -> None:
    """Apply the book's matplotlib style to every figure drawn after this call."""
    mpl.rcParams.update(BOOK_STYLE)


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
    """``plt.subplots`` in the book's style, with a layout that leaves room for labels."""
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
