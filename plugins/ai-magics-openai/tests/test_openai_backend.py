"""The openai backend against a real OpenAI-compatible server: ``python -m llama_cpp.server`` on 127.0.0.1 with
SmolLM2 from its wheel. Streams into %%generate, matches the llama.cpp backend's greedy output, and fails short and
clean (keeping the partial text, never showing the key) on a wrong key, a server that is down, and one that dies."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("ai_magics_openai", reason="the ai-magics-openai plugin is not installed (make install)")
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (make install)")

from ai_magics import hookimpl  # noqa: E402
from ai_magics.cache import get_cache  # noqa: E402
from ai_magics.plugins import get_plugin_host, reload_plugins  # noqa: E402
from ai_magics_openai import settings as openai_settings  # noqa: E402

pytestmark = pytest.mark.integration
SEED_PROMPT = "The quick brown fox jumps over the lazy dog"
MODEL = "server:smollm2-135m"
KEY_ENV = "AI_MAGICS_TEST_SERVER_KEY"


def error_text(result) -> str:
    exc = result.error_in_exec or result.error_before_exec
    return "" if exc is None else str(exc)


def configure(shell, base_url: str) -> None:
    """What a user does once: %config the server, the key's variable, the model name and llama.cpp's options."""
    openai_settings.get_settings()  # joined the shell's configurables at %load_ext; make sure after resets
    for line in (
        f"OpenAIServer.base_url = {base_url!r}",
        f"OpenAIServer.api_key_env = {KEY_ENV!r}",
        "OpenAIServer.api_key = ''",  # %config also keeps values in the shell's config: clear an earlier test's
        "OpenAIServer.models = 'smollm2-135m'",
        "OpenAIServer.extra_body = {'repeat_penalty': 1.0}",  # llama.cpp's server defaults to 1.1
    ):
        shell.run_line_magic("config", line)


class Recorder:
    def __init__(self, on_token=None) -> None:
        self.tokens: list = []
        self.done: list = []
        self.on_token = on_token

    @hookimpl
    def ai_magics_on_token(self, event):
        self.tokens.append(event)
        if self.on_token:
            self.on_token(event)

    @hookimpl
    def ai_magics_on_done(self, event):
        self.done.append(event)


@pytest.fixture
def server_shell(ipython, llama_server, monkeypatch):
    """The IPython shell configured for the session's server, its key in the environment; reset afterwards."""
    monkeypatch.setenv(KEY_ENV, llama_server.api_key)
    configure(ipython, llama_server.base_url)
    yield ipython
    openai_settings.reset_settings()
    evict_server_models()
    reload_plugins()


def evict_server_models() -> None:
    for entry in get_cache().entries():
        if entry.key.backend == "openai":
            get_cache().evict(entry.key)


@pytest.fixture
def recorder():
    plugin = Recorder()
    get_plugin_host().add_plugin(plugin, "test-recorder")
    yield plugin
    get_plugin_host().remove_plugin("test-recorder")


def test_generate_streams_from_the_server_and_matches_the_llamacpp_backend(server_shell, recorder, capsys):
    pytest.importorskip("ai_magics_llamacpp", reason="the llama.cpp plugin gives the reference output")
    import ai_magics

    capsys.readouterr()
    cell = f"%%generate --model {MODEL} --temperature 0 --no-chat -n 32 --out via_server\n{SEED_PROMPT}"
    result = server_shell.run_cell(cell)
    assert result.success, error_text(result)
    text = server_shell.user_ns["via_server"]
    printed = capsys.readouterr().out
    assert text in printed and "tok/s" in printed
    # one piece per SSE chunk, one chunk per token: the events and the count are those of a local model
    assert len(recorder.tokens) >= 24 and "".join(e.text for e in recorder.tokens) == text
    assert recorder.done[-1].summary["tokens"] == 32 and recorder.done[-1].model == MODEL

    reference = ai_magics.generate(
        SEED_PROMPT, "smollm2", backend="llama.cpp", temperature=0, chat=False, max_new_tokens=32
    )
    assert text == reference and len(text) > 40


def test_chat_goes_through_the_servers_template_with_a_conversation(server_shell):
    server_shell.user_ns.pop("talk", None)
    cell = f'%%generate --model {MODEL} --conversation talk --system "Be brief." -n 12 --seed 3\nSay hello.'
    result = server_shell.run_cell(cell)
    assert result.success, error_text(result)
    again = server_shell.run_cell(f"%%generate --model {MODEL} --conversation talk -n 12 --seed 3\nAnd goodbye.")
    assert again.success, error_text(again)
    history = server_shell.user_ns["talk"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user", "assistant"]
    assert history[2]["content"] and history[4]["content"]


def test_a_wrong_key_gives_a_short_error_that_never_shows_a_key(server_shell, llama_server, monkeypatch, capsys):
    wrong = "sk-wrong-" + os.urandom(8).hex()
    assert server_shell.run_cell(f"%%generate --model {MODEL} -n 2\nHi").success  # the model is now cached
    monkeypatch.setenv(KEY_ENV, wrong)
    for cached in (True, False):  # refused while streaming (model cached), then while loading (cache cleared)
        if not cached:
            evict_server_models()
        result = server_shell.run_cell(f"%%generate --model {MODEL} -n 8 --out nope\nHello")
        assert not result.success
        message = error_text(result)
        assert "refused the API key (HTTP 401" in message
        assert "\n" not in message.strip() and len(message) < 600
        captured = capsys.readouterr()
        shown = message + captured.out + captured.err
        assert wrong not in shown and llama_server.api_key not in shown
    server_shell.run_line_magic("config", f"OpenAIServer.api_key = {llama_server.api_key!r}")
    assert repr(server_shell.run_line_magic("config", "OpenAIServer.api_key")) == "'********'"
    assert server_shell.run_cell(f"%%generate --model {MODEL} -n 4\nHello").success  # the setting wins


def test_a_server_that_is_down_gives_a_short_error(server_shell, unused_port):
    server_shell.run_line_magic("config", f"OpenAIServer.base_url = 'http://127.0.0.1:{unused_port}/v1'")
    for _ in range(2):  # while the model is cached, then loading anew
        result = server_shell.run_cell(f"%%generate --model {MODEL} -n 8\nHello")
        message = error_text(result)
        assert not result.success and message.startswith("Could not reach the OpenAI-compatible server at")
        assert f"127.0.0.1:{unused_port}" in message and "refused" in message.lower() and "\n" not in message
        evict_server_models()
    assert server_shell.run_cell("x_still_fine = 2 + 2").success


def test_a_server_that_dies_mid_stream_gives_a_short_error_and_keeps_the_partial_text(
    ipython, start_server, monkeypatch, capsys
):
    server = start_server()
    monkeypatch.setenv(KEY_ENV, server.api_key)
    configure(ipython, server.base_url)

    def kill_after_three(event):
        if event.index == 3:
            server.kill()

    plugin = Recorder(on_token=kill_after_three)
    get_plugin_host().add_plugin(plugin, "killer")
    try:
        capsys.readouterr()
        cell = f"%%generate --model {MODEL} --temperature 0 --no-chat -n 400 --out partial\nCount: 1, 2, 3, 4,"
        result = ipython.run_cell(cell)
    finally:
        get_plugin_host().remove_plugin("killer")
        openai_settings.reset_settings()
        evict_server_models()
        reload_plugins()
    message = error_text(result)
    assert not result.success and "stopped answering after" in message and "text so far is kept" in message
    assert "\n" not in message and server.api_key not in message
    partial = plugin.done[-1].summary["text"]
    assert len(plugin.tokens) >= 3 and len(plugin.tokens) < 400 and partial
    assert partial in capsys.readouterr().out  # shown in the cell
    assert ipython.user_ns["partial"] == partial  # and stored by --out
    assert server.process.returncode is not None
