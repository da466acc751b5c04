"""SymPy helpers that several chapters and the tests share.

They build small computation graphs and unrolled networks as exact expressions, so that
SymPy can differentiate them and act as an independent witness for the gradients that BPTT
computes. Each chapter still shows in its own cells the steps it teaches; these helpers are
for what repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

#: A computation graph: ``(variable, expression)`` pairs in the order they are computed.
#: Each expression may use the graph's inputs and the variables defined before it.
Graph = Sequence[tuple[sp.Symbol, sp.Expr]]


def _nodes(graph: Graph, inputs: Sequence[sp.Symbol]) -> list[tuple[sp.Symbol, sp.Expr | None]]:
    """Inputs (no definition) then the graph's variables, checked to be in order."""
    nodes: list[tuple[sp.Symbol, sp.Expr | None]] = [(x, None) for x in inputs]
    known = set(inputs)
    for variable, expression in graph:
        unknown = expression.free_symbols & ({v for v, _ in graph} - known)
        if unknown:
            raise ValueError(f"graph: {variable} = {expression} uses {sorted(map(str, unknown))} "
                             "before it is computed")
        known.add(variable)
        nodes.append((variable, expression))
    return nodes


def _position(nodes, symbol: sp.Symbol, role: str) -> int:
    names = [v for v, _ in nodes]
    if symbol not in names:
        raise ValueError(f"{role}: {symbol} is neither an input nor a variable of the graph")
    return names.index(symbol)


def substitute_later(
    graph: Graph, output: sp.Symbol, variable: sp.Symbol, inputs: Sequence[sp.Symbol] = ()
) -> sp.Expr:
    """The output written in terms of ``variable`` and everything computed before it.

    Every variable computed *after* ``variable`` is replaced by its definition, so the
    partial derivative of the result with respect to ``variable`` is the ordered (total)
    derivative of the output with respect to it. ``graph`` lists ``(variable, expression)``
    pairs in the order computed; ``inputs`` are the free symbols that start it. This is the
    first definition of the ordered derivative in :doc:`/book/b_chain_rule/ordered_derivatives`.
    """
    nodes = _nodes(graph, inputs)
    first = _position(nodes, variable, "variable")
    expression = output
    for later, definition in reversed(nodes[first + 1:]):
        if definition is not None:  # other inputs stay free symbols
            expression = expression.subs(later, definition)
    return expression


def ordered_derivatives_by_substitution(
    graph: Graph, output: sp.Symbol, inputs: Sequence[sp.Symbol] = ()
) -> dict[sp.Symbol, sp.Expr]:
    """``d output / d z`` for every input and variable ``z`` up to the output, by substitution.

    Returns ``{z: expression}``, each the derivative of :func:`substitute_later`'s result:
    the independent witness for :func:`ordered_derivatives` in
    :doc:`/book/b_chain_rule/ordered_derivatives`.
    """
    nodes = _nodes(graph, inputs)
    last = _position(nodes, output, "output")
    return {
        z: sp.expand(sp.diff(substitute_later(graph, output, z, inputs), z))
        for z, _ in nodes[: last + 1]
    }


def ordered_derivatives(
    graph: Graph, output: sp.Symbol, inputs: Sequence[sp.Symbol] = ()
) -> dict[sp.Symbol, sp.Expr]:
    """``d output / d z`` for every input and variable ``z``, by the backward sweep.

    ``d out/d z_i = sum_{j > i} (d out/d z_j) (∂ z_j/∂ z_i)`` over the nodes computed after
    ``z_i`` (Werbos, 1990), where ``∂ z_j/∂ z_i`` is the partial derivative of ``z_j``'s own
    formula. The output's derivative with respect to itself is 1, and the sweep visits the
    nodes in reverse order, so each ``d out/d z_j`` on the right is known when it is needed.
    That is eq. :eq:`eq-ordered-chain-rule` of :doc:`/book/b_chain_rule/ordered_derivatives`.
    Returns ``{z: expression}`` for the inputs and the variables up to ``output``.
    """
    nodes = _nodes(graph, inputs)
    last = _position(nodes, output, "output")
    total: dict[sp.Symbol, sp.Expr] = {output: sp.Integer(1)}
    for i in range(last - 1, -1, -1):
        z_i = nodes[i][0]
        total[z_i] = sp.expand(sum(
            (total[z_j] * sp.diff(definition, z_i)
             for z_j, definition in nodes[i + 1:last + 1] if definition is not None),
            sp.Integer(0),
        ))
    return {z: total[z] for z, _ in nodes[: last + 1]}


def matrix_symbol(name: str, rows: int, cols: int) -> sp.Matrix:
    """A ``rows x cols`` matrix of real scalar symbols ``name_ij`` (``name_i`` for a column).

    For example ``matrix_symbol("w", H, H)`` stands for ``W_hh`` in the symbolic derivation
    of :doc:`/book/c_bptt/bptt_derivation`.
    """
    if cols == 1:
        return sp.Matrix(rows, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True))
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def unrolled_rnn(
    W_ih: sp.Matrix,
    W_hh: sp.Matrix,
    b: sp.Matrix,
    xs: Sequence[sp.Matrix],
    h0: sp.Matrix,
    f: Callable[[sp.Expr], sp.Expr] = sp.tanh,
) -> list[sp.Matrix]:
    """The hidden states ``[h_1, ..., h_T]`` of ``h_t = f(W_ih x_t + W_hh h_{t-1} + b)``.

    Each ``h_t`` is an explicit expression in the entries of the weights, the inputs and
    ``h_0``: the unrolled graph, ready for ``sympy.diff``. ``W_ih`` ``(H, D)``, ``W_hh``
    ``(H, H)``, ``b`` and ``h0`` ``(H, 1)``, each ``x_t`` ``(D, 1)``; every ``h_t`` is
    ``(H, 1)``. The model of eq. :eq:`eq-bptt-model` of :doc:`/book/c_bptt/bptt_derivation`.
    """
    states, h = [], h0
    for x in xs:
        h = (W_ih * x + W_hh * h + b).applyfunc(f)
        states.append(h)
    return states


def unrolled_scalar_rnn(
    xs: Sequence[sp.Expr], u: sp.Expr, w: sp.Expr, b: sp.Expr = 0, h0: sp.Expr = 0,
    f: Callable[[sp.Expr], sp.Expr] = sp.tanh,
) -> list[sp.Expr]:
    """``[h_1, ..., h_T]`` of the one-unit RNN ``h_t = f(u x_t + w h_{t-1} + b)``.

    Scalar expressions, nested as in eq. :eq:`eq-unrolled-three` of
    :doc:`/book/a_recurrent_networks/what_is_an_rnn`.
    """
    states, h = [], h0
    for x in xs:
        h = f(u * x + w * h + b)
        states.append(h)
    return states


def name_states(
    expression: sp.Expr, states: Sequence[sp.Expr], names: Sequence[sp.Symbol]
) -> sp.Expr:
    """Replace the nested state expressions by their names ``h_1, ..., h_T``, first to last.

    Derivatives of an unrolled tanh RNN are polynomials in the states once each
    ``tanh(...)`` is named: ``1 - tanh(z_t)^2`` becomes ``1 - h_t^2``. Naming the states in
    order keeps the later ones recognisable, since ``z_t`` then reads ``h_{t-1}`` by name.
    ``states`` are the expressions of :func:`unrolled_rnn` or :func:`unrolled_scalar_rnn`
    (scalars or matrices' entries), ``names`` the symbols to put in their place; used in
    :doc:`/book/c_bptt/bptt_derivation`.
    """
    named_states = list(states)
    for t, name in enumerate(names):
        expression = expression.subs(named_states[t], name)
        named_states = [s.subs(named_states[t], name) for s in named_states]
    return expression


def gradient(expression: sp.Expr, matrix: sp.Matrix) -> sp.Matrix:
    """``d expression / d matrix``, entry by entry, with the matrix's shape.

    ``expression`` a scalar, ``matrix`` ``(rows, cols)`` of symbols (:func:`matrix_symbol`);
    the result is ``(rows, cols)``, the layout of ``dL/dW`` in
    eq. :eq:`eq-bptt-gradients` of :doc:`/book/c_bptt/bptt_derivation`.
    """
    return matrix.applyfunc(lambda entry: sp.diff(expression, entry))
