"""tools/lab.py, the launcher behind `make lab`: the decisions it takes for the machine it runs on.
(tests/browser/test_make_lab.py runs `make lab` itself.)"""

import importlib.util
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("coursekit_tools_lab", REPO / "tools" / "lab.py")
lab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab)


@pytest.mark.parametrize(
    ("env", "platform", "wanted"),
    [
        ({}, "linux", False),  # a container, a VM over ssh, CI
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"DISPLAY": ":0", "COURSEKIT_LAB_NO_BROWSER": "1"}, "linux", False),
        ({"DISPLAY": ":0", "COURSEKIT_LAB_NO_BROWSER": "0"}, "linux", True),
        ({}, "darwin", True),
        ({}, "win32", True),
        ({"COURSEKIT_LAB_NO_BROWSER": "yes"}, "darwin", False),
    ],
)
def test_browser_only_where_there_is_a_display(env, platform, wanted):
    assert lab.browser_wanted(env, platform) is wanted


@pytest.mark.parametrize(("euid", "allow_root"), [(0, True), (1000, False), (None, False)])
def test_allow_root_only_as_root(euid, allow_root):
    cmd = lab.jupyter_command("00_welcome.ipynb", 8890, "abc", euid, browser=True, extra=[])
    assert ("--allow-root" in cmd) is allow_root
    assert "--no-browser" not in cmd


def test_command_carries_port_token_notebook_and_extra_arguments():
    cmd = lab.jupyter_command("00_welcome.ipynb", 8890, "abc", 1000, browser=False, extra=["--ip=0.0.0.0"])
    assert cmd[1:4] == ["-m", "jupyterlab", "00_welcome.ipynb"]
    assert {"--ServerApp.port=8890", "--ServerApp.port_retries=0", "--IdentityProvider.token=abc"} <= set(cmd)
    assert "--no-browser" in cmd and cmd[-1] == "--ip=0.0.0.0"


def test_a_taken_port_is_skipped():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert lab.free_port(port) > port
        with pytest.raises(RuntimeError, match="COURSEKIT_LAB_PORT"):
            lab.free_port(port, tries=1)


def test_missing_notebook_says_where_to_run(tmp_path, capsys):
    assert lab.main(["--root", str(tmp_path)]) == 2
    assert "run `make lab` in the course folder" in capsys.readouterr().err
