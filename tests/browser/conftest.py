"""A real Jupyter server (JupyterLab, or Notebook 7) on 127.0.0.1 and Debian's Chromium driven by Playwright.

Everything is isolated: HOME, Jupyter config/data/runtime dirs, IPython dir and the browser profile live in a
temporary folder, the server listens on a free port with a random token, and at the end every kernel session is
shut down before the server, then the browser and the server process are gone.

Needs ``/usr/bin/chromium`` (``make`` installs Debian's ``chromium`` with apt-get) and ``playwright`` from PyPI,
launched with ``executable_path`` (no browser download).
"""

from __future__ import annotations

import contextlib
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
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path(os.environ.get("AI_MAGICS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT = 120
# User settings for a quiet, deterministic UI: no news or update toasts, every cell kept in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Light"},
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def real_ai_magics_cache() -> str:
    """The conversion cache of this user, so the isolated HOME does not convert SmolLM2 again."""
    from ai_magics.backends.gguf_conversion import cache_root

    return str(cache_root())


@dataclass
class JupyterServer:
    """A running Jupyter server: its URL, token, root folder and REST helpers."""

    app: str
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log_path: Path
    log: Any = None

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def sessions(self) -> list[dict]:
        return self.api("GET", "/api/sessions")

    def kernel_state(self, notebook: str) -> str | None:
        """The server's view of the kernel's execution state for the session of ``notebook``."""
        for session in self.sessions():
            if session.get("path") == notebook:
                return session["kernel"].get("execution_state")
        return None

    def page_url(self, notebook: str) -> str:
        prefix = "lab/tree" if self.app == "lab" else "notebooks"
        return f"{self.url}/{prefix}/{notebook}?token={self.token}"

    def shutdown_sessions(self) -> None:
        for session in self.sessions():
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
            except (urllib.error.URLError, OSError):
                pass


def _write_user_settings(config_dir: Path) -> None:
    for relative, values in LAB_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def start_server(app: str, base: Path) -> JupyterServer:
    """Start ``jupyter lab`` or ``jupyter notebook`` in an isolated environment and wait until it answers."""
    home, config, data, runtime, root = (base / n for n in ("home", "config", "data", "runtime", "root"))
    for folder in (home, config, data, runtime, root):
        folder.mkdir(parents=True, exist_ok=True)
    _write_user_settings(config)
    env = dict(os.environ)
    env.update({
        "HOME": str(home), "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_RUNTIME_DIR": str(runtime), "AI_MAGICS_CACHE_DIR": real_ai_magics_cache(),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    env.setdefault("IPYTHONDIR", str(home / ".ipython"))  # a developer's own IPYTHONDIR is kept
    # Caches only, kept from the real HOME so that nothing is rebuilt: matplotlib's font list.
    font_cache = Path.home() / ".cache" / "matplotlib"
    env.setdefault("MPLCONFIGDIR", str(font_cache if font_cache.is_dir() else home / ".matplotlib"))
    port, token = free_port(), secrets.token_hex(16)
    module = "jupyterlab" if app == "lab" else "notebook"
    command = [
        sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if app == "lab":
        command.append("--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"jupyter-{app}.log"
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    server = JupyterServer(app, f"http://127.0.0.1:{port}", token, root, process, log_path, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            server.api("GET", "/api/status", timeout=2)
            return server
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"jupyter {app} did not answer within {SERVER_START_TIMEOUT} s:\n{log_path.read_text()[-3000:]}")


def stop_server(server: JupyterServer) -> None:
    """Shut the kernel sessions down first, then the server; kill what is left."""
    try:
        server.shutdown_sessions()
        server.api("POST", "/api/shutdown", timeout=10)
    except (urllib.error.URLError, OSError):
        pass
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=15)
    if server.log is not None:
        server.log.close()


def browser_prerequisites() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make installs Debian's chromium with apt-get)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (make installs it from PyPI)"
    return None


@pytest.fixture(scope="session")
def playwright_manager():
    """Playwright's driver for the session (it launches /usr/bin/chromium; it never downloads a browser)."""
    reason = browser_prerequisites()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()


class Artifacts:
    """Screenshots and logs of the browser tests, under test-artifacts/browser/ (gitignored)."""

    dir = ARTIFACTS

    def shot(self, target: Any, name: str) -> Path:
        """Save a screenshot of a page or an element as NAME.png."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        target.screenshot(path=str(path))
        return path

    def publish(self, path: Path, target: Path) -> None:
        """Copy a screenshot into the docs when AI_MAGICS_UPDATE_DOCS_IMAGES=1 (the README's image)."""
        if os.environ.get("AI_MAGICS_UPDATE_DOCS_IMAGES") == "1":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


# The notebook the browser tests run: one cell per check, run in this order by keyboard.
NOTEBOOK = "live_widgets.ipynb"
SEED_DATA = """import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
X = rng.normal(size=(100, 10))
true_w = rng.normal(size=10)
df = pd.DataFrame(X.round(3), columns=[f"x{i}" for i in range(1, 11)])
df["y"] = (X @ true_w > 0).astype(int)"""
CELLS = {
    "setup": "%load_ext ai_magics\n" + SEED_DATA,
    "warm": "%%generate -n 2 --temperature 0 --no-chat\nHello",  # loads SmolLM2 before the observed runs
    "stream": "%%generate -n 120 --temperature 0 --no-chat --out fox\nThe quick brown fox jumps over the lazy dog",
    "stop": "%%generate -n 1500 --temperature 0 --no-chat --out partial\nOnce upon a time, in a quiet village,",
    "after_stop": "print(len(partial.split()), 'words kept')",
    # The body is an empty line: IPython refuses a %% cell with no body at all.
    "train": "%%train --task tabular --data df --target y --loss ce --optimizer sgd --name seed_model --hidden 0 "
             "--epochs 250 --batch-size 8\n\n",
    "bad": "%%generate --model nosuchmodel\nHello",
}  # fmt: skip
INDEX = {name: i for i, name in enumerate(CELLS)}
RUNNING = re.compile(r"\[\*\]")
DONE = re.compile(r"\[(\d+)\]")


def write_notebook(folder: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    for name, source in CELLS.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.id = name
        notebook.cells.append(cell)
    nbformat.write(notebook, folder / NOTEBOOK)


class NotebookPage:
    """The test notebook open in the browser, driven by keyboard, with waits on the kernel's state (the cell's
    prompt and the server's ``execution_state``), never on fixed sleeps."""

    def __init__(self, page: Any, server: JupyterServer, artifacts: Artifacts) -> None:
        self.page, self.server, self.artifacts = page, server, artifacts

    def shot(self, target: Any, name: str) -> Path:
        return self.artifacts.shot(target, f"{self.server.app}-{name}")

    def cell(self, name: str) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(INDEX[name])

    def prompt(self, name: str) -> str:
        return self.cell(name).locator(".jp-InputPrompt").first.inner_text().strip()

    def running(self, name: str) -> bool:
        return bool(RUNNING.search(self.prompt(name)))

    def kernel_idle(self) -> bool:
        return self.server.kernel_state(NOTEBOOK) == "idle"

    def wait_kernel_idle(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not self.kernel_idle():
            if time.monotonic() > deadline:
                raise AssertionError(f"the kernel was not idle within {timeout} s")
            self.page.wait_for_timeout(100)

    def start(self, name: str) -> None:
        """Put the cursor in the cell and press Shift+Enter; return once the kernel has taken it."""
        editor = self.cell(name).locator(".jp-InputArea-editor")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 30
        while not (RUNNING.search(self.prompt(name)) or DONE.search(self.prompt(name))):
            if time.monotonic() > deadline:
                raise AssertionError(f"cell {name!r} did not start: prompt {self.prompt(name)!r}")
            self.page.wait_for_timeout(50)

    def wait_done(self, name: str, timeout: float = 300) -> None:
        """Until the cell has its execution count and the server sees the kernel idle."""
        deadline = time.monotonic() + timeout
        while not (DONE.search(self.prompt(name)) and self.kernel_idle()):
            if time.monotonic() > deadline:
                raise AssertionError(f"cell {name!r} did not finish within {timeout} s (prompt {self.prompt(name)!r})")
            self.page.wait_for_timeout(100)

    def run(self, name: str, timeout: float = 300) -> None:
        self.start(name)
        self.wait_done(name, timeout)

    def output_text(self, name: str) -> str:
        return "\n".join(self.cell(name).locator(".jp-OutputArea-output").all_inner_texts())

    def watch(self, name: str, selector: str, until: Any = None, on_change: Any = None) -> list[str]:
        """The texts of ``selector`` in the cell's output seen while the cell runs, one entry per change.

        ``on_change(seen)`` runs after each change (for screenshots); ``until(seen)`` ends the watch early.
        """
        seen: list[str] = []
        element = self.cell(name).locator(selector)
        while self.running(name):
            try:
                text = element.first.inner_text(timeout=500) if element.count() else None
            except Exception:  # replaced by the static output between count() and inner_text()
                text = None
            if text and (not seen or text != seen[-1]):
                seen.append(text)
                if on_change is not None:
                    on_change(seen)
                if until is not None and until(seen):
                    break
            self.page.wait_for_timeout(120)
        return seen


@pytest.fixture(scope="session")
def open_notebook(tmp_path_factory: pytest.TempPathFactory, playwright_manager: Any, artifacts: Artifacts):
    """A context manager: start a Jupyter server (``'lab'`` or ``'notebook'``), open the test notebook in a
    fresh Chromium profile and wait for its kernel to be idle; on exit shut the kernel sessions down, then the
    server, and close the browser."""

    @contextlib.contextmanager
    def open_(app: str) -> Iterator[NotebookPage]:
        server = start_server(app, tmp_path_factory.mktemp(f"jupyter-{app}"))
        context = None
        try:
            write_notebook(server.root)
            context = playwright_manager.chromium.launch_persistent_context(
                str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
                args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000},
            )  # fmt: skip
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(server.page_url(NOTEBOOK))
            page.locator(".jp-Notebook .jp-Cell").nth(len(CELLS) - 1).wait_for(state="attached", timeout=120_000)
            notebook = NotebookPage(page, server, artifacts)
            deadline = time.monotonic() + 120
            while server.kernel_state(NOTEBOOK) is None:
                if time.monotonic() > deadline:
                    raise AssertionError("no kernel session was started for the notebook")
                page.wait_for_timeout(200)
            notebook.wait_kernel_idle()
            yield notebook
        finally:
            try:
                stop_server(server)
            finally:
                if context is not None:
                    context.close()

    return open_


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return Artifacts()
