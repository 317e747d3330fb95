"""Rendering a prompt version: validate variables against its schema, then run the sandbox."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import safe_range
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from steerwise.core.errors import BadInputError, SteerwiseError, TemplateSecurityError
from steerwise.core.prompt import PromptVersion
from steerwise.prompts.sandbox import INCLUDE_FUNCTION, PromptSandbox
from steerwise.versioning.refs import PromptRef, parse_ref

IncludeFunction = Callable[[str], str]


@dataclass(frozen=True)
class CompiledMessage:
    """One message template; `fixed` holds its text when it uses no variables at all."""

    role: str
    template: Template
    fixed: str | None


@dataclass(frozen=True)
class CompiledPrompt:
    """A version compiled once: templates, variables validator, includes, model settings."""

    version: PromptVersion
    messages: tuple[CompiledMessage, ...]
    validator: Draft202012Validator
    include_refs: dict[str, PromptRef]
    model: dict[str, Any] | None

    def check_variables(self, variables: Mapping[str, Any]) -> None:
        """Raise BadInputError naming the first variable that breaks the schema."""
        error = best_match(self.validator.iter_errors(dict(variables)))
        if error is None:
            return
        if error.validator == "required":
            problem = f"missing variable: {error.message}"
        else:
            where = ".".join(str(part) for part in error.absolute_path) or "(variables)"
            problem = f"variable {where!r}: {error.message}"
        raise BadInputError(
            f"{self.version.ref}: {problem}",
            hint="the prompt's `variables` schema says what it needs",
        )

    def render(
        self, variables: Mapping[str, Any], include: IncludeFunction
    ) -> list[dict[str, str]]:
        """Render every message; translate template failures into steerwise errors."""
        context = {**variables, INCLUDE_FUNCTION: include, "range": safe_range}
        try:
            return [
                {"role": message.role, "content": _run(message, context)}
                for message in self.messages
            ]
        except SteerwiseError:
            raise
        except (SecurityError, OverflowError) as error:
            raise TemplateSecurityError(
                f"{self.version.ref}: the template sandbox refused: {error}"
            ) from None
        except (RecursionError, MemoryError) as error:
            raise TemplateSecurityError(
                f"{self.version.ref}: the template sandbox refused: {type(error).__name__}"
                " (a template that recurses or builds too much)"
            ) from None
        except UndefinedError as error:
            raise BadInputError(f"{self.version.ref}: {error.message}") from None
        except Exception as error:  # the template's own code failed (a filter's assertion...)
            raise BadInputError(
                f"{self.version.ref}: template failed: {type(error).__name__}: {error}"
            ) from None


def _run(message: CompiledMessage, context: dict[str, Any]) -> str:
    if message.fixed is not None:
        return message.fixed
    # A shared context skips merging the (empty) globals: the sandbox still checks every access.
    template = message.template
    return "".join(template.root_render_func(template.new_context(context, shared=True)))


class PromptRenderer:
    """Compiles versions in the sandbox and keeps the most recently used ones."""

    def __init__(self, *, cache_size: int = 512) -> None:
        self.sandbox = PromptSandbox()
        self._cache: OrderedDict[str, CompiledPrompt] = OrderedDict()
        self._cache_size = cache_size

    def compiled(self, version: PromptVersion) -> CompiledPrompt:
        """The compiled form of a version (versions are immutable, so it is cached)."""
        key = f"{version.name}\0{version.hash}"
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        spec = version.spec
        compiled = CompiledPrompt(
            version=version,
            messages=tuple(self._compile(m.role, m.content) for m in spec.messages),
            validator=Draft202012Validator(spec.variables),
            include_refs={ref.name: ref for ref in map(parse_ref, spec.includes)},
            model=spec.model.model_dump(mode="json") if spec.model else None,
        )
        self._cache[key] = compiled
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return compiled

    def _compile(self, role: str, source: str) -> CompiledMessage:
        template = self.sandbox.from_string(source)
        uses = meta.find_undeclared_variables(self.sandbox.parse(source))
        fixed = None
        if not uses - {"range"}:
            try:
                fixed = _run(CompiledMessage(role, template, None), {"range": safe_range})
            except Exception:  # raised again, translated, when the message is rendered
                fixed = None
        return CompiledMessage(role, template, fixed)
