"""Bad arguments raise ConfigurationError naming the argument, before any model call."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
from helpers import scripted
from langchain_core.tools import tool

import zyx
from zyx import ConfigurationError
from zyx.testing import ScriptedChatModel, complete


def get_weather(city: str) -> str:
    """Weather for a city."""
    return "sunny"


@tool("get_weather")
def get_weather_lc(city: str) -> str:
    """Weather for a city (LangChain tool with the same name)."""
    return "rainy"


def complete_task(summary: str) -> str:
    """A user tool that steals the reserved name."""
    return summary


def no_args_check() -> bool:
    return True


def three_args_check(completion: Any, ctx: Any, extra: Any) -> bool:
    return True


def optional_third_check(completion: Any, ctx: Any, extra: Any = None) -> bool:
    return True


@dataclasses.dataclass
class Point:
    x: int


def _fails(argument: str, **kwargs: Any) -> ConfigurationError:
    """Run with these arguments; assert a ConfigurationError for `argument` and no model call."""
    model = kwargs.pop("model", None) or scripted(complete())
    kwargs.setdefault("task", "do it")
    with pytest.raises(ConfigurationError) as info:
        zyx.run(model=model, **kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.argument == argument
    assert str(err).startswith(f"{argument}:")
    if isinstance(model, ScriptedChatModel):
        assert model.calls == []
    return err


# -- target ----------------------------------------------------------------------------


def test_target_instance_is_rejected() -> None:
    err = _fails("target", target=object())
    assert "type" in str(err)


def test_target_unhashable_instance_is_rejected() -> None:
    _fails("target", target=Point(1))


def test_target_lambda_is_rejected() -> None:
    _fails("target", target=lambda x: x)


# -- tools -----------------------------------------------------------------------------


@pytest.mark.parametrize("tools", [get_weather, "get_weather", {"get_weather": get_weather}],
                         ids=["bare-function", "string", "dict"])
def test_tools_not_a_list(tools: Any) -> None:
    _fails("tools", tools=tools)


def test_lambda_tool_is_rejected() -> None:
    err = _fails("tools", tools=[lambda city: city])
    assert "name" in str(err)


def test_non_callable_tool_is_rejected() -> None:
    _fails("tools", tools=[42])


def test_class_tool_is_rejected() -> None:
    _fails("tools", tools=[Point])


def test_duplicate_tool_names_are_rejected() -> None:
    err = _fails("tools", tools=[get_weather, get_weather_lc])
    assert "get_weather" in str(err)


def test_reserved_tool_name_is_rejected() -> None:
    err = _fails("tools", tools=[complete_task])
    assert "complete_task" in str(err) and "reserved" in str(err)


# -- limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, True, 2.5, "3"], ids=["negative", "bool", "float", "str"])
def test_bad_max_steps(value: Any) -> None:
    _fails("max_steps", max_steps=value)


@pytest.mark.parametrize("value", [-1, False, None, 1.0], ids=["negative", "bool", "none", "float"])
def test_bad_max_retries(value: Any) -> None:
    _fails("max_retries", max_retries=value)


def test_planning_interval_without_plan() -> None:
    _fails("planning_interval", planning_interval=2)


@pytest.mark.parametrize("value", [0, -1])
def test_bad_planning_interval(value: int) -> None:
    _fails("planning_interval", planning_interval=value, plan=True)


@pytest.mark.parametrize("flag", ["require_completion", "plan"])
def test_flags_must_be_bool(flag: str) -> None:
    _fails(flag, **{flag: "yes"})


# -- verifier and checks ---------------------------------------------------------------


def test_verifier_not_callable() -> None:
    _fails("verifier", verifier="must be correct")


def test_verifier_taking_no_arguments() -> None:
    _fails("verifier", verifier=no_args_check)


def test_check_taking_no_arguments() -> None:
    err = _fails("final_answer_checks", final_answer_checks=[no_args_check])
    assert "no_args_check" in str(err)


def test_check_taking_three_required_arguments() -> None:
    _fails("final_answer_checks", final_answer_checks=[three_args_check])


def test_verifier_taking_three_required_arguments() -> None:
    _fails("verifier", verifier=three_args_check)


def test_check_with_optional_third_argument_is_fine() -> None:
    model = scripted(complete())
    result = zyx.run("x", model=model, final_answer_checks=[optional_third_check])
    assert result.verified is True


def test_final_answer_checks_not_a_list() -> None:
    _fails("final_answer_checks", final_answer_checks=no_args_check)


def test_final_answer_check_not_callable() -> None:
    _fails("final_answer_checks", final_answer_checks=["be nice"])


# -- model -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [42, object(), ["openai:gpt-4o-mini"]], ids=["int", "object", "list"])
def test_model_of_wrong_type(model: Any) -> None:
    _fails("model", model=model)


@pytest.mark.parametrize("model", ["gpt-4o-mini", ":gpt-4o", "openai:"])
def test_model_string_without_provider_or_name(model: str) -> None:
    err = _fails("model", model=model)
    assert "provider:name" in str(err)


def test_openai_without_key_names_the_variable() -> None:
    err = _fails("model", model="openai:gpt-4o-mini")
    assert "OPENAI_API_KEY" in str(err)


def test_unknown_provider_names_what_to_install() -> None:
    err = _fails("model", model="anthropic:claude-sonnet-4-5")
    assert "langchain-anthropic" in str(err)
    assert "install" in str(err)


def test_provider_without_langchain_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)  # import fails as if not installed
    err = _fails("model", model="mistralai:mistral-large")
    assert "zyx[providers]" in str(err)
    assert "langchain-mistralai" in str(err)


def test_nonexistent_provider() -> None:
    err = _fails("model", model="nosuchprovider:some-model")
    assert "nosuchprovider" in str(err)


# -- task, context and options ---------------------------------------------------------


@pytest.mark.parametrize("task", ["", "   ", [], [""]], ids=["empty", "blank", "empty-list", "list-of-empty"])
def test_empty_task(task: Any) -> None:
    _fails("task", task=task)


@pytest.mark.parametrize("task", [42, 3.5, object(), [42]], ids=["int", "float", "object", "list-of-int"])
def test_task_of_wrong_type(task: Any) -> None:
    _fails("task", task=task)


def test_task_dict_that_is_not_a_message() -> None:
    _fails("task", task={"role": "wizard", "content": "hello"})


@pytest.mark.parametrize("context", [42, object(), [None]], ids=["int", "object", "list-of-none"])
def test_context_of_wrong_type(context: Any) -> None:
    _fails("context", context=context)


def test_instructions_of_wrong_type() -> None:
    _fails("instructions", instructions=5)
    _fails("instructions", instructions=["be nice", 5])


def test_unknown_option() -> None:
    err = _fails("temperature", temperature=0.2)
    assert "unexpected keyword" in str(err)


def test_unknown_option_misspelt() -> None:
    _fails("max_step", max_step=3)


async def test_arun_stream_without_target() -> None:
    model = scripted(complete())
    with pytest.raises(ConfigurationError) as info:
        await zyx.arun("x", model=model, stream=True)
    assert info.value.argument == "stream" and "target" in str(info.value)
    assert model.calls == []


async def test_arun_stream_with_plan() -> None:
    model = scripted(complete())
    with pytest.raises(ConfigurationError) as info:
        await zyx.arun("x", target=int, model=model, stream=True, plan=True)
    assert info.value.argument == "stream" and "plan" in str(info.value)
    assert model.calls == []


def test_stream_without_target() -> None:
    err = _fails("stream", stream=True)
    assert "target" in str(err)


def test_stream_with_plan() -> None:
    err = _fails("stream", stream=True, target=int, plan=True)
    assert "plan" in str(err)


def test_config_of_wrong_type() -> None:
    _fails("config", config="fast")


async def test_arun_checks_arguments_too() -> None:
    model = scripted(complete())
    with pytest.raises(ConfigurationError) as info:
        await zyx.arun("x", model=model, max_steps=-3)
    assert info.value.argument == "max_steps"
    assert model.calls == []


def test_make_checks_arguments_too() -> None:
    model = scripted(complete())
    with pytest.raises(ConfigurationError) as info:
        zyx.make(object(), "x", model=model)
    assert info.value.argument == "target"
    with pytest.raises(ConfigurationError) as info:
        zyx.make(int, "x", model=model, max_retries=-1)
    assert info.value.argument == "max_retries"
    with pytest.raises(ConfigurationError) as info:
        zyx.make(int, "x", model="gpt-4o")
    assert info.value.argument == "model"
    assert model.calls == []


def test_build_run_graph_checks_arguments() -> None:
    model = scripted(complete())
    with pytest.raises(ConfigurationError) as info:
        zyx.graph.build_run_graph(model=model, tools=[get_weather, get_weather_lc])
    assert info.value.argument == "tools"
    assert model.calls == []


# -- tool signatures a model cannot call (issue 15, item 15) -------------------------------------

def _star_args(*values: int) -> int:
    """Sum."""
    return sum(values)


def _star_kwargs(**options: str) -> str:
    """Options."""
    return str(options)


def _positional_only(a: int, /, b: int) -> int:
    """Add."""
    return a + b


async def _async_generator(n: int) -> Any:
    """Count."""
    for i in range(n):
        yield i


def _generator(n: int) -> Any:
    """Count."""
    yield from range(n)


@pytest.mark.parametrize(("tool", "what"), [
    (_star_args, r"\*values"), (_star_kwargs, r"\*\*options"), (_positional_only, "positional-only"),
    (_async_generator, "async generator"), (_generator, "generator"),
    (functools.partial(_star_kwargs, mode="x"), r"\*\*options"),
])
def test_a_tool_the_model_cannot_call_is_refused(tool: Any, what: str) -> None:
    model = ScriptedChatModel(responses=[])
    with pytest.raises(zyx.ConfigurationError, match=what) as caught:
        zyx.run("x", tools=[tool], model=model)
    assert caught.value.argument == "tools" and model.calls == []


def test_a_bad_tools_argument_is_refused_before_the_model_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    from zyx.graph import _cache

    resolved: list[Any] = []
    monkeypatch.setattr(_cache, "resolve_model", lambda model: resolved.append(model))
    with pytest.raises(zyx.ConfigurationError, match="tools"):
        zyx.run("x", tools=[_star_args])  # no model: the default (local) one must not be booted for this
    with pytest.raises(zyx.ConfigurationError, match="tools"):
        zyx.run("x", tools="not a list")  # type: ignore[arg-type]
    assert resolved == []
