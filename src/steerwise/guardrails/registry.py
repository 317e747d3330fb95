"""PolicyRegistry: guardrail policies versioned like prompts, compiled on demand."""

from __future__ import annotations

from collections.abc import Callable

from steerwise.core.actors import Actor
from steerwise.core.guardrails import PolicySpec
from steerwise.guardrails.checks import check_policy
from steerwise.guardrails.decisions import DecisionLog
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.flags import FlagLog
from steerwise.guardrails.policy import Policy
from steerwise.guardrails.vectors import StoredVectors
from steerwise.models.interface import Embedder
from steerwise.models.registry import ModelRegistry
from steerwise.store import Store
from steerwise.versioning.files import SpecFormat
from steerwise.versioning.registry import VersionedRegistry

POLICY_FORMAT: SpecFormat[PolicySpec] = SpecFormat(
    noun="policy", suffix=".policy.yaml", model=PolicySpec.model_validate, check=check_policy
)


class PolicyRegistry(VersionedRegistry[PolicySpec]):
    """The versioned guardrail policies of one workspace; `load` gives a ready Policy.

    Flags and rail failures go to `flags` (review items, with the checked text scrubbed of
    personal data and secrets); every decision goes to `decisions`. Both are written off
    the request path.
    """

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        embedder: Callable[[], Embedder] | None = None,
        models: Callable[[], ModelRegistry] | None = None,
        stored_vectors: StoredVectors | None = None,
        label_cache_ttl_s: float = 1.0,
    ) -> None:
        super().__init__(store, POLICY_FORMAT, actor=actor, label_cache_ttl_s=label_cache_ttl_s)
        self._services = DetectorServices(embedder, models, stored_vectors)
        self._compiled: dict[str, Policy] = {}
        self.decisions = DecisionLog(store)
        self.flags = FlagLog(store)

    @property
    def services(self) -> DetectorServices:
        """What this registry's detectors share (the embedder and its cache)."""
        return self._services

    def load(self, ref: str) -> Policy:
        """The policy version `ref` names, compiled (once per version)."""
        version = self.get(ref)
        policy = self._compiled.get(version.ref)
        if policy is None:
            policy = Policy(
                version,
                self._services,
                on_event=self.flags.record,
                on_decision=self.decisions.record,
            )
            self._compiled[version.ref] = policy
        return policy

    def close(self) -> None:
        """Store the decisions and flags still queued."""
        self.decisions.close()
        self.flags.close()
