"""A small client for OpenAI-compatible HTTP servers on the standard library: JSON requests and SSE streams.

Nothing here logs or prints a request: headers (which carry the API key) are built in :func:`_headers` and go
only to ``http.client``. Every error becomes an :class:`AIMagicsError` of one short paragraph, with the key (and
any credentials in the URL) removed from whatever the server said.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from ai_magics.errors import AIMagicsError

MAX_ERROR_BODY = 4096
MAX_SERVER_MESSAGE = 200


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a server: its base URL (…/v1), the key to send, and the socket timeout."""

    base_url: str
    api_key: str = field(default="", repr=False)
    timeout: float = 120.0

    @property
    def shown_url(self) -> str:
        """The base URL as error messages show it: without user:password@."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}"

    def scrub(self, text: str) -> str:
        """``text`` with the API key and URL credentials replaced by ***."""
        secrets = [self.api_key] if len(self.api_key) >= 4 else []
        parts = urlsplit(self.base_url)
        secrets += [s for s in (parts.password, parts.username) if s and len(s) >= 4]
        for secret in secrets:
            text = text.replace(secret, "***")
        return text


def _connection(endpoint: Endpoint) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(endpoint.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AIMagicsError(
            f"The server URL {endpoint.shown_url!r} is not an http(s) URL. Set %config OpenAIServer.base_url, "
            "e.g. 'http://127.0.0.1:8000/v1'."
        )
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=endpoint.timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=endpoint.timeout)
    return conn, parts.path.rstrip("/")


def _headers(endpoint: Endpoint, streaming: bool) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if streaming else "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    return headers


def _unreachable(endpoint: Endpoint, exc: BaseException) -> AIMagicsError:
    reason = endpoint.scrub(str(exc) or type(exc).__name__)
    return AIMagicsError(
        f"Could not reach the OpenAI-compatible server at {endpoint.shown_url} ({reason}). Start the server, or "
        "point %config OpenAIServer.base_url (or AI_MAGICS_OPENAI_BASE_URL) at it."
    )


def _server_message(endpoint: Endpoint, body: bytes) -> str:
    text = body[:MAX_ERROR_BODY].decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        message = text
    else:
        error = data.get("error", data.get("detail", data)) if isinstance(data, dict) else data
        if isinstance(error, dict):
            error = error.get("message", error)
        message = error if isinstance(error, str) else json.dumps(error)
    message = " ".join(endpoint.scrub(message).split())
    if len(message) > MAX_SERVER_MESSAGE:
        message = message[: MAX_SERVER_MESSAGE - 3] + "..."
    return message


def http_error(endpoint: Endpoint, status: int, body: bytes, model: str | None = None) -> AIMagicsError:
    """The message for an HTTP error answer of the server."""
    said = _server_message(endpoint, body)
    said = f": {said}" if said else ""
    where = f"The server at {endpoint.shown_url}"
    if status in (401, 403):
        return AIMagicsError(
            f"{where} refused the API key (HTTP {status}{said}). Set the right key in the environment variable "
            "named by OpenAIServer.api_key_env (default OPENAI_API_KEY), or with %config OpenAIServer.api_key."
        )
    if status == 404:
        what = f"model {model!r} or its endpoint" if model else "that endpoint"
        return AIMagicsError(
            f"{where} does not serve {what} (HTTP 404{said}). Check the model name (the server's own name for "
            "it) and that base_url ends in /v1."
        )
    return AIMagicsError(f"{where} answered HTTP {status}{said}.")


def _open(
    endpoint: Endpoint, method: str, path: str, body: dict | None, streaming: bool, model: str | None
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn, prefix = _connection(endpoint)
    payload = None if body is None else json.dumps(body).encode("utf-8")
    try:
        conn.request(method, prefix + path, body=payload, headers=_headers(endpoint, streaming))
        response = conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise _unreachable(endpoint, exc) from None
    if response.status != 200:
        try:
            data = response.read(MAX_ERROR_BODY)
        except (OSError, http.client.HTTPException):
            data = b""
        conn.close()
        raise http_error(endpoint, response.status, data, model)
    return conn, response


def get_json(endpoint: Endpoint, path: str) -> Any:
    """GET ``path`` (relative to the base URL) and return the decoded JSON."""
    conn, response = _open(endpoint, "GET", path, None, streaming=False, model=None)
    try:
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise _unreachable(endpoint, exc) from None
    finally:
        conn.close()
    try:
        return json.loads(data)
    except ValueError:
        raise AIMagicsError(
            f"The server at {endpoint.shown_url} answered {path} with something that is not JSON. Is base_url "
            "the server's OpenAI API (ending in /v1)?"
        ) from None


def list_models(endpoint: Endpoint) -> list[str]:
    """The model names the server lists at GET /models."""
    data = get_json(endpoint, "/models")
    items = data.get("data", []) if isinstance(data, dict) else []
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


def iter_sse_data(lines: Iterator[bytes]) -> Iterator[str]:
    """The ``data`` of each server-sent event in a stream of raw lines (comments and other fields skipped)."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


class StreamBroken(Exception):
    """The connection ended (or failed) before the server said the generation was over."""


def _lines(response: http.client.HTTPResponse) -> Iterator[bytes]:
    while True:
        try:
            line = response.readline()
        except TimeoutError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise StreamBroken(str(exc) or type(exc).__name__) from None
        if not line:
            return
        yield line


def piece_of(chunk: dict, chat: bool) -> tuple[str | None, bool]:
    """(text of one streamed chunk or None when it carries none, whether it says the generation finished)."""
    choices = chunk.get("choices") or []
    if not choices:
        return None, False
    choice = choices[0]
    finished = bool(choice.get("finish_reason"))
    text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
    return (text if isinstance(text, str) else None), finished


def stream_text(
    endpoint: Endpoint, path: str, body: dict, chat: bool, should_stop: Callable[[], bool], model: str
) -> Iterator[str]:
    """POST a streaming completion and yield each piece of text as the server sends it.

    Ends at ``data: [DONE]``, at a chunk with a finish reason, or when ``should_stop()`` is True (the connection
    is closed, so the server stops too). A connection that ends before any of these raises an AIMagicsError.
    """
    conn, response = _open(endpoint, "POST", path, body, streaming=True, model=model)
    pieces = 0
    finished = False
    try:
        for data in iter_sse_data(_lines(response)):
            if data.strip() == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            if isinstance(chunk, dict) and "error" in chunk:
                raise AIMagicsError(
                    f"The server at {endpoint.shown_url} stopped the generation after {pieces} tokens with an "
                    f"error: {_server_message(endpoint, data.encode())}. The text so far is kept."
                )
            text, done = piece_of(chunk, chat) if isinstance(chunk, dict) else (None, False)
            if text is not None and (text or not done):
                pieces += 1
                yield text
            if done:
                finished = True
            if should_stop():
                return
        if not finished:
            raise StreamBroken("the connection closed")
    except StreamBroken as exc:
        raise AIMagicsError(
            f"The server at {endpoint.shown_url} stopped answering after {pieces} tokens ({endpoint.scrub(str(exc))}) "
            "before the generation finished. The text so far is kept; check the server and run the cell again."
        ) from None
    except TimeoutError:
        raise AIMagicsError(
            f"The server at {endpoint.shown_url} sent nothing for {endpoint.timeout:g} s after {pieces} tokens. The "
            "text so far is kept; raise %config OpenAIServer.timeout for slow servers."
        ) from None
    finally:
        conn.close()
