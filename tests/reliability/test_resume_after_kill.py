"""Long jobs killed with SIGKILL part-way: `steerwise eval run` (killed twice, once while it
resumes) and `steerwise finetune run` resume to the end without losing or repeating an item or
a step, and register their result once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from steerwise import Workspace
from steerwise.core.evals import DatasetItem
from steerwise.finetune.building import BuildOptions
from tests.cli.runner import EXECUTABLE, steerwise
from tests.finetune.test_lora import _format_items
from tests.models.fault_server import FaultServer, slow
from tests.reliability.harness import answering_workspace, model_section

ITEMS = 30
KILL_AFTER_RESULTS = (6, 16)  # the run, then its first resume, are killed after these


def start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(EXECUTABLE), *args], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not ready():
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        assert time.monotonic() < deadline, "the job never got far enough to be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=20)


def eval_results(root: Path) -> tuple[str, int]:
    with Workspace.open(root) as ws:
        runs = ws.evals.runs()
        if not runs:
            return "", 0
        return runs[0].id, len(ws.evals.report(runs[0].id).results)


@pytest.mark.reliability
def test_an_eval_run_killed_twice_resumes_without_losing_or_repeating(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    root = tmp_path / "ws"
    with FaultServer(default=slow(0.15)) as upstream:
        answering_workspace(root, model_section("scripted", upstream.base_url))
        with Workspace.open(root) as ws:
            items = [
                DatasetItem(
                    id=f"q{n:02d}", variables={"question": f"Question {n}?"}, reference="fine"
                )
                for n in range(ITEMS)
            ]
            ws.datasets.import_items("qa", items, source="test")
        command = ["eval", "run", "--target", "bot@production", "--dataset", "qa",
                   "--scorer", "exact_match", "--concurrency", "2"]  # fmt: skip
        kill_when(start(root, *command), lambda: eval_results(root)[1] >= KILL_AFTER_RESULTS[0], 60)
        run_id, _ = eval_results(root)
        resume = ["eval", "resume", run_id, "--concurrency", "2"]
        kill_when(start(root, *resume), lambda: eval_results(root)[1] >= KILL_AFTER_RESULTS[1], 60)
        done = steerwise(*resume, "--json", cwd=root, timeout_s=120)
        assert done.code == 0, done.err
        asked = len(upstream.requests)
    with Workspace.open(root) as ws:
        report = ws.evals.report(run_id)
    ids = [result.item_id for result in report.results]
    assert report.run.status == "finished"
    assert sorted(ids) == [f"q{n:02d}" for n in range(ITEMS)]  # every item, once
    assert all(result.error is None for result in report.results)
    assert ITEMS <= asked <= ITEMS + 2 * 2  # only the answers in flight at a kill, again
    figures["eval_resume"] = {"items": ITEMS, "kills": 2, "model_calls": asked, "lost": 0}


@pytest.mark.reliability
def test_a_fine_tune_killed_after_a_checkpoint_resumes_to_the_end(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        ws.datasets.import_items("format", _format_items(), source="test")
        ws.build_training_set(
            "format", datasets=["format"], options=BuildOptions(validation_share=0.2)
        )
    run = ["finetune", "run", "--dataset", "format@1", "--name", "killed", "--max-steps", "6",
           "--checkpoint-every", "1", "--batch-size", "4", "--max-length", "96", "--lr", "2e-3",
           "--seed", "1", "--json"]  # fmt: skip

    def checkpointed(step: int) -> Callable[[], bool]:
        def ready() -> bool:
            with Workspace.open(root) as ws:
                jobs = ws.finetune.jobs()
                folder = ws.finetune.work_folder(jobs[0].id) / "checkpoints" if jobs else None
            return folder is not None and (folder / f"step-{step:06d}").is_dir()

        return ready

    kill_when(start(root, *run), checkpointed(3), 300)
    with Workspace.open(root) as ws:
        (job,) = ws.finetune.jobs()
        assert job.status == "running" and job.model is None  # killed: nothing registered
    done = steerwise("finetune", "resume", job.id, "--force", "--json", cwd=root, timeout_s=300)
    assert done.code == 0, done.err
    with Workspace.open(root) as ws:
        (finished,) = ws.finetune.jobs()
        versions = [s for s in ws.model_versions.summaries() if s.name == "killed"]
    steps = [entry.step for entry in finished.log if entry.loss is not None]
    assert (finished.status, finished.model, finished.step) == ("succeeded", "killed@1", 6)
    assert steps == [1, 2, 3, 4, 5, 6]  # none lost, none repeated
    assert [v.latest_version for v in versions] == [1]
    figures["finetune_resume"] = {"steps": 6, "killed_after_checkpoint": 3, "lost": 0}
    assert json.loads(done.out)["status"] == "succeeded"
