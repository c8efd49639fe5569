"""One-source notebooks: generation, sync, leaks, Colab set-up and badges, packaging agreement."""

import json
import re
import tomllib
from pathlib import Path

import pytest

from tools import authoring as A

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _nb(*cells):
    return A.new_notebook([A._new_cell(kind, text, f"id{i}", tags) for i, (kind, text, tags) in enumerate(cells)])


SAMPLE = _nb(
    ("markdown", "# 9.9 Sample\nobjectives", None),
    ("code", "PROFILE = None\nSEED = 0", ["parameters"]),
    ("code", "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    secret_answer = x * 42\n    return secret_answer\n    ### END SOLUTION\n\ncheck(f)", None),
    ("markdown", "Why?\n\n### BEGIN SOLUTION\nBecause the receptive field grows linearly.\n### END SOLUTION", None),
    ("code", "# NBVAL_CHECK_OUTPUT\nprint(1)", None),
)


def test_student_version_replaces_solutions_keeping_indentation():
    sol = A.normalise_solution(SAMPLE, "9.9_sample.ipynb", {"repository": "https://github.com/o/r", "ref": "v1"})
    stu = A.student_version(sol, "9.9_sample.ipynb", {"repository": "https://github.com/o/r", "ref": "v1"})
    code = A._source(stu["cells"][3])
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in code
    assert "secret_answer" not in code and "check(f)" in code and "'''doc'''" in code
    assert "*Write your answer here.*" in A._source(stu["cells"][4])
    assert "exercise" in stu["cells"][3]["metadata"]["tags"]
    assert all(c.get("outputs", []) == [] for c in stu["cells"] if c["cell_type"] == "code")
    assert A.leaks(sol, stu) == []
    assert [c["id"] for c in stu["cells"]] == [c["id"] for c in sol["cells"]]


def test_leak_detection_catches_copied_answers():
    sol = A.normalise_solution(SAMPLE, "9.9_sample.ipynb")
    stu = A.student_version(sol, "9.9_sample.ipynb")
    A._set_source(stu["cells"][3], A._source(stu["cells"][3]) + "\nsecret_answer = x * 42")
    assert A.leaks(sol, stu) == ["secret_answer = x * 42"]


def test_unbalanced_markers_are_errors():
    with pytest.raises(ValueError, match="without"):
        A._strip_solutions("### BEGIN SOLUTION\nx = 1", markdown=False)
    with pytest.raises(ValueError, match="without"):
        A._strip_solutions("x = 1\n### END SOLUTION", markdown=False)


def test_normalise_is_idempotent_and_keeps_only_checked_outputs():
    nb = json.loads(json.dumps(SAMPLE))
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "noise"}]
    nb["cells"][4]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    once = A.normalise_solution(nb, "9.9_sample.ipynb")
    assert A.dumps(A.normalise_solution(once, "9.9_sample.ipynb")) == A.dumps(once)
    code = [c for c in once["cells"] if c["cell_type"] == "code"]
    assert code[0]["metadata"]["tags"] == [A.SETUP_TAG]
    assert code[1]["outputs"] == [] and code[-1]["outputs"][0]["text"] == ["1\n"]
    assert once["metadata"]["accelerator"] == "GPU"


def test_missing_parameters_cell_is_an_error():
    with pytest.raises(ValueError, match="parameters"):
        A.normalise_solution(_nb(("markdown", "# T", None), ("code", "x = 1", None)), "x.ipynb")


def test_percent_script_round_trip():
    script = A.to_py(SAMPLE)
    again = A.from_py(script, "9.9_sample.ipynb")
    assert [A._source(c) for c in again["cells"]] == [A._source(c) for c in SAMPLE["cells"]]
    assert again["cells"][1]["metadata"]["tags"] == ["parameters"]


# ---- the repository itself ---------------------------------------------------------------------

def test_repository_notebooks_are_in_sync_and_leak_free():
    assert SOLUTIONS, "no solution notebooks"
    assert A.check() == []


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_each_notebook_has_colab_setup_badge_and_parameters(path):
    cfg = A.course_config()
    for folder in ("solutions", "notebooks"):
        nb = A.read(ROOT / folder / path.name)
        first = A._source(nb["cells"][0])
        urls = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]+)\)", first)
        assert urls == [A.colab_url(f"{folder}/{path.name}", cfg)], "badge must point at this notebook"
        assert (ROOT / urls[0].split(f"/blob/{cfg['ref']}/", 1)[1]).exists()
        setup = nb["cells"][1]
        assert setup["metadata"]["tags"] == [A.SETUP_TAG]
        src = A._source(setup)
        assert 'if "google.colab" in sys.modules:' in src and cfg["repository"] in src and cfg["ref"] in src
        assert "install torch" not in src and "torch==" not in src
        params = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(params) == 1 and "PROFILE = None" in A._source(params[0]) and "SEED" in A._source(params[0])
        assert nb["metadata"]["accelerator"] == "GPU"
        assert "coursekit.start(PROFILE, SEED)" in "".join(A._source(c) for c in nb["cells"])


def test_readme_lists_every_notebook_with_its_badge():
    readme = (ROOT / "README.md").read_text()
    for path in SOLUTIONS:
        assert f"(notebooks/{path.name})" in readme
        assert A.colab_url(f"notebooks/{path.name}") in readme


def _lower_bounds_pyproject():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the instructor extra (nbgrader) stays out of environment.yml, which students may use
    reqs = data["dependencies"] + [r for name, extra in data["optional-dependencies"].items()
                                   for r in extra if name != "instructor"]
    return dict(re.fullmatch(r"([A-Za-z0-9_.-]+)(>=[0-9.]+(?:,<[0-9.]+)?)", r).groups() for r in reqs)


def _lower_bounds_environment():
    found = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.fullmatch(r"\s+- ([A-Za-z0-9_.-]+)(>=[0-9.]+(?:,<[0-9.]+)?)", line)
        if m and m.group(1) != "python":
            found[{"pytorch": "torch"}.get(m.group(1), m.group(1))] = m.group(2)
    return found


def test_environment_yml_agrees_with_pyproject():
    py, env = _lower_bounds_pyproject(), _lower_bounds_environment()
    assert py == env, f"only in pyproject: {set(py.items()) - set(env.items())}; only in environment.yml: {set(env.items()) - set(py.items())}"
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_torch_is_never_required_above_the_machines_cap():
    # a requirement above the locally cached torch forces a multi-GB download on every fresh machine
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        assert not re.search(r'"torch(vision)?(==|>=)(2\.1[5-9]|2\.[2-9]\d|0\.(29\.[2-9]|[3-9]\d))', line), line
