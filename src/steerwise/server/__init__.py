"""The OpenAI-compatible gateway: `steerwise serve`."""

from steerwise.server.app import create_app

__all__ = ["create_app"]
