"""Model references: `local:smollm2-135m`, `openai:gpt-4o-mini`, `anthropic:...`,
`transformers:PATH`, or a name defined under `[models.NAME]` in `steerwise.toml`."""

from __future__ import annotations

from collections.abc import Mapping

from steerwise.core.models import BUNDLED_LOCAL, ModelConfig, ModelInputError

DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
PREFIXED = ("local", "transformers", "openai", "anthropic")


def resolve_config(ref: str, named: Mapping[str, ModelConfig]) -> ModelConfig:
    """The settings a reference stands for."""
    ref = ref.strip()
    if ref in named:
        return named[ref]
    provider, sep, rest = ref.partition(":")
    if not sep or provider not in PREFIXED or not rest:
        known = ", ".join(sorted(named)) or "none configured"
        raise ModelInputError(
            f"unknown model {ref!r}",
            hint=(
                f"use {' | '.join(p + ':NAME' for p in PREFIXED)}, or a name from"
                f" [models.NAME] in steerwise.toml ({known})"
            ),
        )
    if provider == "local":
        path = None if rest == BUNDLED_LOCAL else rest
        return ModelConfig(provider="local", model=rest, path=path)
    if provider == "transformers":
        return ModelConfig(provider="transformers", model=rest, path=rest)
    return ModelConfig(provider=provider, model=rest, api_key_env=DEFAULT_KEY_ENV[provider])  # type: ignore[arg-type]


def model_id(ref: str, config: ModelConfig) -> str:
    """A stable id for traces: the configured name, or `provider:model`."""
    return ref if ":" not in ref else f"{config.provider}:{config.model}"
