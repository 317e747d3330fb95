"""Canary releases: a share of a deployment's requests served by another release.

`Canaries.start("support-bot", RELEASE, "production", percent=10)` keeps
`support-bot@production` pointing where it points and sends about 10% of the requests that
ask for it to RELEASE instead, each request drawn at random. Traces record the release that
actually answered, so `steerwise monitor show support-bot@production` shows both (`releases`),
and `--window`ed metrics of each release compare them. `promote` makes the canary the label's
release (an ordinary, audited deploy) and ends the split; `abort` ends it. A gated label's
canary is promoted through its gate (`steerwise deploy`), never by `promote`. Starting,
promoting and aborting are audited. Servers see a change within `cache_ttl_s`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, ConflictError, NotFoundError
from steerwise.releases.registry import ReleaseRegistry, release_id
from steerwise.store import Store


@dataclass(frozen=True)
class Canary:
    """A label's split: which release takes what share of its requests."""

    name: str
    label: str
    release_id: str
    percent: float
    started_at: str
    started_by: str

    @property
    def deployment(self) -> str:
        return f"{self.name}@{self.label}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deployment": self.deployment}


class Canaries:
    """The canary splits of one workspace (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        releases: ReleaseRegistry,
        actor: Actor,
        gated: Callable[[str, str], bool],
        cache_ttl_s: float = 1.0,
    ) -> None:
        self._store = store
        self._releases = releases
        self._actor = actor
        self._gated = gated  # whether name@label has a promotion gate
        self._ttl = cache_ttl_s
        self._cache: tuple[float, dict[str, Canary]] | None = None
        self._lock = threading.Lock()
        self._random = random.Random()

    def start(self, name: str, release_ref: str, label: str, *, percent: float) -> Canary:
        """Send `percent` of `name@label`'s requests to a release of `name`."""
        if not 0.0 < percent < 100.0:
            raise BadInputError(
                f"canary percent {percent:g} must be between 0 and 100 (exclusive)",
                hint="to serve a release to everyone, deploy it",
            )
        release = self._releases.find(release_ref)
        if release.name != name:
            raise BadInputError(f"release {release_id(release)} is not a release of {name!r}")
        serving = self._serving(name, label)
        if release_id(serving) == release_id(release):
            raise ConflictError(f"{name}@{label} serves {release_id(release)} already")
        canary = Canary(name, label, release_id(release), percent, utc_now(), self._actor.name)
        with self._store.write() as tx:
            tx.canaries.put(asdict(canary))
            entry = AuditEntry("release.canary.start", f"{name}@{label}", None, canary.to_dict())
            AuditLog.record(tx, self._actor.name, entry)
        self._cache = None
        return canary

    def promote(self, name: str, label: str) -> Canary:
        """Serve the canary's release to everyone (a deploy) and end the split."""
        canary = self._require(name, label)
        if self._gated(name, label):
            raise ConflictError(
                f"{name}@{label} has a promotion gate",
                hint=f"ask for a promotion: steerwise deploy {name} {canary.release_id}"
                f" --label {label}",
            )
        self._releases.deploy(name, canary.release_id, label)
        self._end(canary, "release.canary.promote")
        return canary

    def abort(self, name: str, label: str) -> Canary:
        """End the split: every request gets the label's release again."""
        canary = self._require(name, label)
        self._end(canary, "release.canary.abort")
        return canary

    def items(self) -> list[Canary]:
        """Every running split."""
        with self._store.read() as tx:
            return [_canary(row) for row in tx.canaries.all()]

    def pick(self, deployment: str) -> str | None:
        """For one request to `deployment`: the canary's release id when the draw falls in
        its share, else None (the label's own release serves)."""
        canary = self._running().get(deployment)
        if canary is None:
            return None
        with self._lock:
            drawn = self._random.random() * 100.0
        return canary.release_id if drawn < canary.percent else None

    def _running(self) -> dict[str, Canary]:
        cached = self._cache
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        found = {canary.deployment: canary for canary in self.items()}
        self._cache = (now, found)
        return found

    def _serving(self, name: str, label: str) -> Any:
        try:
            return self._releases.get(f"{name}@{label}")
        except NotFoundError:
            raise BadInputError(
                f"{name}@{label} serves nothing yet",
                hint=f"deploy a release first: steerwise deploy {name} RELEASE_ID --label {label}",
            ) from None

    def _require(self, name: str, label: str) -> Canary:
        canary = self._running_now().get(f"{name}@{label}")
        if canary is None:
            raise NotFoundError(f"{name}@{label} has no canary", hint="see: steerwise canary list")
        return canary

    def _running_now(self) -> dict[str, Canary]:
        self._cache = None
        return self._running()

    def _end(self, canary: Canary, action: str) -> None:
        with self._store.write() as tx:
            tx.canaries.remove(canary.name, canary.label)
            entry = AuditEntry(action, canary.deployment, canary.to_dict(), None)
            AuditLog.record(tx, self._actor.name, entry)
        self._cache = None


def _canary(row: Any) -> Canary:
    name, label, release, percent, started_at, started_by = row
    return Canary(
        str(name), str(label), str(release), float(percent), str(started_at), str(started_by)
    )
