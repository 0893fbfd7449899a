"""Task-success benchmark: zyx, `create_agent` and pydantic-ai finishing real tasks on one real model.

    python -m benchmarks.tasks --model local                 # every task, every library
    python -m benchmarks.tasks --model local:smollm2 --tasks seed --libraries zyx --max-calls 6
"""
