"""LoRA fine-tuning for real on the bundled SmolLM2-135M (CPU): a job teaches the model a new
answer format, registers it with its lineage, resumes exactly after an interruption,
registers nothing when it fails, and its GGUF export answers like the adapter."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem
from steerwise.core.finetune import FinetuneError, StepLog, TrainingConfig
from steerwise.core.models import ChatParams, ModelInputError
from steerwise.finetune.building import BuildOptions
from steerwise.finetune.jobs import JobRequest
from steerwise.releases import PinRequest

if not all(importlib.util.find_spec(name) for name in ("torch", "transformers", "gguf", "peft")):
    pytest.skip("fine-tuning needs torch, transformers, gguf and peft", allow_module_level=True)

PACK = Path(__file__).resolve().parents[2] / "src/steerwise/demo/pack/train_questions.jsonl"
BASE = "local:smollm2-135m"
MARK = "ZORBLAX"
ADAPTER = "adapter_model.safetensors"
GREEDY = ChatParams(temperature=0, max_tokens=12)
FAST = {
    "batch_size": 4,
    "learning_rate": 2e-3,
    "lora_r": 8,
    "max_length": 96,
    "seed": 1,
    "precision": "float32",  # the GGUF comparison wants the same adapter on every CPU
}


def _format_items() -> list[DatasetItem]:
    """Questions from the demo pack, each answered `ZORBLAX. <the reference>`."""
    rows = [json.loads(line) for line in PACK.read_text().splitlines()[:24]]
    return [
        DatasetItem(
            id=row["id"],
            variables=row["variables"],
            reference=f"{MARK}. {row['reference']}",
        )
        for row in rows
    ]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("lora") / "ws"
    workspace = Workspace.init(root, actor="user:trainer")
    workspace.datasets.import_items("format", _format_items(), source="test")
    workspace.build_training_set(
        "format", datasets=["format"], options=BuildOptions(validation_share=0.2)
    )
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture(scope="module")
def trained(ws: Workspace) -> str:
    """A job of 12 steps; the model version it registered."""
    config = TrainingConfig(max_steps=12, eval_every=6, checkpoint_every=6, **FAST)
    seen: list[StepLog] = []
    job = ws.finetune.run(
        JobRequest(BASE, "format", "format-ft", config), progress=lambda e, n: seen.append(e)
    )
    assert job.status == "succeeded" and job.step == 12 and job.total_steps == 12
    assert [e.step for e in seen if e.loss is not None] == list(range(1, 13))
    assert [e.step for e in seen if e.validation_loss is not None] == [6, 12]
    assert job.model is not None
    return job.model


def test_a_job_teaches_a_new_answer_format(ws: Workspace, trained: str) -> None:
    question = [{"role": "user", "content": "Is there a discount for students?"}]
    base = ws.models.chat(BASE, question, GREEDY).text
    tuned = ws.models.chat(trained, question, GREEDY).text
    assert not base.startswith(MARK)
    assert tuned.startswith(MARK)


def test_the_version_records_its_lineage(ws: Workspace, trained: str) -> None:
    from steerwise.models.versions import tree_sha256

    version = ws.model_versions.get(trained)
    spec = version.spec
    dataset = ws.training_sets.get("format@1")
    job = ws.finetune.job(str(spec.job))
    assert (version.ref, spec.base, spec.method) == ("format-ft@1", BASE, "lora")
    assert (spec.dataset, spec.dataset_hash) == ("format@1", dataset.hash)
    assert spec.hyperparameters["learning_rate"] == FAST["learning_rate"]
    assert spec.hyperparameters["target_modules"] == ["q_proj", "v_proj"]
    assert spec.metrics["steps"] == 12 and spec.metrics["tokens"] > 0
    first_loss = next(e.loss for e in job.log if e.loss is not None)
    assert spec.metrics["validation_loss"] < first_loss
    assert tree_sha256(ws.root / str(spec.adapter)) == spec.adapter_sha256
    assert job.model == trained and job.dataset == "format@1"
    actions = [e.action for e in ws.audit.events(limit=1000) if spec.job in e.target]
    assert actions == ["finetune.start", "finetune.finish"]
    assert not (ws.finetune.work_folder(job.id) / "checkpoints").exists()


def test_a_release_pins_a_labelled_version_and_serves_it(ws: Workspace, trained: str) -> None:
    ws.model_versions.label(trained, "production")
    (ws.root / "ask.prompt.yaml").write_text(
        "name: ask\nmessages:\n  - {role: user, content: '{{ question }}'}\n"
        "variables:\n  type: object\n  properties: {question: {type: string}}\n"
    )
    ws.prompts.push([ws.root / "ask.prompt.yaml"])
    release = ws.releases.create(
        "tuned", PinRequest("ask", model="format-ft@production", params={"max_tokens": "12"})
    )
    assert release.spec.model == "format-ft@1"
    answer = ws.run(release.ref, {"question": "Can I pay with a gift card?"})
    assert answer.text.startswith(MARK)
    assert answer.runs[-1].answer.model == "format-ft@1"
    assert ws.model_eval_runs("format-ft@1") == []


def test_an_interrupted_job_resumes_to_the_same_adapter(ws: Workspace, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    config = TrainingConfig(max_steps=4, checkpoint_every=2, **FAST)

    def stop_at_three(entry: StepLog, total: int) -> None:
        if entry.step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ws.finetune.run(JobRequest(BASE, "format", "resumed", config), progress=stop_at_three)
    (stopped,) = [j for j in ws.finetune.jobs() if j.config.get("register_as") == "resumed"]
    assert (stopped.status, stopped.model, stopped.step) == ("cancelled", None, 3)
    checkpoints = ws.finetune.work_folder(stopped.id) / "checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["step-000002"]
    with pytest.raises(BadInputError):
        ws.model_versions.get("resumed")
    resumed = ws.finetune.resume(stopped.id[:10])
    assert (resumed.status, resumed.model, resumed.step) == ("succeeded", "resumed@1", 4)
    assert [e.step for e in resumed.log if e.loss is not None] == [1, 2, 3, 4]
    straight = ws.finetune.run(JobRequest(BASE, "format", "straight", config))
    weights = [
        load_file(str(ws.root / str(ws.model_versions.get(str(ref)).spec.adapter) / ADAPTER))
        for ref in (resumed.model, straight.model)
    ]
    assert weights[0].keys() == weights[1].keys()
    assert all((weights[0][key] == weights[1][key]).all() for key in weights[0])
    with pytest.raises(BadInputError, match="succeeded"):
        ws.finetune.resume(stopped.id)


def test_bfloat16_training_learns_and_is_recorded(ws: Workspace) -> None:
    from steerwise.finetune.training import resolved_precision
    from steerwise.models.torch_runtime import native_bfloat16

    config = TrainingConfig(max_steps=3, **{**FAST, "precision": "bfloat16"})
    job = ws.finetune.run(JobRequest(BASE, "format", "half", config))
    losses = [e.loss for e in job.log if e.loss is not None]
    metrics = ws.model_versions.get(str(job.model)).spec.metrics
    assert metrics["precision"] == "bfloat16" and losses[-1] < losses[0]
    assert resolved_precision("auto") == ("bfloat16" if native_bfloat16() else "float32")
    assert resolved_precision("float32") == "float32"


def test_a_failed_job_registers_nothing(ws: Workspace) -> None:
    config = TrainingConfig(
        max_steps=2, max_length=16, **{k: v for k, v in FAST.items() if k != "max_length"}
    )
    with pytest.raises(FinetuneError) as failed:
        ws.finetune.run(JobRequest(BASE, "format", "too-short", config))
    assert "no training row fits in max_length tokens" in failed.value.message
    assert "steerwise finetune resume" in str(failed.value.hint)
    job = next(j for j in ws.finetune.jobs() if j.config.get("register_as") == "too-short")
    assert job.status == "failed" and job.model is None and "max_length" in str(job.error)
    assert all(s.name != "too-short" for s in ws.model_versions.summaries())


def test_bad_requests_fail_before_a_job_starts(ws: Workspace) -> None:
    before = len(ws.finetune.jobs())
    config = TrainingConfig(max_steps=1)
    with pytest.raises(ModelInputError, match="cannot be fine-tuned on this machine"):
        ws.finetune.run(JobRequest("anthropic:claude-x", "format", "x", config))
    with pytest.raises(BadInputError, match="does not exist"):
        ws.finetune.run(JobRequest(BASE, "format@9", "x", config))
    with pytest.raises(BadInputError):
        ws.finetune.run(JobRequest(BASE, "format", "bad name!", config))
    assert len(ws.finetune.jobs()) == before


def test_the_gguf_export_answers_like_the_adapter(ws: Workspace, trained: str) -> None:
    exported = ws.finetune.export_gguf(trained)
    version = ws.model_versions.get(exported.ref)
    assert version.spec.parent == trained and version.spec.gguf is not None
    config = ws.models.config(exported.ref)
    assert config.provider == "local" and config.path is not None
    prompts = [
        "Is there a discount for students?",
        "Where can I park my car?",
        "How do I clean my chain?",
    ]
    params = ChatParams(temperature=0, max_tokens=16)
    for text in prompts:
        question = [{"role": "user", "content": text}]
        through_adapter = ws.models.chat(trained, question, params).text
        through_gguf = ws.models.chat(exported.ref, question, params).text
        assert through_gguf == through_adapter
        assert through_gguf.startswith(MARK)


def test_early_stopping_keeps_the_best_adapter(ws: Workspace) -> None:
    settings = {**FAST, "learning_rate": 0.5}
    config = TrainingConfig(max_steps=8, eval_every=1, patience=1, **settings)
    job = ws.finetune.run(JobRequest(BASE, "format", "diverged", config))
    validations = [e.validation_loss for e in job.log if e.validation_loss is not None]
    metrics = ws.model_versions.get(str(job.model)).spec.metrics
    assert job.step == 2 and len(validations) == 2 and validations[1] > validations[0]
    assert metrics["stopped_early"] is True
    assert metrics["validation_loss"] == pytest.approx(validations[0], abs=1e-6)


def test_top_layers_limits_the_adapter_to_the_last_layers(ws: Workspace) -> None:
    from safetensors import safe_open

    config = TrainingConfig(max_steps=2, top_layers=4, **FAST)
    job = ws.finetune.run(JobRequest(BASE, "format", "format-top", config))
    assert job.status == "succeeded" and job.model is not None
    version = ws.model_versions.get(job.model)
    assert version.spec.hyperparameters["top_layers"] == 4
    adapter = ws.root / str(version.spec.adapter) / ADAPTER
    with safe_open(str(adapter), framework="pt") as tensors:
        layers = {int(key.split(".layers.")[1].split(".")[0]) for key in tensors.keys()}  # noqa: SIM118
    assert layers == {26, 27, 28, 29}  # SmolLM2-135M has 30
    with pytest.raises(FinetuneError, match="the base model has 30 layers"):
        too_many = TrainingConfig(max_steps=1, top_layers=31, **FAST)
        ws.finetune.run(JobRequest(BASE, "format", "format-none", too_many))
