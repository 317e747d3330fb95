"""ReleaseRegistry: immutable releases identified by the hash of their pins, deployed by label.

A release of NAME pins a prompt version, a model reference, an index snapshot, a graph
version, a policy version and parameters; `create` resolves what the caller names (a label,
`latest`) to what it means now, so a release never moves. Releases are versioned like
prompts (`NAME@3`), and their id is the content hash, of which 12 characters are shown. A
deployment is a label on a release name (`support-bot@production`): `deploy` moves it,
`rollback` moves it back, both audited with the prompt registry's label machinery, and the
label history answers what was serving at any time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from steerwise.core.actors import Actor
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.core.models import ChatParams
from steerwise.core.releases import RETRIEVAL_PARAMS, ParamValue, ReleaseSpec
from steerwise.core.versioning import LabelMove, SpecVersion
from steerwise.retrieval.search import SearchOptions
from steerwise.store import Store
from steerwise.versioning.files import SpecFormat, no_problems
from steerwise.versioning.registry import VersionedRegistry

Release = SpecVersion[ReleaseSpec]
SHORT_ID = 12
_ID = re.compile(r"[0-9a-f]{6,64}")
CREATED_BY_CLI = "steerwise release create"


RELEASE_FORMAT: SpecFormat[ReleaseSpec] = SpecFormat(
    noun="release", suffix=".release.yaml", model=ReleaseSpec.model_validate, check=no_problems
)


def release_id(release: Release) -> str:
    """The short id shown for a release (a prefix of its content hash)."""
    return release.hash[:SHORT_ID]


def release_dict(release: Release) -> dict[str, Any]:
    """JSON-ready form of a release: id, hash, reference, provenance, pins, description."""
    return {
        "id": release_id(release),
        "hash": release.hash,
        "ref": release.ref,
        "created_at": release.created_at,
        "created_by": release.created_by,
        "pins": release.spec.pins(),
        "description": release.spec.description,
    }


@dataclass(frozen=True)
class PinRequest:
    """What a caller asks to pin; references may still move (`support@production`, `latest`)."""

    prompt: str
    model: str | None = None
    snapshot: str | None = None
    graph: str | None = None
    policy: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PinResolvers:
    """How each reference becomes what it means now (given by the workspace)."""

    prompt: Callable[[str], str]
    policy: Callable[[str], str]
    snapshot: Callable[[str], str]
    graph: Callable[[str], str]
    model: Callable[[str], str]


@dataclass(frozen=True)
class PinChange:
    """One pin that differs between two releases."""

    pin: str
    old: Any
    new: Any


class ReleaseRegistry(VersionedRegistry[ReleaseSpec]):
    """The releases and deployments of one workspace (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        resolvers: PinResolvers,
        label_cache_ttl_s: float = 1.0,
    ) -> None:
        super().__init__(store, RELEASE_FORMAT, actor=actor, label_cache_ttl_s=label_cache_ttl_s)
        self._resolvers = resolvers

    def create(self, name: str, request: PinRequest, *, description: str = "") -> Release:
        """Resolve the request's references and store the release (the same pins: the same
        release, not a new one)."""
        resolve = self._resolvers
        spec = ReleaseSpec(
            name=name,
            description=description,
            prompt=resolve.prompt(request.prompt),
            model=resolve.model(request.model) if request.model else None,
            snapshot=resolve.snapshot(request.snapshot) if request.snapshot else None,
            graph=resolve.graph(request.graph) if request.graph else None,
            policy=resolve.policy(request.policy) if request.policy else None,
            params=parse_params(request.params),
        )
        result = self.push_spec(spec, CREATED_BY_CLI)
        return self.get(result.ref)

    def find(self, ref: str) -> Release:
        """A release by `NAME@VERSION|LABEL`, `NAME` (its latest) or id (a hash prefix)."""
        if "@" in ref or not _ID.fullmatch(ref):
            return self.get(ref)
        with self._store.read() as tx:
            rows = tx.releases.by_hash_prefix(ref)
        if not rows:
            if self._exists(ref):
                return self.get(ref)
            raise NotFoundError(f"no release has id {ref!r}", hint="see: steerwise release list")
        names = {str(name) for name, _ in rows}
        if len(names) > 1:
            raise BadInputError(
                f"release id {ref!r} matches releases of {', '.join(sorted(names))}",
                hint="give more characters of the id",
            )
        name, version = rows[-1]
        return self.get(f"{name}@{int(version)}")

    def target(self, ref: str) -> Release | None:
        """The release `ref` names (a deployment, version or id), or None when it names no
        release at all (then it may name a prompt)."""
        if "@" in ref or not _ID.fullmatch(ref):
            return self.get(ref) if self._exists(ref.split("@", 1)[0]) else None
        try:
            return self.find(ref)
        except NotFoundError:
            return None

    def _exists(self, name: str) -> bool:
        try:
            self.get(name)
        except NotFoundError:
            return False
        return True

    def deploy(self, name: str, release_ref: str, label: str) -> LabelMove:
        """Point deployment `name@label` at a release of `name` (audited)."""
        release = self.find(release_ref)
        if release.name != name:
            raise BadInputError(
                f"release {release_id(release)} is a release of {release.name!r}, not {name!r}",
                hint=f"deploy it as: steerwise deploy {release.name} {release_id(release)}",
            )
        return self.label(release.ref, label)

    def deployments(self) -> list[tuple[str, Release]]:
        """Every deployment (`name@label`) with the release it serves, sorted."""
        return [
            (f"{summary.name}@{label}", self.get(f"{summary.name}@{version}"))
            for summary in self.summaries()
            for label, version in sorted(summary.labels.items())
        ]

    def serving_at(self, name: str, label: str, at: str) -> Release | None:
        """The release `name@label` pointed at, at time `at` (ISO 8601), or None."""
        moves = [m for m in self.history(name).moves if m.label == label and m.at <= at]
        if not moves or moves[-1].to_version is None:
            return None
        return self.get(f"{name}@{moves[-1].to_version}")

    def diff_pins(self, old_ref: str, new_ref: str) -> list[PinChange]:
        """The pins that differ between two releases, in pin order."""
        old, new = self.find(old_ref).spec.pins(), self.find(new_ref).spec.pins()
        return [PinChange(pin, old[pin], new[pin]) for pin in old if old[pin] != new[pin]]


def parse_params(raw: Mapping[str, str]) -> dict[str, ParamValue]:
    """`--param k=v` values typed (JSON numbers and booleans; else text) and checked."""
    params = {key: _typed(value) for key, value in raw.items()}
    generation = {k: v for k, v in params.items() if k not in RETRIEVAL_PARAMS}
    try:
        ChatParams.from_mapping(generation)
    except BadInputError as error:
        raise BadInputError(
            f"{error.message}; search settings a release may pin: {', '.join(RETRIEVAL_PARAMS)}",
            hint=error.hint,
        ) from None
    SearchOptions(**{k: v for k, v in params.items() if k in RETRIEVAL_PARAMS})  # type: ignore[arg-type]
    return params


def _typed(value: str) -> ParamValue:
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, str | int | float | bool) else value
