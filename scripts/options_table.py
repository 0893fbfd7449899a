"""Write (or check) the options table of docs/run.md from the declarations in zyx/_options.py.

    python scripts/options_table.py            # exit 1 if docs/run.md is out of date
    python scripts/options_table.py --update   # rewrite the table
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from zyx._options import options_table

DOC = Path(__file__).resolve().parent.parent / "docs" / "run.md"
BLOCK = re.compile(r"(<!-- options:begin -->\n).*?(<!-- options:end -->)", re.S)


def rendered(text: str) -> str:
    """The doc's text with its options block replaced by the current table."""
    return BLOCK.sub(lambda m: m.group(1) + options_table() + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    fresh = rendered(text)
    if "--update" in argv:
        DOC.write_text(fresh)
        return 0
    if fresh != text:
        print(f"{DOC} is out of date: run python scripts/options_table.py --update", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
