"""A model zyx builds from a string works from any event loop, not only the first one that used it.

Such models are cached, and an async HTTP client keeps its pooled connections on the loop that
opened them: two `asyncio.run(zyx.arun(...))` in a row, or `zyx.run()` then `asyncio.run(...)`,
used to fail on the second loop with "Event loop is closed" / "bound to a different event loop".
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import local_model_unavailable
from openai_server import OpenAIServer, reply

import zyx
import zyx._models

MODEL = "openai:gpt-4o-mini"
TASK = "Say hello."


def done(request: dict[str, Any]) -> Any:
    """Every request is answered with a successful `complete_task`."""
    return reply(tool_calls=[("complete_task", {"summary": "Hello.", "status": "success"})])


class KeepAliveServer(OpenAIServer):
    """The scripted server on HTTP/1.1, so clients keep connections pooled between requests, as with real APIs.

    (Its answers here all carry a Content-Length: no streaming.)
    """

    def __init__(self, script: Any) -> None:
        super().__init__(script)
        self._httpd.RequestHandlerClass.protocol_version = "HTTP/1.1"
        self._httpd.block_on_close = False  # don't wait at exit for connections the clients keep open


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """A scripted server that zyx's `openai:` models point at (a new base URL, so a new cached model)."""
    with KeepAliveServer(done) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield srv


def check(result: zyx.RunResult[Any]) -> None:
    assert result.completion is not None and result.completion.status == "success"


def test_arun_on_two_event_loops_in_a_row(server: OpenAIServer) -> None:
    """The second run also reuses the first one's cached spec and compiled graph."""
    check(asyncio.run(zyx.arun(TASK, model=MODEL)))
    check(asyncio.run(zyx.arun(TASK, model=MODEL)))
    assert len(server.requests) == 2


def test_run_then_arun_on_a_new_loop(server: OpenAIServer) -> None:
    check(zyx.run(TASK, model=MODEL))
    check(asyncio.run(zyx.arun(TASK, model=MODEL)))
    check(zyx.run(TASK, model=MODEL))  # and back on the thread's own loop
    assert len(server.requests) == 3


def test_make_on_two_event_loops(server: OpenAIServer) -> None:
    server.script = lambda request: reply("hello")
    assert asyncio.run(zyx.amake(str, TASK, model=MODEL)).output == "hello"
    assert asyncio.run(zyx.amake(str, TASK, model=MODEL)).output == "hello"


def test_event_loops_on_two_threads_at_once(server: OpenAIServer) -> None:
    results: list[Any] = []

    def work() -> None:
        results.append(asyncio.run(zyx.arun(TASK, model=MODEL)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    for result in results:
        check(result)


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # a recorded warning would hold the loop's socket
def test_a_finished_loop_is_not_kept_alive(server: OpenAIServer) -> None:
    """A closed loop's pooled client is dropped at the next request, and the loop with it."""
    loop = asyncio.new_event_loop()
    check(loop.run_until_complete(zyx.arun(TASK, model=MODEL)))
    loop.close()
    gone = weakref.ref(loop)
    del loop
    check(asyncio.run(zyx.arun(TASK, model=MODEL)))
    gc.collect()
    assert gone() is None


def test_openai_proxy_goes_to_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """ChatOpenAI refuses `OPENAI_PROXY` next to a custom client: zyx hands the proxy to its clients instead."""
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("OPENAI_PROXY", "http://127.0.0.1:9")
    model = zyx._models.resolve_model("openai:proxied-model")
    assert getattr(model, "openai_proxy", "unset") is None and getattr(model, "http_client", None) is not None


LOCAL_UNAVAILABLE = local_model_unavailable()


@pytest.mark.local
@pytest.mark.skipif(LOCAL_UNAVAILABLE is not None, reason=LOCAL_UNAVAILABLE or "")
def test_local_model_on_several_event_loops() -> None:
    for result in (
        zyx.run(TASK, model="local", max_steps=0, max_retries=1),
        asyncio.run(zyx.arun(TASK, model="local", max_steps=0, max_retries=1)),
        asyncio.run(zyx.arun(TASK, model="local", max_steps=0, max_retries=1)),
    ):
        assert result.completion is not None
