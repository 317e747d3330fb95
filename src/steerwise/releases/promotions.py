"""Gated promotion: a release reaches a gated label only through a passing evaluation gate
and, where the gate asks for them, approvals by people other than the requester.

`Promotions.request(name, release, label)` on a label with a `[[promotion.gates]]` entry
evaluates the candidate on the gate's dataset and scorers, and the release the label serves
now (the baseline; the candidate itself on a first deploy) on the same dataset, then checks
the gate's rules (`steerwise.evals.gates`, `_delta` rules against the baseline). A failed gate
rejects the request; a passed one deploys at once when no approval is needed, else waits. Each
`approve` by a distinct approver (not the requester) counts; the last one needed deploys.
`reject` closes a waiting request. Every step is audited; the deploy itself is the ordinary,
audited label move, so `rollback` works as ever. A label without a gate deploys directly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, ConflictError, NotFoundError
from steerwise.core.promotions import Promotion, PromotionGate
from steerwise.evals.gates import parse_rule
from steerwise.evals.runs import EvalRuns
from steerwise.releases.registry import Release, ReleaseRegistry, release_id
from steerwise.store import Store


class Promotions:
    """Promotion requests of one workspace (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        releases: ReleaseRegistry,
        evals: EvalRuns,
        gates: Sequence[PromotionGate],
        actor: Actor,
    ) -> None:
        for number, gate in enumerate(gates):
            for rule in gate.rules:
                try:
                    parse_rule(rule)
                except BadInputError as error:
                    raise BadInputError(
                        f"steerwise.toml: promotion.gates.{number}.rules: {error.message}",
                        hint=error.hint,
                    ) from None
        self._store = store
        self._releases = releases
        self._evals = evals
        self._gates = {gate.deployment: gate for gate in gates}
        self._actor = actor

    def gate_of(self, name: str, label: str) -> PromotionGate | None:
        """The gate `name@label` requires, if any."""
        return self._gates.get(f"{name}@{label}")

    def request(self, name: str, release_ref: str, label: str) -> Promotion:
        """Ask for a release of `name` to serve under `label` through its gate."""
        gate = self.gate_of(name, label)
        if gate is None:
            raise BadInputError(
                f"{name}@{label} has no promotion gate",
                hint=f"deploy it directly: steerwise deploy {name} {release_ref} --label {label}",
            )
        candidate = self._releases.find(release_ref)
        if candidate.name != name:
            raise BadInputError(f"release {release_id(candidate)} is not a release of {name!r}")
        serving = self._serving(gate.deployment)
        promotion = Promotion(
            id=uuid.uuid4().hex,
            deployment=gate.deployment,
            release=release_id(candidate),
            baseline=None if serving is None else release_id(serving),
            status="evaluating",
            requested_by=self._actor.name,
            requested_at=utc_now(),
            gate=None,
            approvals_needed=gate.approvals,
            approvals=[],
            decided_at=None,
            reason="",
        )
        self._save(promotion, "promotion.request", new=True)
        return self._judge(promotion, gate)

    def approve(self, promotion_id: str) -> Promotion:
        """Approve a waiting request as the current actor; the last approval deploys."""
        promotion = self._waiting(promotion_id)
        approver = self._actor.name
        if approver == promotion.requested_by:
            raise ConflictError(
                f"{approver} asked for promotion {promotion.id[:12]} and may not approve it",
                hint="another approver must approve it",
            )
        if any(given["by"] == approver for given in promotion.approvals):
            raise ConflictError(f"{approver} has approved promotion {promotion.id[:12]} already")
        approvals = [*promotion.approvals, {"by": approver, "at": utc_now()}]
        promotion = replace(promotion, approvals=approvals)
        if len(approvals) < promotion.approvals_needed:
            self._save(promotion, "promotion.approve")
            return promotion
        return self._deploy(promotion, "promotion.approve")

    def reject(self, promotion_id: str, reason: str = "") -> Promotion:
        """Close a waiting request without deploying it."""
        promotion = self._waiting(promotion_id)
        why = reason or f"rejected by {self._actor.name}"
        closed = replace(promotion, status="rejected", decided_at=utc_now(), reason=why)
        self._save(closed, "promotion.reject")
        return closed

    def items(self, *, status: str | None = None, limit: int = 50) -> list[Promotion]:
        """Promotion requests, newest first."""
        with self._store.read() as tx:
            return [_promotion(body) for body in tx.promotions.items(status=status, limit=limit)]

    def get(self, promotion_id: str) -> Promotion:
        """One request by id or unique prefix."""
        with self._store.read() as tx:
            hint = "see: steerwise promotions list"
            return _promotion(tx.promotions.one(promotion_id, noun="promotion", hint=hint))

    def _serving(self, deployment: str) -> Release | None:
        try:
            return self._releases.target(deployment)
        except NotFoundError:  # the label points at nothing yet: a first deploy
            return None

    def _judge(self, promotion: Promotion, gate: PromotionGate) -> Promotion:
        """Run the gate; reject, deploy, or wait for approvals."""
        candidate = self._evals.run(promotion.release, gate.dataset, gate.scorers)
        baseline = candidate
        if promotion.baseline is not None:
            baseline = self._evals.run(promotion.baseline, gate.dataset, gate.scorers)
        result = self._evals.gate(baseline.run.id, candidate.run.id, gate.rules)
        judged = replace(promotion, gate=result.to_dict())
        if not result.passed:
            failed = ", ".join(r.rule.text for r in result.results if not r.passed)
            rejected = replace(
                judged, status="rejected", decided_at=utc_now(), reason=f"gate failed: {failed}"
            )
            self._save(rejected, "promotion.gate")
            return rejected
        if gate.approvals == 0:
            return self._deploy(judged, "promotion.gate")
        waiting = replace(judged, status="awaiting_approval")
        self._save(waiting, "promotion.gate")
        return waiting

    def _deploy(self, promotion: Promotion, action: str) -> Promotion:
        name, _, label = promotion.deployment.partition("@")
        self._releases.deploy(name, promotion.release, label)
        deployed = replace(promotion, status="deployed", decided_at=utc_now())
        self._save(deployed, action)
        return deployed

    def _waiting(self, promotion_id: str) -> Promotion:
        promotion = self.get(promotion_id)
        if promotion.status != "awaiting_approval":
            raise ConflictError(
                f"promotion {promotion.id[:12]} is {promotion.status}, not awaiting approval"
            )
        return promotion

    def _save(self, promotion: Promotion, action: str, *, new: bool = False) -> None:
        body = promotion.to_dict()
        with self._store.write() as tx:
            if new:
                tx.promotions.add(body)
            else:
                tx.promotions.update(body)
            entry = AuditEntry(action, f"promotion:{promotion.id}", None, _summary(promotion))
            AuditLog.record(tx, self._actor.name, entry)


def _summary(promotion: Promotion) -> dict[str, Any]:
    return {
        "deployment": promotion.deployment,
        "release": promotion.release,
        "status": promotion.status,
        "approvals": len(promotion.approvals),
        "reason": promotion.reason,
    }


def _promotion(body: str) -> Promotion:
    return Promotion(**json.loads(body))
