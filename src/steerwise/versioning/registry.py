"""VersionedRegistry: immutable spec versions and movable labels, every change audited.

Prompts and policies are both kept this way; a subclass names its kind (`prompt`,
`policy`), its file format, and adds what only it does (rendering, compiling rails).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.core.versioning import (
    LabelMove,
    PushResult,
    SpecSummary,
    SpecVersion,
    VersionedSpec,
)
from steerwise.store import Store, Transaction
from steerwise.store.records import VersionRecords
from steerwise.store.session import Row
from steerwise.versioning.diffing import diff_versions
from steerwise.versioning.files import (
    SpecFile,
    SpecFormat,
    find_spec_files,
    load_spec_files,
    spec_file_from_data,
)
from steerwise.versioning.refs import LATEST, VersionRef, check_label_name, parse_ref

S = TypeVar("S", bound=VersionedSpec)


def content_hash(spec: VersionedSpec) -> str:
    """SHA-256 of the canonical JSON of a spec: equal content, equal hash."""
    encoded = json.dumps(spec.content(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass(frozen=True)
class History(Generic[S]):
    """Every version of a spec and every move of its labels."""

    versions: list[SpecVersion[S]]
    moves: list[LabelMove]


class VersionedRegistry(Generic[S]):
    """The versions and labels of one kind of spec in one workspace.

    Versions are immutable and cached forever; label targets are cached for
    `label_cache_ttl_s` seconds (a label moved by this registry is seen at once).
    """

    def __init__(
        self,
        store: Store,
        form: SpecFormat[S],
        *,
        actor: Actor,
        label_cache_ttl_s: float = 1.0,
    ) -> None:
        self._store = store
        self._form = form
        self._kind = form.noun
        self._actor = actor
        self._label_ttl = label_cache_ttl_s
        self._targets: dict[tuple[str, str], tuple[int, float]] = {}
        self._versions: dict[tuple[str, int], SpecVersion[S]] = {}

    def _records(self, tx: Transaction) -> VersionRecords:
        return tx.versions(self._kind)

    def parse(self, ref: str) -> VersionRef:
        """Parse a reference to this kind of spec."""
        return parse_ref(ref, noun=self._kind)

    # -- writing -------------------------------------------------------------------------

    def push(self, paths: Iterable[str | Path]) -> list[PushResult]:
        """Store every file under `paths` as a new version where its content changed."""
        files = load_spec_files(find_spec_files(paths, self._form), self._form)
        with self._store.write() as tx:
            results = [self._push_one(tx, file) for file in files]
            for file in files:
                self._after_push(tx, file)
        self._targets.clear()
        return results

    def push_spec(self, spec: S, source: str) -> PushResult:
        """Store a spec built in code (not read from a file), as a new version if it changed."""
        with self._store.write() as tx:
            result = self._push_one(tx, SpecFile(source, spec))
        self._targets.clear()
        return result

    def push_data(self, data: Any, source: str) -> PushResult:
        """Validate parsed data (a request's JSON) as a spec and store it like a file."""
        file = spec_file_from_data(source, data, self._form)
        with self._store.write() as tx:
            result = self._push_one(tx, file)
            self._after_push(tx, file)
        self._targets.clear()
        return result

    def _after_push(self, tx: Transaction, file: SpecFile[S]) -> None:
        """Checks that need the whole push in the store (e.g. includes); none by default."""

    def _push_one(self, tx: Transaction, file: SpecFile[S]) -> PushResult:
        name, new_hash = file.spec.name, content_hash(file.spec)
        records = self._records(tx)
        latest = records.latest(name)
        if latest is not None and latest[2] == new_hash:
            return PushResult(name, int(latest[1]), "unchanged", file.path)
        version = int(latest[1]) + 1 if latest else 1
        records.insert(
            name,
            version,
            content_hash=new_hash,
            spec=file.spec.content(),
            source=file.path,
            at=utc_now(),
            by=self._actor.name,
        )
        before = {"version": int(latest[1]), "hash": latest[2]} if latest else None
        after = {"version": version, "hash": new_hash, "source": file.path}
        AuditLog.record(
            tx,
            self._actor.name,
            AuditEntry(f"{self._kind}.push", f"{self._kind}:{name}", before, after),
        )
        return PushResult(name, version, "new", file.path)

    def label(self, ref: str, label: str) -> LabelMove:
        """Point `label` at the version `ref` names; audited. Moving onto itself is a no-op."""
        check_label_name(label)
        parsed = self.parse(ref)
        with self._store.write() as tx:
            version = self._require_target(tx, parsed)
            current = tx.labels.get(self._kind, parsed.name, label)
            if current == version:
                return LabelMove(
                    parsed.name, label, current, version, "unchanged", self._actor.name, ""
                )
            return self._move(tx, parsed.name, label, version, "set")

    def rollback(self, name: str, label: str) -> LabelMove:
        """Move `label` back to where it pointed before its latest move; audited."""
        check_label_name(label)
        with self._store.write() as tx:
            moves = tx.labels.moves(self._kind, name, label)
            if not moves:
                raise NotFoundError(f"{self._kind} {name!r} has no label {label!r}")
            previous = moves[-1][1]
            if previous is None:
                raise BadInputError(
                    f"label {label!r} of {self._kind} {name!r} has no earlier position to go"
                    " back to",
                    hint=f"point it elsewhere with: steerwise {self._kind} label {name}@N {label}",
                )
            return self._move(tx, name, label, int(previous), "rollback")

    def _move(self, tx: Transaction, name: str, label: str, version: int, kind: str) -> LabelMove:
        now = utc_now()
        before = tx.labels.move(
            self._kind, name, label, to=version, move=kind, actor=self._actor.name, at=now
        )
        AuditLog.record(
            tx,
            self._actor.name,
            AuditEntry(
                f"{self._kind}.label.{kind}",
                f"{self._kind}:{name}#{label}",
                {"version": before} if before is not None else None,
                {"version": version},
            ),
        )
        self._targets.clear()
        return LabelMove(name, label, before, version, kind, self._actor.name, now)

    # -- reading -------------------------------------------------------------------------

    def get(self, ref: str | VersionRef) -> SpecVersion[S]:
        """The version a reference names (`name`, `name@3`, `name@production`)."""
        parsed = self.parse(ref) if isinstance(ref, str) else ref
        number = parsed.version if parsed.version is not None else self._cached_target(parsed)
        cached = self._versions.get((parsed.name, number))
        if cached is not None:
            return cached
        with self._store.read() as tx:
            row = self._records(tx).version(parsed.name, number)
        if row is None:
            raise NotFoundError(f"{self._kind} {parsed.name}@{number} does not exist")
        version = self._version_from(row)
        self._versions[(parsed.name, number)] = version
        return version

    def describe(self, ref: str) -> dict[str, Any]:
        """One version as JSON-ready data: its record, content and the labels on it."""
        version = self.find(ref)
        labels = sorted(
            label for label, v in self.labels_of(version.name).items() if v == version.version
        )
        return {**vars(version), "spec": version.spec.content(), "labels": labels}

    def find(self, ref: str) -> SpecVersion[S]:
        """A version by any reference this kind accepts; here `NAME[@VERSION|@LABEL]`."""
        return self.get(ref)

    def _cached_target(self, ref: VersionRef) -> int:
        key = (ref.name, str(ref.label))
        hit = self._targets.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._store.read() as tx:
            number = self._require_target(tx, ref)
        self._targets[key] = (number, now + self._label_ttl)
        return number

    def _require_target(self, tx: Transaction, ref: VersionRef) -> int:
        number = self._target_in(tx, ref)
        if number is not None:
            return number
        if self._records(tx).latest(ref.name) is None:
            raise NotFoundError(
                f"unknown {self._kind} {ref.name!r}",
                hint=f"see the {self._kind}s with: steerwise {self._kind} list",
            )
        if ref.version is not None:
            raise NotFoundError(f"{self._kind} {ref.name!r} has no version {ref.version}")
        raise NotFoundError(
            f"{self._kind} {ref.name!r} has no label {ref.label!r}",
            hint=f"see its labels with: steerwise {self._kind} history {ref.name}",
        )

    def _target_in(self, tx: Transaction, ref: VersionRef) -> int | None:
        records = self._records(tx)
        if ref.version is not None:
            return ref.version if records.version(ref.name, ref.version) else None
        if ref.label == LATEST:
            latest = records.latest(ref.name)
            return int(latest[1]) if latest else None
        return tx.labels.get(self._kind, ref.name, str(ref.label))

    def summaries(self) -> list[SpecSummary]:
        """One summary per spec, with its labels."""
        with self._store.read() as tx:
            rows = self._records(tx).summaries()
            labels: dict[str, dict[str, int]] = {}
            for target, label, version in tx.labels.of_kind(self._kind):
                labels.setdefault(str(target), {})[str(label)] = int(version)
        return [
            SpecSummary(
                name=str(name),
                latest_version=int(version),
                labels=labels.get(str(name), {}),
                updated_at=str(at),
                description=str(json.loads(spec).get("description", "")),
            )
            for name, version, at, spec in rows
        ]

    def labels_of(self, name: str) -> dict[str, int]:
        """Every label on a spec, label -> version."""
        with self._store.read() as tx:
            return tx.labels.of_target(self._kind, name)

    def history(self, name: str) -> History[S]:
        """Every version and label move of a spec, oldest first."""
        with self._store.read() as tx:
            rows = self._records(tx).versions(name)
            if not rows:
                raise NotFoundError(f"unknown {self._kind} {name!r}")
            moves = tx.labels.moves(self._kind, name)
        return History(
            versions=[self._version_from(row) for row in rows],
            moves=[
                LabelMove(
                    name, str(label), _opt_int(old), _opt_int(new), str(kind), str(by), str(at)
                )
                for label, old, new, kind, by, at in moves
            ],
        )

    def diff(self, old_ref: str, new_ref: str) -> str:
        """A unified diff between two versions (empty when their content is equal)."""
        return diff_versions(self.get(old_ref), self.get(new_ref))

    def _version_from(self, row: Row) -> SpecVersion[S]:
        name, version, content_hash_, spec, source, at, by = row
        return SpecVersion(
            name=str(name),
            version=int(version),
            hash=str(content_hash_),
            spec=self._form.model(json.loads(spec)),
            source=str(source),
            created_at=str(at),
            created_by=str(by),
        )


def _opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None
