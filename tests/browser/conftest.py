"""Browser tests: JupyterLab on 127.0.0.1 driven by Debian's headless Chromium through Playwright.

Session fixtures start one JupyterLab server (free port, random token, throw-away root, settings,
workspace, config and runtime folders, smoke profile) and one Chromium (the system browser at
``/usr/bin/chromium``: never ``playwright install``). Each test gets a fresh browser context
(:func:`lab`) and leaves a screenshot in ``build/browser/`` whether it passes or fails; its kernels
are shut down afterwards. Everything started here is stopped on teardown, also after a failure:
the server's whole process group, then any kernel it started that is still alive.

The suite skips, saying why, only where Chromium or the ``playwright`` package is missing
(``make browser-deps`` installs Chromium on a fresh Debian/Ubuntu machine).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("COURSEKIT_CHROMIUM", "/usr/bin/chromium"))
# Flags measured to work on these machines (see TOOLING-NOTES.md, "Widgets"); Playwright adds --headless.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SHOTS = REPO / "build" / "browser"
SERVER_START_S = 180  # JupyterLab start-up on 2 shared cores
RUN_ALL_S = 240  # a smoke notebook runs in < 30 s alone; the machine may be shared
UI_MS = 60_000  # default wait for anything in the page

# The demo notebooks here are opened by the tests, not executed by nbval.
collect_ignore_glob = ["*.ipynb"]


def _missing() -> str | None:
    """Why the suite cannot run here, or None."""
    if not CHROMIUM.exists():
        return (
            f"Chromium not found at {CHROMIUM}: install it with `make browser-deps` "
            "(apt-get install chromium) to run the browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed (pip install -e '.[dev]')"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed (pip install -e '.[lab]')"
    return None


def isolated_env(home: Path, drop: tuple[str, ...] = ("JUPYTER",), **extra: str) -> dict[str, str]:
    """This process's environment for a JupyterLab of its own: Jupyter's settings, workspaces,
    config and runtime folders under ``home``, smoke profile on the CPU, no inherited MPLBACKEND
    (the kernel picks the inline backend only when it is unset); ``drop`` removes variables by prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("MPLBACKEND", None)
    env.update(
        COURSEKIT_PROFILE="smoke",
        COURSEKIT_DEVICE="cpu",
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (from /proc; empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _write_settings(settings: Path) -> None:
    """User settings for the throw-away JupyterLab: no news or update checks, no autosave, and
    every notebook cell attached to the page (windowing would detach cells out of view)."""
    values = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for plugin, value in values.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class JupyterServer:
    """A JupyterLab server in its own process group; :meth:`stop` ends it and its kernels."""

    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        shutil.copytree(
            REPO / "notebooks", self.root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
        (self.root / "browser").mkdir()
        for nb in HERE.glob("*.ipynb"):
            shutil.copy(nb, self.root / "browser" / nb.name)
        home = base / "jupyter"
        _write_settings(home / "settings")
        env = isolated_env(home)
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands by id
            "--LabApp.news_url=None",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = base / "jupyter.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._known: set[int] = set()

    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout: float = SERVER_START_S) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def remember_children(self) -> None:
        """Note the server's current descendants (kernels), to end any that outlive it."""
        if self.proc.poll() is None:
            self._known.update(_descendants(self.proc.pid))

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel (frees the shared CPU between tests)."""
        self.remember_children()
        try:
            for s in self.api("GET", "/api/sessions"):  # type: ignore[union-attr]
                self.api("DELETE", f"/api/sessions/{s['id']}")
            for k in self.api("GET", "/api/kernels"):  # type: ignore[union-attr]
                self.api("DELETE", f"/api/kernels/{k['id']}")
        except OSError:
            pass

    def stop(self) -> None:
        self.remember_children()
        pgid = self.proc.pid  # start_new_session: the group id is the server's pid
        for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of the group (helpers the server spawned)
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        # Kernels run in sessions of their own; they exit with their parent, but make sure.
        end = time.monotonic() + 10
        while any(_alive(p) for p in self._known) and time.monotonic() < end:
            time.sleep(0.2)
        for p in self._known:
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()


@pytest.fixture(scope="package")
def jupyter_server(tmp_path_factory):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    for attempt in range(3):
        server = JupyterServer(tmp_path_factory.mktemp("jupyterlab"))
        try:
            server.wait_ready()
            break
        except RuntimeError:
            server.stop()
            # the free port was taken between choosing it and binding it (notebook kernels running
            # beside the browser tests open ports all the time): choose another
            if "is not available" not in server.log() or attempt == 2:
                raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_MS)  # assertions wait for the kernel's answer (default: 5 s)
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


class Lab:
    """One JupyterLab page and the steps the tests take in it."""

    def __init__(self, server: JupyterServer, browser, name: str) -> None:
        self.server, self.name = server, _slug(name)
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(UI_MS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", self._log_console)

    def _log_console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text}")

    def close(self) -> None:
        """Save the final screenshot and the browser console's errors, then close the context."""
        try:
            self.shot()
            (SHOTS / f"{self.name}.console.txt").write_text("\n".join(self.console))
        except Exception as e:  # a crashed page must not hide the test's own failure
            print(f"screenshot of {self.name} failed: {e}")
        finally:
            self.context.close()

    # -- screenshots ---------------------------------------------------------------------------
    def shot(self, label: str = "", locator=None) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.name}{'-' + label if label else ''}.png"
        (locator or self.page).screenshot(path=str(path))
        return path

    # -- opening and running -------------------------------------------------------------------
    def open_lab(self) -> None:
        """JupyterLab in a workspace of this page's own, reset (no tabs restored), at the root."""
        workspace = re.sub(r"[^A-Za-z0-9_-]+", "-", self.name)[-60:]  # a dot would read as a file
        url = f"{self.server.url}/lab/workspaces/{workspace}?reset&token={self.server.token}"
        self.page.goto(url, wait_until="domcontentloaded")
        self.page.locator(".jp-DirListing-content").wait_for(state="visible", timeout=UI_MS * 2)
        self.page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").first.click()

    def open_notebook(self, relpath: str) -> None:
        """Open ``relpath`` (relative to the server root) by double-clicks in the file browser."""
        self.open_lab()
        *folders, name = relpath.split("/")
        for part in [*folders, name]:
            item = self.page.locator(".jp-DirListing-item").filter(
                has=self.page.locator(".jp-DirListing-itemText").get_by_text(part, exact=True)
            )
            item.dblclick(timeout=UI_MS)
        tab = self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text=name)
        tab.wait_for(state="visible", timeout=UI_MS)
        self.page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for(timeout=UI_MS)
        self.wait_idle()

    def wait_idle(self, timeout_ms: int = RUN_ALL_S * 1000) -> None:
        """The status bar reads "Idle" (the kernel is up and not busy)."""
        from playwright.sync_api import expect

        expect(self.page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=timeout_ms)

    def run_all(self, timeout_s: float = RUN_ALL_S) -> list[dict]:
        """Run > Run All Cells (command ``runmenu:run-all``); wait until every code cell has run
        or one failed and the kernel is idle again; return a per-cell summary (see :data:`_CELLS`)."""
        self.start_run_all()
        return self.wait_run_all(timeout_s)

    def start_run_all(self) -> None:
        self.page.evaluate("() => { window.jupyterapp.commands.execute('runmenu:run-all'); }")

    def wait_run_all(self, timeout_s: float = RUN_ALL_S) -> list[dict]:
        self.page.wait_for_function(_DONE, timeout=timeout_s * 1000, polling=500)
        self.wait_idle()
        return self.cells()

    def cells(self) -> list[dict]:
        return self.page.evaluate(_CELLS)

    @property
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:visible")

    # -- checks --------------------------------------------------------------------------------
    def assert_no_errors(self, cells: list[dict]) -> None:
        """No error output and no traceback in any cell (warnings on stderr are fine)."""
        bad = [
            f"cell {c['index']}: {e}"
            for c in cells
            for e in c["errors"] + [s[:300] for s in c["stderr"] if "Traceback (most recent call last)" in s]
        ]
        if bad:  # show the first failing cell in the screenshot
            first = next(
                c["index"] for c in cells if c["errors"] or any("Traceback" in t for t in c["stderr"])
            )
            self.notebook.locator(".jp-Cell").nth(first).scroll_into_view_if_needed()
        assert not bad, "error output after Run All:\n" + "\n".join(bad)
        not_run = [c["index"] for c in cells if c["type"] == "code" and c["count"] is None]
        assert not not_run, f"code cells not executed after Run All: {not_run}"

    def assert_widgets_render(self, cells: list[dict], timeout_s: float = UI_MS / 1000) -> int:
        """Every widget output whose widget is still open in the kernel shows a rendered widget,
        and nothing reads "Error displaying widget". (Progress bars close themselves when done:
        their outputs are empty by design.) Returns the number of widgets shown."""
        open_ids = set(self.page.evaluate(_OPEN_WIDGETS))
        n = sum(m in open_ids for c in cells for m in c["widget_ids"])
        self.page.wait_for_function(_WIDGETS_SETTLED, arg=n, timeout=timeout_s * 1000, polling=250)
        errors = self.notebook.get_by_text("Error displaying widget")
        if errors.count():
            errors.first.scroll_into_view_if_needed()  # for the screenshot
        assert errors.count() == 0, (
            f"{errors.count()} widget(s) failed to display: {errors.first.inner_text()!r}"
        )
        shown = self.page.evaluate(_WIDGETS_SHOWN)
        assert shown == n, f"{n} open widget outputs in the notebook, {shown} rendered"
        return n


# Completion of Run All, from the notebook model: every code cell has an execution count, or one
# cell holds an error (Run All stops there); nothing is queued or running; the kernel is idle.
_DONE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  if (panel.node.querySelector('.jp-InputPrompt') &&
      [...panel.node.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))) return false;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const failed = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  return failed || cells.every(c => c.model.executionCount !== null);
}"""

# Per cell: index, type, execution count, error outputs ("ename: evalue"), stderr texts, and the
# model ids of its widget-view outputs.
_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((c, index) => {
    const outs = c.model.type === 'code' ? c.model.outputs.toJSON() : [];
    const text = t => Array.isArray(t) ? t.join('') : (t || '');
    return {
      index, type: c.model.type,
      count: c.model.type === 'code' ? c.model.executionCount : null,
      source: c.model.sharedModel.getSource().slice(0, 200),
      errors: outs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
      stderr: outs.filter(o => o.output_type === 'stream' && o.name === 'stderr').map(o => text(o.text)),
      widget_ids: outs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json'])
        .map(o => o.data['application/vnd.jupyter.widget-view+json'].model_id),
    };
  });
}"""


# Model ids of the widgets open in the current notebook's kernel (comm_info request).
_OPEN_WIDGETS = """async () => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const reply = await kernel.requestCommInfo({target_name: 'jupyter.widget'});
  return Object.keys(reply.content.comms || {});
}"""
# Widget outputs in the current notebook whose view rendered (a .jupyter-widgets child).
_WIDGETS_SHOWN = """() => [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-OutputArea-output')]
  .filter(e => e.querySelector(':scope > .jupyter-widgets')).length"""
_WIDGETS_SETTLED = f"""(n) => window.jupyterapp.shell.currentWidget.node.innerText.includes('Error displaying widget')
  || ({_WIDGETS_SHOWN})() >= n"""


@pytest.fixture
def lab(jupyter_server, browser, request):
    """A fresh browser context on the shared server; screenshot and kernel shutdown afterwards."""
    page = Lab(jupyter_server, browser, request.node.name)
    try:
        yield page
    finally:
        page.close()
        jupyter_server.shutdown_kernels()


@pytest.fixture(scope="package")
def new_lab(jupyter_server, browser):
    """Make more pages: ``new_lab(name) -> Lab`` (the caller closes them and shuts down kernels)."""
    return lambda name: Lab(jupyter_server, browser, name)

