"""References to versioned specs: `name`, `name@3`, `name@production`, `name@latest`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from steerwise.core.errors import BadInputError
from steerwise.core.versioning import LABEL_PATTERN, NAME_PATTERN

LATEST = "latest"


@dataclass(frozen=True)
class VersionRef:
    """A parsed reference: exactly one of `version` and `label` is set."""

    name: str
    version: int | None = None
    label: str | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else self.label}"

    @property
    def is_pinned(self) -> bool:
        """True for `name@N`, which always means the same content."""
        return self.version is not None


@lru_cache(maxsize=4096)
def parse_ref(text: str, *, default_label: str = LATEST, noun: str = "prompt") -> VersionRef:
    """Parse `NAME[@VERSION|@LABEL]`; a bare name means `default_label` (cached: refs repeat)."""
    name, _, ref = text.strip().partition("@")
    if not NAME_PATTERN.match(name):
        raise BadInputError(
            f"invalid {noun} reference {text!r}: {name!r} is not a {noun} name",
            hint="write NAME, NAME@VERSION or NAME@LABEL",
        )
    if not ref:
        return VersionRef(name, label=default_label)
    if ref.isdigit():
        if int(ref) < 1:
            raise BadInputError(f"invalid {noun} reference {text!r}: versions start at 1")
        return VersionRef(name, version=int(ref))
    if not LABEL_PATTERN.match(ref):
        raise BadInputError(
            f"invalid {noun} reference {text!r}: {ref!r} is neither a version nor a label",
            hint="labels are lowercase letters, digits, '.', '_', '-' and start with a letter",
        )
    return VersionRef(name, label=ref)


def check_label_name(label: str) -> str:
    """Return `label` if it may be set by hand, else raise."""
    if not LABEL_PATTERN.match(label):
        raise BadInputError(
            f"invalid label {label!r}",
            hint="labels are lowercase letters, digits, '.', '_', '-' and start with a letter",
        )
    if label == LATEST:
        raise BadInputError(
            "the label 'latest' is reserved: it always means the newest version",
            hint="choose another label, such as production or staging",
        )
    return label


PromptRef = VersionRef
