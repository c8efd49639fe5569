"""The README's first command, run as a student runs it: ``make lab`` serves the course and
``00_welcome.ipynb`` opens in the browser with the course kernel.

Run here as root with no display (as in Docker images, cloud VMs and CI) and with the first free
port from 8888 taken, so the command must add ``--allow-root``, open no browser, print the URL with
its token and move to the next port. ``COURSEKIT_LAB_NO_BROWSER=1`` keeps it from opening a window
on a desktop. The server is stopped as ``kill`` would stop it; ``make`` must then exit 0 with the
kernel gone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import REPO, SERVER_START_S, SHOTS, UI_MS, _alive, _descendants, _write_settings, isolated_env

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # the browser share on one worker

COURSE_KERNEL = "Python 3 (coursekit)"  # the display name `make setup` installs the kernel under
URL_IN_BOX = re.compile(r"│ (http://\S+:(\d+)/lab/tree/00_welcome\.ipynb\?token=\w+)")


def _venv_vars() -> tuple[list[str], str]:
    """Make variables and the venv path: ``VENV=`` only where these tests run from another
    checkout's venv (a fresh clone runs plain ``make lab``)."""
    venv = Path(sys.prefix)
    if venv.resolve() == (REPO / ".venv").resolve():
        return [], ".venv"
    return [f"VENV={venv}"], str(venv)


def _first_free_port(start: int = 8888) -> int:
    for port in range(start, start + 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {start}-{start + 99}")


class MakeLab:
    """``make lab`` in its own process group, its output collected line by line."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.lines: list[str] = []
        self.log = log
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.known: set[int] = set()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_url(self, timeout: float) -> re.Match:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.lines):
                if m := URL_IN_BOX.search(line):
                    return m
            if self.proc.poll() is not None:
                self._reader.join(5)
                pytest.fail(
                    f"`make lab` exited with {self.proc.returncode} before serving the course:\n"
                    + self.output()[-3000:]
                )
            time.sleep(0.3)
        pytest.fail(f"`make lab` printed no URL within {timeout:.0f} s:\n" + self.output()[-3000:])

    def processes(self) -> dict[int, str]:
        """pid -> command line of everything ``make`` started that is still alive."""
        out = {}
        for pid in _descendants(self.proc.pid):
            try:
                out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                pass
        self.known.update(out)
        return out

    def stop(self) -> int | None:
        """SIGTERM to the launcher, as ``kill`` would; returns make's exit status (None: hung)."""
        launcher = [p for p, cmd in self.processes().items() if "tools/lab.py" in cmd]
        for pid in launcher:
            os.kill(pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Whatever is left: the group, then any kernel (kernels run in sessions of their own)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        for pid in self.known:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._reader.join(5)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_text(self.output())


@pytest.mark.skipif(shutil.which("make") is None, reason="`make` is not installed")
def test_make_lab_serves_the_course(browser, tmp_path):
    from playwright.sync_api import expect

    make_vars, venv = _venv_vars()
    stale = subprocess.run(["make", "-q", *make_vars, f"{venv}/.installed"], cwd=REPO, capture_output=True)
    if stale.returncode != 0:
        pytest.fail(
            f"`make lab` would reinstall the course into {venv} first (its .installed stamp is "
            "older than pyproject.toml): run `make setup` (`make test` does), then this test"
        )

    home = tmp_path / "jupyter"
    _write_settings(home / "settings")  # no news or update pop-ups, no autosave
    env = isolated_env(home, drop=("JUPYTER", "MAKE", "MFLAGS"), COURSEKIT_LAB_NO_BROWSER="1")
    env.pop("COURSEKIT_LAB_PORT", None)
    welcome = REPO / "notebooks" / "00_welcome.ipynb"
    before = welcome.read_bytes()

    taken = _first_free_port()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", taken))
    blocker.listen()
    lab = MakeLab(["make", "lab", *make_vars], env, SHOTS / "make_lab.log")
    context = None
    try:
        url, port = lab.wait_for_url(SERVER_START_S).groups()
        assert int(port) > taken, f"port {taken} was taken, yet `make lab` chose {port}"

        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(UI_MS)
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text="00_welcome.ipynb")
        tab.wait_for(state="visible", timeout=UI_MS * 2)
        panel = page.locator(".jp-NotebookPanel:visible")
        expect(panel.locator(".jp-MarkdownCell").first).to_contain_text("Welcome")
        expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=UI_MS * 2)
        expect(panel.locator(".jp-NotebookPanel-toolbar")).to_contain_text(COURSE_KERNEL)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "make_lab.png"))

        kernels = {p: c for p, c in lab.processes().items() if "ipykernel_launcher" in c}
        assert len(kernels) == 1, f"expected one kernel under `make lab`, found {kernels}"
        kernel_python = Path(next(iter(kernels.values())).split()[0])
        assert kernel_python.parent.parent.resolve() == Path(sys.prefix).resolve(), (
            f"the kernel does not run the course's Python ({sys.prefix}): {kernels}"
        )
        context.close()
        context = None

        status = lab.stop()
        assert status == 0, f"`make lab` exited with {status} after SIGTERM:\n" + lab.output()[-3000:]
        left = [p for p in lab.known if _alive(p)]
        assert not left, f"processes left after the server stopped: {left}"
        assert welcome.read_bytes() == before, "opening the welcome notebook changed the file"
    finally:
        if context is not None:
            context.close()
        lab.kill()
        blocker.close()
