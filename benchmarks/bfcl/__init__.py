"""BFCL (the Berkeley Function Calling Leaderboard) as an outside yardstick: its data, its checkers."""
