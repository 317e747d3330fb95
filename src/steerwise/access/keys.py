"""KeyRing: API keys for the gateway, stored hashed, with roles; authentication and checks.

A key is `sw_<id>_<secret>`, shown once when created; the store keeps its SHA-256 (keys are
random 256-bit strings, so a fast hash is enough: there is nothing to guess). While no key
is active the gateway is open (a workspace on one machine); once one exists, every request
must carry one. Active keys are cached for `cache_ttl_s`, so a key revoked by another process
stops working within that time (at once in this process).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import replace

from steerwise.audit import AuditLog
from steerwise.core.access import KEY_PREFIX, Action, ApiKey, check_role, may
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import (
    AuthenticationError,
    BadInputError,
    NotFoundError,
    PermissionDeniedError,
)
from steerwise.store import Store
from steerwise.store.session import Row

MAX_NAME_CHARS = 100
ANONYMOUS = "anonymous"
"""Who the audit log names for a request without a valid key."""


def secret_hash(secret: str) -> str:
    """What the store keeps of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row: Row) -> ApiKey:
    key_id, name, role, created_at, created_by, revoked_at = row
    return ApiKey(
        str(key_id),
        str(name),
        check_role(str(role)),
        str(created_at),
        str(created_by),
        None if revoked_at is None else str(revoked_at),
    )


class KeyRing:
    """Creates, lists, revokes and checks API keys (module docstring)."""

    def __init__(self, store: Store, *, actor: Actor, cache_ttl_s: float = 1.0) -> None:
        self._store = store
        self._actor = actor
        self._ttl = cache_ttl_s
        self._lock = threading.Lock()
        self._active: dict[str, ApiKey] = {}
        self._loaded_at = float("-inf")

    def create(self, role: str, *, name: str = "") -> tuple[ApiKey, str]:
        """A new key with `role`: the stored record and the secret (shown only now)."""
        if len(name) > MAX_NAME_CHARS:
            raise BadInputError(f"key name: longer than {MAX_NAME_CHARS} characters")
        key = ApiKey(secrets.token_hex(4), name, check_role(role), utc_now(), self._actor.name)
        secret = f"{KEY_PREFIX}{key.id}_{secrets.token_urlsafe(32)}"
        with self._store.write() as tx:
            tx.keys.add(key, secret_hash(secret))
            entry = AuditEntry("key.create", f"key:{key.id}", None, {"name": name, "role": role})
            AuditLog.record(tx, self._actor.name, entry)
        self._forget()
        return key, secret

    def items(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._store.read() as tx:
            return [_key(row) for row in tx.keys.items()]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (audited); it stops working at once in this process."""
        found = next((key for key in self.items() if key.id == key_id), None)
        if found is None:
            raise NotFoundError(f"no API key has id {key_id!r}", hint="see: steerwise keys list")
        if found.revoked_at is not None:
            return found
        revoked = replace(found, revoked_at=utc_now())
        with self._store.write() as tx:
            tx.keys.revoke(key_id, at=str(revoked.revoked_at))
            entry = AuditEntry("key.revoke", f"key:{key_id}", {"role": found.role}, None)
            AuditLog.record(tx, self._actor.name, entry)
        self._forget()
        return revoked

    def enforced(self) -> bool:
        """Whether any key is active (then every gateway request needs one)."""
        return bool(self._active_keys())

    def authenticate(self, secret: str | None) -> ApiKey | None:
        """The key `secret` is; None while no key is active; an error when it is required
        and missing, unknown or revoked."""
        active = self._active_keys()
        if not active:
            return None
        if not secret:
            raise AuthenticationError(
                "missing API key", hint="send it as `Authorization: Bearer sw_...`"
            )
        key = active.get(secret_hash(secret))
        if key is None:
            raise AuthenticationError("invalid or revoked API key")
        return key

    @staticmethod
    def allows(key: ApiKey | None, action: Action) -> bool:
        """Whether `key` may take `action`; no key means keys are not enforced."""
        return key is None or may(key.role, action)

    def authorize(self, key: ApiKey | None, action: Action, *, target: str) -> None:
        """Refuse (and audit the refusal) when `key`'s role may not take `action`; no key
        means keys are not enforced, and everything is allowed."""
        if key is None or self.allows(key, action):
            return
        with self._store.write() as tx:
            entry = AuditEntry("access.denied", target, None, {"action": action, "role": key.role})
            AuditLog.record(tx, key.actor, entry)
        raise PermissionDeniedError(
            f"role {key.role!r} may not {action} ({target})",
            hint="see the role table in docs/access.md",
        )

    def record_unauthenticated(self, target: str, reason: str) -> None:
        """Audit an attempt without a valid key (as `anonymous`): the gateway calls it for
        attempts to change state; refused reads are only counted in `/metrics`."""
        with self._store.write() as tx:
            entry = AuditEntry("access.denied", target, None, {"reason": reason})
            AuditLog.record(tx, ANONYMOUS, entry)

    def _active_keys(self) -> dict[str, ApiKey]:
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                with self._store.read() as tx:
                    rows = tx.keys.active_by_hash()
                self._active = {str(row[0]): _key(row[1:]) for row in rows}
                self._loaded_at = time.monotonic()
            return self._active

    def _forget(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")
