"""LoRA fine-tuning on CPU (or any torch device): a plain PEFT + transformers loop with
completion-only loss, validation loss, early stop, checkpoints and exact resume.

The loop is deliberately plain, so that it runs as fast as the hand-written PEFT loop it is
benchmarked against (`bench/finetune_throughput.py`): tokenise once, shuffle per epoch with
a seeded generator, pad each batch to its longest row, one AdamW step per batch. A
checkpoint holds the adapter, the optimiser, the step and every random state, so a resumed
job takes exactly the steps the uninterrupted job would have taken.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.finetune import ChatRow, FinetuneError, StepLog, TrainingConfig
from steerwise.models.torch_runtime import native_bfloat16

IGNORED = -100
"""The label torch's cross-entropy skips: prompt tokens and padding teach nothing."""
ADAPTER = "adapter"
STATE = "trainer_state.pt"

Progress = Callable[[StepLog, int], None]
"""Called after every step (and validation) with the log entry and the total steps."""


@dataclass(frozen=True)
class Example:
    """One tokenised conversation: ids, and labels that are IGNORED outside the answer."""

    input_ids: list[int]
    labels: list[int]


@dataclass
class TrainingOutcome:
    """What a finished (or early-stopped) run gives: the best adapter's folder and figures."""

    adapter: Path
    steps: int
    log: list[StepLog]
    best_validation_loss: float | None
    train_loss: float | None
    tokens: int
    seconds: float
    stopped_early: bool
    precision: str

    def metrics(self) -> dict[str, Any]:
        """The figures a model version records."""
        return {
            "steps": self.steps,
            "train_loss": _round(self.train_loss),
            "validation_loss": _round(self.best_validation_loss),
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds else None,
            "stopped_early": self.stopped_early,
            "precision": self.precision,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def encode(tokenizer: Any, row: ChatRow, max_length: int) -> Example | None:
    """The row through the model's chat template; only the answer's tokens are labelled.
    Rows longer than `max_length` are cut from the end; None if no answer token is left."""
    messages = [message.model_dump() for message in row.messages]
    prompt = tokenizer.apply_chat_template(
        messages[:-1], tokenize=False, add_generation_prompt=True
    )
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise FinetuneError(f"row {row.id!r}: the chat template does not extend the prompt")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORED] * len(prompt_ids) + answer_ids)[:max_length]
    if all(label == IGNORED for label in labels):
        return None
    return Example(ids, labels)


def encode_all(tokenizer: Any, rows: Sequence[ChatRow], max_length: int) -> list[Example]:
    """Every row that keeps some answer within `max_length` tokens."""
    found = (encode(tokenizer, row, max_length) for row in rows)
    return [example for example in found if example is not None]


def collate(torch: Any, examples: Sequence[Example], pad_id: int) -> dict[str, Any]:
    """One batch: ids and labels padded on the right to the longest row, and the mask."""
    width = max(len(example.input_ids) for example in examples)
    ids = [e.input_ids + [pad_id] * (width - len(e.input_ids)) for e in examples]
    labels = [e.labels + [IGNORED] * (width - len(e.labels)) for e in examples]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in examples]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def batch_order(torch: Any, count: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch: a shuffle seeded by (seed, epoch), cut into batches."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(count, generator=generator).tolist()
    return [order[start : start + batch_size] for start in range(0, count, batch_size)]


def total_steps(config: TrainingConfig, train_rows: int) -> int:
    """How many optimiser steps the configuration asks for."""
    steps = config.epochs * math.ceil(train_rows / config.batch_size)
    return min(steps, config.max_steps) if config.max_steps else steps


@dataclass
class _State:
    """What a checkpoint keeps besides the adapter and optimiser."""

    step: int = 0
    best_validation_loss: float | None = None
    validations_without_gain: int = 0
    log: list[StepLog] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0


def _top_layers(model: Any, top: int | None) -> list[int] | None:
    """The indices of the last `top` transformer layers (None: every layer)."""
    if top is None:
        return None
    count = int(model.config.num_hidden_layers)
    if top > count:
        raise BadInputError(
            f"top_layers is {top}, but the base model has {count} layers",
            hint=f"give at most {count}, or leave it out to train every layer",
        )
    return list(range(count - top, count))


class LoraTrainer:
    """Trains a LoRA adapter on a loaded model (module docstring)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        config: TrainingConfig,
        *,
        work: Path,
        progress: Progress | None = None,
    ) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        self._torch = torch
        torch.set_num_threads(config.threads or os.cpu_count() or 1)
        torch.manual_seed(config.seed)
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.target_modules),
            layers_to_transform=_top_layers(model, config.top_layers),
            task_type="CAUSAL_LM",
        )
        with warnings.catch_warnings():  # peft asks transformers a deprecated question
            warnings.simplefilter("ignore", FutureWarning)
            self.model = get_peft_model(model, lora)
        self.tokenizer = tokenizer
        self.config = config
        self._work = work
        self._progress = progress
        self._optimizer = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad], lr=config.learning_rate
        )
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._state = _State()
        self._total = 0
        self.precision = resolved_precision(config.precision)

    @property
    def log(self) -> list[StepLog]:
        """Every step and validation so far (after `resume`: those of the checkpoint)."""
        return list(self._state.log)

    # -- checkpoints ---------------------------------------------------------------------

    def resume(self) -> int:
        """Load the latest checkpoint under the work folder, if any; the step it reached."""
        latest = latest_checkpoint(self._work)
        if latest is None:
            return 0
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        torch = self._torch
        weights = load_file(str(latest / ADAPTER / "adapter_model.safetensors"))
        set_peft_model_state_dict(self.model, weights)
        saved = torch.load(latest / STATE, weights_only=False)
        self._optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        self._state = saved["state"]
        return self._state.step

    def _checkpoint(self) -> None:
        folder = self._work / "checkpoints" / f"step-{self._state.step:06d}"
        partial = folder.with_name(folder.name + ".partial")
        self.model.save_pretrained(str(partial / ADAPTER))
        self._torch.save(
            {
                "optimizer": self._optimizer.state_dict(),
                "rng": self._torch.get_rng_state(),
                "state": self._state,
            },
            partial / STATE,
        )
        partial.rename(folder)  # a checkpoint is whole or absent

    # -- training ------------------------------------------------------------------------

    def train(self, train: Sequence[Example], validation: Sequence[Example]) -> TrainingOutcome:
        """Train until the configured steps are done or validation stops improving."""
        if not train:
            raise FinetuneError("no training row fits in max_length tokens")
        torch, config = self._torch, self.config
        steps = self._total = total_steps(config, len(train))
        batches_per_epoch = math.ceil(len(train) / config.batch_size)
        eval_every = config.eval_every or batches_per_epoch
        stopped = False
        while self._state.step < steps and not stopped:
            epoch, offset = divmod(self._state.step, batches_per_epoch)
            order = batch_order(torch, len(train), config.batch_size, config.seed, epoch)
            for indices in order[offset:]:
                self._step([train[i] for i in indices], epoch)
                if validation and self._state.step % eval_every == 0:
                    stopped = self._validate(validation, epoch)
                if self._state.step % config.checkpoint_every == 0 or stopped:
                    self._checkpoint()
                if stopped or self._state.step >= steps:
                    break
        return self._finish(validation, stopped)

    def _step(self, examples: list[Example], epoch: int) -> None:
        started = time.perf_counter()
        self.model.train()
        batch = collate(self._torch, examples, self._pad)
        with self._arithmetic():
            loss = self.model(**batch).loss
        loss.backward()
        self._optimizer.step()
        self._optimizer.zero_grad(set_to_none=True)
        state = self._state
        state.step += 1
        state.tokens += int(batch["attention_mask"].sum())
        state.seconds += time.perf_counter() - started
        entry = StepLog(state.step, epoch, float(loss.detach()), None, state.tokens, state.seconds)
        self._record(entry)

    def _validate(self, validation: Sequence[Example], epoch: int) -> bool:
        """Record the validation loss; True when early stopping says to stop."""
        loss = self.validation_loss(validation)
        state = self._state
        if state.best_validation_loss is None or loss < state.best_validation_loss:
            state.best_validation_loss, state.validations_without_gain = loss, 0
            self.model.save_pretrained(str(self._work / "best"))
        else:
            state.validations_without_gain += 1
        self._record(StepLog(state.step, epoch, None, loss, state.tokens, state.seconds))
        patience = self.config.patience
        return patience is not None and state.validations_without_gain >= patience

    def validation_loss(self, examples: Sequence[Example]) -> float:
        """Mean loss per answer token over `examples`."""
        torch = self._torch
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(examples), self.config.batch_size):
                batch = collate(torch, examples[start : start + self.config.batch_size], self._pad)
                tokens = int((batch["labels"][:, 1:] != IGNORED).sum())
                with self._arithmetic():
                    total += float(self.model(**batch).loss) * tokens
                count += tokens
        return total / max(count, 1)

    def _arithmetic(self) -> Any:
        """bfloat16 autocast for the passes when the precision says so (else a no-op)."""
        enabled = self.precision == "bfloat16"
        return self._torch.autocast("cpu", dtype=self._torch.bfloat16, enabled=enabled)

    def _record(self, entry: StepLog) -> None:
        self._state.log.append(entry)
        if self._progress is not None:
            self._progress(entry, self._total)

    def _finish(self, validation: Sequence[Example], stopped: bool) -> TrainingOutcome:
        state = self._state
        final = self._work / ADAPTER
        if validation and (self._work / "best").is_dir():
            (self._work / "best").rename(final)  # the adapter with the best validation loss
        else:
            self.model.save_pretrained(str(final))
        losses = [entry.loss for entry in state.log if entry.loss is not None]
        return TrainingOutcome(
            adapter=final,
            steps=state.step,
            log=state.log,
            best_validation_loss=state.best_validation_loss,
            train_loss=losses[-1] if losses else None,
            tokens=state.tokens,
            seconds=state.seconds,
            stopped_early=stopped,
            precision=self.precision,
        )


def resolved_precision(precision: str) -> str:
    """`auto` made concrete for this CPU (see `TrainingConfig.precision`)."""
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16() else "float32"


def latest_checkpoint(work: Path) -> Path | None:
    """The newest whole checkpoint under `work`, or None."""
    found = sorted((work / "checkpoints").glob("step-[0-9]*[0-9]"))
    return found[-1] if found else None
