"""Hosted fine-tuning through the official `openai` SDK, against a local server that speaks
OpenAI's files and fine-tuning endpoints (the real one is remote and paid)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.evals import DatasetItem
from steerwise.core.finetune import FinetuneError, StepLog, TrainingConfig
from steerwise.core.models import ModelInputError
from steerwise.finetune.jobs import JobRequest
from tests.finetune.fake_openai_finetuning import FakeOpenAIFineTuning

pytest.importorskip("openai")

ITEMS = [
    DatasetItem(id=f"q{n}", variables={"question": f"Question {n}?"}, reference=f"Answer {n}.")
    for n in range(10)
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAIFineTuning]:
    with FakeOpenAIFineTuning(steps=3) as server:
        yield server


@pytest.fixture
def ws(
    tmp_path: Path, fake: FakeOpenAIFineTuning, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    Workspace.init(root, actor="user:trainer").close()
    with (root / "steerwise.toml").open("a") as config:
        config.write(
            '\n[models.gpt]\nprovider = "openai"\nmodel = "gpt-4o-mini-2024-07-18"\n'
            f'base_url = "{fake.base_url}"\napi_key_env = "FT_TEST_KEY"\n'
        )
    monkeypatch.setenv("FT_TEST_KEY", "sk-test-123")
    workspace = Workspace.open(root, actor="user:trainer")
    workspace.datasets.import_items("qa", ITEMS, source="test")
    workspace.build_training_set("qa", datasets=["qa"])
    try:
        yield workspace
    finally:
        workspace.close()


def _request(name: str, **extra: float) -> JobRequest:
    return JobRequest("gpt", "qa", name, TrainingConfig(epochs=2, seed=5), poll_s=0.01, **extra)


def test_a_hosted_job_uploads_trains_and_registers_the_remote_model(
    ws: Workspace, fake: FakeOpenAIFineTuning
) -> None:
    seen: list[StepLog] = []
    job = ws.finetune.run(_request("support-gpt"), progress=lambda e, n: seen.append(e))
    assert (job.status, job.method, job.model) == ("succeeded", "hosted", "support-gpt@1")
    (remote,) = fake.jobs.values()
    assert job.remote_job == remote.id
    assert remote.model == "gpt-4o-mini-2024-07-18"
    assert remote.hyperparameters == {"n_epochs": 2, "batch_size": 4}
    found = ws.training_sets.get("qa@1").spec
    uploaded = [json.loads(line) for line in fake.files[remote.training_file].splitlines()]
    assert uploaded == [row.openai_line() for row in found.train]
    assert remote.validation_file is not None and len(found.validation) == 1
    assert [(e.step, e.loss) for e in seen] == [(1, 2.0), (2, 1.0), (3, 2.0 / 3)]
    assert set(fake.authorizations) == {"Bearer sk-test-123"}
    spec = ws.model_versions.get("support-gpt@1").spec
    assert spec.remote_model == f"ft:gpt-4o-mini-2024-07-18:test:support-gpt:{remote.id}"
    assert spec.metrics["trained_tokens"] == 1234 and spec.dataset == "qa@1"
    config = ws.models.config("support-gpt@1")
    assert (config.provider, config.model, config.base_url) == (
        "openai",
        spec.remote_model,
        fake.base_url,
    )


def test_a_failed_hosted_job_registers_nothing(ws: Workspace, fake: FakeOpenAIFineTuning) -> None:
    fake.fail_with = "the training file has rows without an assistant message"
    with pytest.raises(FinetuneError) as failed:
        ws.finetune.run(_request("broken"))
    assert "the training file has rows without an assistant message" in failed.value.message
    (job,) = ws.finetune.jobs()
    assert job.status == "failed" and job.model is None and job.remote_job == "ftjob-1"
    assert ws.model_versions.summaries() == []


def test_waiting_too_long_keeps_the_job_to_resume(
    ws: Workspace, fake: FakeOpenAIFineTuning
) -> None:
    with pytest.raises(FinetuneError, match="still"):
        ws.finetune.run(_request("slow", wait_timeout_s=0.0))
    (job,) = ws.finetune.jobs()
    assert job.status == "failed" and job.remote_job == "ftjob-1"
    resumed = ws.finetune.resume(job.id, poll_s=0.01)
    assert (resumed.status, resumed.model) == ("succeeded", "slow@1")
    assert len(fake.jobs) == 1  # resuming waited for the same remote job


def test_a_missing_key_fails_before_anything_is_sent(
    ws: Workspace, fake: FakeOpenAIFineTuning, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FT_TEST_KEY")
    with pytest.raises(ModelInputError, match="FT_TEST_KEY is not set"):
        ws.finetune.run(_request("nokey"))
    assert fake.files == {} and ws.finetune.jobs() == []
