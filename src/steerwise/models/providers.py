"""Provider factories: how each `provider` of a model config becomes a ChatModel.

Built-in providers register here exactly as a third-party one would, with
`register_provider(name, factory)`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from steerwise.core.models import ModelConfig, ModelInputError
from steerwise.models.interface import ChatModel

Factory = Callable[[str, ModelConfig, Path], ChatModel]
_FACTORIES: dict[str, Factory] = {}


def register_provider(name: str, factory: Factory) -> None:
    """Make `provider = "<name>"` build models with `factory(model_id, config, root)`."""
    _FACTORIES[name] = factory


def build_chat_model(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    """The ChatModel a config describes; paths are relative to the workspace root."""
    factory = _FACTORIES.get(config.provider)
    if factory is None:
        raise ModelInputError(f"model {model_id}: unknown provider {config.provider!r}")
    return factory(model_id, config, root)


def api_key(model_id: str, config: ModelConfig) -> str:
    """The API key from the environment variable the config names, or a clear error."""
    variable = config.api_key_env
    if variable is None:
        return "not-needed"
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ModelInputError(
            f"model {model_id}: the API key variable {variable} is not set",
            hint=f"export {variable}=... (or set api_key_env in [models.NAME])",
        )
    return value


def resolve_path(root: Path, value: str) -> Path:
    """A configured path, relative to the workspace root unless absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _local(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    from steerwise.models.llamacpp import LlamaCppChatModel, bundled_gguf

    path = resolve_path(root, config.path) if config.path else bundled_gguf()
    return LlamaCppChatModel(
        model_id,
        path,
        context_window=config.context_window,
        timeout_s=config.timeout_s,
        threads=config.threads,
    )


def _openai(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    from steerwise.models.openai_provider import OpenAIChatModel

    return OpenAIChatModel(
        model_id,
        config.model,
        base_url=config.base_url,
        api_key=api_key(model_id, config),
        timeout_s=config.timeout_s,
        structured_output=config.structured_output,
    )


def _anthropic(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    from steerwise.models.anthropic_provider import build

    return build(model_id, config, root)


def _transformers(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    from steerwise.models.transformers_provider import build

    return build(model_id, config, root)


register_provider("local", _local)
register_provider("openai", _openai)
register_provider("anthropic", _anthropic)
register_provider("transformers", _transformers)
