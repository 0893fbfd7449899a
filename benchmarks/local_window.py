"""The local model's context size: memory and prompt speed per `n_ctx` (docs/local-model.md#its-context-window).

    python -m benchmarks.local_window                  # n_ctx 4096 and 8192
    python -m benchmarks.local_window 4096 8192 16384

For each size: the process's resident memory once the model is loaded, and the seconds (tokens/s) to read a
prompt of ~1,000 and ~3,000 tokens (more where the window allows), prompt caching off so each read is whole.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from zyx._local import LocalServer, resolve_local_model

TEXT = (Path(__file__).resolve().parents[1] / "README.md").read_text() * 40


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


def read_prompt(server: LocalServer, url: str, tokens: int, per_char: float) -> tuple[int, float]:
    """Send a prompt of about `tokens` tokens; its real size and the seconds it took."""
    body = json.dumps({"messages": [{"role": "user", "content": TEXT[:int(tokens / per_char)] + "\nSummarize."}],
                       "max_tokens": 8, "cache_prompt": False}).encode()
    request = urllib.request.Request(url + "/chat/completions", body, {
        "Content-Type": "application/json", "Authorization": f"Bearer {server.api_key}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=900) as response:
        usage = json.load(response)["usage"]
    return usage["prompt_tokens"], time.perf_counter() - start


def main(sizes: list[int]) -> None:
    path = resolve_local_model("local")
    print(f"load average {os.getloadavg()[0]:.1f}; model {path.name}")
    for n_ctx in sizes:
        server = LocalServer(path, n_ctx=n_ctx, max_tokens=16)
        url = server.start()
        loaded = rss_mb()
        per_char = len(server.tokenize(TEXT[:20_000])) / 20_000
        for tokens in (1000, 3000, 7000, 15000):
            if tokens + 64 > n_ctx:
                continue
            size, seconds = read_prompt(server, url, tokens, per_char)
            print(f"n_ctx={n_ctx}  memory after load {loaded:.0f} MB  prompt {size} tokens: {seconds:.1f} s "
                  f"({size / seconds:.0f} tokens/s)", flush=True)
        server.stop()
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4096, 8192])
