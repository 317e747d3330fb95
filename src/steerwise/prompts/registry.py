"""PromptRegistry: the versioned prompt library, plus includes and rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steerwise.core.actors import Actor
from steerwise.core.errors import BadInputError
from steerwise.core.prompt import PromptSpec, RenderedPrompt
from steerwise.prompts.checks import check_spec
from steerwise.prompts.rendering import CompiledPrompt, PromptRenderer
from steerwise.store import Store, Transaction
from steerwise.versioning.files import SpecFile, SpecFormat
from steerwise.versioning.refs import PromptRef, parse_ref
from steerwise.versioning.registry import History, VersionedRegistry

PROMPT_FORMAT: SpecFormat[PromptSpec] = SpecFormat(
    noun="prompt", suffix=".prompt.yaml", model=PromptSpec.model_validate, check=check_spec
)
PromptHistory = History[PromptSpec]


class PromptRegistry(VersionedRegistry[PromptSpec]):
    """The versioned prompt library of one workspace."""

    def __init__(self, store: Store, *, actor: Actor, label_cache_ttl_s: float = 1.0) -> None:
        super().__init__(store, PROMPT_FORMAT, actor=actor, label_cache_ttl_s=label_cache_ttl_s)
        self._renderer = PromptRenderer()

    def _after_push(self, tx: Transaction, file: SpecFile[PromptSpec]) -> None:
        for index, text in enumerate(file.spec.includes):
            ref = parse_ref(text)
            if self._target_in(tx, ref) is None:
                raise BadInputError(
                    f"{file.where('includes', index)}: include {text!r} of prompt"
                    f" {file.spec.name!r} does not exist",
                    hint="push the included prompt first, or in the same push; nothing was written",
                )

    def accepts_variable(self, ref: str, name: str) -> bool:
        """Whether the version `ref` names may be given variable `name` (declared, or its
        schema does not forbid undeclared ones)."""
        schema = self.get(ref).spec.variables
        declared = name in (schema.get("properties") or {})
        return declared or schema.get("additionalProperties", True) is not False

    def check_variables(self, ref: str, variables: Mapping[str, Any]) -> None:
        """Raise BadInputError naming the first variable the version's schema refuses."""
        self._renderer.compiled(self.get(ref)).check_variables(variables)

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
