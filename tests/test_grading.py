"""Exercises for grading: check cells, written answers, nbgrader metadata, and a real nbgrader round trip."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursekit.checks.welcome import check_conv_output_size
from tools import authoring as A
from tools import grading

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CFG = {"repository": "https://github.com/o/r", "ref": "v1"}


def _nb(*cells):
    return A.new_notebook([A._new_cell(kind, text, f"id{i}", tags) for i, (kind, text, tags) in enumerate(cells)])


SAMPLE = _nb(
    ("markdown", "# 9.9 Sample", None),
    ("code", "PROFILE = None\nSEED = 0", ["parameters"]),
    ("code", "def area(w, h):\n    ### BEGIN SOLUTION\n    return w * h\n    ### END SOLUTION\n\n\ncheck_area(area)", None),
    ("markdown", "**Written question.** Why is the area of a square quadratic in its side?", None),
    ("markdown", "### BEGIN SOLUTION\nBecause both sides grow together.\n### END SOLUTION", None),
)


def _roles(nb):
    return [(A.role(c), c["metadata"]["nbgrader"]) for c in nb["cells"]]


def test_check_call_moves_into_a_locked_test_cell_deterministically():
    sol = A.normalise_solution(SAMPLE, "9.9_sample.ipynb", CFG)
    kinds = [A.role(c) for c in sol["cells"]]
    assert kinds == ["readonly", "readonly", "readonly", "exercise", "check", "readonly", "written"]
    exercise, check = sol["cells"][3], sol["cells"][4]
    assert "check_area" not in A._source(exercise) and A._source(exercise).endswith("### END SOLUTION")
    assert A._source(check) == "check_area(area)" and check["metadata"]["tags"] == [A.CHECK_TAG]
    assert exercise["metadata"]["tags"] == [A.EXERCISE_TAG]
    # the same new id on every run, and a second normalisation changes nothing
    assert A.normalise_solution(SAMPLE, "9.9_sample.ipynb", CFG)["cells"][4]["id"] == check["id"]
    assert A.dumps(A.normalise_solution(sol, "9.9_sample.ipynb", CFG)) == A.dumps(sol)


def test_nbgrader_metadata_follows_the_roles():
    sol = A.normalise_solution(SAMPLE, "9.9_sample.ipynb", CFG)
    meta = {A.role(c): c["metadata"]["nbgrader"] for c in sol["cells"]}
    assert meta["exercise"] | {"grade_id": None} == {"grade": False, "grade_id": None, "locked": False, "schema_version": 3,
                                                     "solution": True, "task": False}
    assert meta["check"]["grade"] and meta["check"]["locked"] and not meta["check"]["solution"]
    assert meta["check"]["points"] == 1 and meta["check"]["grade_id"] == "test-check_area"
    assert meta["written"]["grade"] and meta["written"]["solution"] and not meta["written"]["locked"]
    assert meta["readonly"]["locked"] and not (meta["readonly"]["grade"] or meta["readonly"]["solution"])
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in sol["cells"]]
    assert len(set(ids)) == len(ids)


def test_student_version_keeps_roles_and_empties_the_written_answer():
    sol = A.normalise_solution(SAMPLE, "9.9_sample.ipynb", CFG)
    stu = A.student_version(sol, "9.9_sample.ipynb", CFG)
    assert _roles(stu) == _roles(sol)
    assert [c["id"] for c in stu["cells"]] == [c["id"] for c in sol["cells"]]
    assert A._source(stu["cells"][6]) == A.TEXT_STUB and stu["cells"][6]["metadata"]["tags"] == [A.WRITTEN_TAG]
    assert "raise NotImplementedError()" in A._source(stu["cells"][3])
    assert A._source(stu["cells"][4]) == "check_area(area)"
    assert A.leaks(sol, stu) == []


def test_a_second_check_call_in_a_split_exercise_is_an_error():
    sol = A.normalise_solution(SAMPLE, "9.9_sample.ipynb", CFG)
    A._set_source(sol["cells"][3], A._source(sol["cells"][3]) + "\n\ncheck_area(area)")
    with pytest.raises(ValueError, match="already has a check cell"):
        A.normalise_solution(sol, "9.9_sample.ipynb", CFG)


# ---- checks under nbgrader ----------------------------------------------------------------------

def _right(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _wrong(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - (kernel - 1) - 1) // stride + 1


def _unfinished(*args, **kwargs):
    raise NotImplementedError()


def test_checks_only_print_in_the_course(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert check_conv_output_size(_right, quiet=True).passed
    assert check_conv_output_size(_wrong, quiet=True).status == "failed"
    assert check_conv_output_size(_unfinished, quiet=True).status == "not done"


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_checks_raise_under_nbgrader_unless_passed(monkeypatch, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    assert check_conv_output_size(_right, quiet=True).passed
    with pytest.raises(AssertionError, match="output size of a convolution: conv_output_size"):
        check_conv_output_size(_wrong, quiet=True)
    with pytest.raises(AssertionError, match="not implemented yet"):
        check_conv_output_size(_unfinished, quiet=True)


def test_under_nbgrader_warnings_do_not_reach_stderr(monkeypatch, capfd):
    """nbgrader scores a test cell that writes to stderr zero: a right answer that warns must pass."""
    import warnings

    def right_but_warns(*args, **kwargs):
        warnings.warn("this call is deprecated", DeprecationWarning, stacklevel=2)
        return _right(*args, **kwargs)

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check_conv_output_size(right_but_warns).passed
    out, err = capfd.readouterr()
    assert err == "" and "warning: DeprecationWarning: this call is deprecated" in out


# ---- the repository's notebooks -----------------------------------------------------------------

@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_exercise_is_followed_by_its_check_cell(path):
    """The cells the notebook gate and nbgrader rely on: exercise → check, written question →
    written answer, in the solution and (with the same ids and roles) in the student version."""
    sol, stu = A.read(path), A.read(ROOT / "notebooks" / path.name)
    cells = sol["cells"]
    assert _roles(stu) == _roles(sol) and [c["id"] for c in stu["cells"]] == [c["id"] for c in cells]
    for i, c in enumerate(cells):
        kind, nxt = A.role(c), cells[i + 1] if i + 1 < len(cells) else None
        if kind == "exercise":
            assert nxt is not None and A.role(nxt) == "check", (
                f"{path.name}: exercise cell {c['id']} needs its check: end the cell with `check_…(your_function)` "
                "and run `python -m tools.authoring sync`")
        if kind == "check":
            assert i and A.role(cells[i - 1]) == "exercise", f"{path.name}: check cell {c['id']} follows no exercise"
            assert all(A.CHECK_CALL_RE.match(line) for line in A._source(c).split("\n")), A._source(c)
        if kind == "written":
            model = A._strip_solutions(A._source(c), markdown=True).replace(A.TEXT_STUB, "")
            assert len(A._source(c)) - len(model) > 40, f"{path.name}: written answer {c['id']} has no model answer"
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells]
    assert len(ids) == len(set(ids))


def test_the_welcome_notebook_asks_a_written_question():
    stu = A.read(ROOT / "notebooks" / "00_welcome.ipynb")
    written = [i for i, c in enumerate(stu["cells"]) if A.role(c) == "written" or A.WRITTEN_TAG in c["metadata"].get("tags", [])]
    assert written, "00_welcome needs a written question"
    assert all(A._source(stu["cells"][i]) == A.TEXT_STUB for i in written)
    assert "Written question" in A._source(stu["cells"][written[0] - 1])


def test_make_course_lays_out_nbgrader_source(tmp_path):
    written = grading.make_course(tmp_path, ["00_welcome", "1.1"])
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "source/00_welcome/00_welcome.ipynb", "source/1.1_imagenet_landscape/1.1_imagenet_landscape.ipynb"]
    config = (tmp_path / "nbgrader_config.py").read_text()
    assert repr(A.TEXT_STUB) in config and "COURSEKIT_PROFILE" in config
    compile(config, "nbgrader_config.py", "exec")
    first = A._source(A.read(written[0])["cells"][0])
    assert A.colab_url("notebooks/00_welcome.ipynb") in first
    assert grading.make_course(tmp_path / "s", ["3.1"], by_section=True)[0].parent.name == "section3"
    assert {p.parent.name for p in grading.make_course(tmp_path / "w", ["1.2", "1.3"], assignment="w2")} == {"w2"}
    with pytest.raises(ValueError, match="no solution notebook named"):
        grading.make_course(tmp_path, ["9.9"])


# ---- a real round trip with the nbgrader command line -------------------------------------------

def _without_nbgrader_metadata(nb):
    nb = json.loads(json.dumps(nb))
    for c in nb["cells"]:
        for key in ("nbgrader", "editable", "deletable"):
            c["metadata"].pop(key, None)
        c["source"] = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
    return nb


def _nbgrader(course, *args):
    env = dict(os.environ, COURSEKIT_PROFILE="smoke", COURSEKIT_DEVICE="cpu",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("NBGRADER_EXECUTION", None)
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                         text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0 and "ERROR" not in run.stderr, f"nbgrader {' '.join(args)} failed:\n{run.stderr[-3000:]}"


@pytest.mark.notebooks
@pytest.mark.timeout(600)
def test_nbgrader_round_trip(tmp_path):
    """generate_assignment releases our student notebook; the solution autogrades to full marks on
    the autograded parts, the unfinished student notebook to zero."""
    pytest.importorskip("nbgrader", reason="nbgrader is in the instructor extra: pip install -e '.[instructor]'")
    from nbgrader.api import Gradebook

    t0 = time.perf_counter()
    names = ["00_welcome.ipynb", "2.4_one_shot_learning.ipynb"]  # a written question; two short exercises
    a = "week1"  # one assignment: one nbgrader start per command
    grading.make_course(tmp_path, names, assignment=a)
    _nbgrader(tmp_path, "generate_assignment", a)
    for name in names:
        released = A.read(tmp_path / "release" / a / name)
        assert _without_nbgrader_metadata(released) == _without_nbgrader_metadata(A.read(ROOT / "notebooks" / name))
        for student, version in [("model", tmp_path / "source" / a / name), ("blank", tmp_path / "release" / a / name)]:
            (tmp_path / "submitted" / student / a).mkdir(parents=True, exist_ok=True)
            (tmp_path / "submitted" / student / a / name).write_bytes(version.read_bytes())
    _nbgrader(tmp_path, "autograde", a, "--create")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        for name in names:
            nb = Path(name).stem
            model = gb.find_submission_notebook(nb, a, "model")
            blank = gb.find_submission_notebook(nb, a, "blank")
            assert model.max_code_score >= 1 and model.code_score == model.max_code_score, (name, model.code_score)
            assert blank.code_score == 0, (name, blank.code_score)
            written = [g for g in model.grades if g.cell_type == "markdown"]
            assert all(g.needs_manual_grade for g in written)  # the model answer waits for a person
            assert all(g.auto_score == 0 for g in blank.grades if g.cell_type == "markdown")  # left empty
        assert gb.find_submission_notebook("00_welcome", a, "model").max_written_score >= 1
    print(f"nbgrader round trip on {len(names)} notebooks: {time.perf_counter() - t0:.0f} s")


def test_nbgrader_is_only_in_the_instructor_extra():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert any(r.startswith("nbgrader") for r in extras["instructor"])
    student = project["dependencies"] + extras["lab"] + extras["dev"]
    assert not any("nbgrader" in r for r in student), "a student's install must not pull nbgrader"
