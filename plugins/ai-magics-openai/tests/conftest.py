"""Fixtures of the openai plugin's tests: fresh process-wide state, and a real llama.cpp server on SmolLM2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SERVER_MODEL = "smollm2-135m"


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch):
    """A new plugin host, ai-magics settings and OpenAIServer settings, built from a clean environment."""
    import ai_magics.config as config
    import ai_magics.plugins as plugins
    import ai_magics_openai.settings as openai_settings

    for name in (plugins.DISABLE_ENV, "AI_MAGICS_OPENAI_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY",
                 "AI_MAGICS_OPENAI_MODELS", "AI_MAGICS_OPENAI_EXTRA_BODY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(plugins, "_host", None)
    monkeypatch.setattr(config, "_settings", None)
    from ai_magics.shell_settings import ShellSettings

    # Fresh settings, kept out of the test session's IPython shell.
    monkeypatch.setattr(openai_settings, "_settings", ShellSettings(openai_settings.OpenAIServer, shell=lambda: None))
    yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smollm2_gguf() -> Path:
    from ai_magics.models.builtin_aliases import locate_smollm2

    source = locate_smollm2()
    return Path(source.path) / source.gguf_file


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 with SmolLM2 from its wheel, started and stopped by a test."""

    def __init__(self, log: Path, api_key: str) -> None:
        pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (make install)")
        self.api_key = api_key
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--model_alias", SERVER_MODEL,
            "--host", "127.0.0.1", "--port", str(self.port), "--api_key", api_key, "--n_ctx", "2048",
            "--n_threads", "2", "--verbose", "False",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._log_file = open(log, "wb")
        self.process = subprocess.Popen(command, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)
        self._wait_ready(timeout=90)

    def _wait_ready(self, timeout: float) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {self.api_key}"})
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    return free_port()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory):
    """One real server for the session, with an API key."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = LlamaServer(log, api_key="sk-test-" + os.urandom(8).hex())
    yield server
    server.stop()


@pytest.fixture
def start_server(tmp_path: Path):
    """Start a server of the test's own (to kill it); stopped at the end of the test."""
    servers: list[LlamaServer] = []

    def start(api_key: str = "") -> LlamaServer:
        key = api_key or "sk-own-" + os.urandom(6).hex()
        server = LlamaServer(tmp_path / f"server-{len(servers)}.log", api_key=key)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def ipython():
    """The test session's IPython shell (the one tests/integration uses, if it started first), extension loaded."""
    from IPython.testing import globalipapp

    globalipapp.start_ipython()
    shell = globalipapp.get_ipython()
    if "ai_magics" not in shell.extension_manager.loaded:
        shell.run_line_magic("load_ext", "ai_magics")
    return shell
