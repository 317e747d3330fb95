"""A demo-pack workspace with one release deployed: what request-path tests start from."""

from __future__ import annotations

from pathlib import Path

from steerwise import Workspace
from steerwise.demo import pack_path
from steerwise.releases import PinRequest, release_id


def build_shop(root: Path, name: str, pins: PinRequest, *, graph: bool = False) -> Path:
    """Prompts (support-answer@1 labelled production), the policy, an index snapshot (and a
    graph), and release `name` of `pins` deployed as `name@production`."""
    Workspace.init(root).close()
    with Workspace.open(root) as ws:
        ws.prompts.push([pack_path() / "prompts"])
        ws.prompts.label("support-answer@1", "production")
        ws.policies.push([pack_path() / "policies"])
        ws.sources.add([pack_path() / "docs"])
        ws.index.build()
        if graph:
            ws.graph.build()
        ws.releases.deploy(name, release_id(ws.releases.create(name, pins)), "production")
    return root
