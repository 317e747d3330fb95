"""The tour's last step: fine-tune the local model to read retrieved context and cite it,
then let the advisor compare prompt, retrieval, fine-tuning and both on held-out questions.

The training questions (`train_questions.jsonl`) and the held-out questions
(`questions.jsonl`) share no question; the fine-tune runs for real on this machine's CPU.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from steerwise.advisor.comparison import CompareRequest, StrategyParts
from steerwise.advisor.decision import Decision
from steerwise.advisor.report import render_decision
from steerwise.core.evals import DatasetItem
from steerwise.core.finetune import StepLog, TrainingConfig
from steerwise.finetune.building import BuildOptions
from steerwise.finetune.jobs import JobRequest
from steerwise.releases import PinRequest
from steerwise.workspace import Workspace

Say = Callable[[str], None]
FINETUNE_TITLE = "Fine-tuning and the advisor: prompt, retrieval, fine-tune or both?"
UNKNOWN = "The policies do not say."
CONTACT = "privacy@fernhillcycles.example"
PARAMS = {"k": "3", "temperature": "0", "max_tokens": "80"}
LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class TourBudget:
    """How much the fine-tuning step trains and asks (`steerwise demo --quick`: a smoke run
    that shows every part but trains too little to help)."""

    finetune_steps: int = 31
    held_out: int | None = None
    """How many held-out questions the comparison asks (None: all of them)."""


def finetune_and_advise(budget: TourBudget) -> Callable[[Workspace, Path, Say], None]:
    """The step, with its budget."""

    def run(ws: Workspace, pack: Path, say: Say) -> None:
        _datasets(ws, pack, budget, say)
        rows = _training_set(ws, say)
        model = _train(ws, rows, budget, say)
        decision = _compare(ws, model, say)
        report = ws.root / "decision.html"
        report.write_text(render_decision(decision), encoding="utf-8")
        data = json.dumps(decision.to_dict(), indent=2)
        (ws.root / "decision.json").write_text(data + "\n", encoding="utf-8")
        say(f"  wrote {report} and decision.json (intervals, latency, cost, change cost)")

    return run


def _items(pack: Path, name: str) -> list[DatasetItem]:
    lines = (pack / name).read_text(encoding="utf-8").splitlines()
    return [DatasetItem.model_validate(json.loads(line)) for line in lines if line.strip()]


def _datasets(ws: Workspace, pack: Path, budget: TourBudget, say: Say) -> None:
    train = _items(pack, "train_questions.jsonl")
    held_out = _items(pack, "questions.jsonl")[: budget.held_out]
    ws.datasets.import_items("train-questions", train, source="train_questions.jsonl")
    ws.datasets.import_items("held-out", held_out, source="questions.jsonl")
    say("$ steerwise dataset import train-questions train_questions.jsonl")
    say(f"$ steerwise dataset import held-out questions.jsonl   ({len(held_out)} held out)")
    ws.releases.create(
        "support-rag", PinRequest("support-answer@production", snapshot="latest", params=PARAMS)
    )
    say("$ steerwise release create support-rag --prompt support-answer@production \\")
    say("      --snapshot latest --param k=3 --param temperature=0 --param max_tokens=80")


def _training_set(ws: Workspace, say: Say) -> str:
    options = BuildOptions(validation_share=0.1, unknown_answer=UNKNOWN, allowed_pii=(CONTACT,))
    built = ws.build_training_set(
        "support-rag", datasets=["train-questions"], release="support-rag@1", options=options
    )
    card = ws.training_sets.get(built.ref).spec.card
    say("$ steerwise finetune dataset build support-rag --from train-questions \\")
    say(f'      --release support-rag@1 --unknown-answer "{UNKNOWN}" --allow-pii {CONTACT}')
    say(
        f"  {built.ref}  {built.status}  ({card.train} train, {card.validation} validation;"
        f" {card.unknown_rows} taught to say the context lacks the answer)"
    )
    row = ws.training_sets.get(built.ref).spec.train[0]
    say(f"  a row: user: {_short(row.messages[-2].content)}")
    say(f"         assistant: {_short(row.messages[-1].content)}")
    return built.ref


def _train(ws: Workspace, rows: str, budget: TourBudget, say: Say) -> str:
    config = TrainingConfig(
        max_steps=budget.finetune_steps,
        learning_rate=LEARNING_RATE,
        batch_size=4,
        max_length=640,
        eval_every=max(1, budget.finetune_steps // 2),
        seed=0,
    )
    steps = budget.finetune_steps
    say(f"$ steerwise finetune run --dataset {rows} --name support-rag-ft --max-steps {steps} \\")
    say(f"      --lr {LEARNING_RATE:g} --batch-size 4   (LoRA r=8 on q/v, on this CPU)")

    def progress(entry: StepLog, total: int) -> None:
        if entry.validation_loss is not None:
            say(f"  step {entry.step}/{total}: validation loss {entry.validation_loss:.3f}")
        elif entry.step == 1 or entry.step % 6 == 0:
            say(f"  step {entry.step}/{total}: loss {entry.loss:.3f}  ({entry.elapsed_s:.0f} s)")

    job = ws.finetune.run(
        JobRequest("local:smollm2-135m", rows, "support-rag-ft", config), progress=progress
    )
    say(f"  registered {job.model} (base, training set, job and settings recorded)")
    exported = ws.finetune.export_gguf(str(job.model))
    say(f"$ steerwise finetune export-gguf {job.model}")
    say(f"  {exported.ref}  (merged into the GGUF: served by llama.cpp at full speed)")
    return exported.ref


def _compare(ws: Workspace, model: str, say: Say) -> Decision:
    parts = StrategyParts("support-answer@production", "latest", model, PARAMS)
    releases = ws.advisor.strategy_releases(["prompt", "rag", "finetune", "finetune+rag"], parts)
    say("$ steerwise advise compare --dataset held-out --prompt support-answer@production \\")
    say(f"      --strategies prompt,rag,finetune,finetune+rag --model {model} --param k=3 ...")
    decision = ws.advisor.compare(CompareRequest("held-out", releases))
    for candidate in decision.candidates:
        accuracy = candidate.accuracy
        latency = candidate.latency_p50_ms or 0.0
        say(
            f"  {candidate.name:<13} accuracy {accuracy.value:6.1%}"
            f" [{accuracy.low:6.1%}, {accuracy.high:6.1%}]  p50 {latency:5.0f} ms"
            f"  {candidate.input_tokens:4.0f} tokens in  change: {candidate.change}"
        )
    say(f"  recommendation: {decision.recommendation}")
    for reason in decision.reasons:
        for line in textwrap.wrap(
            reason, width=92, initial_indent="  - ", subsequent_indent="    "
        ):
            say(line)
    return decision


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 90 else f"{flat[:87]}..."
