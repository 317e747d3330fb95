"""Alert rules and incidents: the nouns of monitoring that settings and the store share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from steerwise.core.errors import BadInputError
from steerwise.core.traces import TRACE_STEPS
from steerwise.core.windows import parse_window

QUANTILE_NAMES = ("p50", "p95", "p99")
ALERT_METRICS = (
    "requests",
    "errors",
    "error_rate",
    "refusals",
    "refusal_rate",
    "retries",
    "cost_usd",
    "cost_per_1k_requests",
    "input_tokens",
    "output_tokens",
    "confidence_mean",
    "grounding_mean",
    "stale_share",
    "feedback_count",
    "feedback_mean",
    "feedback_negative_share",
    *(f"latency_{q}" for q in QUANTILE_NAMES),
    *(f"{step}_{q}" for step in TRACE_STEPS for q in QUANTILE_NAMES),
)
"""What a rule may watch: a deployment's figures over its window (`steerwise.monitor`)."""
SEVERITIES = ("info", "warning", "critical")


class AlertRule(BaseModel):
    """One `[[alerts.rules]]`: a deployment's metric over a window, above or below a line."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    deployment: str = Field(min_length=1)
    metric: str
    above: float | None = None
    below: float | None = None
    window: str = "15m"
    min_requests: int = Field(default=1, ge=1)
    severity: Literal["info", "warning", "critical"] = "warning"

    @field_validator("metric")
    @classmethod
    def _a_known_metric(cls, value: str) -> str:
        if value not in ALERT_METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(ALERT_METRICS)}")
        return value

    @field_validator("window")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        try:
            parse_window(value)
        except BadInputError as error:
            raise ValueError(error.message) from None
        return value

    @model_validator(mode="after")
    def _one_line(self) -> AlertRule:
        if (self.above is None) == (self.below is None):
            raise ValueError(f"rule {self.name!r}: give exactly one of above or below")
        return self

    @property
    def condition(self) -> str:
        return f"> {self.above}" if self.above is not None else f"< {self.below}"


class Webhook(BaseModel):
    """One `[[alerts.webhooks]]`: where incidents are posted, signed with HMAC-SHA256 by the
    secret in the environment variable `secret_env` (never written in this file)."""

    model_config = ConfigDict(extra="forbid")
    url: str
    secret_env: str = ""
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("url")
    @classmethod
    def _an_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


@dataclass(frozen=True)
class Incident:
    """A rule that fired: when, on what figures, which traces show it, what was serving, and
    the one step that would undo the last deploy. `resolved_at` is set when it recovers."""

    id: str
    rule: str
    deployment: str
    severity: str
    status: str
    opened_at: str
    resolved_at: str | None
    metric: str
    condition: str
    value: float | None
    window: str
    requests: int
    trace_ids: list[str]
    release: str | None
    suggestion: str
    notifications: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
