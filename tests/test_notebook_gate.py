"""The notebook gate fails where it should: each fault below is planted in a small notebook on purpose.

A broken answer, a broken paper check, two student-only faults (a later cell that needs an exercise's
name; a check that crashes on an unfinished exercise) and a failing magic each make the gate fail;
the correct notebook passes. The notebooks are tiny (a kernel start and one torch import each).
"""

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_gate import output_text, run_gate, sanitizers, student_name_problems

from tools.authoring import student_version

pytestmark = pytest.mark.notebooks

ANSWER = '''def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    ### BEGIN SOLUTION
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    ### END SOLUTION'''
CHECK = "from coursekit.checks.welcome import check_conv_output_size\n\ncheck_conv_output_size(conv_output_size)"
PAPER = "# NBVAL_CHECK_OUTPUT\nprint(f'after 5 VGG blocks a 224×224 input is {224 // 2**5}×{224 // 2**5}')"


def _notebook(answer=ANSWER, check=CHECK, paper=PAPER, paper_output="after 5 VGG blocks a 224×224 input is 7×7\n",
              extra=()):
    cells = [new_markdown_cell("# A tiny course notebook"),
             new_code_cell("PROFILE = None\nSEED = 0", metadata={"tags": ["parameters"]}),
             new_code_cell(answer), new_code_cell(check), new_code_cell(paper), *extra]
    cells[4].outputs = [new_output("stream", name="stdout", text=paper_output)]
    for i, c in enumerate(cells):
        c.id = f"cell-{i}"
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def _gate(tmp_path, nb):
    solution = tmp_path / "solutions" / "gate.ipynb"
    student = tmp_path / "notebooks" / "gate.ipynb"
    for p in (solution, student):
        p.parent.mkdir(exist_ok=True)
    nbformat.write(nb, solution)
    stud = student_version(copy.deepcopy(nbformat.read(solution, as_version=4)), "gate.ipynb",
                           {"repository": "https://github.com/example/course", "ref": "main"})
    nbformat.write(nbformat.from_dict(stud), student)
    return run_gate(solution, student, timeout=60)


def test_a_correct_notebook_passes(tmp_path):
    result = _gate(tmp_path, _notebook())
    assert result.problems == []
    assert result.cpu_seconds > 0


def test_a_broken_answer_fails(tmp_path):
    wrong = ANSWER.replace("dilation * (kernel - 1)", "(kernel - 1)")  # forgets the dilation
    result = _gate(tmp_path, _notebook(answer=wrong))
    assert any("fails its own check" in p and "output size of a convolution" in p for p in result.problems), result.problems


def test_a_broken_paper_check_fails_with_a_diff(tmp_path):
    result = _gate(tmp_path, _notebook(paper_output="after 5 VGG blocks a 224×224 input is 14×14\n"))
    [problem] = result.problems
    assert "-after 5 VGG blocks a 224×224 input is 14×14" in problem and "+after 5 VGG blocks a 224×224 input is 7×7" in problem


def test_a_later_cell_that_needs_the_exercise_fails(tmp_path):
    uses = new_code_cell("print(conv_output_size(32, 3))")  # breaks for a student who has not finished
    result = _gate(tmp_path, _notebook(extra=[uses]))
    assert any("uses `conv_output_size`" in p for p in result.problems), result.problems


def test_a_check_that_crashes_on_an_unfinished_exercise_fails(tmp_path):
    crashing = CHECK + "\nprint('one sample:', conv_output_size(32, 3))"  # fine in the solution only
    result = _gate(tmp_path, _notebook(check=crashing))
    assert any(p.startswith("student version:") and "NotImplementedError" in p for p in result.problems), result.problems


def test_a_failing_magic_fails(tmp_path):
    result = _gate(tmp_path, _notebook(extra=[new_code_cell("%this_magic_does_not_exist\nprint('never')")]))
    assert result.problems and "did not run to the end" in result.problems[0], result.problems


def test_sanitising_matches_nbval_rules():
    rules = sanitizers()
    out = [new_output("stream", name="stdout", text="<Net at 0x7f3a2b1c9d40> from /x/site-packages/torch/a.py\n")]
    assert output_text(out, rules) == "<Net at 0xADDRESS> from PATH\n"


def test_static_rule_allows_rebinding_and_the_check_cell():
    nb = _notebook(extra=[new_code_cell("conv_output_size = lambda *a: 0\nprint(conv_output_size(3, 3))")])
    assert student_name_problems(nb) == []
