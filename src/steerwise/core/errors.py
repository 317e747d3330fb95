"""The error hierarchy: one root, and each subclass says what the user can do about it.

Every error carries the process exit code the CLI uses for it:
0 ok, 1 a check or gate failed, 2 bad input, 3 runtime failure.
"""

from __future__ import annotations

_TRACE_ID = "steerwise_trace_id"


def mark_traced(failure: BaseException, trace_id: str) -> None:
    """Note on `failure` the id of the trace that recorded it (so an error answer can name
    the trace)."""
    setattr(failure, _TRACE_ID, trace_id)


def trace_id_of(failure: BaseException) -> str | None:
    """The id `mark_traced` noted on `failure`, or None."""
    found = getattr(failure, _TRACE_ID, None)
    return found if isinstance(found, str) else None


class SteerwiseError(Exception):
    """Root of every error steerwise raises on purpose."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class BadInputError(SteerwiseError):
    """The input (a file, an argument, a variable) is wrong; fix it and run again."""

    exit_code = 2


class NotFoundError(BadInputError):
    """A named thing (prompt, version, label, workspace) does not exist."""


class ConflictError(BadInputError):
    """The request clashes with the current state (for example a workspace that exists)."""


class TemplateSecurityError(BadInputError):
    """A template tried to reach Python internals; the sandbox refused."""


class CheckFailedError(SteerwiseError):
    """A verification or gate ran and failed (for example an audit chain that was edited)."""

    exit_code = 1


class StoreError(SteerwiseError):
    """The database could not be reached or answered with an error; check the store URL."""

    exit_code = 3


class AuthenticationError(SteerwiseError):
    """No API key, or one that is unknown or revoked; send a valid key as a bearer token."""

    exit_code = 2


class PermissionDeniedError(SteerwiseError):
    """The caller's role may not do this; ask an admin for a key with a role that may."""

    exit_code = 2
