"""The run graph's own LangGraph stream -> zyx's typed run events.

`GraphEvents.run` drives the graph with `astream` (modes messages, values) on the stream's driver
task and emits, in order, the progress events the nodes tell as they happen (handed over through the
run scope's sink, zyx.graph.progress) and the planner's streamed message chunks (raw). `translate` turns a raw
chunk into text and partial-target events when the consumer asks for it, so the live partial values
are only updated while the consumer is not looking at them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamMode

from zyx._durable import DURABILITY
from zyx._outcome import outcome
from zyx._prompts import COMPLETE_TASK, FINAL_RESULT
from zyx._scope import RunScope
from zyx.events import ModelTurnStarted, PartialOutput, RunEvent, RunFinished, TextDelta
from zyx.graph.answer import wrapped
from zyx.graph.spec import RunSpec
from zyx.stream._results import ResultPartials, chunk_events

STREAM_MODES: list[StreamMode] = ["messages", "values"]
"""The nodes' progress events come from the run scope's sink (zyx.graph.progress), not the custom mode."""
_NONE: tuple[RunEvent, ...] = ()


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
        self._streamed: Any = None  # id of the message whose chunks were translated last

    async def run(self, emit: Callable[[Any], None]) -> None:
        """Drive the graph, emitting events and planner chunks; end with `RunFinished` or raise the run's error."""
        state: dict[str, Any] = {}
        durable = getattr(self.graph, "checkpointer", None) not in (None, False)  # as run() does, unstreamed
        part: Any
        self.scope.sink = emit  # the nodes' events, as they tell them
        async for part in self.graph.astream(self.run_input, self.scope.bind(self.config), context=self.deps,
                                             stream_mode=STREAM_MODES, durability=DURABILITY if durable else None):
            mode, payload = part
            if mode == "messages":
                message, metadata = payload
                if isinstance(message, AIMessage) and metadata.get("langgraph_node") == "planner":
                    emit(message)
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
