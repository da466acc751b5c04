"""The graded assignments (book/assignments) and their grader (rnnbook.grading).

The reference solutions score full marks; the blank notebooks, generated from them, report
"not implemented" in every part without crashing; a wrong implementation fails exactly its
part with a reason that names the mistake; nothing a student's function does (raise, return
a wrong type or shape, NaN) crashes the grader; the bug hunt's parts each see one bug.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnnbook import course, grading
from rnnbook.grading import ASSIGNMENTS, grade

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "book" / "assignments"
NAMES = sorted(ASSIGNMENTS)


def notebook_namespace(path: Path) -> dict:
    """Run a notebook's code cells in this process (no kernel) and return its globals."""
    namespace: dict = {"__name__": "__assignment__"}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, str(path), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def solved():
    return {name: notebook_namespace(FOLDER / "solutions" / f"{name}.ipynb") for name in NAMES}


@pytest.fixture(scope="module")
def blank():
    return {name: notebook_namespace(FOLDER / f"{name}.ipynb") for name in NAMES}


def test_three_assignments_with_their_solutions():
    assert NAMES == ["a1_rnn_bptt", "a2_gru_backward", "a3_bug_hunt"]
    for name in NAMES:
        assert (FOLDER / f"{name}.ipynb").is_file()
        solution = nbformat.read(FOLDER / "solutions" / f"{name}.ipynb", as_version=4)
        assert solution.metadata["rnnbook"]["assignment"] == name
    assert (FOLDER / "index.md").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_solutions_score_full_marks(solved, name):
    report = grade(name, solved[name])
    assert report.passed, str(report)
    assert report.score == report.max_score == len(ASSIGNMENTS[name].parts) >= 5
    assert all(part.status == "passed" and not part.reason for part in report.parts)


@pytest.mark.parametrize("name", NAMES)
def test_blank_versions_report_not_implemented_everywhere(blank, name):
    report = grade(name, blank[name])
    assert report.score == 0 and not report.passed
    for part in report.parts:
        assert part.status == "not implemented", (part.key, part.status, part.reason)
        assert "NotImplementedError" in part.reason and "YOUR CODE HERE" in part.reason
    assert "todo" in str(report)


@pytest.mark.parametrize("name", NAMES)
def test_blank_is_the_solution_with_the_marked_blocks_emptied(name):
    assert course.write_assignments(ROOT, check=True) == [], (
        "a blank assignment is out of date: run python -m rnnbook.course assignments")
    solution = nbformat.read(FOLDER / "solutions" / f"{name}.ipynb", as_version=4)
    blank_nb = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
    assert blank_nb.metadata["rnnbook"] == {"assignment": name, "role": "blank"}
    kept = [c for c in solution.cells if "solution-only" not in c.metadata.get("tags", [])]
    assert solution.cells[0].source.splitlines()[0].endswith(course.SOLUTION_TITLE)
    assert not blank_nb.cells[0].source.splitlines()[0].endswith(course.SOLUTION_TITLE)
    assert len(kept) == len(blank_nb.cells) < len(solution.cells)
    blocks = 0
    for theirs, ours in zip(kept, blank_nb.cells, strict=True):
        if theirs.cell_type == "markdown":
            assert theirs.source.replace(course.SOLUTION_TITLE + "\n", "\n") == ours.source
            continue
        if course.BEGIN_SOLUTION not in theirs.source:
            assert theirs.source == ours.source
            continue
        blocks += theirs.source.count(course.BEGIN_SOLUTION)
        assert "BEGIN SOLUTION" not in ours.source
        assert ours.source.count("# YOUR CODE HERE") == theirs.source.count(
            course.BEGIN_SOLUTION) == ours.source.count("raise NotImplementedError")
        outside = [line for line in ours.source.splitlines()
                   if "YOUR CODE" not in line and "NotImplementedError" not in line]
        assert all(line in theirs.source.splitlines() for line in outside)
    assert blocks == len(ASSIGNMENTS[name].functions)


def test_blank_generation_checks_its_markers():
    code = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    nb = nbformat.v4.new_notebook(cells=[code])
    with pytest.raises(course.CourseError, match="never ended"):
        course.blank_assignment(nb)
    code.source = "def f():\n    return 1\n    ### END SOLUTION\n"
    with pytest.raises(course.CourseError, match="without"):
        course.blank_assignment(nb)
    code.source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    blank_nb = course.blank_assignment(nb)
    assert blank_nb.cells[0].source == (
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError\n")


# ------------------------------------------------------------------ wrong answers


def test_dW_hh_with_h_t_fails_its_part_only(solved):
    def grad_W_hh(dh, hs, h0):
        delta = dh * (1 - hs ** 2)
        return np.einsum("tbi,tbj->ij", delta, hs)

    report = grade("a1_rnn_bptt", {**solved["a1_rnn_bptt"], "grad_W_hh": grad_W_hh})
    failing = [part for part in report.parts if not part.passed]
    assert [part.key for part in failing] == ["dW_hh"]
    assert failing[0].status == "failed"
    assert "h_{t-1}" in failing[0].reason and "relative error" in failing[0].reason


def test_wrong_dh_recursion_names_the_transpose(solved):
    ns = dict(solved["a1_rnn_bptt"])

    def total_dh(W_hh, hs, d_out, d_h_n):
        dh, dh_next = np.zeros_like(hs), d_h_n
        for t in reversed(range(hs.shape[0])):
            dh[t] = d_out[t] + dh_next
            dh_next = (dh[t] * (1 - hs[t] ** 2)) @ W_hh.T
        return dh

    ns["total_dh"] = total_dh
    report = grade("a1_rnn_bptt", ns, parts=["dh"])
    assert not report.passed and "W_hh.T" in report.parts[0].reason


def test_gru_reset_factor_and_gate_order_are_named(solved):
    ns = solved["a2_gru_backward"]
    right = ns["gru_gate_grads"]

    def no_reset_factor(dh, h_prev, r, z, n, hn):
        d_gi, d_gh = right(dh, h_prev, r, z, n, hn)
        H = h_prev.shape[1]
        d_gh = d_gh.copy()
        d_gh[:, 2 * H:] = d_gi[:, 2 * H:]
        return d_gi, d_gh

    report = grade("a2_gru_backward", {**ns, "gru_gate_grads": no_reset_factor})
    assert [p.key for p in report.parts if not p.passed] == ["d_gh"]
    assert "factor r" in report.parts[1].reason

    def z_sign(dh, h_prev, r, z, n, hn):
        return right(dh, n, r, z, h_prev, hn)  # dz = dh (n - h_prev): a sign slip

    report = grade("a2_gru_backward", {**ns, "gru_gate_grads": z_sign}, parts=["d_gi"])
    assert not report.passed


def test_gru_bias_hh_without_r_fails_the_biases_part(solved):
    ns = solved["a2_gru_backward"]

    def gru_bptt(params, x, h0, d_out, d_h_n):
        grads = ns["gru_bptt"](params, x, h0, d_out, d_h_n)
        H = h0.shape[1]
        grads["bias_hh_l0"][2 * H:] = grads["bias_ih_l0"][2 * H:]
        return grads

    report = grade("a2_gru_backward", {**ns, "gru_bptt": gru_bptt})
    assert [p.key for p in report.parts if not p.passed] == ["biases"]
    assert "b_hn" in report.parts[4].reason and "bias_ih_l0 is" not in report.parts[4].reason


# ------------------------------------------------------------------ nothing crashes


def bad_functions():
    """Functions that misbehave in every way a student's can."""
    def raises_value_error(*args):
        raise ValueError("shapes do not match")

    def exits(*args):
        sys.exit(3)

    return {
        "raises": raises_value_error, "exits": exits,
        "none": lambda *a: None, "string": lambda *a: "dW", "number": lambda *a: 0.5,
        "nan": lambda *a: np.full((4, 4), np.nan), "list": lambda *a: [[1, 2], [3]],
        "dict": lambda *a: {"weight_ih_l0": np.zeros(2)}, "wrong shape": lambda *a: np.ones(7),
        "pair of junk": lambda *a: (None, "x"), "not callable": 42,
        "triple": lambda *a: (np.ones(3), np.ones(3), np.ones(3)),
        "mutates": lambda *a: [arg.fill(np.nan) for arg in a if isinstance(arg, np.ndarray)],
    }


@pytest.mark.parametrize("name", NAMES)
def test_no_student_function_crashes_the_grader(solved, name):
    for function_name in ASSIGNMENTS[name].functions:
        for label, bad in bad_functions().items():
            report = grade(name, {**solved[name], function_name: bad})
            assert not report.passed or label == "mutates", (function_name, label)
            for part in report.parts:
                assert part.status in {"passed", "failed", "error", "not implemented"}
                assert part.passed or part.reason, (function_name, label, part)
                assert "the check could not use" not in part.reason, (label, part.reason)
            text = str(report)
            assert text.count("\n") >= len(report.parts)
    # The grader's problems are shared between calls: no student function changed them.
    assert grade(name, solved[name]).passed


def test_the_readable_reasons(solved):
    ns = dict(solved["a1_rnn_bptt"])
    del ns["grad_h0"]
    ns["grad_W_ih"] = lambda dh, hs, x: np.zeros((3, 4))
    ns["grad_biases"] = lambda dh, hs: (np.full(4, np.nan), np.zeros(4))
    ns["grad_W_hh"] = lambda dh, hs, h0: hs[99]
    reasons = {p.key: p.reason for p in grade("a1_rnn_bptt", ns).parts}
    assert "no function named `grad_h0`" in reasons["dh0"]
    assert "shape (3, 4); expected (H, D) = (4, 3)" in reasons["dW_ih"]
    assert "transpose" in reasons["dW_ih"]
    assert "NaN" in reasons["biases"]
    assert "IndexError" in reasons["dW_hh"] and "hs[99]" in reasons["dW_hh"]


def test_grade_refuses_unknown_names(solved):
    with pytest.raises(ValueError, match="assignment"):
        grade("a9", {})
    with pytest.raises(ValueError, match="parts"):
        grade("a1_rnn_bptt", solved["a1_rnn_bptt"], parts=["nope"])


def test_report_round_trips_through_json(solved):
    report = grade("a2_gru_backward", solved["a2_gru_backward"])
    data = json.loads(json.dumps(report.to_dict()))
    assert grading.format_report(data) == str(report)
    assert data["score"] == data["max_score"] == 6 and data["passed"]


# ------------------------------------------------------------------ the bug hunt's probes

#: The five planted bugs of a3: the line in `bptt_buggy` and its fix.
FIXES = {
    "bug1": ("d_logits = probs - onehot ", "d_logits = (probs - onehot) / B "),
    "bug2": ("dh_next = delta @ W_hh.T ", "dh_next = delta @ W_hh "),
    "bug3": ("h_prev = hs[t - 1] ", "h_prev = hs[t - 1] if t > 0 else h0 "),
    "bug4": ('grads["b"] = delta.sum(axis=0)', 'grads["b"] += delta.sum(axis=0)'),
    "bug5": ("delta = dh * (1 - hs[t] ** 2) + dh_next ",
             "delta = (dh + dh_next) * (1 - hs[t] ** 2) "),
}


def test_each_probe_sees_exactly_its_own_bug(blank):
    """Fix every subset of the five bugs: the parts that pass are exactly the fixed ones."""
    ns = blank["a3_bug_hunt"]
    path = FOLDER / "a3_bug_hunt.ipynb"
    source = next(c.source for c in nbformat.read(path, as_version=4).cells
                  if c.source.startswith("def bptt_buggy"))
    source = source[:source.index("\n\n\nloss, grads")]
    for buggy, _ in FIXES.values():
        assert source.count(buggy) == 1, buggy
    for size in range(6):
        for fixed in itertools.combinations(sorted(FIXES), size):
            variant = source
            for key in fixed:
                variant = variant.replace(*FIXES[key])
            scope = dict(ns)
            exec(variant.replace("def bptt_buggy", "def bptt_fixed"), scope)
            report = grade("a3_bug_hunt", scope)
            passing = {p.key for p in report.parts if p.passed}
            expected = set(fixed) | ({"all"} if len(fixed) == 5 else set())
            assert passing == expected, (fixed, [p.reason for p in report.parts])


# ------------------------------------------------------------------ grading from the command line


def run_grade(path: Path, *extra: str):
    return subprocess.run([sys.executable, "-m", "rnnbook.course", "grade", str(path), *extra],
                          capture_output=True, text=True, timeout=300)


def test_command_line_grades_a_solution_and_a_blank():
    solution = run_grade(FOLDER / "solutions" / "a1_rnn_bptt.ipynb")
    assert solution.returncode == 0, solution.stdout + solution.stderr
    assert "score 6/6: every part passes" in solution.stdout
    empty = run_grade(FOLDER / "a2_gru_backward.ipynb", "--json")
    assert empty.returncode == 1
    report = json.loads(empty.stdout)
    assert [p["status"] for p in report["parts"]] == ["not implemented"] * 6


def test_command_line_grades_a_partly_done_notebook(tmp_path):
    """A student's notebook: one part written, one cell broken; the rest still grades."""
    notebook = nbformat.read(FOLDER / "a1_rnn_bptt.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.source.startswith("def grad_h0"):
            cell.source = cell.source.replace(
                "# YOUR CODE HERE\n    raise NotImplementedError",
                "return (dh[0] * (1 - hs[0] ** 2)) @ W_hh")
        if cell.source.startswith("def grad_biases"):
            cell.source = "def grad_biases(dh, hs)\n    return 1"  # a syntax error
    path = tmp_path / "my copy.ipynb"
    nbformat.write(notebook, path)
    done = run_grade(path)
    assert done.returncode == 1
    assert "note: cell" in done.stdout and "SyntaxError" in done.stdout
    assert "score 1/6" in done.stdout and "no function named `grad_biases`" in done.stdout


def test_command_line_stops_a_notebook_that_never_ends(tmp_path):
    notebook = nbformat.read(FOLDER / "a3_bug_hunt.ipynb", as_version=4)
    notebook.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
    path = tmp_path / "a3_bug_hunt.ipynb"
    nbformat.write(notebook, path)
    done = run_grade(path, "--timeout", "3")
    assert done.returncode == 1 and "did not run to its end" in done.stderr


def test_command_line_refuses_what_is_not_an_assignment(tmp_path):
    missing = run_grade(tmp_path / "nothing.ipynb")
    assert missing.returncode == 1 and "no such notebook" in missing.stderr
    chapter = run_grade(ROOT / "book" / "c_bptt" / "walkthrough.ipynb")
    assert chapter.returncode == 1 and "not an assignment" in chapter.stderr
