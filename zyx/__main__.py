"""`python -m zyx`: the zyx command line (see `zyx.cli`)."""

from zyx.cli import main

raise SystemExit(main())
