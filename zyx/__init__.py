"""zyx: an LLM agent carries out a task with tools and proves it finished, on LangGraph."""

from zyx import graph
from zyx._envelope_model import ChatEnvelope
from zyx._options import GraphOptions, MakeOptions, RunOptions
from zyx._process_tool import process_tool
from zyx._version import __version__
from zyx.batch import abatch, batch
from zyx.embed import as_tool
from zyx.errors import (
    ConfigurationError,
    LimitExceededError,
    MaxStepsExceededError,
    ModelError,
    PlanError,
    RunError,
    RunTimeoutError,
    TaskNotCompletedError,
    VerificationError,
    ZyxError,
)
from zyx.make import amake, make
from zyx.result import (
    ContextUse,
    PendingToolCall,
    Result,
    RunCompletion,
    RunContext,
    RunResult,
    RunTask,
    RunVerificationContext,
    ToolCallRecord,
)
from zyx.run import arun, run
from zyx.stream import RunStream
from zyx.usage import Usage

__all__ = [
    "ChatEnvelope",
    "ConfigurationError",
    "ContextUse",
    "GraphOptions",
    "LimitExceededError",
    "MakeOptions",
    "MaxStepsExceededError",
    "ModelError",
    "PendingToolCall",
    "PlanError",
    "Result",
    "RunCompletion",
    "RunContext",
    "RunError",
    "RunOptions",
    "RunResult",
    "RunStream",
    "RunTask",
    "RunTimeoutError",
    "RunVerificationContext",
    "TaskNotCompletedError",
    "ToolCallRecord",
    "Usage",
    "VerificationError",
    "ZyxError",
    "__version__",
    "abatch",
    "amake",
    "as_tool",
    "arun",
    "batch",
    "graph",
    "make",
    "process_tool",
    "run",
]
