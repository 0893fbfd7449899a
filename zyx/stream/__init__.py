"""Streaming: a run's partial targets, text and events while it happens (`RunStream`).

    _json.py        incremental partial-JSON parser (each byte scanned once)
    _picks.py       what each iterator shows: partials, deltas (`apply_delta`), debounced values
    _partial.py     partial versions of target types (`<Model>Partial`), built once per type
    _results.py     a completion's streamed `result` -> live partial targets; chunk -> events
    _graph.py       the run graph's LangGraph stream -> zyx events (`run(stream=True)`, `make(stream=True)`)
    _run_stream.py  `RunStream[T]`: the consumer's async and sync iterators over an event source
    _aliases.py     the original zyx's async names for them (`stream_partial`, `finish_async`, ...)
"""

from zyx.stream._picks import Replace, apply_delta
from zyx.stream._run_stream import RunStream

__all__ = ["Replace", "RunStream", "apply_delta"]
