"""LangGraph server entry points for zyx's run graph, declared in the root langgraph.json (docs/studio.md, docs/deploy.md)."""
