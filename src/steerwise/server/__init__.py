"""The OpenAI-compatible gateway: `steerwise serve`."""

from steerwise.server.app import create_app
from steerwise.server.process import serve

__all__ = ["create_app", "serve"]
