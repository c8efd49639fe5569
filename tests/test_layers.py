"""The student package's shape (issue 18, items 1 and 6): its layers, and what importing it loads.

* **Layers.** ``LAYERS`` below is the one table of ``coursekit``'s layers, bottom to top. A module
  may import modules of its own layer and of the layers below, never one above. The check parses
  every ``coursekit`` file with ``ast`` (module-level and function-level imports, absolute and
  relative) and names file, line and both layers for each upward import. The same table is
  printed in the README ("Layers of coursekit") and in ``coursekit/__init__.py``'s docstring;
  a test keeps the three the same.
* **Light install.** Importing every ``coursekit`` module in a fresh interpreter loads none of the
  notebook tooling (nbformat, nbclient, nbconvert, papermill, nbval, nbgrader): that is
  instructor tooling, in ``tools/``, which ``coursekit`` never imports.

To add a module or subpackage, put its name in a row of ``LAYERS`` (a dotted name such as
``"models.style"`` overrides its parent's row), then paste :func:`render_layers`'s output into the
README and the package docstring (the failing test prints it).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: coursekit's layers, bottom to top (a module imports only from its own row and the rows below).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("runtime",),
    ("validate", "report", "experiment"),
    ("data",),
    ("nn", "losses", "features", "pretrained"),
    ("models",),
    # style transfer optimises an image with train.loop: the style package sits with the training layer
    ("train", "models.style", "metrics", "analysis", "viz", "viz_ideas", "widgets", "baselines", "doctor"),
    ("checks",),
)

#: Upward imports allowed for now, each with its reason. An entry that no longer matches an import
#: fails the test: delete it then.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}

NOTEBOOK_TOOLING = ("nbformat", "nbclient", "nbconvert", "papermill", "nbval", "nbgrader")


def render_layers(layers: tuple[tuple[str, ...], ...] = LAYERS) -> str:
    """The layer map as printed in the README and the package docstring: top row first."""
    return "\n".join(f"{i}  {', '.join(row)}" for i, row in reversed(list(enumerate(layers))))


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    """The row of a dotted module name below the package (``"models.sagan"``): its longest
    prefix in the table wins. ``None`` when no row names it."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        for i, row in enumerate(layers):
            if key in row:
                return i
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def package_imports(path: Path, root: Path, package: str = "coursekit") -> list[tuple[int, str, str]]:
    """``(line, imported module, name)`` for every import of ``package`` in one file, at any depth
    (module level, inside functions and ``if`` blocks), absolute or relative. ``from X import a``
    resolves to ``X.a`` when that is a module, otherwise to ``X`` (``name`` is then ``a``)."""
    module = _module_name(path, root)
    package_of_file = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, "") for a in node.names if a.name.split(".")[0] == package]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of_file.split(".")[: len(package_of_file.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != package:
                continue
            for a in node.names:
                sub = f"{source}.{a.name}"
                out.append((node.lineno, sub, "") if _is_module(sub, root) else (node.lineno, source, a.name))
    return out


def upward_imports(root: Path, package: str = "coursekit",
                   layers: tuple[tuple[str, ...], ...] = LAYERS) -> tuple[list[str], list[str], set[tuple[str, str]]]:
    """Check every file of ``root/package`` against ``layers``.

    Returns (upward imports, modules no row names, the (file, module) pairs of the upward imports),
    each upward import as "FILE:LINE: layer i (a) imports layer j (b)" with what to do.
    """
    upward, unknown, pairs = [], set(), set()
    for path in sorted((root / package).rglob("*.py")):
        name = _module_name(path, root)
        if name == package:  # the package's own __init__ re-exports from every layer: the top
            continue
        src = name.removeprefix(package + ".")
        i = layer_of(src, layers)
        if i is None:
            unknown.add(src.split(".")[0])
            continue
        for line, target, imported in package_imports(path, root, package):
            if target == package:  # ``from coursekit import x``: the facade, above every layer
                if imported.startswith("__"):  # package metadata such as __version__
                    continue
                j, what = len(layers), f"{package} (the package facade, which imports from every layer)"
            else:
                j = layer_of(target.removeprefix(package + "."), layers)
                if j is None:
                    unknown.add(target.removeprefix(package + ".").split(".")[0])
                    continue
                what = f"{target} (layer {j}: {', '.join(layers[j])})"
            if j > i:
                rel = path.relative_to(root).as_posix()
                pairs.add((rel, target))
                upward.append(f"{rel}:{line}: {name} (layer {i}: {', '.join(layers[i])}) imports {what}; "
                              "a lower layer must not import a higher one: move the code it needs down a "
                              "layer, or move this code up")
    return upward, sorted(unknown), pairs


# --- the package as it is ----------------------------------------------------------------------

def test_no_lower_layer_imports_a_higher_one():
    upward, unknown, pairs = upward_imports(ROOT)
    assert not unknown, (f"coursekit modules with no row in LAYERS (tests/test_layers.py): {unknown}; "
                         "add each to the row of what it imports")
    new = [u for u in upward if not any(u.startswith(f + ":") and f" imports {m} " in u for f, m in KNOWN_UPWARD)]
    assert not new, "upward imports:\n" + "\n".join(new)
    gone = sorted(set(KNOWN_UPWARD) - pairs)
    assert not gone, f"KNOWN_UPWARD entries that no longer happen (delete them from tests/test_layers.py): {gone}"


def test_every_row_names_a_module_of_the_package():
    missing = [n for row in LAYERS for n in row if not _is_module(f"coursekit.{n}", ROOT)]
    assert not missing, (f"LAYERS names {missing}, which coursekit no longer has: delete them from the table "
                         "and paste the new map into README.md and coursekit/__init__.py")


@pytest.mark.parametrize("where", ["README.md", "coursekit/__init__.py"])
def test_the_printed_layer_map_is_the_table(where):
    text = "\n".join(line.strip() for line in (ROOT / where).read_text(encoding="utf-8").splitlines())
    assert render_layers() in text, (
        f"{where} must print the layer map of tests/test_layers.py, exactly (top row first):\n{render_layers()}")


def tools_imports(root: Path) -> list[str]:
    """Every import of the instructor tooling (``tools``) in ``root/coursekit``, as "FILE:LINE: imports X"."""
    return [f"{p.relative_to(root).as_posix()}:{line}: imports {mod}"
            for p in sorted((root / "coursekit").rglob("*.py")) for line, mod, _ in package_imports(p, root, "tools")]


def test_coursekit_never_imports_tools():
    found = tools_imports(ROOT)
    assert not found, ("coursekit imports the instructor tooling, which a student's install lacks "
                       "(move the code into coursekit or the import into tools/):\n" + "\n".join(found))


@pytest.mark.parametrize("code", ["def f():\n    from tools.build import execute_notebook\n", "import tools\n"])
def test_a_planted_tools_import_is_caught(tmp_path, code):
    _toy_package(tmp_path, "nn/conv.py", code)
    assert len(tools_imports(tmp_path)) == 1


# --- the checker, on planted imports -----------------------------------------------------------

PLANTED = {
    "module-level absolute": ("nn/conv.py", "from coursekit.models.net import Net\n", 1),
    "function-level relative": ("nn/conv.py", "def f():\n    from ..models import net\n    return net\n", 2),
    "relative package import": ("data/load.py", "from .. import models\n", 1),
    "plain import of a submodule": ("runtime.py", "import coursekit.checks.core\n", 1),
    "facade import": ("models/net.py", "from coursekit import device\n", 1),
    "inside an if block": ("runtime.py", "if True:\n    from .data import load\n", 2),
}
CLEAN = {
    "same layer and below": ("models/net.py", "from ..nn import conv\nfrom coursekit.runtime import x\n"),
    "package metadata": ("data/load.py", "from .. import __version__\n"),
    "other packages": ("runtime.py", "import torch\nfrom torch import nn\n"),
}
TOY_LAYERS = (("runtime",), ("data",), ("nn",), ("models",), ("checks",))


def _toy_package(tmp_path: Path, path: str, code: str) -> Path:
    for f in ("__init__.py", "runtime.py", "data/__init__.py", "data/load.py", "nn/__init__.py", "nn/conv.py",
              "models/__init__.py", "models/net.py", "checks/__init__.py", "checks/core.py"):
        (tmp_path / "coursekit" / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "coursekit" / f).write_text("")
    (tmp_path / "coursekit" / path).write_text(code)
    return tmp_path


@pytest.mark.parametrize("case", list(PLANTED))
def test_a_planted_upward_import_is_named_with_file_line_and_layers(tmp_path, case):
    path, code, line = PLANTED[case]
    upward, unknown, _ = upward_imports(_toy_package(tmp_path, path, code), layers=TOY_LAYERS)
    assert not unknown and len(upward) == 1, upward
    assert upward[0].startswith(f"coursekit/{path}:{line}: coursekit.") and "(layer " in upward[0]
    assert "a lower layer must not import a higher one" in upward[0]


@pytest.mark.parametrize("case", list(CLEAN))
def test_imports_down_or_sideways_pass(tmp_path, case):
    path, code = CLEAN[case]
    assert upward_imports(_toy_package(tmp_path, path, code), layers=TOY_LAYERS) == ([], [], set())


def test_a_module_missing_from_the_table_is_reported(tmp_path):
    _toy_package(tmp_path, "runtime.py", "")
    (tmp_path / "coursekit" / "extra.py").write_text("from .runtime import x\n")
    assert upward_imports(tmp_path, layers=TOY_LAYERS)[1] == ["extra"]


# --- what importing the package loads ----------------------------------------------------------

_LOADED = """
import importlib, json, os, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for m in pkgutil.walk_packages(package.__path__, sys.argv[1] + "."):
    importlib.import_module(m.name)
assert package.__file__.startswith(os.environ["PYTHONPATH"]), package.__file__  # this checkout, not another
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))))
"""


def loaded_tooling(package: str, path: Path) -> list[str]:
    """Import every module of ``package`` (found on ``path``) in a fresh interpreter; return which of
    :data:`NOTEBOOK_TOOLING` ended up in its ``sys.modules``."""
    env = {**os.environ, "PYTHONPATH": str(path), "COURSEKIT_DEVICE": "cpu", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", _LOADED, package, *NOTEBOOK_TOOLING], env=env, cwd=path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_every_coursekit_module_loads_no_notebook_tooling():
    loaded = loaded_tooling("coursekit", ROOT)
    assert not loaded, (f"importing coursekit loads {loaded}: that is instructor tooling (the dev extra), "
                        "which belongs in tools/; import it there, never from coursekit")


@pytest.mark.parametrize("code", ["import nbformat\n", "from papermill.parameterize import parameterize_notebook\n"])
def test_a_planted_tooling_import_is_caught(tmp_path, code):
    (tmp_path / "toypkg" / "sub").mkdir(parents=True)
    (tmp_path / "toypkg" / "__init__.py").write_text("")
    (tmp_path / "toypkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "toypkg" / "sub" / "deep.py").write_text(textwrap.dedent(code))
    assert code.split()[1].split(".")[0] in loaded_tooling("toypkg", tmp_path)


# ----------------------------------------------------------------------------- one training layer
def optimiser_loops(root: Path) -> list[str]:
    """``for``/``while`` loops that call ``.backward()`` in their body, outside ``coursekit/train``:
    an optimiser loop (single steps, and closures that ``train.loop`` drives, are not loops)."""
    found = []
    for path in sorted((root / "coursekit").rglob("*.py")):
        if (root / "coursekit" / "train") in path.parents:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
                calls = [n for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                         and n.func.attr == "backward"]
                if calls:
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_optimiser_loop_lives_in_the_training_layer():
    loops = optimiser_loops(ROOT)
    assert not loops, ("optimiser loops outside coursekit/train (models define single steps; loops go through "
                       f"train.fit/loop/fit_gan): {loops}")


def test_the_loop_rule_finds_a_planted_loop(tmp_path):
    (tmp_path / "coursekit" / "models").mkdir(parents=True)
    (tmp_path / "coursekit" / "train").mkdir()
    (tmp_path / "coursekit" / "models" / "step.py").write_text(
        "def step(opt, loss):\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n")
    (tmp_path / "coursekit" / "train" / "loop.py").write_text(
        "def fit(steps, f):\n    for _ in range(steps):\n        f().backward()\n")
    assert optimiser_loops(tmp_path) == []
    (tmp_path / "coursekit" / "models" / "bad.py").write_text(
        "def train(net, opt, xs):\n    for x in xs:\n        net(x).sum().backward()\n        opt.step()\n")
    assert optimiser_loops(tmp_path) == ["coursekit/models/bad.py:2"]


def test_no_coursekit_file_is_long():
    """One idea per module: a file past ~400 lines is two ideas and is split (issue 18's bar; 420
    leaves room for a docstring without making the rule a fight over single lines)."""
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "coursekit").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert not long, f"split these modules (lines): {long}"
