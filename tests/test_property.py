"""Property: whatever the model does, every run ends, within its limits, with a result or a zyx error.

Hypothesis draws a script of model replies (known and unknown tools, argument blobs that are valid,
mistyped or not even objects, plain text, `complete_task` with valid / invalid / missing fields and any
status, arguments that are not JSON, transient and permanent exceptions, several calls per turn) and a
random set of small limits. The scripted model replays the script, cycling, so a misbehaving model
never runs out of misbehaviour: only zyx's own limits can end the run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from unittest import mock

from helpers import assert_valid_history
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.errors import GraphRecursionError
from pydantic import BaseModel

import zyx
import zyx._faults
from zyx import RunResult, ZyxError
from zyx.testing import ScriptedChatModel

RUN_DEADLINE = 5.0
"""Seconds a run may take before it counts as a hang (runs here take milliseconds)."""

TERMINATIONS = {"completed", "max_steps", "max_model_calls", "tool_limit", "max_tokens", "timeout", "no_completion"}
LIMIT_TERMINATIONS = TERMINATIONS - {"completed", "no_completion"}
TASK = "Do the task."


# -- the tools the runs may use ----------------------------------------------------------------------


class Opaque:
    """Something JSON cannot hold."""


def echo(text: str) -> str:
    """Echo some text."""
    return text


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def boom(reason: str = "no reason") -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


def weird() -> Opaque:
    """Returns something that is not JSON-serialisable."""
    return Opaque()


async def nap(ms: int = 0) -> str:
    """Sleeps a few milliseconds."""
    await asyncio.sleep(min(max(ms, 0), 5) / 1000)
    return "rested"


TOOLS = [echo, add, boom, weird, nap]
KNOWN = [t.__name__ for t in TOOLS]
UNKNOWN = ["nope", "Echo", "", "submit_plan", "complete_task_", "echo "]


class Answer(BaseModel):
    n: int


def needs_ok(completion: zyx.RunCompletion[Any]) -> str | None:
    """A verifier: the summary must mention 'ok'."""
    return None if "ok" in completion.summary else "the summary must say ok"


# -- what the model may reply ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5,
)
VALID_ARGS = {
    "echo": st.fixed_dictionaries({"text": st.text(max_size=6)}),
    "add": st.fixed_dictionaries({"a": st.integers(-9, 9), "b": st.integers(-9, 9)}),
    "boom": st.fixed_dictionaries({}, optional={"reason": st.text(max_size=4)}),
    "weird": st.just({}),
    "nap": st.fixed_dictionaries({}, optional={"ms": st.integers(0, 5)}),
}
random_args = st.dictionaries(st.sampled_from(["text", "a", "b", "ms", "reason", "x"]) | st.text(max_size=3),
                              json_values, max_size=3)
non_dict_args = st.lists(json_values, max_size=2) | st.text(max_size=4) | st.integers() | st.none()


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, str, Any]:
    name = draw(st.sampled_from(KNOWN) | st.sampled_from(KNOWN) | st.sampled_from(UNKNOWN))
    kind = draw(st.sampled_from(["valid", "valid", "random", "non_dict"]))
    if kind == "valid":
        args = draw(VALID_ARGS.get(name, random_args))
    elif kind == "random":
        args = draw(random_args)
    else:
        args = draw(non_dict_args)
    return ("call", name, args)


completion_args = st.fixed_dictionaries({}, optional={
    "summary": st.sampled_from(["done", "ok, done", ""]) | st.text(max_size=6) | st.integers() | st.none(),
    "status": st.sampled_from(["success", "failed", "skipped"]) | st.text(max_size=6) | st.none(),
    "result": st.fixed_dictionaries({"n": st.integers(-3, 3)}) | st.integers(-3, 3) | json_values,
    "evidence": json_values,
})
valid_completion_args = st.fixed_dictionaries(
    {"summary": st.sampled_from(["done", "ok, done", "ok"]), "result": st.fixed_dictionaries({"n": st.integers(-3, 3)})},
    optional={"status": st.sampled_from(["success", "failed", "skipped"])},
)
completions = st.one_of(
    st.tuples(st.just("complete"), valid_completion_args),
    st.tuples(st.just("complete"), completion_args),
    st.tuples(st.just("complete"), non_dict_args),  # `complete_task` with arguments that are not an object
)
invalid_calls = st.tuples(
    st.just("invalid"),
    st.sampled_from([*KNOWN, "complete_task", "nope"]),
    st.sampled_from(["{bad", "[1, 2]", "", "null", '{"text": ']) | st.text(max_size=6),
)
TRANSIENT_KINDS = ["429", "500", "503", "timeout", "connection", "rate_limit"]
PERMANENT_KINDS = ["401", "400", "value"]
turns = st.tuples(st.just("turn"), st.lists(st.one_of(tool_calls(), tool_calls(), completions, invalid_calls),
                                            min_size=1, max_size=3))
replies = st.one_of(  # weighted: mostly tool turns, some text, a few transient failures, rarely a permanent one
    turns, turns, turns, turns, turns, turns, turns,
    st.tuples(st.just("text"), st.text(max_size=8)),
    st.tuples(st.just("raise"), st.sampled_from(TRANSIENT_KINDS + PERMANENT_KINDS)),
)


class StatusError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class RateLimitError(Exception):
    """Named like the OpenAI SDK's, no status code."""


def to_exception(kind: str) -> Exception:
    if kind.isdigit():
        return StatusError(int(kind))
    return {"timeout": TimeoutError("read timed out"), "connection": ConnectionError("reset"),
            "rate_limit": RateLimitError("slow down"), "value": ValueError("malformed request")}[kind]


def transient(kind: str) -> bool:
    return zyx._faults.is_transient(to_exception(kind))


def build_reply(reply: tuple[Any, ...], number: int) -> AIMessage | Exception:
    """The model's reply for a script step (fresh objects, unique call ids, per call)."""
    if reply[0] == "text":
        return AIMessage(content=reply[1])
    if reply[0] == "raise":
        return to_exception(reply[1])
    good: list[dict[str, Any]] = []
    odd_args: dict[int, Any] = {}
    invalid: list[dict[str, Any]] = []
    for j, item in enumerate(reply[1]):
        call_id = f"t{number}_{j}"
        if item[0] == "invalid":
            invalid.append({"name": item[1], "args": item[2], "id": call_id, "error": "not JSON",
                            "type": "invalid_tool_call"})
            continue
        name, args = ("complete_task", item[1]) if item[0] == "complete" else (item[1], item[2])
        if not isinstance(args, dict):
            odd_args[len(good)] = args
            args = {}
        good.append({"name": name, "args": args, "id": call_id, "type": "tool_call"})
    message = AIMessage(content="", tool_calls=good, invalid_tool_calls=invalid)
    for index, args in odd_args.items():  # arguments that are not an object, past pydantic's checks
        message.tool_calls[index]["args"] = args
    return message


@dataclass
class Scripted:
    """A cycling script and a log of which calls raised."""

    script: list[tuple[Any, ...]]
    raised: list[bool]

    def policy(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        number = len(self.raised)
        reply = build_reply(self.script[number % len(self.script)], number)
        self.raised.append(isinstance(reply, Exception))
        return reply


# -- the run's options -------------------------------------------------------------------------------

options = st.fixed_dictionaries(
    {
        "max_steps": st.integers(0, 5),
        "max_retries": st.integers(0, 3),
        "require_completion": st.booleans(),
    },
    optional={
        "max_model_calls": st.integers(1, 8),
        "tool_limits": st.dictionaries(st.sampled_from(["echo", "add", "nap"]), st.integers(0, 3), min_size=1),
        "max_tokens_total": st.integers(200, 5000),
        "verifier": st.just(needs_ok),
    },
)


def model_call_bound(opts: dict[str, Any]) -> int:
    """Model turns a run may take (not counting retried transient failures).

    Each turn either runs at least one tool (at most `max_steps` of those), or is rejected and
    counted against `max_retries` under one of four kinds (plain text; unknown tools or arguments
    that are not JSON; invalid completions; failed checks; each ends the run at `max_retries + 1`),
    or hits a limit and starts the wrap-up (once), or ends the run (once).
    """
    return opts["max_steps"] + 4 * (opts["max_retries"] + 1) + 2


async def run_once(scripted: Scripted, target: Any, opts: dict[str, Any]) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(policy=scripted.policy)
    try:
        outcome = await asyncio.wait_for(zyx.arun(TASK, target, model=model, tools=TOOLS, **opts), RUN_DEADLINE)
    except ZyxError as exc:
        outcome = exc
    except TimeoutError:
        raise AssertionError(f"the run hung (no end within {RUN_DEADLINE} s) after {len(model.calls)} model calls, "
                             "or raised a raw TimeoutError")
    except GraphRecursionError as exc:
        raise AssertionError("LangGraph's recursion limit ended the run, not zyx's own limits") from exc
    return outcome, model


def run_case(script: list[tuple[Any, ...]], target: Any, opts: dict[str, Any]) -> tuple[Any, ScriptedChatModel, Scripted]:
    """One run of the script, in its own event loop, with no real backoff waits."""
    scripted = Scripted(script, [])
    with mock.patch.object(zyx._faults, "BACKOFF_BASE", 0.0):
        outcome, model = asyncio.run(run_once(scripted, target, opts))
    event(f"{type(outcome).__name__}: {getattr(outcome, 'termination', None)}")
    return outcome, model, scripted


def assert_answered_but_the_last_turn(messages: list[BaseMessage]) -> None:
    """Every tool call is answered right after its turn, except maybe in the last AI turn; no orphan answers."""
    last_ai = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
    assert_valid_history(messages[:last_ai])
    tail = messages[last_ai:] if last_ai >= 0 else []
    if tail:
        ids = {c["id"] for c in [*tail[0].tool_calls, *tail[0].invalid_tool_calls]}
        answers = [m for m in tail[1:] if isinstance(m, ToolMessage)]
        assert all(m.tool_call_id in ids for m in answers), "a ToolMessage answers no call of its turn"
        assert len({m.tool_call_id for m in answers}) == len(answers), "a call is answered twice"


scripts = st.lists(replies, min_size=1, max_size=6)
targets = st.sampled_from([None, Answer])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts, target=targets, opts=options)
def test_every_run_ends_within_its_limits(script: list[tuple[Any, ...]], target: Any, opts: dict[str, Any]) -> None:
    outcome, model, scripted = run_case(script, target, opts)

    # -- it ended with a result whose completion was accepted or skipped, or with a zyx error carrying history
    if isinstance(outcome, RunResult):
        messages = outcome.messages
        executed = outcome.tool_calls
        assert outcome.termination in TERMINATIONS
        assert outcome.completion is not None
        if outcome.termination == "no_completion" or outcome.completion.summary == "No completion tool call was made.":
            assert not opts["require_completion"] and outcome.completion.status == "skipped"
        elif "verifier" in opts:
            assert outcome.verified is True and "ok" in outcome.completion.summary
        if target is Answer and outcome.completion.status == "success" and outcome.termination != "no_completion":
            assert isinstance(outcome.output, Answer)
        if outcome.termination in LIMIT_TERMINATIONS:  # it ended in the wrap-up turn
            assert model.calls[-1].tools == ["complete_task"]
        assert_valid_history(messages)
    else:
        assert isinstance(outcome, zyx.RunError), f"{type(outcome).__name__}: {outcome}"
        assert outcome.termination in TERMINATIONS
        messages = outcome.messages
        executed = outcome.tool_calls
        assert isinstance(outcome.usage, dict)
        # the whole conversation is checked strictly in test_every_run_leaves_a_valid_conversation
        assert_answered_but_the_last_turn(messages)
    assert messages and isinstance(messages[0], HumanMessage) and messages[0].content == TASK

    # -- within its limits
    assert len(executed) <= opts["max_steps"]
    for name, cap in (opts.get("tool_limits") or {}).items():
        assert sum(r.name == name for r in executed) <= cap
    assert all(r.name in KNOWN for r in executed)
    ended_by_model_error = isinstance(outcome, zyx.ModelError)
    turns_taken = scripted.raised.count(False) + (1 if ended_by_model_error else 0)
    assert turns_taken <= model_call_bound(opts), (turns_taken, opts)
    assert len(model.calls) <= zyx._faults.MODEL_ATTEMPTS * turns_taken
    if not ended_by_model_error:  # transient failures were retried; no permanent one was swallowed
        steps = [scripted.script[i % len(scripted.script)] for i in range(len(scripted.raised))]
        assert all(transient(step[1]) for raised, step in zip(scripted.raised, steps) if raised)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts, target=targets, opts=options)
@example(script=[("turn", [("call", "nope", {}), ("complete", {"summary": "done"})])], target=None,
         opts={"max_steps": 0, "max_retries": 0, "require_completion": True})
def test_every_run_leaves_a_valid_conversation(script: list[tuple[Any, ...]], target: Any,
                                                opts: dict[str, Any]) -> None:
    """Every call the model made is answered: the messages can be sent to a chat API as they are."""
    outcome, _, _ = run_case(script, target, opts)
    assert_valid_history(outcome.messages)
