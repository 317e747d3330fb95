"""Workspace settings: `steerwise.toml`, validated, with environment defaults applied."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from steerwise.core.alerts import AlertRule, Webhook
from steerwise.core.drift import DriftSettings
from steerwise.core.errors import BadInputError
from steerwise.core.models import DEFAULT_MODEL, ModelConfig
from steerwise.core.promotions import PromotionGate

CONFIG_FILE = "steerwise.toml"
STATE_DIR = ".steerwise"
DATABASE_FILE = "steerwise.db"


class WorkspaceSection(BaseModel):
    """`[workspace]`: the workspace's name, and the model used when nothing names one."""

    model_config = ConfigDict(extra="forbid")
    name: str = "steerwise"
    default_model: str = DEFAULT_MODEL


class StoreSection(BaseModel):
    """`[store]`: where state lives; empty url means SQLite in `.steerwise/`."""

    model_config = ConfigDict(extra="forbid")
    url: str = ""


class PromptsSection(BaseModel):
    """`[prompts]`: how long a label's target is cached by a running process."""

    model_config = ConfigDict(extra="forbid")
    label_cache_ttl_s: float = Field(default=1.0, ge=0, le=3600)


class RetrievalSection(BaseModel):
    """`[retrieval]`: chunking, the embedder, fusion and what to do with stale chunks."""

    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(default=200, ge=16, le=8192)
    overlap_tokens: int = Field(default=30, ge=0, le=4096)
    embedder: str = "default"
    rrf_k: int = Field(default=60, ge=0)
    candidates: int = Field(default=100, ge=1, le=10_000)
    stale: Literal["mark", "downweight", "exclude"] = "mark"
    sentence_vectors: bool = True
    """Store the vectors of every chunk sentence in each snapshot built, so that answer checks
    (grounding) read them instead of embedding retrieved passages on the request path."""


class TracingSection(BaseModel):
    """`[tracing]`: OpenTelemetry export of request traces over OTLP/HTTP (docs/releases.md;
    an empty endpoint turns it off), and where a gateway stores its traces."""

    model_config = ConfigDict(extra="forbid")
    otlp_endpoint: str = ""
    service_name: str = Field(default="steerwise", min_length=1)
    capture_content: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    store_apart: bool = True
    """`steerwise serve` stores traces in a second process at idle priority (`traces.storer`),
    so that storing them never takes a core from a request; false: a thread of the server."""

    @field_validator("otlp_endpoint")
    @classmethod
    def _an_http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (http://localhost:4318), or empty")
        return value


class GuardrailsSection(BaseModel):
    """`[guardrails]`: how policies run on requests (docs/guardrails.md)."""

    model_config = ConfigDict(extra="forbid")
    overlap: bool = False
    """Run the input rails that only judge while the model already reads the redacted input,
    and prepare the output rails meanwhile; off: every input rail before the model call."""
    prepare_answers: bool = True
    """Stream the answer from the model and let the output rails work on each finished
    sentence while the rest is written (grounding embeds it); off: only after the answer."""


class AlertsSection(BaseModel):
    """`[alerts]`: rules, webhooks, and how often the server evaluates them
    (docs/monitoring.md)."""

    model_config = ConfigDict(extra="forbid")
    interval_s: float = Field(default=60.0, ge=0, le=86_400)
    """Seconds between evaluations in `steerwise serve` (0: the server does not evaluate)."""
    rules: list[AlertRule] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsSection:
        names = [rule.name for rule in self.rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(repeated)}")
        return self


class PromotionSection(BaseModel):
    """`[promotion]`: deployment labels that need a passing gate and approvals
    (docs/releases.md)."""

    model_config = ConfigDict(extra="forbid")
    gates: list[PromotionGate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_gate_per_label(self) -> PromotionSection:
        labels = [gate.deployment for gate in self.gates]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"one gate per deployment; repeated: {', '.join(repeated)}")
        return self


class Settings(BaseModel):
    """Everything `steerwise.toml` may hold."""

    model_config = ConfigDict(extra="forbid")
    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    store: StoreSection = Field(default_factory=StoreSection)
    prompts: PromptsSection = Field(default_factory=PromptsSection)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    retrieval: RetrievalSection = Field(default_factory=RetrievalSection)
    tracing: TracingSection = Field(default_factory=TracingSection)
    guardrails: GuardrailsSection = Field(default_factory=GuardrailsSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    promotion: PromotionSection = Field(default_factory=PromotionSection)
    drift: DriftSettings = Field(default_factory=DriftSettings)


def load_settings(path: Path) -> Settings:
    """Read and validate `steerwise.toml`; name the key that is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise BadInputError(f"{path}: malformed TOML: {error}") from None
    except OSError as error:
        raise BadInputError(f"{path}: cannot read: {error}") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise BadInputError(f"{path}: {where}: {problem}") from None


def initial_config(name: str, database_url: str | None = None) -> str:
    """The `steerwise.toml` that `steerwise init` writes."""
    url = json.dumps(database_url or "")  # a TOML basic string is a JSON string
    return (
        "# steerwise workspace settings; see docs/workspace.md\n"
        "[workspace]\n"
        f"name = {json.dumps(name)}\n"
        "\n"
        "[store]\n"
        "# Empty: SQLite in .steerwise/. PostgreSQL: postgresql+psycopg://USER@HOST:5432/DB\n"
        "# (STEERWISE_DATABASE_URL overrides this; keep passwords in ~/.pgpass, not here)\n"
        f"url = {url}\n"
    )
