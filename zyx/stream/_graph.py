"""The run graph's own LangGraph stream -> zyx's typed run events.

`GraphEvents.run` drives the graph with `astream` (modes messages, tasks, values, custom) on the
stream's driver task and emits, in order, progress events (ready-made) and the planner's
streamed message chunks (raw). `translate` turns a raw chunk into text and partial-target
events when the consumer asks for it, so the live partial values are only updated while the
consumer is not looking at them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamMode

from zyx._durable import DURABILITY
from zyx._outcome import outcome
from zyx._prompts import COMPLETE_TASK, FINAL_RESULT
from zyx._scope import RunScope
from zyx.events import (
    CompletionRejected,
    ContextFitted,
    ModelTurnStarted,
    PartialOutput,
    RunEvent,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Verified,
)
from zyx.graph.answer import wrapped
from zyx.graph.spec import RunSpec
from zyx.graph.state import is_unparsed, last_ai_message, split_calls
from zyx.stream._results import ResultPartials, chunk_events

STREAM_MODES: list[StreamMode] = ["messages", "tasks", "values", "custom"]
_NONE: tuple[RunEvent, ...] = ()


def _tool_messages(update: dict[str, Any]) -> dict[str, ToolMessage]:
    messages = update.get("messages") or []
    return {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}


class GraphEvents:
    """One streamed run of the run graph, as an event source for `RunStream`."""

    def __init__(self, graph: CompiledStateGraph[Any, Any, Any, Any], spec: RunSpec, run_input: Any,
                 config: RunnableConfig | None, *, deps: Any = None, scope: RunScope | None = None) -> None:
        """`run_input`: a new run's input, None to resume the thread's run, or a `Command`; `deps` is the
        run's LangGraph runtime context, `scope` holds its Python values (the source as given)."""
        self.graph, self.spec, self.run_input, self.config = graph, spec, run_input, config
        self.deps, self.scope = deps, scope if scope is not None else RunScope()
        self.partials = _partials(spec)
        self.plain = spec.make and self.partials is None  # make() of a `str`: the reply's text is the answer
        self._text = ""
        self._turns = 0
        self._running: list[tuple[str, str]] = []  # started tool calls not yet finished: (id, name), in order
        self._streamed: Any = None  # id of the message whose chunks were translated last

    async def run(self, emit: Callable[[Any], None]) -> None:
        """Drive the graph, emitting events and planner chunks; end with `RunFinished` or raise the run's error."""
        state: dict[str, Any] = {}
        durable = getattr(self.graph, "checkpointer", None) not in (None, False)  # as run() does, unstreamed
        part: Any
        async for part in self.graph.astream(self.run_input, self.scope.bind(self.config), context=self.deps,
                                             stream_mode=STREAM_MODES, durability=DURABILITY if durable else None):
            mode, payload = part
            if mode == "messages":
                message, metadata = payload
                if isinstance(message, AIMessage) and metadata.get("langgraph_node") == "planner":
                    emit(message)
            elif mode == "custom":
                if isinstance(payload, ContextFitted):  # told by the planner; a tool's own writes are not ours
                    emit(payload)
            elif mode == "tasks":
                for event in self._task_finished(payload) if "result" in payload else self._task_started(payload):
                    emit(event)
            else:
                state = payload
        emit(RunFinished(outcome(state, self.spec, self.scope, durable=durable)))

    def translate(self, item: Any) -> Sequence[RunEvent]:
        """The events of one emitted item: a planner chunk becomes text and partial-target events."""
        if type(item) is AIMessageChunk:  # the common case first: no ABC isinstance per chunk
            self._streamed = item.id
        elif not isinstance(item, AIMessage):
            if self.plain and type(item) is ModelTurnStarted:
                self._text = ""  # a `str` answer restarts with each reply
            return (item,)
        elif item.id == self._streamed:
            return _NONE  # the whole message after its chunks: already seen
        if self.plain:
            return self._text_events(item)
        return chunk_events(item, self.partials)

    def _text_events(self, item: AIMessage) -> Sequence[RunEvent]:
        """make() of a `str`: each chunk's text, and the answer so far as the partial value."""
        content = item.content
        text = content if type(content) is str else item.text
        if not text:
            return _NONE
        self._text += text
        return (TextDelta(text), PartialOutput(self._text))

    def _task_started(self, task: dict[str, Any]) -> list[RunEvent]:
        if task["name"] == "planner":
            self._turns += 1
            return [ModelTurnStarted(turn=self._turns)]
        if task["name"] == "tool_executor":
            calls, _ = split_calls(last_ai_message(task["input"].get("messages", [])), self.spec.contract.tool)
            self._running.extend((c["id"] or "", c["name"]) for c in calls)
            return [ToolCallStarted(id=c["id"] or "", name=c["name"], args=c["args"]) for c in calls]
        return []

    def _task_finished(self, task: dict[str, Any]) -> list[RunEvent]:
        update = task.get("result") or {}
        if task["name"] == "tool_executor":
            return self._tools_finished(update)
        if task["name"] in ("completion", "verifier"):
            if update.get("verified"):
                return [Verified()]
            if update.get("verification_error") and update.get("completion", 1) is None:
                return [CompletionRejected(reason=update["verification_error"])]
        return []

    def _tools_finished(self, update: dict[str, Any]) -> list[RunEvent]:
        """A finished event per started call: with its duration if it ran, else with the error the model saw."""
        events: list[RunEvent] = []
        log = update.get("tool_calls")
        if isinstance(log, list) and self._running:
            # the calls that ran were appended to the log, after those of earlier turns (or runs of the thread)
            for entry in log[max(0, len(log) - len(self._running)):]:
                started = (entry["id"] or "", entry["name"])
                if started in self._running:  # ids may repeat: each entry finishes one started call
                    self._running.remove(started)
                    events.append(ToolCallFinished(id=entry["id"], name=entry["name"], duration=entry["duration"],
                                                   error=entry["error"]))
        answers = _tool_messages(update)
        for call_id, name in self._running:
            answer = answers.get(call_id)
            events.append(ToolCallFinished(id=call_id, name=name, duration=0.0,
                                           error=answer.text if answer is not None else None))
        self._running.clear()
        if is_unparsed(update.get("rejected_completion")):  # complete_task arguments that were not JSON
            reason = next((m.text for m in answers.values() if m.name == COMPLETE_TASK), "invalid arguments")
            events.append(CompletionRejected(reason=reason))
        return events


def _partials(spec: RunSpec) -> ResultPartials | None:
    """What follows the answer tool's streamed arguments: `complete_task`'s `result`, or make()'s `final_result`
    (the whole arguments for an object target); None without a target, or for make()'s `str` (plain text)."""
    if spec.target is None or spec.completion_schema is None:
        return None
    if not spec.make:
        return ResultPartials(spec.target, COMPLETE_TASK)
    return ResultPartials(spec.target, FINAL_RESULT, "result" if wrapped(spec.target) else None)


def graph_events(graph: CompiledStateGraph[Any, Any, Any, Any], spec: RunSpec, run_input: Any,
                 config: RunnableConfig | None, *, deps: Any = None, scope: RunScope | None = None) -> GraphEvents:
    """The event source of a streamed run (see `GraphEvents`)."""
    return GraphEvents(graph, spec, run_input, config, deps=deps, scope=scope)
