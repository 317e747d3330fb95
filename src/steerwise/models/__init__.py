"""Models: chat models and embedders behind small protocols, with resilience."""

from steerwise.models.interface import ChatModel, Embedder
from steerwise.models.providers import register_provider
from steerwise.models.registry import ModelRegistry, ModelStatus, ResolvedModel

__all__ = [
    "ChatModel",
    "Embedder",
    "ModelRegistry",
    "ModelStatus",
    "ResolvedModel",
    "register_provider",
]
