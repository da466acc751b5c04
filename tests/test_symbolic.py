"""The SymPy helpers: ordered derivatives two ways, unrolled networks, named states."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from rnnbook.symbolic import (
    gradient,
    matrix_symbol,
    name_states,
    ordered_derivatives,
    ordered_derivatives_by_substitution,
    substitute_later,
    unrolled_rnn,
    unrolled_scalar_rnn,
)

z1, z2, z3, z4, E = sp.symbols("z1:5 E")
WERBOS = [(z2, 2 * z1), (z3, 3 * z2 + z1), (z4, 4 * z3 + 2 * z2 + z1), (E, 4 * z4 + 2 * z2)]


def test_werbos_example_both_ways():
    expected = {E: 1, z4: 4, z3: 16, z2: 58, z1: 136}
    assert ordered_derivatives(WERBOS, E, [z1]) == expected
    assert ordered_derivatives_by_substitution(WERBOS, E, [z1]) == expected


def test_several_inputs():
    a, b, p, q, out = sp.symbols("a b p q out")
    graph = [(p, a * b), (q, p + a), (out, q * p)]
    expected = {a: 2 * a * b**2 + 2 * a * b, b: 2 * a**2 * b + a**2}
    for method in (ordered_derivatives, ordered_derivatives_by_substitution):
        result = method(graph, out, [a, b])
        for symbol, derivative in expected.items():
            as_inputs = result[symbol].subs(q, p + a).subs(p, a * b)
            assert sp.expand(as_inputs - derivative) == 0, (method.__name__, symbol)


def test_substitution_keeps_earlier_variables():
    assert sp.expand(substitute_later(WERBOS, E, z3, [z1])) == sp.expand(4 * (4 * z3 + 2 * z2 + z1) + 2 * z2)


def test_nonlinear_graph_agrees_both_ways():
    x, a, b, c, out = sp.symbols("x a b c out")
    graph = [(a, sp.sin(x)), (b, a * x + sp.exp(a)), (c, b**2 + a), (out, c * b + x)]
    sweep = ordered_derivatives(graph, out, [x])
    substitution = ordered_derivatives_by_substitution(graph, out, [x])

    def in_terms_of_x(expression):
        for variable, definition in reversed(graph):
            expression = expression.subs(variable, definition)
        return expression

    for variable in sweep:
        assert sp.simplify(in_terms_of_x(sweep[variable] - substitution[variable])) == 0
    assert sp.simplify(in_terms_of_x(sweep[x]) - sp.diff(in_terms_of_x(out), x)) == 0


def test_graph_out_of_order_is_refused():
    with pytest.raises(ValueError, match="before it is computed"):
        ordered_derivatives([(z3, z2 + 1), (z2, 2 * z1)], z3, [z1])
    with pytest.raises(ValueError, match="neither an input nor a variable"):
        ordered_derivatives(WERBOS, sp.Symbol("nope"), [z1])


def test_unrolled_rnn_matches_numpy():
    W_ih, W_hh, b, h0 = matrix_symbol("u", 2, 1), matrix_symbol("w", 2, 2), matrix_symbol("b", 2, 1), matrix_symbol("s", 2, 1)
    xs = [sp.Matrix([[sp.Symbol(f"x_{t}")]]) for t in range(3)]
    states = unrolled_rnn(W_ih, W_hh, b, xs, h0)
    rng = np.random.default_rng(0)
    values = {s: rng.normal() for m in (W_ih, W_hh, b, h0) for s in m}
    values.update({x[0, 0]: rng.normal() for x in xs})
    h = np.array([values[s] for s in h0])
    for t, x in enumerate(xs):
        h = np.tanh(np.array(W_ih.subs(values), float) @ [values[x[0, 0]]] + np.array(W_hh.subs(values), float) @ h
                    + np.array(b.subs(values), float).ravel())
        np.testing.assert_allclose(np.array(states[t].subs(values), float).ravel(), h, rtol=1e-12)


def test_name_states_turns_tanh_derivatives_into_polynomials():
    u, w = sp.symbols("u w")
    xs = sp.symbols("x1:4")
    states = unrolled_scalar_rnn(xs, u, w)
    names = sp.symbols("h1:4")
    named = name_states(sp.diff(states[-1], w), states, names)
    assert not named.has(sp.tanh)
    # d h_3 / d w = (1 - h_3^2) (h_2 + w d h_2 / d w), and so on down: a polynomial.
    dh1 = 0
    dh2 = (1 - names[1] ** 2) * (names[0] + w * dh1)
    dh3 = (1 - names[2] ** 2) * (names[1] + w * dh2)
    assert sp.expand(named - dh3) == 0


def test_gradient_has_the_matrix_shape():
    W = matrix_symbol("w", 2, 3)
    expression = sum(W[i, j] ** 2 * (i + j) for i in range(2) for j in range(3))
    assert gradient(expression, W) == W.multiply_elementwise(sp.Matrix(2, 3, lambda i, j: 2 * (i + j)))
