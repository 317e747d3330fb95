"""Access control: API keys with roles for the gateway."""

from steerwise.access.keys import KeyRing, secret_hash

__all__ = ["KeyRing", "secret_hash"]
