"""
A JupyterLab server of its own for the browser tests, on 127.0.0.1 only.

It gets fresh config, data, runtime, settings and workspace folders (so nothing of the
machine's Jupyter set-up leaks in), a ``python3`` kernel that runs this interpreter, a
random token, and a copy of the notebook. It is shut down with its kernels afterwards,
also when the test failed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from . import chromium as cr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _folders(root: Path, notebook: Path) -> dict[str, Path]:
    """Folders of a JupyterLab of its own: config, data, settings, a python3 kernel."""
    dirs = {name: root / name for name in ("work", "config", "data", "runtime", "settings")}
    dirs.update(workspaces=root / "workspaces", kernels=root / "path" / "kernels" / "python3")
    for folder in dirs.values():
        folder.mkdir(parents=True)
    (dirs["kernels"] / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3",
                "language": "python",
            }
        )
    )
    # No news or update checks (they would ask the network), no toast asking about them.
    notes = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    shutil.copy(notebook, dirs["work"] / notebook.name)
    return dirs


def api(port: int, token: str, path: str, method: str = "GET") -> int:
    """Call the server's REST API on 127.0.0.1; return the HTTP status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
        return answer.status


def _stop(server: subprocess.Popen, port: int, token: str) -> None:
    """Shut the server down with its kernels; signal it if it does not go."""
    if server.poll() is None:
        try:
            api(port, token, "/api/shutdown", method="POST")
            server.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if server.poll() is not None:
            break
        os.killpg(server.pid, sig)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue


def _command(port: int, token: str, dirs: dict[str, Path]) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={dirs['work']}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.news_url=None",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


@contextmanager
def serve(root: Path, notebook: Path, logs: Path) -> Iterator[tuple[int, str]]:
    """
    Run JupyterLab on 127.0.0.1 serving a copy of `notebook`; yield ``(port, token)``.

    The server's output goes to ``logs/jupyterlab-server.log``. On leaving, the server
    is shut down through its API (which stops its kernels), then signalled if need be.
    """
    dirs = _folders(root, notebook)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PATH": str(dirs["kernels"].parents[1]),
        "IPYTHONDIR": str(dirs["config"] / "ipython"),
    }
    env.pop("MPLBACKEND", None)  # the kernel draws inline, as for an analyst
    with open(logs / "jupyterlab-server.log", "w") as log:
        server = subprocess.Popen(
            _command(port, token, dirs),
            cwd=dirs["work"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

        def ready() -> bool:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}; see {log.name}")
            try:
                return api(port, token, "/api/status") == 200
            except OSError:
                return False

        try:
            cr.wait_for(ready, 90, "the JupyterLab server", step=0.5)
            yield port, token
        finally:
            _stop(server, port, token)
