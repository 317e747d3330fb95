"""The hybrid's gain: retrieval-augmented fine-tuning against retrieval alone, prompt only and
fine-tuning alone, on the demo pack's held-out questions.

    .venv/bin/python bench/finetune_advisor.py --steps 31

The demo tour's last step, with its budget: a workspace with the demo pack (prompts,
documents, index snapshot), a retrieval-augmented training set built from the 137 training
questions through `support-rag@1` (k=3, greedy), a LoRA fine-tune of SmolLM2-135M for
`--steps` steps (batch 4, lr 1e-3) exported to GGUF, then `advise compare` over the 24
held-out questions with the four strategies. Answer accuracy is the pass rate of token F1
>= 0.5 against the reference, with 95% bootstrap intervals and paired comparisons.

Written to `bench/results/finetune_advisor.json`: each candidate's figures, the pairings
with the most accurate, the recommendation, and the time each part took.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from steerwise.demo.finetune_step import TourBudget, finetune_and_advise
from steerwise.demo.packdata import pack_path
from steerwise.workspace import Workspace

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "finetune_advisor.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=31, help="fine-tune steps (31: one epoch)")
    parser.add_argument("--held-out", type=int, default=None, help="ask only the first N")
    args = parser.parse_args()
    lines: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.init(Path(folder) / "ws", actor="user:bench")
        pack = pack_path()
        ws.prompts.push([pack / "prompts"])
        ws.prompts.label("support-answer@1", "production")
        ws.sources.add([pack / "docs"], owner="policy-team", ttl_days=365, tags=["policies"])
        ws.index.build()
        step = finetune_and_advise(TourBudget(finetune_steps=args.steps, held_out=args.held_out))
        step(ws, pack, lines.append)
        decision = json.loads((ws.root / "decision.json").read_text())
        model = ws.model_versions.get("support-rag-ft@1").spec
        ws.close()
    result = {
        "machine": f"{platform.machine()}, {platform.system()}",
        "steps": args.steps,
        "training_metrics": model.metrics,
        "seconds_total": round(time.perf_counter() - started, 1),
        "decision": decision,
        "transcript": lines,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
