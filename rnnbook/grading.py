"""The grader of the book's assignments: each part of an assignment is a check.

A check calls the student's function on small random problems in float64 and compares what it
returns with the gradient that centred finite differences (:mod:`rnnbook.gradcheck`) and the
package's own backward passes (:func:`rnnbook.rnn_backward`, :func:`rnnbook.gru_backward`)
agree on. Every part scores 1 or 0 and says why: a function that is missing, raises
``NotImplementedError`` (the blank notebook), raises anything else, returns the wrong type or
shape, NaN, or wrong numbers gets a reason in words, with a hint where the mistake is a known
one (``h_t`` instead of ``h_{t-1}``, a missing transpose, a gate block out of order). A
check never lets the student's error escape.

Usage, in a notebook or from :mod:`rnnbook.course`'s ``grade`` command::

    report = rnnbook.grading.grade("a1_rnn_bptt", globals())   # every part
    print(report)
    rnnbook.grading.grade("a1_rnn_bptt", globals(), parts=["dW_hh"])  # one part

The assignments are ``a1_rnn_bptt`` (BPTT for the vanilla RNN), ``a2_gru_backward`` (the GRU's
backward pass, PyTorch's gate order r, z, n) and ``a3_bug_hunt`` (five planted bugs).
"""

from __future__ import annotations

import copy
import functools
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnbook.functional import linear_backward, linear_forward, rnn_backward, rnn_forward
from rnnbook.gradcheck import numerical_gradient, relative_error
from rnnbook.gru import gru_backward, gru_forward
from rnnbook.losses import cross_entropy_loss

#: A part passes when every array it checks is within this relative error of the reference
#: (float64 centred differences agree with an exact gradient to about 1e-9).
TOLERANCE = 1e-6
#: The grader's own references must agree with finite differences this well.
_SELF_CHECK = 1e-7


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class PartResult:
    """One graded part: ``status`` is ``passed``, ``failed``, ``not implemented``, ``missing``
    or ``error``; ``reason`` says why in words (empty when passed)."""

    key: str
    title: str
    status: str
    reason: str = ""
    points: int = 0
    max_points: int = 1
    number: int = 0   # the part's number in the assignment, from 1

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class Report:
    """The grades of one assignment; ``str(report)`` is the table a student reads."""

    assignment: str
    title: str
    parts: tuple[PartResult, ...]

    @property
    def score(self) -> int:
        return sum(part.points for part in self.parts)

    @property
    def max_score(self) -> int:
        return sum(part.max_points for part in self.parts)

    @property
    def passed(self) -> bool:
        return all(part.passed for part in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment, "title": self.title, "score": self.score,
            "max_score": self.max_score, "passed": self.passed,
            "parts": [{"key": p.key, "number": p.number, "title": p.title, "status": p.status,
                       "reason": p.reason, "points": p.points, "max_points": p.max_points}
                      for p in self.parts],
        }

    def __str__(self) -> str:
        return format_report(self.to_dict())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the table
        printer.text(str(self))


_MARKS = {"passed": "pass", "failed": "FAIL", "not implemented": "todo", "missing": "MISSING",
          "error": "ERROR"}


def format_report(report: Mapping[str, Any], width: int = 88) -> str:
    """The report (a :meth:`Report.to_dict`) as text: one line per part, then its reason."""
    import textwrap

    lines = [f"{report['assignment']}: {report['title']}"]
    for index, part in enumerate(report["parts"], start=1):
        number = part.get("number") or index
        mark = _MARKS.get(part["status"], part["status"])
        score = f"{part['points']}/{part['max_points']}"
        lines.append(f"  [{mark:^7}] {number}. {part['title']} ({part['key']}): {score}")
        if part["reason"]:
            lines += textwrap.wrap(part["reason"], width=width, initial_indent=" " * 12,
                                   subsequent_indent=" " * 12, break_on_hyphens=False)
    verdict = "every part passes" if report["passed"] else "not every part passes yet"
    lines.append(f"  score {report['score']}/{report['max_score']}: {verdict}")
    return "\n".join(lines)


class GraderError(RuntimeError):
    """The grader itself is wrong (its reference disagrees with finite differences)."""


class _Fail(Exception):
    """Raised inside a check: ``status`` and ``reason`` become the part's result."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# ------------------------------------------------------------------ calling the student's code


def _call(namespace: Mapping[str, Any], name: str, *args: Any) -> Any:
    """Call the student's ``name(*args)`` on copies of ``args``; any failure becomes a _Fail."""
    function = namespace.get(name)
    if function is None:
        raise _Fail("missing", f"no function named `{name}` is defined: run the cell that "
                               f"defines it (and keep its name)")
    if not callable(function):
        raise _Fail("error", f"`{name}` is {_kind(function)}, not a function")
    arguments = copy.deepcopy(args)  # a function that changes its inputs changes no reference
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(*arguments)
    except NotImplementedError as error:
        inner = _student_frame(error)
        where = f" (from `{inner.name}`)" if inner and inner.name != name else ""
        raise _Fail("not implemented", f"`{name}` raises NotImplementedError{where}: write "
                                       f"your code under # YOUR CODE HERE, in place of the "
                                       f"`raise`") from None
    except (Exception, SystemExit) as error:
        frame = _student_frame(error)
        where = ""
        if frame is not None:
            line = f": `{frame.line.strip()}`" if frame.line else ""
            where = f" (in `{frame.name}`, line {frame.lineno}{line})"
        message = str(error).strip().splitlines()
        detail = f": {message[0][:200]}" if message else ""
        raise _Fail("error", f"`{name}` raised {type(error).__name__}{detail}{where}") from None


def _student_frame(error: BaseException) -> traceback.FrameSummary | None:
    """The innermost frame of the traceback that is not NumPy's or this module's."""
    package = str(Path(__file__).resolve().parent)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.startswith(package) and "numpy" not in frame.filename]
    return frames[-1] if frames else None


def _array(value: Any, shape: tuple[int, ...], what: str, axes: str) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or a _Fail that says what is wrong."""
    if value is None:
        raise _Fail("failed", f"{what} is None: does the function `return` it?")
    if isinstance(value, dict):
        raise _Fail("failed", f"{what} is a dict; expected an array of shape {axes} = {shape}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Fail("failed", f"{what} is {_kind(value)}, not an array of numbers "
                              f"of shape {axes} = {shape}") from None
    if array.shape != shape:
        hint = " (the transpose of what is expected?)" if array.shape == shape[::-1] else ""
        expected = f"{axes} = {shape}" if axes else f"{shape}"
        raise _Fail("failed", f"{what} has shape {array.shape}; expected {expected}{hint}")
    if not np.all(np.isfinite(array)):
        raise _Fail("failed", f"{what} contains NaN or inf")
    return array


def _kind(value: Any) -> str:
    """'a NumPy array of shape (3, 4)', 'a float', 'None': what a value is, in words."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _pair(value: Any, what: str) -> tuple[Any, Any]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        kind = _kind(value)
        if isinstance(value, tuple | list):
            kind += f" of length {len(value)}"
        raise _Fail("failed", f"{what} is {kind}; expected a pair (two arrays)")
    return value[0], value[1]


def _compare(got: np.ndarray, want: np.ndarray, what: str,
             hints: Sequence[tuple[np.ndarray, str]] = (), blocks: int = 0,
             block_axis: int = 0, time_axis: int | None = None) -> None:
    """Fail with a reason unless ``got`` is within TOLERANCE of ``want``.

    ``hints`` pairs a known wrong answer with what it means; ``blocks`` names the gate blocks
    (r, z, n) along ``block_axis`` that are wrong; ``time_axis`` says from which step on.
    """
    verdict = _judge(got, want, hints, blocks, block_axis, time_axis)
    if verdict is None:
        return
    error, explanation = verdict
    reason = (f"{what} is wrong: relative error {error:.1e} (tolerance {TOLERANCE:.0e}) against "
              f"the gradient that finite differences and rnnbook agree on")
    raise _Fail("failed", f"{reason}. {explanation}" if explanation else reason)


def _judge(got: np.ndarray, want: np.ndarray, hints: Sequence[tuple[np.ndarray, str]] = (),
           blocks: int = 0, block_axis: int = 0,
           time_axis: int | None = None) -> tuple[float, str] | None:
    """None when ``got`` is right, else its relative error and what it equals, if known."""
    error = relative_error(got, want)
    if error < TOLERANCE:
        return None
    for wrong, meaning in hints:
        if wrong.shape == got.shape and relative_error(got, wrong) < TOLERANCE:
            return error, f"It equals {meaning}"
    return error, _diagnose(got, want, blocks, block_axis, time_axis)


def _diagnose(got: np.ndarray, want: np.ndarray, blocks: int, block_axis: int,
              time_axis: int | None) -> str:
    """A generic description of how ``got`` differs: sign, scale, transpose, where."""
    if relative_error(got, -want) < TOLERANCE:
        return "It has the opposite sign"
    scale = float(np.vdot(got, want) / max(np.vdot(want, want), 1e-300))
    if abs(scale) > 1e-12 and relative_error(got, scale * want) < TOLERANCE:
        return f"It is {scale:.4g} times the right answer: a factor is off"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and relative_error(got, want.T) < TOLERANCE:
        return "It is the transpose of the right answer"
    if not np.any(got):
        return "It is all zeros"
    if blocks:
        names = "rzn" if blocks == 3 else "ifgo"
        size = got.shape[block_axis] // blocks
        wrong = []
        for index, gate in enumerate(names[:blocks]):
            part = [slice(None)] * got.ndim
            part[block_axis] = slice(index * size, (index + 1) * size)
            if relative_error(got[tuple(part)], want[tuple(part)]) >= TOLERANCE:
                wrong.append(gate)
        right = [gate for gate in names[:blocks] if gate not in wrong]
        if right:
            return (f"Wrong in the {', '.join(wrong)} block(s) (PyTorch's order r, z, n), "
                    f"right in {', '.join(right)}")
    if time_axis is not None:
        steps = got.shape[time_axis]
        wrong_steps = [t for t in range(steps) if relative_error(
            np.take(got, t, axis=time_axis), np.take(want, t, axis=time_axis)) >= TOLERANCE]
        if wrong_steps and len(wrong_steps) < steps:
            right_steps = [t for t in range(steps) if t not in wrong_steps]
            return (f"Right at steps {_steps(right_steps)}, wrong at steps "
                    f"{_steps(wrong_steps)} (counting from 0, as the array does)")
    return ""


def _steps(indices: list[int]) -> str:
    return ", ".join(str(i) for i in indices)


# ------------------------------------------------------------------ assignments and parts


@dataclass(frozen=True)
class Part:
    """One graded part; ``uses`` lists the parts whose functions this part's function is
    expected to call (a failure there is named as the likely cause)."""

    key: str
    title: str
    check: Callable[[Mapping[str, Any]], None]
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    functions: tuple[str, ...]
    parts: tuple[Part, ...] = field(default_factory=tuple)


ASSIGNMENTS: dict[str, Assignment] = {}


def grade(assignment: str, namespace: Mapping[str, Any],
          parts: Sequence[str] | None = None) -> Report:
    """Grade the functions that ``namespace`` (a notebook's ``globals()``) defines.

    ``parts`` restricts the report to some parts, by key. Never raises because of the
    student's code: every failure is a part's status and reason.
    """
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment: expected one of {sorted(ASSIGNMENTS)}, got {assignment!r}")
    spec = ASSIGNMENTS[assignment]
    chosen = spec.parts
    if parts is not None:
        keys = [part.key for part in spec.parts]
        unknown = [key for key in parts if key not in keys]
        if unknown:
            raise ValueError(f"parts: expected keys among {keys}, got {unknown}")
        chosen = tuple(part for part in spec.parts if part.key in parts)
    numbers = {p.key: n for n, p in enumerate(spec.parts, start=1)}
    results: list[PartResult] = []
    for part in chosen:
        number = numbers[part.key]
        try:
            part.check(namespace)
            result = PartResult(part.key, part.title, "passed", "", 1, number=number)
        except _Fail as failure:
            reason = failure.reason
            if failure.status == "failed" and part.uses:
                earlier = [p for p in spec.parts if p.key in part.uses]
                broken = [p.key for p in earlier if _status(p, namespace) != "passed"]
                if broken:
                    named = " and ".join(str(numbers[key]) for key in broken)
                    several = len(broken) > 1
                    them = "them" if several else "it"
                    reason += (f". Part{'s' if several else ''} {named} "
                               f"fail{'' if several else 's'} too: fix {them} first, since this "
                               f"part builds on {them}")
            result = PartResult(part.key, part.title, failure.status, reason, 0, number=number)
        except GraderError:
            raise
        except Exception as error:  # the student's output broke a check: say so, go on
            result = PartResult(part.key, part.title, "error",
                                f"the check could not use what the code returned "
                                f"({type(error).__name__}: {error})", 0, number=number)
        results.append(result)
    return Report(spec.name, spec.title, tuple(results))


def _status(part: Part, namespace: Mapping[str, Any]) -> str:
    try:
        part.check(namespace)
    except _Fail as failure:
        return failure.status
    except GraderError:
        raise
    except Exception:
        return "error"
    return "passed"


def _register(name: str, title: str, functions: Sequence[str],
              parts: Sequence[tuple[Any, ...]]) -> None:
    ASSIGNMENTS[name] = Assignment(name, title, tuple(functions),
                                   tuple(Part(*part) for part in parts))


def _on_problems(seeds: Sequence[int], make: Callable[[int], Any],
                 check: Callable[[Any], None], describe: Callable[[Any], str]) -> None:
    """Run ``check`` on the problem of each seed; a failure names the problem."""
    for seed in seeds:
        try:
            problem = make(seed)
        except GraderError:
            raise
        except Exception as error:  # building a problem involves no student code
            raise GraderError(f"building test problem {seed} failed: {error!r}") from error
        try:
            check(problem)
        except _Fail as failure:
            if failure.status == "failed":
                raise _Fail("failed", f"On {describe(problem)}: {failure.reason}") from None
            raise


def _check_reference(analytic: np.ndarray, numeric: np.ndarray, what: str) -> None:
    """The grader's own references must match finite differences: else the grader is wrong."""
    error = relative_error(analytic, numeric)
    if error > _SELF_CHECK:
        raise GraderError(f"the grader's reference {what} is off by {error:.1e}")


# ================================================================== a1: BPTT for the vanilla RNN

A1_SEEDS = (0, 1, 2)


@dataclass
class _RNNProblem:
    """A one-layer tanh RNN at a random point, with the probe loss
    ``L = sum(d_out * hs) + sum(d_h_n * h_T)``, whose gradient reaches every ``h_t``."""

    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray
    x: np.ndarray
    h0: np.ndarray
    d_out: np.ndarray
    d_h_n: np.ndarray
    hs: np.ndarray = None  # type: ignore[assignment]
    dh: np.ndarray = None  # type: ignore[assignment]
    grads: dict[str, np.ndarray] = None  # type: ignore[assignment]

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"weight_ih_l0": self.W_ih, "weight_hh_l0": self.W_hh,
                "bias_ih_l0": self.b_ih, "bias_hh_l0": self.b_hh}

    def states(self, start: int = 0, h_start: np.ndarray | None = None) -> np.ndarray:
        """``h_t`` for ``t > start`` (indices ``start..T-1`` of hs), from ``h_start``."""
        h = self.h0 if h_start is None else h_start
        out = []
        for t in range(start, self.x.shape[0]):
            h = np.tanh(self.x[t] @ self.W_ih.T + self.b_ih + h @ self.W_hh.T + self.b_hh)
            out.append(h)
        return np.array(out)

    def loss(self) -> float:
        hs = self.states()
        return float(np.sum(self.d_out * hs) + np.sum(self.d_h_n * hs[-1]))

    def loss_after(self, t: int, h_t: np.ndarray) -> float:
        """The part of the loss that depends on ``h_t`` (index t), with ``h_t`` given."""
        total = float(np.sum(self.d_out[t] * h_t))
        last = h_t
        if t + 1 < self.x.shape[0]:
            later = self.states(t + 1, h_t)
            total += float(np.sum(self.d_out[t + 1:] * later))
            last = later[-1]
        return total + float(np.sum(self.d_h_n * last))


@functools.lru_cache(maxsize=8)
def _a1_problem(seed: int, T: int = 5, B: int = 3, D: int = 3, H: int = 4) -> _RNNProblem:
    gen = np.random.default_rng(1400 + seed)
    problem = _RNNProblem(
        W_ih=gen.normal(0, 0.6, (H, D)), W_hh=gen.normal(0, 0.6, (H, H)),
        b_ih=gen.normal(0, 0.3, H), b_hh=gen.normal(0, 0.3, H),
        x=gen.normal(size=(T, B, D)), h0=gen.normal(0, 0.5, (B, H)),
        d_out=gen.normal(size=(T, B, H)), d_h_n=gen.normal(size=(B, H)))
    out, _, cache = rnn_forward(problem.params, problem.x, problem.h0[None])
    problem.hs = np.array(out)
    problem.grads = rnn_backward(problem.params, cache, problem.d_out, problem.d_h_n[None])
    problem.grads["h0"] = problem.grads["h0"][0]
    problem.dh = _rnn_total_dh(problem.W_hh, problem.hs, problem.d_out, problem.d_h_n)
    # The references must be what finite differences say, or the grader is wrong.
    for t in range(T):
        h_t = problem.hs[t].copy()
        numeric = numerical_gradient(lambda t=t, h_t=h_t: problem.loss_after(t, h_t), h_t)
        _check_reference(problem.dh[t], numeric, f"dL/dh_{t + 1}")
    for name in ("weight_hh_l0", "bias_hh_l0"):
        _check_reference(problem.grads[name], numerical_gradient(problem.loss,
                                                                 problem.params[name]), name)
    return problem


def _rnn_total_dh(W_hh, hs, d_out, d_h_n, *, future=True, transpose=False, through_tanh=True,
                  final=True):
    """dL/dh_t for every t, by the backward recursion; the flags build known wrong variants."""
    dh = np.zeros_like(hs)
    dh_next = d_h_n.copy() if final else np.zeros_like(d_h_n)
    for t in reversed(range(hs.shape[0])):
        dh[t] = d_out[t] + (dh_next if future or t == hs.shape[0] - 1 else 0)
        delta = dh[t] * (1 - hs[t] ** 2) if through_tanh else dh[t]
        dh_next = delta @ (W_hh.T if transpose else W_hh)
    return dh


def _describe_rnn(problem: _RNNProblem) -> str:
    T, B, D = problem.x.shape
    return f"a random RNN with T = {T}, B = {B}, D = {D}, H = {problem.W_hh.shape[0]}"


def _previous_states(problem: _RNNProblem) -> np.ndarray:
    return np.concatenate([problem.h0[None], problem.hs[:-1]])


def _a1_dh(ns: Mapping[str, Any]) -> None:
    def check(p: _RNNProblem) -> None:
        got = _array(_call(ns, "total_dh", p.W_hh, p.hs, p.d_out, p.d_h_n), p.hs.shape,
                     "the returned dh", "(T, B, H)")
        hints = [
            (_rnn_total_dh(p.W_hh, p.hs, p.d_out, p.d_h_n, future=False),
             "d_out (plus d_h_n at the last step) alone: add dh_next, the gradient that flows "
             "back from step t + 1"),
            (_rnn_total_dh(p.W_hh, p.hs, p.d_out, p.d_h_n, transpose=True),
             "the recursion with W_hh.T: in PyTorch's row form h_t = tanh(... + h_{t-1} "
             "W_hh^T), so the gradient passed back is delta_t @ W_hh"),
            (_rnn_total_dh(p.W_hh, p.hs, p.d_out, p.d_h_n, through_tanh=False),
             "the recursion without tanh's derivative: the gradient reaches W_hh through "
             "tanh, delta_t = dh_t * (1 - h_t**2)"),
            (_rnn_total_dh(p.W_hh, p.hs, p.d_out, p.d_h_n, final=False),
             "the recursion started from zero: d_h_n, the gradient of the final state, "
             "starts dh_next at the last step"),
        ]
        _compare(got, p.dh, "dh", hints, time_axis=0)

    _on_problems(A1_SEEDS, _a1_problem, check, _describe_rnn)


def _deltas(p: _RNNProblem) -> np.ndarray:
    return p.dh * (1 - p.hs ** 2)


def _a1_dW_hh(ns: Mapping[str, Any]) -> None:
    def check(p: _RNNProblem) -> None:
        H = p.W_hh.shape[0]
        got = _array(_call(ns, "grad_W_hh", p.dh, p.hs, p.h0), (H, H),
                     "the returned dW_hh", "(H, H)")
        delta, prev = _deltas(p), _previous_states(p)
        hints = [
            (np.einsum("tbi,tbj->ij", delta, p.hs),
             "the sum of delta_t h_t^T: W_hh multiplies the state the step read, h_{t-1}, "
             "not the one it wrote"),
            (np.einsum("tbi,tbj->ij", p.dh, prev),
             "the sum of dh_t h_{t-1}^T, without tanh's derivative: use "
             "delta_t = dh_t * (1 - h_t**2)"),
            (np.einsum("tbi,tbj->ij", delta, prev) / p.x.shape[1],
             "the batch mean: the loss sums over the batch, so its gradient does too"),
        ]
        _compare(got, p.grads["weight_hh_l0"], "dW_hh", hints)

    _on_problems(A1_SEEDS, _a1_problem, check, _describe_rnn)


def _a1_dW_ih(ns: Mapping[str, Any]) -> None:
    def check(p: _RNNProblem) -> None:
        got = _array(_call(ns, "grad_W_ih", p.dh, p.hs, p.x), p.W_ih.shape,
                     "the returned dW_ih", "(H, D)")
        hints = [(np.einsum("tbi,tbj->ij", p.dh, p.x),
                  "the sum of dh_t x_t^T, without tanh's derivative: use "
                  "delta_t = dh_t * (1 - h_t**2)")]
        _compare(got, p.grads["weight_ih_l0"], "dW_ih", hints)

    _on_problems(A1_SEEDS, _a1_problem, check, _describe_rnn)


def _a1_biases(ns: Mapping[str, Any]) -> None:
    def check(p: _RNNProblem) -> None:
        H = p.W_hh.shape[0]
        db_ih, db_hh = _pair(_call(ns, "grad_biases", p.dh, p.hs), "the returned value")
        hints = [(p.dh.sum(axis=(0, 1)), "the sum of dh_t, without tanh's derivative"),
                 (_deltas(p)[0].sum(axis=0), "the first step's delta alone: sum over every "
                                             "step (and every sequence of the batch)")]
        for value, name in ((db_ih, "db_ih"), (db_hh, "db_hh")):
            got = _array(value, (H,), f"the returned {name}", "(H,)")
            _compare(got, p.grads[name.replace("db", "bias") + "_l0"], name, hints)

    _on_problems(A1_SEEDS, _a1_problem, check, _describe_rnn)


def _a1_dh0(ns: Mapping[str, Any]) -> None:
    def check(p: _RNNProblem) -> None:
        got = _array(_call(ns, "grad_h0", p.dh, p.hs, p.W_hh), p.h0.shape,
                     "the returned dh0", "(B, H)")
        delta = _deltas(p)[0]
        hints = [(p.dh[0], "dh[0], which is dL/dh_1: h_0 reaches the loss through step 1, "
                           "so dL/dh_0 = delta_1 @ W_hh"),
                 (delta @ p.W_hh.T, "delta_1 @ W_hh.T: in row form the gradient passed back "
                                    "is delta_1 @ W_hh"),
                 (p.dh[0] @ p.W_hh, "dh_1 @ W_hh, without tanh's derivative at step 1")]
        _compare(got, p.grads["h0"], "dh0", hints)

    _on_problems(A1_SEEDS, _a1_problem, check, _describe_rnn)


_A1_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "h0")


def _check_grads_dict(value: Any, want: Mapping[str, np.ndarray], keys: Sequence[str],
                      hints: Mapping[str, Sequence[tuple[np.ndarray, str]]] | None = None,
                      blocks: int = 0) -> None:
    """Compare a returned dict of gradients key by key; name every wrong array."""
    if not isinstance(value, Mapping):
        raise _Fail("failed", f"the function returned {_kind(value)}; expected a "
                              f"dict with keys {list(keys)}")
    absent = [key for key in keys if key not in value]
    if absent:
        raise _Fail("failed", f"the returned dict has no {absent} (it has {sorted(value)})")
    wrong, right = [], []
    for key in keys:
        got = _array(value[key], want[key].shape, f"grads[{key!r}]", "")
        verdict = _judge(got, want[key], (hints or {}).get(key, ()),
                         blocks=blocks if key != "h0" else 0)
        if verdict is None:
            right.append(key)
        else:
            error, explanation = verdict
            if explanation:
                explanation = "; " + explanation[:1].lower() + explanation[1:]
            wrong.append(f"{key} (relative error {error:.1e}{explanation})")
    if wrong:
        passing = f"; right: {', '.join(right)}" if right else ""
        raise _Fail("failed", f"wrong against the gradient that finite differences and rnnbook "
                              f"agree on (tolerance {TOLERANCE:.0e}): {', '.join(wrong)}"
                              f"{passing}")


def _a1_full(ns: Mapping[str, Any]) -> None:
    def check(p: _RNNProblem) -> None:
        value = _call(ns, "rnn_bptt", p.params, p.x, p.h0, p.d_out, p.d_h_n)
        _check_grads_dict(value, p.grads, _A1_KEYS)

    _on_problems(A1_SEEDS, _a1_problem, check, _describe_rnn)


_register(
    "a1_rnn_bptt", "BPTT for the vanilla RNN",
    ("total_dh", "grad_W_hh", "grad_W_ih", "grad_biases", "grad_h0", "rnn_bptt"),
    [("dh", "dL/dh_t through time", _a1_dh),
     ("dW_hh", "the recurrent weights' gradient", _a1_dW_hh),
     ("dW_ih", "the input weights' gradient", _a1_dW_ih),
     ("biases", "the two biases' gradients", _a1_biases),
     ("dh0", "the initial state's gradient", _a1_dh0),
     ("bptt", "the whole backward pass", _a1_full,
      ("dh", "dW_hh", "dW_ih", "biases", "dh0"))],
)


# ================================================================== a2: the GRU's backward pass

A2_SEEDS = (0, 1, 2)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * a))


def _gru_step(gi: np.ndarray, gh: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
    """One GRU step from its two projections ``gi`` = x W_ih^T + b_ih and ``gh`` =
    h W_hh^T + b_hh, each ``(B, 3H)`` in PyTorch's blocks r, z, n."""
    H = h_prev.shape[1]
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h_prev


@dataclass
class _GRUStep:
    """One GRU step at a random point, with the probe loss ``sum(dh * h_t)``."""

    gi: np.ndarray
    gh: np.ndarray
    h_prev: np.ndarray
    dh: np.ndarray
    W_hh: np.ndarray
    b_hh: np.ndarray

    @property
    def gates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """r, z, n and hn = the n block of gh, each ``(B, H)``."""
        H = self.h_prev.shape[1]
        r = _sigmoid(self.gi[:, :H] + self.gh[:, :H])
        z = _sigmoid(self.gi[:, H:2 * H] + self.gh[:, H:2 * H])
        hn = self.gh[:, 2 * H:]
        n = np.tanh(self.gi[:, 2 * H:] + r * hn)
        return r, z, n, hn


@functools.lru_cache(maxsize=8)
def _a2_step_problem(seed: int, B: int = 3, H: int = 3) -> _GRUStep:
    gen = np.random.default_rng(2400 + seed)
    W_hh, b_hh = gen.normal(0, 0.6, (3 * H, H)), gen.normal(0, 0.3, 3 * H)
    h_prev = gen.normal(0, 0.6, (B, H))
    return _GRUStep(gi=gen.normal(0, 0.8, (B, 3 * H)), gh=h_prev @ W_hh.T + b_hh,
                    h_prev=h_prev, dh=gen.normal(size=(B, H)), W_hh=W_hh, b_hh=b_hh)


def _gru_gate_grads(s: _GRUStep, *, z_sign: int = 1, reset_in_n: bool = True,
                    sigmoid_slope: bool = True, order: str = "rzn"):
    """(d_gi, d_gh) of one step, and known wrong variants through the flags."""
    r, z, n, hn = s.gates
    dz = s.dh * (s.h_prev - n) * z_sign
    da_n = s.dh * (1 - z) * (1 - n ** 2)
    dr = da_n * hn
    if sigmoid_slope:
        dr, dz = dr * r * (1 - r), dz * z * (1 - z)
    blocks = {"r": dr, "z": dz, "n": da_n}
    d_gi = np.concatenate([blocks[gate] for gate in order], axis=1)
    blocks["n"] = da_n * r if reset_in_n else da_n
    d_gh = np.concatenate([blocks[gate] for gate in order], axis=1)
    return d_gi, d_gh


def _describe_step(s: _GRUStep) -> str:
    B, H = s.h_prev.shape
    return f"one random GRU step with B = {B}, H = {H}"


def _a2_gate_part(index: int) -> Callable[[Mapping[str, Any]], None]:
    """Part ``index`` 0 grades ``d_gi``, 1 grades ``d_gh``, of ``gru_gate_grads``."""
    name = ("d_gi", "d_gh")[index]

    def part(ns: Mapping[str, Any]) -> None:
        def check(s: _GRUStep) -> None:
            r, z, n, hn = s.gates
            pair = _pair(_call(ns, "gru_gate_grads", s.dh, s.h_prev, r, z, n, hn),
                         "the returned value")
            got = _array(pair[index], s.gi.shape, f"the returned {name}", "(B, 3H)")
            want = _gru_gate_grads(s)[index]
            numeric = numerical_gradient(
                lambda: float(np.sum(s.dh * _gru_step(s.gi, s.gh, s.h_prev))),
                (s.gi, s.gh)[index])
            _check_reference(want, numeric, name)
            hints = [
                (_gru_gate_grads(s, z_sign=-1)[index],
                 "the answer with dL/dz = dh * (n - h_{t-1}): h_t = (1 - z) n + z h_{t-1}, "
                 "so dL/dz = dh * (h_{t-1} - n)"),
                (_gru_gate_grads(s, order="znr")[index],
                 "the right blocks in the order z, n, r: PyTorch's order is r, z, n"),
                (_gru_gate_grads(s, order="zrn")[index],
                 "the right blocks in the order z, r, n: PyTorch's order is r, z, n"),
                (_gru_gate_grads(s, sigmoid_slope=False)[index],
                 "the gradients of r and z themselves: multiply by the sigmoid's slope "
                 "r (1 - r) and z (1 - z) to reach their pre-activations"),
            ]
            if index == 1:
                hints.insert(0, (_gru_gate_grads(s, reset_in_n=False)[1],
                                 "the answer with d_gi's n block in d_gh's n block: "
                                 "W_hn h + b_hn is multiplied by r before tanh, so its "
                                 "gradient carries the factor r"))
            _compare(got, want, name, hints, blocks=3, block_axis=1)

        _on_problems(A2_SEEDS, _a2_step_problem, check, _describe_step)

    return part


def _a2_dh_prev(ns: Mapping[str, Any]) -> None:
    def check(s: _GRUStep) -> None:
        z = s.gates[1]
        _, d_gh = _gru_gate_grads(s)
        got = _array(_call(ns, "gru_dh_prev", s.dh, z, d_gh, s.W_hh), s.h_prev.shape,
                     "the returned dh_prev", "(B, H)")
        want = s.dh * z + d_gh @ s.W_hh
        h_prev = s.h_prev.copy()
        numeric = numerical_gradient(
            lambda: float(np.sum(s.dh * _gru_step(s.gi, h_prev @ s.W_hh.T + s.b_hh, h_prev))),
            h_prev)
        _check_reference(want, numeric, "dh_prev")
        hints = [(d_gh @ s.W_hh, "d_gh @ W_hh alone: h_{t-1} also reaches h_t directly, "
                                 "through z * h_{t-1}; add dh * z"),
                 (s.dh * (1 - z) + d_gh @ s.W_hh, "the direct path with (1 - z): h_t = "
                                                  "(1 - z) n + z h_{t-1}, so it is dh * z")]
        _compare(got, want, "dh_prev", hints)

    _on_problems(A2_SEEDS, _a2_step_problem, check, _describe_step)


@dataclass
class _GRUProblem:
    params: dict[str, np.ndarray]
    x: np.ndarray
    h0: np.ndarray
    d_out: np.ndarray
    d_h_n: np.ndarray
    grads: dict[str, np.ndarray]


@functools.lru_cache(maxsize=8)
def _a2_problem(seed: int, T: int = 4, B: int = 2, D: int = 3, H: int = 3) -> _GRUProblem:
    gen = np.random.default_rng(2500 + seed)
    params = {"weight_ih_l0": gen.normal(0, 0.6, (3 * H, D)),
              "weight_hh_l0": gen.normal(0, 0.6, (3 * H, H)),
              "bias_ih_l0": gen.normal(0, 0.3, 3 * H), "bias_hh_l0": gen.normal(0, 0.3, 3 * H)}
    x, h0 = gen.normal(size=(T, B, D)), gen.normal(0, 0.5, (B, H))
    d_out, d_h_n = gen.normal(size=(T, B, H)), gen.normal(size=(B, H))
    _, _, cache = gru_forward(params, x, h0[None])
    grads = gru_backward(params, cache, d_out, d_h_n[None])
    grads["h0"] = grads["h0"][0]

    def loss() -> float:
        out, h_n, _ = gru_forward(params, x, h0[None])
        return float(np.sum(d_out * out) + np.sum(d_h_n * h_n[0]))

    for name in ("bias_hh_l0", "weight_hh_l0"):
        _check_reference(grads[name], numerical_gradient(loss, params[name]), name)
    return _GRUProblem(params, x, h0, d_out, d_h_n, grads)


def _describe_gru(p: _GRUProblem) -> str:
    T, B, D = p.x.shape
    return f"a random GRU with T = {T}, B = {B}, D = {D}, H = {p.h0.shape[1]}"


def _a2_full(keys: Sequence[str]) -> Callable[[Mapping[str, Any]], None]:
    def part(ns: Mapping[str, Any]) -> None:
        def check(p: _GRUProblem) -> None:
            value = _call(ns, "gru_bptt", p.params, p.x, p.h0, p.d_out, p.d_h_n)
            H = p.h0.shape[1]
            b_ih_n = p.grads["bias_ih_l0"][2 * H:]
            same_n = p.grads["bias_hh_l0"].copy()
            same_n[2 * H:] = b_ih_n
            hints = {"bias_hh_l0": [(same_n, "bias_hh_l0 with bias_ih_l0's n block: b_hn "
                                             "sits inside r * (W_hn h + b_hn), so its "
                                             "gradient carries the factor r")]}
            _check_grads_dict(value, p.grads, keys, hints, blocks=3)

        _on_problems(A2_SEEDS, _a2_problem, check, _describe_gru)

    return part


_A2_STEP_PARTS = ("d_gi", "d_gh", "dh_prev")

_register(
    "a2_gru_backward", "the GRU's backward pass",
    ("gru_gate_grads", "gru_dh_prev", "gru_bptt"),
    [("d_gi", "one step: the input-side pre-activations", _a2_gate_part(0)),
     ("d_gh", "one step: the recurrent-side pre-activations", _a2_gate_part(1)),
     ("dh_prev", "one step: the gradient passed to h_{t-1}", _a2_dh_prev),
     ("weights", "BPTT: weight_ih_l0 and weight_hh_l0",
      _a2_full(("weight_ih_l0", "weight_hh_l0")), _A2_STEP_PARTS),
     ("biases", "BPTT: bias_ih_l0 and bias_hh_l0", _a2_full(("bias_ih_l0", "bias_hh_l0")),
      _A2_STEP_PARTS),
     ("h0", "BPTT: the initial state", _a2_full(("h0",)), _A2_STEP_PARTS)],
)


# ================================================================== a3: the bug hunt

A3_NAMES = ("W_ih", "W_hh", "b", "W_ho", "b_o")


@dataclass
class _LossProblem:
    """The bug hunt's network: a tanh RNN with one bias b, a linear readout and the softmax
    cross-entropy summed over time and averaged over the batch."""

    params: dict[str, np.ndarray]
    x: np.ndarray
    h0: np.ndarray
    y: np.ndarray
    label: str
    loss_value: float = 0.0
    grads: dict[str, np.ndarray] = None  # type: ignore[assignment]

    def loss(self) -> float:
        return _a3_loss_and_grads(self.params, self.x, self.h0, self.y, grads=False)[0]


def _a3_loss_and_grads(params, x, h0, y, grads=True):
    """The reference, from rnnbook's layers: rnn_forward, linear_forward, cross_entropy."""
    H = params["W_hh"].shape[0]
    rnn_params = {"weight_ih_l0": params["W_ih"], "weight_hh_l0": params["W_hh"],
                  "bias_ih_l0": params["b"], "bias_hh_l0": np.zeros(H)}
    readout = {"weight": params["W_ho"], "bias": params["b_o"]}
    out, _, cache = rnn_forward(rnn_params, x, h0[None])
    logits = linear_forward(readout, out)
    B = x.shape[1]
    loss, d_logits = cross_entropy_loss(logits, y, reduction="sum")
    if not grads:
        return loss / B, None
    lin = linear_backward(readout, out, d_logits / B)
    g = rnn_backward(rnn_params, cache, lin["input"])
    return loss / B, {"W_ih": g["weight_ih_l0"], "W_hh": g["weight_hh_l0"],
                      "b": g["bias_ih_l0"], "W_ho": lin["weight"], "b_o": lin["bias"],
                      "h0": g["h0"][0]}


@functools.lru_cache(maxsize=32)
def _a3_problem(T: int, B: int, recurrent: str, seed: int, D: int = 3, H: int = 4,
                C: int = 3) -> _LossProblem:
    gen = np.random.default_rng(3400 + seed)
    params = {"W_ih": gen.normal(0, 0.7, (H, D)), "W_hh": gen.normal(0, 0.7, (H, H)),
              "b": gen.normal(0, 0.3, H), "W_ho": gen.normal(0, 0.7, (C, H)),
              "b_o": gen.normal(0, 0.3, C)}
    if recurrent == "zero":
        params["W_hh"] = np.zeros((H, H))
    elif recurrent == "symmetric":
        params["W_hh"] = (params["W_hh"] + params["W_hh"].T) / 2
    x, h0 = gen.normal(size=(T, B, D)), gen.normal(0, 0.5, (B, H))
    y = gen.integers(0, C, size=(T, B))
    words = {"random": "a random W_hh", "zero": "W_hh = 0", "symmetric": "a symmetric W_hh"}
    problem = _LossProblem(params, x, h0, y,
                           f"T = {T} step{'s' if T > 1 else ''}, B = {B} "
                           f"sequence{'s' if B > 1 else ''}, {words[recurrent]}")
    problem.loss_value, problem.grads = _a3_loss_and_grads(params, x, h0, y)
    for name in (*A3_NAMES, "h0"):
        array = h0 if name == "h0" else params[name]
        _check_reference(problem.grads[name], numerical_gradient(problem.loss, array), name)
    return problem


#: The probes of the bug hunt: each planted bug shows in its probe's arrays and in no other
#: probe's (tests/test_assignments.py checks all 32 combinations of fixed and unfixed bugs).
A3_PROBES: dict[str, tuple[int, int, str, tuple[str, ...]]] = {
    "bug1": (3, 3, "random", ("loss", "W_ho", "b_o")),
    "bug2": (1, 1, "random", ("h0",)),
    "bug3": (1, 1, "random", ("W_hh",)),
    "bug4": (3, 1, "zero", ("b",)),
    "bug5": (3, 1, "symmetric", ("W_ih",)),
    "all": (4, 3, "random", ("loss", *A3_NAMES, "h0")),
}


def _a3_part(key: str) -> Callable[[Mapping[str, Any]], None]:
    T, B, recurrent, arrays = A3_PROBES[key]

    def part(ns: Mapping[str, Any]) -> None:
        for seed in (0, 1):
            p = _a3_problem(T, B, recurrent, seed)
            value = _call(ns, "bptt_fixed", p.params, p.x, p.h0, p.y)
            loss, grads = _pair(value, "the returned value (loss, grads)")
            wrong = []
            for name in arrays:
                if name == "loss":
                    try:
                        got = float(loss)
                    except (TypeError, ValueError):
                        raise _Fail("failed", f"the loss is {_kind(loss)}, not a "
                                              f"number") from None
                    if not np.isclose(got, p.loss_value, rtol=1e-9):
                        wrong.append(f"the loss ({got:.6g} instead of {p.loss_value:.6g})")
                    continue
                if not isinstance(grads, Mapping) or name not in grads:
                    raise _Fail("failed", f"grads has no {name!r}; expected a dict with keys "
                                          f"{[*A3_NAMES, 'h0']}")
                want = p.grads[name]
                got_array = _array(grads[name], want.shape, f"grads[{name!r}]", "")
                error = relative_error(got_array, want)
                if error >= TOLERANCE:
                    wrong.append(f"grads[{name!r}] (relative error {error:.1e})")
            if wrong:
                listed = ", ".join(wrong[:-1]) + " and " + wrong[-1] if len(wrong) > 1 else wrong[0]
                raise _Fail("failed", f"With {p.label}, {listed} "
                                      f"{'is' if len(wrong) == 1 else 'are'} wrong "
                                      f"against finite differences of the loss")

    return part


_register(
    "a3_bug_hunt", "the bug hunt",
    ("bptt_fixed",),
    [("bug1", "bug 1: the readout's gradients over a batch", _a3_part("bug1")),
     ("bug2", "bug 2: what one step passes back to h_0", _a3_part("bug2")),
     ("bug3", "bug 3: W_hh after one step", _a3_part("bug3")),
     ("bug4", "bug 4: the bias over several steps", _a3_part("bug4")),
     ("bug5", "bug 5: W_ih over several steps", _a3_part("bug5")),
     ("all", "everything at a random point", _a3_part("all"))],
)
