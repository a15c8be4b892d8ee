"""How our command-line entry points fail: one line on stderr naming the program, and the exit
code (0 done, 1 refused or failed, 2 bad usage or configuration, 3 unreachable)."""

from __future__ import annotations

import sys


def fail(program: str, message: str, code: int) -> int:
    print(f"{program}: {message}", file=sys.stderr)
    return code
