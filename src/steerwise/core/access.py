"""Access-control domain: roles, the actions they may take, and API keys.

Actions: `read` (list and show prompts, releases, deployments, traces, models), `infer` (ask
a deployment, release or prompt), `write` (publish prompt versions, create releases),
`review` (settle review-queue items), `deploy` (deploy and roll back releases, move prompt
labels) and `admin` (create, list and revoke API keys). `PERMISSIONS` says which role may
take which; docs/access.md shows it as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from steerwise.core.errors import BadInputError

Role = Literal["viewer", "editor", "reviewer", "approver", "admin"]
Action = Literal["read", "infer", "write", "review", "deploy", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
ACTIONS: tuple[Action, ...] = get_args(Action)

PERMISSIONS: dict[Role, frozenset[Action]] = {
    "viewer": frozenset({"read", "infer"}),
    "editor": frozenset({"read", "infer", "write"}),
    "reviewer": frozenset({"read", "infer", "review"}),
    "approver": frozenset({"read", "infer", "review", "deploy"}),
    "admin": frozenset(ACTIONS),
}

KEY_PREFIX = "sw_"


def check_role(value: str) -> Role:
    """`value` as a role, or an error listing the roles."""
    for role in ROLES:
        if value == role:
            return role
    raise BadInputError(f"unknown role {value!r}", hint=f"use one of: {', '.join(ROLES)}")


def may(role: Role, action: Action) -> bool:
    """Whether `role` may take `action`."""
    return action in PERMISSIONS[role]


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: never the secret, only its hash's owner and role."""

    id: str
    name: str
    role: Role
    created_at: str
    created_by: str
    revoked_at: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names what this key does."""
        return f"key:{self.id}" + (f" ({self.name})" if self.name else "")

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
        }
