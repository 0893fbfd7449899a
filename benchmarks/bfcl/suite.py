"""Run BFCL entries through each library and score them with BFCL's checkers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from benchmarks.bfcl.data import MULTI_TURN, Entry, call_string, check_ast, check_multi_turn
from benchmarks.bfcl.runners import (
    LIBRARIES,
    Turns,
    bfcl_calls,
    converse,
    finish_status,
    make_tools,
    not_executed,
    pydantic_ai_tools,
)

TEXT_KEPT = 1500
"""Characters of a first reply's text kept in a result."""


@dataclass(frozen=True)
class Scored:
    """One entry through one library: BFCL's verdict and what it cost."""

    id: str
    category: str
    library: str
    valid: bool
    error_type: str
    first_calls: int  # BFCL function calls in the scored turn (the first reply acted on, see `run_ast`)
    first_finish: str | None  # the scored turn's finishing call: complete_task's status, "answer" for a peer's tool
    model_calls: int
    prompt_tokens: int
    seconds: float
    error: str | None = None
    first_reply: list[dict[str, Any]] | None = None  # every call of the scored reply, finishing tools too
    first_text: str | None = None  # the scored reply's text (its start), e.g. calls a server's parser did not read
    scored_reply: int = 0  # which reply was scored (0: the first); see `run_ast`
    first_valid: bool | None = None  # BFCL's verdict on the first reply, where a later one was scored


async def run_ast(entry: Entry, library: str, model: BaseChatModel, max_calls: int) -> Scored:
    """The entry's one user turn; BFCL's AST checker scores the first reply the library acted on.

    That is the first reply whose calls of BFCL functions ran; if none ran, the last reply (how the run ended:
    a finishing call or a plain answer). For a library that runs every parseable call it is the first reply;
    a reply a library answered without running its calls (a peer's validation error, zyx's look at invented
    values) is not what it acted on, and the first reply's own verdict is kept beside (`first_valid`).
    The run is stopped after `max_calls` replies; the library's own limit is set above that, so no
    library changes a scored turn because its budget is running out."""
    turns = Turns(stop_after=max_calls, stop_once_acted=True)

    def execute(name: str, args: dict[str, Any]) -> str:
        turns.ran_call()
        return not_executed(name, args)

    conversation = LIBRARIES[library](model, make_tools(entry, execute), pydantic_ai_tools(entry, execute),
                                      max_calls + 4, turns)
    seconds = await converse(conversation, entry.turns[0])
    index = min(turns.acted) if turns.acted else max(len(turns.replies) - 1, 0)
    scored = turns.replies[index] if turns.replies else None
    calls = bfcl_calls(scored) if scored is not None else []
    verdict = check_ast(entry, calls)
    first_valid = None
    if index > 0:
        first_valid = bool(check_ast(entry, bfcl_calls(turns.replies[0]))["valid"])
    return Scored(entry.id, entry.category, library, bool(verdict["valid"]), str(verdict.get("error_type", "")),
                  len(calls), finish_status(scored) if scored is not None else None, turns.calls, turns.prompt,
                  seconds, conversation.errors[0] if conversation.errors else None,
                  [{c["name"]: c["args"]} for c in scored.tool_calls] if scored is not None else None,
                  scored.text[:TEXT_KEPT] if scored is not None else None, index, first_valid)


def live_executor(entry: Entry, library: str) -> tuple[Any, list[list[list[str]]]]:
    """Tools' backend for a multi-turn entry: BFCL's own API classes, loaded with the entry's initial state,
    executing each call as BFCL does; every executed call is recorded under the current user turn."""
    from benchmarks.bfcl.data import install_stand_in

    install_stand_in()
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    instances = f"live_{library}_{uuid.uuid4().hex[:8]}"  # BFCL caches instances by this name
    record: list[list[list[str]]] = []

    def execute(name: str, args: dict[str, Any]) -> str:
        text = call_string(name, args)
        record[-1].append([text])
        results, _ = execute_multi_turn_func_call([text], entry.raw["initial_config"], entry.raw["involved_classes"],
                                                  instances, entry.id)
        return results[0]

    return execute, record


async def run_multi_turn(entry: Entry, library: str, model: BaseChatModel, max_calls: int) -> Scored:
    """Every user turn on one thread (one library run per turn), the calls executed on BFCL's API classes;
    BFCL's multi-turn checker compares the resulting state and outputs with its ground truth's."""
    turns = Turns()
    execute, record = live_executor(entry, library)
    conversation = LIBRARIES[library](model, make_tools(entry, execute), pydantic_ai_tools(entry, execute),
                                      max_calls, turns)
    seconds = 0.0
    for user_turn in entry.turns:
        record.append([])
        seconds += await converse(conversation, user_turn)
    verdict = check_multi_turn(entry, record, library)
    first = turns.replies[0] if turns.replies else None
    return Scored(entry.id, entry.category, library, bool(verdict["valid"]), str(verdict.get("error_type", "")),
                  len(record[0][0]) if record and record[0] else 0, finish_status(first) if first else None,
                  turns.calls, turns.prompt, seconds, conversation.errors[0] if conversation.errors else None,
                  first_text=first.text[:TEXT_KEPT] if first is not None else None)


async def score(entries: list[Entry], libraries: list[str], model: BaseChatModel, max_calls: int,
                multi_turn_calls: int, *, echo: bool = True,
                on_result: Callable[[Scored], None] | None = None) -> list[Scored]:
    """Every (entry, library) once; libraries alternate entry by entry so machine load hits them alike.

    `on_result` gets each result as soon as it is scored (e.g. to log it: a stopped run keeps what it did)."""
    out: list[Scored] = []
    for entry in entries:
        for library in libraries:
            started = time.perf_counter()
            if entry.category == MULTI_TURN:
                scored = await run_multi_turn(entry, library, model, multi_turn_calls)
            else:
                scored = await run_ast(entry, library, model, max_calls)
            out.append(scored)
            if on_result is not None:
                on_result(scored)
            if echo:
                mark = "pass" if scored.valid else f"FAIL {scored.error_type}"
                print(f"{entry.id:24} {library:13} {mark[:60]:60} first={scored.first_calls} "
                      f"finish={scored.first_finish} scored={scored.scored_reply} calls={scored.model_calls} prompt={scored.prompt_tokens} "
                      f"{time.perf_counter() - started:.1f}s {scored.error or ''}"[:240], flush=True)
    return out
