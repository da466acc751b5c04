"""The student edition: `python -m rnnbook.course student OUT/`.

Every page of `_toc.yml` is written to OUT without the solutions of its exercises; the
exercises and everything else stay, each notebook is valid and runs top to bottom, and the
command refuses to write into the book's own folder or over existing files without --force.

The execution test runs every notebook of the edition (about as long as the chapters
themselves, minus their exercises: ~3 min on two cores). `RNNBOOK_QUICK=1` skips it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import course
from rnnbook.course import CourseError, strip_page, strip_solutions, toc_pages, write_edition

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def chapter_pages() -> list[Path]:
    return [page for page in toc_pages(ROOT) if not course.is_assignment_solution(page, ROOT)]


def chapter_notebooks() -> list[Path]:
    return [page for page in chapter_pages() if page.suffix == ".ipynb"]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "edition"
    plan = write_edition(out, ROOT)
    return out, plan


def solution_blocks(text: str) -> list[str]:
    """The text between each solution-start fence and its solution-end, in one markdown text."""
    return re.findall(r"\{solution-start\}.*?```\n(.*?)```\{solution-end\}", text, flags=re.S)


def exercise_blocks(text: str) -> list[str]:
    return re.findall(r"```\{exercise\}.*?\n```", text, flags=re.S)


# ------------------------------------------------------------------ the edition itself


def test_every_page_of_the_toc_is_written(edition):
    out, _ = edition
    written = {p.relative_to(out) for p in out.rglob("*") if p.suffix in {".ipynb", ".md"}}
    expected = {page.relative_to(ROOT) for page in chapter_pages()}
    assert written == expected
    assert any(p.parts[:2] == ("book", "c_bptt") for p in written)  # folders mirror the repo


def test_no_solution_left_in_any_notebook(edition):
    out, _ = edition
    for path in out.rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for marker in ("solution-start", "solution-end", "{solution}", "BEGIN SOLUTION"):
                assert marker not in cell.source, f"{path}: {marker} left in a cell"
    for path in out.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert "{solution-start}" not in text and "{solution}" not in text, path


@pytest.mark.parametrize("page", chapter_notebooks(), ids=lambda p: p.stem)
def test_solution_text_and_code_disappear_and_exercises_stay(edition, page):
    out, _ = edition
    original = nbformat.read(page, as_version=4)
    student = nbformat.read(out / page.relative_to(ROOT), as_version=4)
    markdown = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    code = "\n\n".join(c.source for c in student.cells if c.cell_type == "code")
    joined = "\n".join(c.source + "\n" for c in original.cells)  # gated solutions span cells
    exercises = exercise_blocks("\n".join(c.source for c in original.cells))
    if not exercises:
        pytest.skip(f"{page.name} has no exercises")
    for exercise in exercises:
        assert exercise in markdown, f"{page.name}: an exercise is missing"
    outside = joined
    for block in solution_blocks(joined):
        outside = outside.replace(block, "")
    removed_lines = [line.strip() for block in solution_blocks(joined)
                     for line in block.splitlines()
                     if len(line.strip()) > 30 and line.strip() not in outside]
    assert removed_lines, f"{page.name}: no solution text found in the original"
    for line in removed_lines:
        assert line not in markdown and line not in code, f"{page.name}: {line!r} stayed"
    # The text before the first exercise is all there, cell for cell.
    first = next(i for i, c in enumerate(original.cells) if "{exercise}" in c.source)
    assert [c.source for c in student.cells[:first]] == [c.source for c in
                                                          original.cells[:first]]


def test_notebooks_are_valid_and_clean(edition):
    out, _ = edition
    for path in out.rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path
        assert notebook.metadata["kernelspec"]["name"] == "python3"


def test_assignments_are_blank_and_their_solutions_absent(edition):
    out, _ = edition
    assert not list(out.rglob("solutions/*.ipynb"))
    for path in out.rglob("assignments/*.ipynb"):
        assert "raise NotImplementedError" in path.read_text(encoding="utf-8")


def test_files_the_chapters_read_are_copied(edition):
    out, plan = edition
    for destination, source in plan.copies.items():
        assert destination.read_bytes() == source.read_bytes()
    for page in chapter_notebooks():
        notebook = nbformat.read(page, as_version=4)
        for item in course.referenced_files(notebook, page.parent, ROOT):
            assert (out / item.relative_to(ROOT)).is_file(), f"{page.name} reads {item}"


def test_instructor_edition_keeps_the_solutions(tmp_path):
    plan = write_edition(tmp_path / "instructor", ROOT, solutions=True)
    learning = next(nb for path, nb in plan.notebooks.items() if path.stem == "learning")
    assert any("{solution-start}" in cell.source for cell in learning.cells)
    assert all(not labels for labels in plan.removed.values())


# ------------------------------------------------------------------ the stripper on its own

SYNTHETIC = [
    ("markdown", "# A chapter\n\nSome text."),
    ("code", "import numpy as np\nrng = np.random.default_rng(0)\nanswer = 41"),
    ("markdown", "## Exercises\n\n```{exercise}\n:label: ex-one\n\nAdd one to the answer.\n```\n\n"
                 "```{solution-start} ex-one\n:class: dropdown\n```\n\n"
                 "The forty-second number is the answer, as the code shows below."),
    ("code", "answer += 1\nassert answer == 42"),
    ("markdown", "```{solution-end}\n```\n\n:::{exercise}\n:label: ex-two\nWhy?\n:::\n\n"
                 "````{solution} ex-two\n:class: dropdown\nBecause the directive says so.\n"
                 "```python\nprint('inner fence')\n```\n````\n\n"
                 "````markdown\n```{solution-start} shown-as-code\n```\n````"),
    ("markdown", "::::{solution-start} ex-three\n::::\nColon-fenced solution text.\n"
                 "::::{solution-end}\n::::\n## Summary\n\n* one"),
]


def synthetic_notebook():
    cells = [nbformat.v4.new_markdown_cell(src) if kind == "markdown"
             else nbformat.v4.new_code_cell(src) for kind, src in SYNTHETIC]
    return nbformat.v4.new_notebook(cells=cells)


def test_stripper_removes_gated_and_plain_solutions():
    student, labels = strip_solutions(synthetic_notebook())
    text = "\n".join(cell.source for cell in student.cells)
    assert labels == ["ex-one", "ex-two", "ex-three"]
    assert "forty-second number" not in text and "answer += 1" not in text
    assert "Because the directive says so" not in text and "inner fence" not in text
    assert "Colon-fenced solution text" not in text
    assert "Add one to the answer." in text and ":label: ex-two" in text and "Why?" in text
    assert "## Summary" in text and "answer = 41" in text
    assert "shown-as-code" in text  # a solution fence inside a code block is only text
    assert [cell.cell_type for cell in student.cells] == ["markdown", "code", "markdown",
                                                           "markdown", "markdown"]
    nbformat.validate(student)


def test_stripper_refuses_unbalanced_markers():
    nb = synthetic_notebook()
    nb.cells = nb.cells[:4]  # solution-start without its end
    with pytest.raises(CourseError, match="never ended"):
        strip_solutions(nb)
    with pytest.raises(CourseError, match="without a solution-start"):
        strip_page("```{solution-end}\n```\n")
    with pytest.raises(CourseError, match="inside the solution"):
        strip_page("```{solution-start} a\n```\n```{solution-start} b\n```\n")


@st.composite
def chapters(draw):
    """A random chapter: kept text and code, and exercises whose gated solutions span cells
    (prose in the exercise's cell or not, code cells, text after the end in the same cell)."""
    cells, kept, removed = [], [], []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["text", "code", "exercise"]))
        if kind == "text":
            cells.append(("markdown", f"KEEP-{i} some prose"))
            kept.append(f"KEEP-{i}")
        elif kind == "code":
            cells.append(("code", f"keep_{i} = {i}"))
            kept.append(f"keep_{i}")
        else:
            start = (f"```{{exercise}}\n:label: ex-{i}\nEXERCISE-{i}\n```\n\n"
                     f"```{{solution-start}} ex-{i}\n:class: dropdown\n```\n")
            kept.append(f"EXERCISE-{i}")
            if draw(st.booleans()):
                start += f"\nSOLTEXT-{i} the answer in words"
                removed.append(f"SOLTEXT-{i}")
            cells.append(("markdown", start))
            for j in range(draw(st.integers(0, 3))):
                cells.append(("code", f"sol_{i}_{j} = {j}"))
                removed.append(f"sol_{i}_{j}")
            end = "```{solution-end}\n```"
            if draw(st.booleans()):
                end += f"\n\nKEEP-after-{i}"
                kept.append(f"KEEP-after-{i}")
            cells.append(("markdown", end))
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(src) if kind == "markdown" else
        nbformat.v4.new_code_cell(src) for kind, src in cells])
    return notebook, kept, removed


@settings(max_examples=60, deadline=None)
@given(chapters())
def test_stripping_keeps_everything_but_the_solutions(chapter):
    notebook, kept, removed = chapter
    student, _ = strip_solutions(notebook)
    nbformat.validate(student)
    text = "\n".join(cell.source for cell in student.cells)
    assert not any(token in text for token in removed)
    assert "solution" not in text
    positions = [text.index(token) for token in kept]
    assert positions == sorted(positions)  # everything kept, in its order
    assert all(cell.source.strip() for cell in student.cells)


def test_a_new_chapter_joins_with_no_hand_work(tmp_path):
    """A small book of its own: a page listed by file, two by a glob, data they read."""
    root = tmp_path / "repo"
    (root / "book" / "h_new").mkdir(parents=True)
    (root / "results").mkdir()
    (root / "results" / "stored.json").write_text("{}")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: H\n    chapters:\n"
        "      - file: book/h_new/first\n      - glob: book/h_new/more_*\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    for name in ("first", "more_a", "more_b"):
        notebook = synthetic_notebook()
        notebook.cells[1].source += '\nstored = open("../../results/stored.json").read()'
        nbformat.write(notebook, root / "book" / "h_new" / f"{name}.ipynb")
    plan = write_edition(tmp_path / "out", root)
    assert sorted(p.name for p in plan.notebooks) == ["first.ipynb", "more_a.ipynb",
                                                      "more_b.ipynb"]
    assert all(labels == ["ex-one", "ex-two", "ex-three"] for name, labels in
               plan.removed.items() if name.endswith(".ipynb"))
    assert (tmp_path / "out" / "results" / "stored.json").read_text() == "{}"
    assert (tmp_path / "out" / "book" / "intro.md").read_text() == "# Intro\n"


# ------------------------------------------------------------------ refusals and exit codes


def listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.mark.parametrize("target", ["book", "book/c_bptt", "book/new/folder", "link"])
def test_refuses_the_books_own_folder(tmp_path, capsys, target):
    before = listing(BOOK)
    if target == "link":
        (tmp_path / "link").symlink_to(BOOK, target_is_directory=True)
        out = tmp_path / "link"
    else:
        out = ROOT / target
    assert course.main(["student", str(out)]) == 1
    assert "refusing to write into the book's own folder" in capsys.readouterr().err
    assert listing(BOOK) == before
    assert not (BOOK / "new").exists()


def test_refuses_a_link_inside_out_that_leads_into_the_book(tmp_path):
    out = tmp_path / "edition"
    out.mkdir()
    (out / "book").symlink_to(BOOK, target_is_directory=True)
    before = listing(BOOK)
    with pytest.raises(CourseError, match="inside the book's own folder"):
        write_edition(out, ROOT, force=True)
    assert listing(BOOK) == before


def test_refuses_existing_files_without_force(tmp_path, capsys):
    out = tmp_path / "edition"
    assert course.main(["student", str(out)]) == 0
    first = listing(out)
    assert course.main(["student", str(out)]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert listing(out) == first
    assert course.main(["student", str(out), "--force"]) == 0
    # Other files in OUT do not matter; only a collision needs --force.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert course.main(["student", str(tmp_path / "other")]) == 0
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_refuses_an_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "edition").write_text("not a folder")
    assert course.main(["student", str(tmp_path / "edition")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_writes_nothing_outside_out(tmp_path):
    out = tmp_path / "deep" / "edition"
    write_edition(out, ROOT)
    assert [p.name for p in tmp_path.iterdir()] == ["deep"]
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["edition"]


def test_command_line_exit_codes(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "rnnbook.course", *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)

    done = run("student", "edition")
    assert done.returncode == 0 and "solutions removed" in done.stdout
    assert (tmp_path / "edition" / "book" / "c_bptt" / "learning.ipynb").is_file()
    again = run("student", "edition")
    assert again.returncode == 1 and again.stderr.startswith("error: ")
    refused = run("student", str(BOOK))
    assert refused.returncode == 1 and "book's own folder" in refused.stderr
    assert run("student").returncode == 2           # OUT missing: argparse's usage error
    assert run("publish", "x").returncode == 2      # no such command
    no_toc = run("student", "x", "--root", str(tmp_path))
    assert no_toc.returncode == 1 and "no _toc.yml" in no_toc.stderr


# ------------------------------------------------------------------ every notebook runs


def test_student_code_is_the_chapters_code_minus_solutions():
    """The removed code cells are the solutions' only: no kept cell comes after one, so a
    student notebook runs the same cells as its chapter, up to the exercises."""
    for page in chapter_notebooks():
        original = nbformat.read(page, as_version=4)
        student, _ = strip_solutions(original)
        student_code = [c.source for c in student.cells if c.cell_type == "code"]
        original_code = [c.source for c in original.cells if c.cell_type == "code"]
        assert original_code[:len(student_code)] == student_code, (
            f"{page.name}: a code cell outside the solutions follows a solution; run the "
            f"student edition's execution test")


@pytest.mark.skipif(os.environ.get("RNNBOOK_QUICK") == "1", reason="RNNBOOK_QUICK=1")
def test_every_student_notebook_runs_top_to_bottom(edition):
    out, _ = edition
    failures, times = [], {}
    for path in sorted(out.rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            course.execute_notebook(notebook, path.parent, timeout=300)
        except Exception as error:  # report every chapter that breaks, not only the first
            failures.append(f"{path.relative_to(out)}: {str(error)[-600:]}")
        times[path.stem] = time.perf_counter() - start
    total = sum(times.values())
    print(f"executed {len(times)} student notebooks in {total:.0f} s; slowest: " + ", ".join(
        f"{name} {seconds:.0f} s" for name, seconds in
        sorted(times.items(), key=lambda item: -item[1])[:3]))
    assert not failures, "\n\n".join(failures)
