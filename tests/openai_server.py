"""A scripted OpenAI-compatible HTTP server for tests (standard library only).

Lets tests drive the real `langchain_openai.ChatOpenAI` (and the `openai` client under
it) over real HTTP on 127.0.0.1: replies are scripted per test, requests are recorded.

    with OpenAIServer([reply(tool_calls=[("get_weather", {"city": "Paris"})])]) as srv:
        ChatOpenAI(base_url=srv.base_url, api_key="test").invoke("hi")
        srv.requests[0]["messages"]
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Reply:
    """What the server answers to one chat-completions request."""

    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, arguments)
    status: int = 200
    raw: str | None = None  # sent verbatim instead of a chat completion (malformed bodies, errors)
    content_type: str = "application/json"  # of a `raw` body
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, int] | None = None  # default: counted from the request and reply text
    finish_reason: str | None = None  # default: "tool_calls" when there are tool calls, else "stop"
    fragment: int = 4  # characters per streamed content / argument delta
    delay: float = 0.0  # seconds between streamed chunks
    latency: float = 0.0  # seconds before the reply starts, streamed or not (a slow model; other requests go on)


def reply(
    content: str | None = None, *, tool_calls: list[tuple[str, dict[str, Any]]] | None = None, **kw: Any
) -> Reply:
    """A successful completion with text and/or tool calls."""
    return Reply(content=content, tool_calls=tool_calls or [], **kw)


def error(status: int, message: str = "scripted error", *, retry_after_ms: int | None = 1) -> Reply:
    """An OpenAI-style JSON error; `retry-after-ms` keeps client retries fast."""
    body = json.dumps({"error": {"message": message, "type": "scripted_error", "param": None, "code": str(status)}})
    headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
    return Reply(status=status, raw=body, headers=headers)


def malformed(body: str = "{not json", *, content_type: str = "application/json") -> Reply:
    """A 200 answer whose body is not a valid chat completion (or, as event-stream, not valid SSE JSON)."""
    return Reply(raw=body, content_type=content_type)


Script = list[Reply] | Callable[[dict[str, Any]], Reply]


class OpenAIServer:
    """Serves `POST /v1/chat/completions` from a script; a context manager.

    `script` is a list of replies consumed in order (a 500 once exhausted) or a
    function from the request JSON to a reply. `requests` holds every request body.
    """

    def __init__(self, script: Script) -> None:
        self.script = script if callable(script) else list(script)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd = _HTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="openai-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The OpenAI base URL to give clients: `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        """Record `request` and pick its scripted reply."""
        with self._lock:
            self.requests.append(request)
            if callable(self.script):
                return self.script(request)
            if not self.script:
                return error(500, "script exhausted", retry_after_ms=None)
            return self.script.pop(0)

    def completion(self, request: dict[str, Any], spec: Reply) -> dict[str, Any]:
        """A full `chat.completion` object for a non-streaming reply."""
        message: dict[str, Any] = {"role": "assistant", "content": spec.content}
        if spec.tool_calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for call_id, (name, args) in zip(self._call_ids(spec), spec.tool_calls)
            ]
        choice = {"index": 0, "message": message, "finish_reason": _finish_reason(spec), "logprobs": None}
        return {**self._envelope(request, "chat.completion"), "choices": [choice], "usage": _usage(request, spec)}

    def chunks(self, request: dict[str, Any], spec: Reply) -> Iterator[dict[str, Any]]:
        """The `chat.completion.chunk` objects of a streaming reply, split into small deltas."""
        head = self._envelope(request, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

        yield chunk({"role": "assistant", "content": ""})
        for piece in _pieces(spec.content or "", spec.fragment):
            yield chunk({"content": piece})
        for index, (call_id, (name, args)) in enumerate(zip(self._call_ids(spec), spec.tool_calls)):
            start = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            yield chunk({"tool_calls": [start]})
            for piece in _pieces(json.dumps(args), spec.fragment):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, _finish_reason(spec))
        if (request.get("stream_options") or {}).get("include_usage"):
            yield {**head, "choices": [], "usage": _usage(request, spec)}

    def _envelope(self, request: dict[str, Any], kind: str) -> dict[str, Any]:
        model = request.get("model", "scripted")
        return {"id": f"chatcmpl-{next(self._ids)}", "object": kind, "created": int(time.time()), "model": model}

    def _call_ids(self, spec: Reply) -> list[str]:
        return [f"call_{next(self._ids)}" for _ in spec.tool_calls]


class _HTTPServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-reply (a killed server process) is not an error of ours."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), max(size, 1))]


def _finish_reason(spec: Reply) -> str:
    return spec.finish_reason or ("tool_calls" if spec.tool_calls else "stop")


def _usage(request: dict[str, Any], spec: Reply) -> dict[str, int]:
    if spec.usage is not None:
        return spec.usage
    prompt = sum(len(str(m.get("content") or "").split()) + 4 for m in request.get("messages", []))
    completion = len((spec.content or "").split()) + sum(len(json.dumps(a)) // 4 + 1 for _, a in spec.tool_calls)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                return
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            spec = server.next_reply(request)
            if spec.latency:
                time.sleep(spec.latency)  # in this request's own thread, outside the script's lock
            if spec.raw is not None or spec.status != 200:
                self._send(spec.status, spec.raw or "", spec.headers, spec.content_type)
            elif request.get("stream"):
                self._stream(server.chunks(request, spec), spec)
            else:
                self._send(200, json.dumps(server.completion(request, spec)), spec.headers)

        def _send(
            self, status: int, body: str, headers: dict[str, str] | None = None, content_type: str = "application/json"
        ) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, chunks: Iterator[dict[str, Any]], spec: Reply) -> None:
            # HTTP/1.0 without Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if spec.delay:
                    time.sleep(spec.delay)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler
