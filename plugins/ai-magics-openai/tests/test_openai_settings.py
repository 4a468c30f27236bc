"""The openai plugin without a server: registration, aliases, settings, the key's masking, SSE parsing, errors."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ai_magics_openai", reason="the ai-magics-openai plugin is not installed (make install)")

from ai_magics.errors import AIMagicsError
from ai_magics.generation import SamplingOptions
from ai_magics.plugins import get_plugin_host
from ai_magics.report import plugins_report
from ai_magics_openai.client import Endpoint, http_error, iter_sse_data, piece_of, stream_text
from ai_magics_openai.generator import ServerGenerator
from ai_magics_openai.settings import MODELS_ENV, OpenAIServer, get_settings

pytestmark = pytest.mark.usefixtures("fresh")
SECRET = "sk-test-0123456789abcdef"


def row(report: str, plugin: str) -> list[str]:
    return next(line.split() for line in report.splitlines() if line.split()[:1] == [plugin])


def test_the_plugin_is_installed_by_entry_point_and_listed():
    host = get_plugin_host()
    status = host.statuses["openai"]
    assert status.ok and not status.problems and status.origin == "ai-magics-openai"
    assert "openai" in host.registry.backends
    assert not any(name.startswith("server") for name in host.registry.models)  # nothing configured, no alias
    report = plugins_report()
    assert row(report, "openai") == ["openai", "ai-magics-openai", "ok"]
    assert "openai" in report.split("backends: ")[1]


def test_server_models_are_aliases_from_the_environment_or_the_setting(monkeypatch):
    from ai_magics.models.loading import plan_model

    monkeypatch.setenv(MODELS_ENV, "smollm2-135m, smol = llama-3-8b")
    registry = get_plugin_host().registry
    assert {"server:smollm2-135m", "smol"} <= set(registry.models)
    assert registry.owners[("models", "smol")] == "openai"
    source = registry.models["smol"].locate()
    assert (source.model_id, source.file_format, source.kind) == ("server:llama-3-8b", "openai", "causal-lm")
    plan = plan_model("server:smollm2-135m", "causal-lm", device="cpu")
    assert plan.backend == "openai" and plan.key.model_id == "server:smollm2-135m"
    assert plan_model("smollm2", "causal-lm", device="cpu").backend != "openai"  # GGUF files are not ours

    get_settings().models = "qwen"  # %config OpenAIServer.models = "qwen": registered at once
    models = get_plugin_host().registry.models
    assert "server:qwen" in models and "smol" not in models


def test_unknown_server_names_resolve_once_the_core_has_the_resolve_hook():
    from ai_magics import hookspecs
    from ai_magics.models.loading import plan_model

    if "ai_magics_resolve_model" not in hookspecs.all_hook_names():
        with pytest.raises(AIMagicsError, match="Unknown model 'server:anything'"):
            plan_model("server:anything", "causal-lm", device="cpu")
        pytest.skip("ai-magics has no ai_magics_resolve_model hook yet: server:NAME needs OpenAIServer.models")
    assert plan_model("server:anything", "causal-lm", device="cpu").backend == "openai"
    assert plan_model("server", "causal-lm", device="cpu").source.model_id == "server"  # the server's default


def test_the_api_key_is_read_from_the_environment_or_the_setting_and_never_shown(monkeypatch):
    from IPython.lib.pretty import pretty

    settings = get_settings()
    assert settings.key() == ""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert settings.key() == SECRET
    settings.api_key_env = "MY_SERVER_KEY"
    assert settings.key() == ""
    monkeypatch.setenv("MY_SERVER_KEY", SECRET + "-2")
    assert settings.key() == SECRET + "-2"

    settings.api_key = SECRET + "-3"  # %config OpenAIServer.api_key = ... wins over the environment
    assert settings.key() == SECRET + "-3" and f"Bearer {settings.key()}".endswith(SECRET + "-3")
    shown = [
        repr(settings.api_key), pretty(settings.api_key), repr(settings.key()),
        OpenAIServer.class_get_help(settings), repr(Endpoint("http://x/v1", settings.key())),
    ]  # fmt: skip
    for text in shown:
        assert SECRET not in text, text
    assert repr(settings.api_key) == "'********'" and "Current: '********'" in OpenAIServer.class_get_help(settings)


def test_base_url_and_extra_body_from_the_environment(monkeypatch):
    from ai_magics_openai import settings as module

    monkeypatch.setenv("AI_MAGICS_OPENAI_BASE_URL", "http://models.example.invalid:9000/v1/")
    monkeypatch.setenv("AI_MAGICS_OPENAI_EXTRA_BODY", '{"repeat_penalty": 1.0}')
    settings = OpenAIServer()
    assert settings.base_url == "http://models.example.invalid:9000/v1"
    assert settings.extra_body == {"repeat_penalty": 1.0}
    assert OpenAIServer().base_url != module.DEFAULT_BASE_URL
    with pytest.raises(AIMagicsError, match="must start with http"):
        settings.base_url = "127.0.0.1:8000"
    monkeypatch.setenv("AI_MAGICS_OPENAI_EXTRA_BODY", "[1]")
    with pytest.raises(AIMagicsError, match="JSON object"):
        OpenAIServer().extra_body


def test_error_messages_are_one_short_line_without_secrets():
    endpoint = Endpoint("http://admin:pw-0123456789@127.0.0.1:8000/v1", api_key=SECRET)
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}.\n" + "x" * 1000}}).encode()
    message = str(http_error(endpoint, 401, body))
    assert "HTTP 401" in message and "refused the API key" in message and "***" in message
    assert SECRET not in message and "pw-0123456789" not in message and "admin" not in message
    assert "\n" not in message and len(message) < 600
    assert "does not serve model 'm'" in str(http_error(endpoint, 404, b'{"detail": "Not Found"}', "m"))
    assert "HTTP 500: boom" in str(http_error(endpoint, 500, b"boom"))


def test_a_server_that_is_down_gives_a_short_error(unused_port):
    endpoint = Endpoint(f"http://127.0.0.1:{unused_port}/v1", api_key=SECRET, timeout=5)
    with pytest.raises(AIMagicsError) as info:
        list(stream_text(endpoint, "/completions", {"prompt": "hi"}, False, lambda: False, "m"))
    message = str(info.value)
    assert message.startswith(f"Could not reach the OpenAI-compatible server at {endpoint.base_url}")
    assert "refused" in message.lower() and SECRET not in message and "\n" not in message


def test_server_sent_events_are_parsed_like_a_browser_would():
    raw = [b": keep-alive\n", b"\n", b"data: {\"a\": 1}\r\n", b"\r\n", b"event: x\n", b"data: line one\n",
           b"data:line two\n", b"\n", b"data: [DONE]\n"]  # fmt: skip
    assert list(iter_sse_data(iter(raw))) == ['{"a": 1}', "line one\nline two", "[DONE]"]
    assert piece_of({"choices": [{"text": "fox", "finish_reason": None}]}, chat=False) == ("fox", False)
    assert piece_of({"choices": [{"delta": {"role": "assistant"}}]}, chat=True) == (None, False)
    assert piece_of({"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}, chat=True) == ("hi", True)
    assert piece_of({"choices": []}, chat=False) == (None, False)


def test_request_bodies_for_plain_and_chat_prompts():
    settings = get_settings()
    settings.extra_body = {"repeat_penalty": 1.0}
    generator = ServerGenerator("smollm2-135m", "server:smollm2-135m")
    path, body, chat = generator.request_body("The fox", SamplingOptions(max_new_tokens=7, temperature=0), False)
    assert (path, chat) == ("/completions", False)
    assert body == {"model": "smollm2-135m", "max_tokens": 7, "stream": True, "prompt": "The fox", "temperature": 0,
                    "repeat_penalty": 1.0}  # fmt: skip
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好"}]
    prompt = generator.format_chat(messages)
    path, body, chat = generator.request_body(prompt, SamplingOptions(temperature=0.5, top_p=0.8, seed=3), True)
    assert (path, chat) == ("/chat/completions", True) and body["messages"] == messages
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.5, 0.8, 3) and "prompt" not in body
