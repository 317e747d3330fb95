"""The gateway's static pages (`/review`, `/console`), with the script they share put in."""

from __future__ import annotations

from importlib.resources import files

SHARED_MARKER = "// @api.js"


def static_page(name: str) -> str:
    """The page `static/NAME` with `static/api.js` in place of its marker line."""
    folder = files("steerwise.server").joinpath("static")
    shared = folder.joinpath("api.js").read_text("utf-8")
    page = folder.joinpath(name).read_text("utf-8")
    start = page.index(SHARED_MARKER)
    end = page.index("\n", start) + 1
    return page[:start] + shared + page[end:]
