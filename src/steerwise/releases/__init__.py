"""Releases: everything that shapes an answer, pinned under one id, deployed under labels."""

from steerwise.releases.registry import (
    PinChange,
    PinRequest,
    PinResolvers,
    Release,
    ReleaseRegistry,
    release_dict,
    release_id,
)

__all__ = [
    "PinChange",
    "PinRequest",
    "PinResolvers",
    "Release",
    "ReleaseRegistry",
    "release_dict",
    "release_id",
]
