"""Open the course in JupyterLab wherever a student runs ``make lab``.

``make lab`` runs ``python tools/lab.py``: it starts JupyterLab in ``notebooks/`` on
``00_welcome.ipynb`` and adapts the command to the machine:

* as root (Docker images, cloud VMs, lab containers) it adds ``--allow-root``, and only then;
* with no display (Linux without ``DISPLAY`` or ``WAYLAND_DISPLAY``), or with
  ``COURSEKIT_LAB_NO_BROWSER=1``, it opens no browser;
* when port 8888 (or ``COURSEKIT_LAB_PORT``) is taken it uses the next free one;
* once the server answers it prints the URL, token included, in a box.

Extra arguments go to JupyterLab unchanged: ``make lab LAB_ARGS="--ip=0.0.0.0"``.
The server stops with Ctrl-C (JupyterLab asks to confirm) or SIGTERM; its kernels stop with it.
"""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 8888
PORTS_TRIED = 100
START_S = 300  # JupyterLab's first start on 2 shared cores builds nothing but may be slow

__all__ = ["browser_wanted", "free_port", "jupyter_command", "main"]


def browser_wanted(env: dict[str, str], platform: str = sys.platform) -> bool:
    """Whether JupyterLab should open a browser: not when told not to, nor on a Linux (or other
    X11/Wayland) machine without a display. macOS and Windows always have one."""
    if env.get("COURSEKIT_LAB_NO_BROWSER", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    if platform.startswith(("darwin", "win", "cygwin")):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _port_free(port: int) -> bool:
    """Nothing listens on ``port`` on the loopback addresses that "localhost" names."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
        except OSError:  # no IPv6 here
            continue
        with s:
            try:
                s.bind((host, port))
            except OSError as e:
                if family == socket.AF_INET6 and e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue  # IPv6 without a loopback address
                return False
    return True


def free_port(start: int = DEFAULT_PORT, tries: int = PORTS_TRIED) -> int:
    """The first port from ``start`` on that nothing listens on."""
    for port in range(start, start + tries):
        if _port_free(port):
            return port
    raise RuntimeError(
        f"ports {start}-{start + tries - 1} are all in use: stop another Jupyter server "
        "(`jupyter server list` shows them) or set COURSEKIT_LAB_PORT to a free port"
    )


def jupyter_command(
    notebook: str, port: int, token: str, euid: int | None, browser: bool, extra: list[str]
) -> list[str]:
    """The JupyterLab command line for this machine."""
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        notebook,
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # the port was chosen above; the printed URL must be right
        f"--IdentityProvider.token={token}",
    ]
    if euid == 0:
        cmd.append("--allow-root")
    if not browser:
        cmd.append("--no-browser")
    return cmd + extra


def _box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "─" * (width + 2)
    return "\n".join([f"┌{rule}┐", *(f"│ {line.ljust(width)} │" for line in lines), f"└{rule}┘"])


def _wait_ready(proc: subprocess.Popen, port: int, token: str, timeout: float) -> bool:
    """True once the server answers; False if it exited first or did not answer in time."""
    url = f"http://127.0.0.1:{port}/api/status"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --no-browser and friends go to JupyterLab untouched
    )
    parser.add_argument("--root", default=str(ROOT / "notebooks"), help="folder JupyterLab serves")
    parser.add_argument("--notebook", default="00_welcome.ipynb", help="notebook opened first")
    args, extra = parser.parse_known_args(argv)

    root = Path(args.root)
    if not (root / args.notebook).is_file():
        print(f"{root / args.notebook} not found: run `make lab` in the course folder", file=sys.stderr)
        return 2
    start = int(os.environ.get("COURSEKIT_LAB_PORT", DEFAULT_PORT))
    port = free_port(start)
    if port != start:
        print(f"port {start} is in use; using {port}", flush=True)
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    browser = browser_wanted(dict(os.environ))
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    cmd = jupyter_command(args.notebook, port, token, euid, browser, extra)

    # on a Mac, operations Apple's GPU (MPS) lacks run on the CPU instead of failing
    env = {**os.environ, "PYTORCH_ENABLE_MPS_FALLBACK": os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK", "1")}
    proc = subprocess.Popen(cmd, cwd=root, env=env)
    # Ctrl-C reaches JupyterLab directly (same process group): it asks to confirm and shuts down
    # itself, so this process waits for it. SIGTERM (from a test or `kill`) is passed on.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))

    if _wait_ready(proc, port, token, START_S):
        url = f"http://localhost:{port}/lab/tree/{args.notebook}?token={token}"
        lines = ["The course is running. Open this URL in a browser:", url]
        if not browser:
            lines.insert(0, "No browser opened here (no display, or COURSEKIT_LAB_NO_BROWSER=1).")
        lines.append("Stop the server with Ctrl-C.")
        print("\n" + _box(lines) + "\n", flush=True)
    elif proc.poll() is None:
        print(
            f"JupyterLab has not answered on port {port} within {START_S} s; its messages are above.",
            flush=True,
        )
    code = proc.wait()
    if code and code > 0:
        print(f"JupyterLab exited with status {code}; its messages are above.", file=sys.stderr)
    return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code


if __name__ == "__main__":
    raise SystemExit(main())
