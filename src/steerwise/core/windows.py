"""Time windows written as a whole number and a unit: `90s`, `15m`, `1h`, `7d`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

from steerwise.core.errors import BadInputError

WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WINDOW = re.compile(r"(\d+)([smhdw])")


def parse_window(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d`, `2w` as a duration; anything else is bad input."""
    found = _WINDOW.fullmatch(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise BadInputError(
            f"window {text!r} is not a duration",
            hint="write a whole number and a unit: 90s, 15m, 1h, 7d or 2w",
        )
    return timedelta(seconds=int(found.group(1)) * WINDOW_UNITS[found.group(2)])
