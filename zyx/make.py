"""`make()` / `amake()`: one value of a target, validated, on the run graph's own agent loop.

make() runs the same compiled graph as `run()` (zyx.graph), with make()'s answer contract
(zyx.graph.answer): the model answers through a `final_result` tool with the target's own
schema (for a `str` target, in plain text), invalid answers are sent back up to `max_retries`
times, and any tools run as a run's do: the same execution, limits, timeouts and prompt fitting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from langchain_core.messages import HumanMessage
from typing_extensions import Unpack

from zyx import _prompts
from zyx._aio import in_running_loop, run_sync
from zyx._inputs import check_model_takes, with_attachments
from zyx._messages import MessageLike, to_messages
from zyx._option_rules import check_pauses, check_stream
from zyx._options import GRAPH_OPTIONS, MAKE_OPTIONS, CallOptions, MakeOptions, check_keywords, checked
from zyx._outcome import invoke_graph, stream_graph
from zyx._target import make_target
from zyx.graph._cache import cached_run_graph
from zyx.result import Result

if TYPE_CHECKING:
    from zyx.stream import RunStream

T = TypeVar("T")


@overload
async def amake(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                stream: Literal[False] = False, **options: Unpack[MakeOptions]) -> Result[T]: ...
@overload
async def amake(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                stream: Literal[True], **options: Unpack[MakeOptions]) -> RunStream[T]: ...
async def amake(target: Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                stream: bool = False, **options: Unpack[MakeOptions]) -> Any:
    """Generate one value of `target` (structured generation; tools, if given, run in the run graph's loop).

    Args:
        target: The type to produce (anything pydantic validates); `str` (or None) for plain text.
        context: What to generate from: a string, message, OpenAI-style dict, or a list; None
            asks for "Generate a <target name>.".
        stream: Return a `RunStream` of partial values instead of waiting; `VerificationError`,
            `MaxStepsExceededError` and `ModelError` are then raised while it is consumed.
        **options: The options of `MakeOptions` (docs/run.md#make): the model's (model, instructions,
            tools, max_retries: invalid answers sent back for another try, ...), the input's (deps,
            source, attachments) and the tool loop's limits, which mean what they mean in `run()`
            (max_steps, max_model_calls, tool_limits, max_tokens_total, usage_limits, timeout,
            tool_timeout).

    Returns:
        A `Result` with the validated `output`; with `stream=True`, a `RunStream`.

    Raises:
        ConfigurationError: An argument is invalid, or an approval option is given (make() cannot
            pause for a human); raised before the model is called.
        VerificationError: No valid value after `max_retries` retries.
        MaxStepsExceededError: The tool calls reached `max_steps` (default 50) and the wrap-up turn
            gave no valid answer; `LimitExceededError` / `RunTimeoutError` likewise for the other
            limits.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
    """
    check_pauses(options, durable=False, make=True)  # approve= and co.: refused with the reason, not as unknown
    check_keywords(options, MAKE_OPTIONS, "amake")
    target = str if target is None else target
    make_target(target)  # a bad target is named before anything else is looked at
    check_stream(stream, str, False)
    given = checked(options, CallOptions)
    graph_options = {name: value for name, value in options.items() if name in GRAPH_OPTIONS}
    spec, graph = cached_run_graph({**graph_options, "coach": False, "target": target}, make=True)
    assert spec.target is not None
    messages = to_messages(context, "context") or [HumanMessage(_prompts.MAKE_DEFAULT_PROMPT.format(name=spec.target.name))]
    check_model_takes(spec.model, given["attachments"])
    messages = with_attachments(messages, given["attachments"])
    goal = "\n".join(m.text for m in messages if isinstance(m, HumanMessage))
    run_input = {"messages": messages, "task": goal, "source": given["source"]}
    source = (given["source"], options.get("source"))  # (JSON form, as given: for instructions' ctx.source)
    if stream:
        return stream_graph(graph, spec, run_input, None, deps=given["deps"], source=source)
    return await invoke_graph(graph, spec, run_input, None, deps=given["deps"], source=source, durable=False)


@overload
def make(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         stream: Literal[False] = False, **options: Unpack[MakeOptions]) -> Result[T]: ...
@overload
def make(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         stream: Literal[True], **options: Unpack[MakeOptions]) -> RunStream[T]: ...
def make(target: Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         stream: bool = False, **options: Unpack[MakeOptions]) -> Any:
    """Blocking `amake()`: same arguments, same result. Inside a running event loop, `await amake(...)`.

    Args:
        target: The type to produce (anything pydantic validates); `str` (or None) for plain text.
        context: What to generate from: a string, message, OpenAI-style dict, or a list; None
            asks for "Generate a <target name>.".
        stream: Return a `RunStream` of partial values, to iterate synchronously, instead of
            waiting; `VerificationError`, `MaxStepsExceededError` and `ModelError` are then
            raised while it is consumed.
        **options: The options of `MakeOptions`, as for `amake()`.

    Returns:
        A `Result` with the validated `output`; with `stream=True`, a `RunStream`.

    Raises:
        RuntimeError: Called inside a running event loop.
        ConfigurationError: An argument is invalid, or an approval option is given (make() cannot
            pause for a human); raised before the model is called.
        VerificationError: No valid value after `max_retries` retries.
        MaxStepsExceededError: The tool calls reached `max_steps` (default 50) and the wrap-up turn
            gave no valid answer; `LimitExceededError` / `RunTimeoutError` likewise for the other
            limits.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
    """
    if in_running_loop():
        raise RuntimeError("zyx.make() cannot be called inside a running event loop; use `await zyx.amake(...)`")
    if stream:  # `stream` is forwarded as is (amake checks it), typed Literal[True] / Literal[False] per branch
        from zyx.stream._run_stream import sync_stream

        return sync_stream(amake(target, context, stream=stream, **options))
    return run_sync(amake(target, context, stream=stream, **options))
