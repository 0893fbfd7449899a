"""LangGraph Studio / `langgraph dev` entry points for zyx's run graph (see docs/studio.md)."""
