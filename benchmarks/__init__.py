"""zyx benchmark suite: `python -m benchmarks [--quick] [--out PATH] [--only SECTIONS]` (see run_all.py)."""
