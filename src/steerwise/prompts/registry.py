"""PromptRegistry: immutable prompt versions, movable labels, rendering, all audited."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steerwise.audit import AuditLog
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.core.prompt import (
    LabelMove,
    PromptSpec,
    PromptSummary,
    PromptVersion,
    PushResult,
    RenderedPrompt,
)
from steerwise.prompts.diffing import diff_versions
from steerwise.prompts.files import PromptFile, find_prompt_files, load_prompt_files
from steerwise.prompts.refs import LATEST, PromptRef, check_label_name, parse_ref
from steerwise.prompts.rendering import CompiledPrompt, PromptRenderer
from steerwise.store import Store, Transaction
from steerwise.store.session import Row

KIND = "prompt"


def content_hash(spec: PromptSpec) -> str:
    """SHA-256 of the canonical JSON of a spec: equal content, equal hash."""
    encoded = json.dumps(spec.content(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass(frozen=True)
class PromptHistory:
    """Every version of a prompt and every move of its labels."""

    versions: list[PromptVersion]
    moves: list[LabelMove]


class PromptRegistry:
    """The versioned prompt library of one workspace.

    Versions are immutable and cached forever; label targets are cached for
    `label_cache_ttl_s` seconds (a label moved by this registry is seen at once).
    """

    def __init__(self, store: Store, *, actor: str, label_cache_ttl_s: float = 1.0) -> None:
        self._store = store
        self._actor = actor
        self._label_ttl = label_cache_ttl_s
        self._targets: dict[tuple[str, str], tuple[int, float]] = {}
        self._versions: dict[tuple[str, int], PromptVersion] = {}
        self._renderer = PromptRenderer()

    # -- writing -------------------------------------------------------------------------

    def push(self, paths: Iterable[str | Path]) -> list[PushResult]:
        """Store every prompt file under `paths` as a new version where its content changed."""
        files = load_prompt_files(find_prompt_files(paths))
        with self._store.write() as tx:
            results = [self._push_one(tx, file) for file in files]
            for file in files:
                self._check_includes_exist(tx, file)
        self._targets.clear()
        return results

    def _push_one(self, tx: Transaction, file: PromptFile) -> PushResult:
        name, new_hash = file.spec.name, content_hash(file.spec)
        latest = tx.prompts.latest(name)
        if latest is not None and latest[2] == new_hash:
            return PushResult(name, int(latest[1]), "unchanged", file.path)
        version = int(latest[1]) + 1 if latest else 1
        now = utc_now()
        tx.prompts.insert(
            name,
            version,
            content_hash=new_hash,
            spec=file.spec.content(),
            source=file.path,
            at=now,
            by=self._actor,
        )
        before = {"version": int(latest[1]), "hash": latest[2]} if latest else None
        after = {"version": version, "hash": new_hash, "source": file.path}
        AuditLog.record(tx, self._actor, AuditEntry("prompt.push", f"prompt:{name}", before, after))
        return PushResult(name, version, "new", file.path)

    def _check_includes_exist(self, tx: Transaction, file: PromptFile) -> None:
        for index, text in enumerate(file.spec.includes):
            ref = parse_ref(text)
            if self._target_in(tx, ref) is None:
                raise BadInputError(
                    f"{file.where('includes', index)}: include {text!r} of prompt"
                    f" {file.spec.name!r} does not exist",
                    hint="push the included prompt first, or in the same push; nothing was written",
                )

    def label(self, ref: str, label: str) -> LabelMove:
        """Point `label` at the version `ref` names; audited. Moving onto itself is a no-op."""
        check_label_name(label)
        parsed = parse_ref(ref)
        with self._store.write() as tx:
            version = self._require_target(tx, parsed)
            current = tx.labels.get(KIND, parsed.name, label)
            if current == version:
                return LabelMove(parsed.name, label, current, version, "unchanged", self._actor, "")
            return self._move(tx, parsed.name, label, version, "set")

    def rollback(self, name: str, label: str) -> LabelMove:
        """Move `label` back to where it pointed before its latest move; audited."""
        check_label_name(label)
        with self._store.write() as tx:
            moves = tx.labels.moves(KIND, name, label)
            if not moves:
                raise NotFoundError(f"prompt {name!r} has no label {label!r}")
            previous = moves[-1][1]
            if previous is None:
                raise BadInputError(
                    f"label {label!r} of prompt {name!r} has no earlier position to go back to",
                    hint=f"point it elsewhere with: steerwise prompt label {name}@N {label}",
                )
            return self._move(tx, name, label, int(previous), "rollback")

    def _move(self, tx: Transaction, name: str, label: str, version: int, kind: str) -> LabelMove:
        now = utc_now()
        before = tx.labels.move(KIND, name, label, to=version, move=kind, actor=self._actor, at=now)
        AuditLog.record(
            tx,
            self._actor,
            AuditEntry(
                f"prompt.label.{kind}",
                f"prompt:{name}#{label}",
                {"version": before} if before is not None else None,
                {"version": version},
            ),
        )
        self._targets.clear()
        return LabelMove(name, label, before, version, kind, self._actor, now)

    # -- reading -------------------------------------------------------------------------

    def get(self, ref: str | PromptRef) -> PromptVersion:
        """The version a reference names (`name`, `name@3`, `name@production`)."""
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        number = parsed.version if parsed.version is not None else self._cached_target(parsed)
        cached = self._versions.get((parsed.name, number))
        if cached is not None:
            return cached
        with self._store.read() as tx:
            row = tx.prompts.version(parsed.name, number)
        if row is None:
            raise NotFoundError(f"prompt {parsed.name}@{number} does not exist")
        version = _version_from(row)
        self._versions[(parsed.name, number)] = version
        return version

    def _cached_target(self, ref: PromptRef) -> int:
        key = (ref.name, str(ref.label))
        hit = self._targets.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._store.read() as tx:
            number = self._require_target(tx, ref)
        self._targets[key] = (number, now + self._label_ttl)
        return number

    def _require_target(self, tx: Transaction, ref: PromptRef) -> int:
        number = self._target_in(tx, ref)
        if number is not None:
            return number
        if tx.prompts.latest(ref.name) is None:
            raise NotFoundError(
                f"unknown prompt {ref.name!r}", hint="see the prompts with: steerwise prompt list"
            )
        if ref.version is not None:
            raise NotFoundError(f"prompt {ref.name!r} has no version {ref.version}")
        raise NotFoundError(
            f"prompt {ref.name!r} has no label {ref.label!r}",
            hint=f"see its labels with: steerwise prompt history {ref.name}",
        )

    @staticmethod
    def _target_in(tx: Transaction, ref: PromptRef) -> int | None:
        if ref.version is not None:
            return ref.version if tx.prompts.version(ref.name, ref.version) else None
        if ref.label == LATEST:
            latest = tx.prompts.latest(ref.name)
            return int(latest[1]) if latest else None
        return tx.labels.get(KIND, ref.name, str(ref.label))

    def summaries(self) -> list[PromptSummary]:
        """One summary per prompt, with its labels."""
        with self._store.read() as tx:
            rows = tx.prompts.summaries()
            labels: dict[str, dict[str, int]] = {}
            for target, label, version in tx.labels.of_kind(KIND):
                labels.setdefault(str(target), {})[str(label)] = int(version)
        return [
            PromptSummary(
                name=str(name),
                latest_version=int(version),
                labels=labels.get(str(name), {}),
                updated_at=str(at),
                description=str(json.loads(spec).get("description", "")),
            )
            for name, version, at, spec in rows
        ]

    def labels_of(self, name: str) -> dict[str, int]:
        """Every label on a prompt, label -> version."""
        with self._store.read() as tx:
            return tx.labels.of_target(KIND, name)

    def history(self, name: str) -> PromptHistory:
        """Every version and label move of a prompt, oldest first."""
        with self._store.read() as tx:
            rows = tx.prompts.versions(name)
            if not rows:
                raise NotFoundError(f"unknown prompt {name!r}")
            moves = tx.labels.moves(KIND, name)
        return PromptHistory(
            versions=[_version_from(row) for row in rows],
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

    def render(self, ref: str | PromptRef, variables: Mapping[str, Any]) -> RenderedPrompt:
        """Validate `variables` and render the messages of the version `ref` names."""
        version = self.get(ref)
        compiled = self._renderer.compiled(version)
        compiled.check_variables(variables)
        used: dict[str, int] = {}
        return RenderedPrompt(
            name=version.name,
            version=version.version,
            hash=version.hash,
            messages=self._render_messages(compiled, variables, (version.name,), used),
            model=compiled.model,
            response_format=version.spec.response_format,
            includes=used,
        )

    def _render_messages(
        self,
        compiled: CompiledPrompt,
        variables: Mapping[str, Any],
        stack: tuple[str, ...],
        used: dict[str, int],
    ) -> list[dict[str, str]]:
        def include(name: str) -> str:
            if name in stack:
                raise BadInputError(f"includes form a cycle: {' -> '.join((*stack, name))}")
            ref = compiled.include_refs.get(name)
            if ref is None:
                raise BadInputError(
                    f"{compiled.version.ref} includes {name!r}, which it does not list"
                )
            included = self._renderer.compiled(self.get(ref))
            used[name] = included.version.version
            parts = self._render_messages(included, variables, (*stack, name), used)
            return "\n\n".join(part["content"] for part in parts)

        return compiled.render(variables, include)


def _version_from(row: Row) -> PromptVersion:
    name, version, content_hash_, spec, source, at, by = row
    return PromptVersion(
        name=str(name),
        version=int(version),
        hash=str(content_hash_),
        spec=PromptSpec.model_validate_json(spec),
        source=str(source),
        created_at=str(at),
        created_by=str(by),
    )


def _opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None
