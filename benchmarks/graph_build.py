"""Section 5: what building the run graph costs, next to the cached lookup every `run()` does."""

from __future__ import annotations

from typing import Any

from benchmarks._harness import Config, Section, time_sync
from benchmarks._task import TOOLS, Report, zyx_policy
from zyx.graph import build_run_graph, compile_run_graph
from zyx.graph._cache import cached_run_graph
from zyx.graph.spec import build_spec
from zyx.testing import ScriptedChatModel


async def measure(cfg: Config, run_ms: float | None = None) -> tuple[Section, dict[str, Any]]:
    model = ScriptedChatModel(policy=zyx_policy())
    options: dict[str, Any] = {"model": model, "tools": TOOLS, "target": Report}
    spec = build_spec(**options)
    def timed(fn: Any, n: int = cfg.build_n) -> Any:
        return time_sync(fn, n=n, reps=cfg.build_reps, collect=cfg.collect)

    rows = {
        "build_run_graph(...) (spec + compile)": timed(lambda: build_run_graph(**options)),
        "  of which build_spec(...)": timed(lambda: build_spec(**options)),
        "  of which compile_run_graph(spec)": timed(lambda: compile_run_graph(spec)),
        "cached_run_graph(...) hit (what each run() pays)": timed(lambda: cached_run_graph(options), cfg.cache_hit_n),
    }
    section = Section("5. Graph build vs cached run()", ("operation", "ms (min–max)", "× one zyx run"))
    for name, stats in rows.items():
        digits = 4 if stats.median < 0.1 else 2
        times = f"{stats.median / run_ms:.2f}" if run_ms else "–"
        section.rows.append((name, stats.fmt(digits), times))
    section.notes.append(
        f"{cfg.build_reps} reps of {cfg.build_n} builds ({cfg.cache_hit_n} cache hits); same model, 3 tools and "
        f"target as section 1" + (f", where one zyx run takes {run_ms:.2f} ms." if run_ms else "."))
    return section, {name: s.median for name, s in rows.items()}
