"""JSON from users, upstreams and models, parsed with one failure mode.

`json.loads` raises a RecursionError, not a JSONDecodeError, on input nested a few thousand
levels deep (`[[[[...`); code that handles malformed JSON would let that one through as a
crash. `parse_json` reports it as malformed JSON like any other.
"""

from __future__ import annotations

import json
from typing import Any


def parse_json(text: str | bytes) -> Any:
    """`json.loads(text)`; too deep a nesting is a `json.JSONDecodeError` too."""
    try:
        return json.loads(text)
    except RecursionError:
        document = text if isinstance(text, str) else ""
        raise json.JSONDecodeError("nested too deeply", document, 0) from None
