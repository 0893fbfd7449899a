"""The BFCL benchmark (`python -m benchmarks.bfcl`) end to end on a scripted model: 3 entries, every library.

The scripted model answers each entry with BFCL's own ground truth (simple, parallel) or declines
(irrelevance), so BFCL's checkers must pass every run; a model that answers wrongly must fail them.
What is tested is the harness: BFCL's data and checkers loaded without their dependencies, the
tools made from BFCL's function docs, the first-turn capture, and the RESULTS.md section.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from zyx.testing import ScriptedChatModel, call, calls, complete

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bfcl import data  # noqa: E402

pytestmark = pytest.mark.skipif(not data.available(), reason=f"bfcl-eval is not installed: {data.INSTALL_HINT}")

LIBRARIES = ["zyx", "create_agent", "pydantic_ai"]


def entries() -> list[data.Entry]:
    return [data.load(category, 1, 0)[0] for category in ("simple_python", "parallel", "irrelevance")]


def first_values(answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BFCL's ground truth as calls: each parameter's first accepted value ("" marks an optional one)."""
    out = []
    for item in answer:
        (name, params), = item.items()
        out.append(call(data.tool_name(name), **{k: v[0] for k, v in params.items() if v and v[0] != ""}))
    return out


def wrong_value(value: Any) -> Any:
    """A wrong value of the same type, so the call still runs (a value of the wrong type is refused before)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1000
    if isinstance(value, list):
        return [wrong_value(v) for v in value]
    return "wrong"


def policy_for(answers: dict[str, list[dict[str, Any]]], *, wrong: bool = False) -> Any:
    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        bound = [t["function"]["name"] for t in tools]
        question = next(m.text for m in messages if isinstance(m, HumanMessage))
        answer = answers[question]
        if answer and not any(isinstance(m, ToolMessage) for m in messages):
            made = first_values(answer)
            if wrong:
                made = made[:1]  # one call where BFCL wants all of them (or a wrong count)
                made[0]["args"] = {k: wrong_value(v) for k, v in made[0]["args"].items()}
            return calls(*made)
        if "complete_task" in bound:
            return complete("No tool fits this request.", status="failed") if not answer else complete("Done.")
        finisher = next(n for n in bound if n in ("FinalAnswer", "final_result"))
        return call(finisher, answer="I cannot do this with these tools.")
    return policy


def test_three_entries_pass_on_every_library() -> None:
    from benchmarks.bfcl.suite import score

    picked = entries()
    answers = {e.turns[0][-1]["content"]: e.answer for e in picked}
    results = asyncio.run(score(picked, LIBRARIES, ScriptedChatModel(policy=policy_for(answers)), 2, 4, echo=False))
    assert [(r.id, r.library) for r in results] == [(e.id, lib) for e in picked for lib in LIBRARIES]
    assert all(r.valid for r in results), [r for r in results if not r.valid]
    assert all(r.model_calls >= 1 for r in results)
    zyx_irrelevance = next(r for r in results if r.library == "zyx" and r.category == "irrelevance")
    assert zyx_irrelevance.first_finish == "failed" and zyx_irrelevance.first_calls == 0


def test_wrong_calls_fail_bfcls_checker() -> None:
    from benchmarks.bfcl.suite import score

    picked = entries()[:2]
    answers = {e.turns[0][-1]["content"]: e.answer for e in picked}
    results = asyncio.run(score(picked, ["zyx"], ScriptedChatModel(policy=policy_for(answers, wrong=True)), 2, 4,
                                echo=False))
    assert [r.valid for r in results] == [False, False]
    assert results[1].error_type.endswith("wrong_count")
    assert [r.scored_reply for r in results] == [0, 0]  # the calls ran: the first reply is the one acted on


def test_a_reply_whose_calls_did_not_run_is_not_the_scored_one() -> None:
    """A call refused before it ran (here one without its required arguments, which zyx's argument check refuses;
    `create_agent` runs it, as its tools take BFCL's JSON schemas unchecked) is not what the library acted on: the
    next reply is scored, and the first reply's verdict is kept beside."""
    from benchmarks.bfcl.suite import score

    picked = entries()[:1]
    (answer,) = [e.answer for e in picked]
    right = first_values(answer)

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        answered = [m for m in messages if isinstance(m, ToolMessage)]
        if not answered:
            return calls({**right[0], "args": {}})  # its required arguments left out
        if len(answered) == 1:
            return calls(*right)
        bound = [t["function"]["name"] for t in tools]
        finisher = next(n for n in bound if n in ("complete_task", "FinalAnswer", "final_result"))
        return complete("Done.") if finisher == "complete_task" else call(finisher, answer="done")

    zyx, peer = asyncio.run(score(picked, ["zyx", "create_agent"], ScriptedChatModel(policy=policy), 4, 4, echo=False))
    assert (zyx.valid, zyx.scored_reply, zyx.first_valid) == (True, 1, False), zyx
    assert (peer.valid, peer.scored_reply, peer.first_valid) == (False, 0, None), peer


def test_section_is_written_and_other_sections_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bfcl import __main__ as cli
    from benchmarks.bfcl.report import MARKERS

    picked = entries()
    answers = {e.turns[0][-1]["content"]: e.answer for e in picked}
    monkeypatch.setattr("zyx._models.resolve_model", lambda spec: ScriptedChatModel(policy=policy_for(answers)))
    out = tmp_path / "RESULTS.md"
    out.write_text("# results\n\n<!-- tasks:start -->\nkept\n<!-- tasks:end -->\n", encoding="utf-8")
    assert cli.main(["--model", "scripted", "--sample", "1", "--categories", "simple_python,parallel,irrelevance",
                     "--libraries", "zyx,create_agent", "--max-calls", "2", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "kept" in text and MARKERS[0] in text and MARKERS[1] in text
    assert "| simple_python | 1/1 (100%) | 1/1 (100%) |" in text
    assert "| irrelevance | 1/1 (100%) | 1/1 (100%) |" in text


def parse_call(text: str) -> tuple[str, dict[str, Any]]:
    """A BFCL ground-truth call string (keyword arguments only) as (name, args)."""
    import ast

    node = ast.parse(text, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
    return node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}


def test_multi_turn_replays_ground_truth_through_bfcl_state_checker() -> None:
    """Each user turn on one thread, the calls executed on BFCL's API classes: the ground truth must pass."""
    from benchmarks.bfcl.suite import score

    entry = next(e for e in data.load(data.MULTI_TURN, None, 0)
                 if all("(" in c and not c.split("(", 1)[1].startswith("'") and "=" in c or c.endswith("()")
                        for turn in e.answer for c in turn) and len(e.turns) <= 3)
    by_question = {turn[-1]["content"]: [parse_call(c) for c in truth] for turn, truth in zip(entry.turns, entry.answer)}

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        bound = [t["function"]["name"] for t in tools]
        question = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage) and m.text in by_question)
        since = messages[max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage) and m.text == question):]
        done = sum(1 for m in since if isinstance(m, ToolMessage))
        todo = by_question[question][done:]
        if todo:
            name, args = todo[0]
            return call(name, **args)
        if "complete_task" in bound:
            return complete("Done.")
        return call(next(n for n in bound if n in ("FinalAnswer", "final_result")), answer="Done.")

    results = asyncio.run(score([entry], ["zyx", "create_agent"], ScriptedChatModel(policy=policy), 2, 12, echo=False))
    assert all(r.valid for r in results), results
    assert all(r.model_calls == sum(len(t) for t in entry.answer) + len(entry.turns) for r in results)


def test_a_report_joins_logs_of_separate_runs(tmp_path: Path) -> None:
    import dataclasses
    import json

    from benchmarks.bfcl import __main__ as cli
    from benchmarks.bfcl.suite import Scored

    def scored(library: str, valid: bool) -> Scored:
        return Scored("simple_python_1", "simple_python", library, valid, "", 1, None, 1, 100, 1.0)

    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(json.dumps(dataclasses.asdict(scored("zyx", False))) + "\n"
                   + json.dumps(dataclasses.asdict(scored("create_agent", True))) + "\n", encoding="utf-8")
    new.write_text(json.dumps(dataclasses.asdict(scored("zyx", True))) + "\n", encoding="utf-8")
    out = tmp_path / "RESULTS.md"
    assert cli.main(["--categories", "simple_python", "--from-log", str(old), "--from-log", str(new),
                     "--out", str(out)]) == 0
    assert "| simple_python | 1/1 (100%) | 1/1 (100%) |" in out.read_text(encoding="utf-8")


def test_the_paired_comparison_counts_entries_only_one_library_passed() -> None:
    from benchmarks.bfcl.report import mcnemar, paired
    from benchmarks.bfcl.suite import Scored

    def scored(entry: str, library: str, valid: bool) -> Scored:
        return Scored(entry, "simple_python", library, valid, "", 1, None, 1, 10, 0.1)

    results = [scored(f"e{i}", "zyx", i == 0) for i in range(8)] + [scored(f"e{i}", "peer", i > 0) for i in range(8)]
    assert paired(results, ["simple_python"], ["zyx", "peer"]) == (
        "- zyx vs peer, entries only one passed: simple_python 1 vs 7 (p=0.07)")
    assert mcnemar(0, 0) == 1.0 and abs(mcnemar(1, 6) - 0.125) < 1e-9 and mcnemar(0, 10) < 0.01


def test_each_result_is_logged_as_it_is_scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from benchmarks.bfcl import __main__ as cli
    from benchmarks.bfcl import suite

    picked = entries()[:2]
    answers = {e.turns[0][-1]["content"]: e.answer for e in picked}
    monkeypatch.setattr("zyx._models.resolve_model", lambda spec: ScriptedChatModel(policy=policy_for(answers)))
    log = tmp_path / "run.jsonl"
    seen: list[int] = []
    real_score = suite.score

    async def watched(*args: Any, on_result: Any = None, **kwargs: Any) -> Any:
        def spy(result: Any) -> None:
            on_result(result)
            seen.append(len(log.read_text(encoding="utf-8").splitlines()))  # already on disk, not at the end
        return await real_score(*args, on_result=spy, **kwargs)

    monkeypatch.setattr(cli, "score", watched)
    assert cli.main(["--sample", "1", "--categories", "simple_python,parallel", "--libraries", "zyx",
                     "--max-calls", "2", "--no-write", "--log", str(log)]) == 0
    assert seen == [1, 2]
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["category"] for r in records] == ["simple_python", "parallel"] and all(r["valid"] for r in records)


def test_native_peer_is_registered_and_needs_a_local_model() -> None:
    """`create_agent_native` serves a zyx local model's GGUF; any other model is refused with a clear error."""
    from benchmarks.bfcl.runners import LIBRARIES, Turns

    assert "create_agent_native" in LIBRARIES  # what `--libraries` accepts
    with pytest.raises(ValueError, match="--model local"):
        LIBRARIES["create_agent_native"](ScriptedChatModel(responses=[]), [], [], 2, Turns())


def test_native_server_differs_from_zyx_local_server_only_by_its_template() -> None:
    """Same context, threads, sampling and seed as zyx's local server; llama.cpp's native tool template on."""
    pytest.importorskip("xllamacpp")
    from benchmarks.bfcl.native import NativeToolServer
    from zyx._local import LocalServer

    def settings(params: Any) -> tuple[Any, ...]:
        return (params.model.path, params.n_ctx, params.n_predict, params.n_parallel, params.cpuparams.n_threads,
                params.sampling.temp, params.sampling.seed, params.sampling.penalty_repeat)

    ours, native = LocalServer(Path("m.gguf")).params(), NativeToolServer(Path("m.gguf")).params()
    assert settings(ours) == settings(native)
    assert native.use_jinja is True
