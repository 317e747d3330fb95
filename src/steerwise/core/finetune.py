"""Fine-tuning domain types: chat rows, training sets with their data card, training
settings, jobs, and the model versions they register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from steerwise.core.errors import SteerwiseError
from steerwise.core.versioning import SpecModel

Role = Literal["system", "user", "assistant"]
JobStatus = Literal["running", "failed", "succeeded", "cancelled"]
Method = Literal["lora", "hosted"]


class ChatMessage(BaseModel):
    """One message of a training conversation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str = Field(min_length=1)


class ChatRow(BaseModel):
    """One training example: a conversation whose last message is the assistant's answer
    (the part the model learns to write), and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=2)
    origin: str = ""
    """`DATASET@V#ITEM`, `review:ID`, or the file and line the row was read from."""

    @field_validator("messages")
    @classmethod
    def _ends_with_answer(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "assistant":
            raise ValueError("the last message must be the assistant's answer")
        if not any(message.role == "user" for message in messages[:-1]):
            raise ValueError("a conversation needs a user message before the answer")
        return messages

    def openai_line(self) -> dict[str, Any]:
        """The row in OpenAI's chat fine-tuning JSONL form."""
        return {"messages": [message.model_dump() for message in self.messages]}


class DataCard(BaseModel):
    """What a training set is made of and what was done to it (its datasheet)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origins: list[str]
    """Every dataset version (`NAME@V` and hash) and review queue the rows came from."""
    rows_in: int
    duplicates_removed: int
    pii_rows: int
    pii_action: Literal["refuse", "redact"]
    pii_types: dict[str, int] = Field(default_factory=dict)
    pii_allowed: list[str] = Field(default_factory=list)
    """Published values (a company's contact address) not treated as personal data."""
    train: int
    validation: int
    validation_share: float
    seed: int
    prompt: str | None = None
    """The prompt version the conversations were rendered with, if any."""
    snapshot: str | None = None
    """The index snapshot whose passages fill `context` (a retrieval-augmented set)."""
    unknown_rows: int = 0
    """Rows whose context lacks the answer, trained to say it does not know."""
    filters: list[str] = Field(default_factory=list)


class TrainingSetSpec(SpecModel):
    """A fine-tuning dataset version: train and validation rows and their data card."""

    train: list[ChatRow] = Field(min_length=1)
    validation: list[ChatRow] = Field(default_factory=list)
    card: DataCard

    @model_validator(mode="after")
    def _unique_ids(self) -> TrainingSetSpec:
        seen: set[str] = set()
        for row in [*self.train, *self.validation]:
            if row.id in seen:
                raise ValueError(f"duplicate row id {row.id!r}")
            seen.add(row.id)
        return self


class TrainingConfig(BaseModel):
    """The settings of one LoRA fine-tune (all recorded in the model version's lineage)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(default=3, ge=1, le=1000)
    max_steps: int | None = Field(default=None, ge=1)
    """Stop after this many optimiser steps, whatever the epochs say."""
    learning_rate: float = Field(default=2e-4, gt=0, le=1)
    batch_size: int = Field(default=4, ge=1, le=1024)
    lora_r: int = Field(default=8, ge=1, le=256)
    lora_alpha: int = Field(default=16, ge=1, le=1024)
    lora_dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    top_layers: int | None = Field(default=None, ge=1)
    """LoRA on the last N transformer layers only (None: every layer). The backward pass
    then stops below them, so a step costs less; lower layers keep the base's weights."""
    max_length: int = Field(default=512, ge=16, le=8192)
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    """The forward and backward passes' arithmetic: `bfloat16` autocast (the weights and the
    adapter stay float32), `float32`, or `auto`: bfloat16 where the CPU multiplies it natively
    (AVX512-BF16 or AMX), float32 elsewhere. The version's metrics record which ran."""
    seed: int = 0
    eval_every: int | None = Field(default=None, ge=1)
    """Validation loss every N steps (default: once per epoch)."""
    patience: int | None = Field(default=None, ge=1)
    """Early stop after this many validations without a better validation loss."""
    checkpoint_every: int = Field(default=50, ge=1)
    threads: int | None = Field(default=None, ge=1, le=512)


class ModelVersionSpec(SpecModel):
    """A registered model version and its lineage: what it was made from and how.

    A LoRA version serves through the transformers provider (base weights + `adapter`), or
    through llama.cpp once exported (`gguf`); a hosted version is the provider's model id.
    Paths are relative to the workspace root."""

    base: str
    """The model reference it was fine-tuned from (`local:smollm2-135m`, `openai:...`)."""
    method: Method
    adapter: str | None = None
    adapter_sha256: str | None = None
    gguf: str | None = None
    gguf_sha256: str | None = None
    remote_model: str | None = None
    dataset: str | None = None
    """The training set version (`NAME@V`) and its hash."""
    dataset_hash: str | None = None
    job: str | None = None
    parent: str | None = None
    """The version this one was made from (a GGUF export names its adapter's version)."""
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_weights(self) -> ModelVersionSpec:
        if not (self.adapter or self.gguf or self.remote_model):
            raise ValueError("a model version needs an adapter, a gguf file or a remote model")
        return self


@dataclass(frozen=True)
class StepLog:
    """One optimiser step (or validation) of a training job."""

    step: int
    epoch: float
    loss: float | None
    validation_loss: float | None
    tokens: int
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return vars(self).copy()


@dataclass(frozen=True)
class FinetuneJob:
    """A fine-tune job as stored: what it trains, where it got to, what it registered."""

    id: str
    created_at: str
    created_by: str
    base: str
    dataset: str
    method: Method
    config: dict[str, Any]
    status: JobStatus
    step: int
    total_steps: int
    model: str | None
    error: str | None
    remote_job: str | None
    finished_at: str | None
    log: tuple[StepLog, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**vars(self), "log": [entry.to_dict() for entry in self.log]}


class FinetuneError(SteerwiseError):
    """A fine-tune job failed while running; its checkpoints are kept, so `steerwise
    finetune resume JOB` carries on from the last one."""

    exit_code = 3
