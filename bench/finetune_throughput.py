"""Training throughput: steerwise's LoRA job against a plain PEFT + transformers loop.

    .venv/bin/python bench/finetune_throughput.py --steps 8 --repeats 3

Both sides train the bundled SmolLM2-135M-Instruct (float32, on CPU) with the same LoRA
settings (r=8, alpha=16, q/v projections), the same rows (the demo pack's training
questions rendered by the `support-answer` prompt with its retrieved context, as
`finetune dataset build --release` makes them), batch size 4, AdamW at 1e-3, seed 0:

- steerwise: `ws.finetune.run(JobRequest(...))`, the whole job (checkpoints, progress
  records, the store), timed by its own step clock;
- plain: the loop the PEFT documentation shows: tokenise with the chat template, pad each
  batch, `model(**batch).loss.backward()`, `optimizer.step()`, timed the same way.

Reported: answer-and-prompt tokens per second of each (median of `--repeats`, alternating
sides), and steerwise's over plain's (target: no more than 5% slower). Written to
`bench/results/finetune_throughput.json`.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model

from steerwise import Workspace
from steerwise.core.evals import DatasetItem
from steerwise.core.finetune import TrainingConfig
from steerwise.finetune.building import BuildOptions
from steerwise.finetune.jobs import JobRequest
from steerwise.finetune.training import batch_order, collate, encode_all
from steerwise.models.llamacpp import bundled_gguf
from steerwise.models.transformers_provider import load_weights
from steerwise.releases import PinRequest

BENCH = Path(__file__).resolve().parent
PACK = BENCH.parent / "src" / "steerwise" / "demo" / "pack"
RESULTS = BENCH / "results" / "finetune_throughput.json"
SETTINGS: dict[str, Any] = {
    "batch_size": 4,
    "learning_rate": 1e-3,
    "lora_r": 8,
    "lora_alpha": 16,
    "max_length": 640,
    "seed": 0,
    "precision": "float32",  # the plain loop's: the same arithmetic on both sides
}


def prepare(root: Path) -> Workspace:
    """A workspace with the demo pack indexed and its retrieval-augmented training set."""
    ws = Workspace.init(root, actor="user:bench")
    ws.prompts.push([PACK / "prompts"])
    ws.sources.add([PACK / "docs"], owner="policy-team", ttl_days=365, tags=["policies"])
    ws.index.build()
    lines = (PACK / "train_questions.jsonl").read_text().splitlines()
    items = [DatasetItem.model_validate(json.loads(line)) for line in lines]
    ws.datasets.import_items("train-qa", items, source="train_questions.jsonl")
    ws.releases.create("rag", PinRequest("support-answer", snapshot="latest", params={"k": "3"}))
    ws.build_training_set(
        "rag-set",
        datasets=["train-qa"],
        release="rag@1",
        options=BuildOptions(
            validation_share=0,
            unknown_answer="The policies do not say.",
            allowed_pii=("privacy@fernhillcycles.example",),
        ),
    )
    return ws


def steerwise_side(ws: Workspace, steps: int) -> float:
    """Tokens per second of a steerwise job of `steps` steps."""
    config = TrainingConfig(max_steps=steps, checkpoint_every=steps, **SETTINGS)
    job = ws.finetune.run(JobRequest("local:smollm2-135m", "rag-set", "bench", config))
    last = job.log[-1]
    return last.tokens / last.elapsed_s


def plain_side(ws: Workspace, steps: int) -> float:
    """Tokens per second of the plain PEFT loop over the same rows and batches."""
    model, tokenizer = load_weights(bundled_gguf())
    torch.manual_seed(SETTINGS["seed"])
    lora = LoraConfig(
        r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    model = get_peft_model(model, lora)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=SETTINGS["learning_rate"]
    )
    rows = ws.training_sets.get("rag-set").spec.train
    examples = encode_all(tokenizer, rows, SETTINGS["max_length"])
    order = batch_order(torch, len(examples), SETTINGS["batch_size"], SETTINGS["seed"], 0)
    tokens, seconds = 0, 0.0
    model.train()
    for indices in order[:steps]:
        started = time.perf_counter()
        batch = collate(torch, [examples[i] for i in indices], tokenizer.pad_token_id or 0)
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        seconds += time.perf_counter() - started
        tokens += int(batch["attention_mask"].sum())
    return tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    with tempfile.TemporaryDirectory() as folder:
        ws = prepare(Path(folder) / "ws")
        runs: dict[str, list[float]] = {"steerwise": [], "plain": []}
        for repeat in range(args.repeats):
            for side in ("plain", "steerwise") if repeat % 2 else ("steerwise", "plain"):
                rate = (steerwise_side if side == "steerwise" else plain_side)(ws, args.steps)
                runs[side].append(rate)
                print(f"{side}: {rate:.1f} tokens/s", file=sys.stderr)
        ws.close()
    medians = {side: statistics.median(values) for side, values in runs.items()}
    result = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "steps": args.steps,
        "repeats": args.repeats,
        "tokens_per_s": runs,
        "median_tokens_per_s": medians,
        "steerwise_over_plain": medians["steerwise"] / medians["plain"],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
