"""Two processes pushing at once never duplicate a version number or fork the audit chain."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from steerwise import Workspace
from tests.conftest import simple_prompt, write_prompt

PUSHES_PER_PROCESS = 15


def push_many(root: str, database_url: str | None, worker: int, start: object) -> None:
    """Push distinct versions of one shared prompt, and label each one."""
    folder = Path(root).parent / f"worker-{worker}"
    start.wait(timeout=60)  # type: ignore[attr-defined]
    with Workspace.open(root, database_url=database_url, actor=f"user:w{worker}") as ws:
        for index in range(PUSHES_PER_PROCESS):
            path = write_prompt(folder, "shared", simple_prompt("shared", f"w{worker} #{index}"))
            (result,) = ws.prompts.push([path])
            ws.prompts.label(result.ref, f"w{worker}")


def test_two_processes_pushing_at_once(workspace: Workspace, store_url: str) -> None:
    database_url = None if store_url.startswith("sqlite") else store_url
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=push_many, args=(str(workspace.root), database_url, n, start))
        for n in (1, 2)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    history = workspace.prompts.history("shared")
    numbers = [v.version for v in history.versions]
    assert numbers == list(range(1, 2 * PUSHES_PER_PROCESS + 1))
    contents = {v.spec.messages[0].content for v in history.versions}
    assert len(contents) == 2 * PUSHES_PER_PROCESS
    assert len(history.moves) == 2 * PUSHES_PER_PROCESS
    report = workspace.audit.verify()
    assert report.ok, report.problem
    assert report.count == 1 + 4 * PUSHES_PER_PROCESS
    assert {e.actor for e in workspace.audit.events(limit=1000)} == {
        "user:tester",
        "user:w1",
        "user:w2",
    }
