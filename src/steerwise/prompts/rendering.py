"""Rendering a prompt version: validate variables against its schema, then run the sandbox."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateError, UndefinedError
from jinja2.exceptions import SecurityError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from steerwise.core.errors import BadInputError, SteerwiseError, TemplateSecurityError
from steerwise.core.prompt import PromptVersion
from steerwise.prompts.sandbox import INCLUDE_FUNCTION, PromptSandbox

IncludeFunction = Callable[[str], str]


@dataclass(frozen=True)
class CompiledPrompt:
    """A version's templates compiled once, and its variables validator."""

    version: PromptVersion
    templates: tuple[tuple[str, Template], ...]
    validator: Draft202012Validator

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
        context = {**variables, INCLUDE_FUNCTION: include}
        try:
            return [
                {"role": role, "content": template.render(context)}
                for role, template in self.templates
            ]
        except SteerwiseError:
            raise
        except (SecurityError, OverflowError) as error:
            raise TemplateSecurityError(
                f"{self.version.ref}: the template sandbox refused: {error}"
            ) from None
        except UndefinedError as error:
            raise BadInputError(f"{self.version.ref}: {error.message}") from None
        except (TemplateError, ArithmeticError, ValueError, TypeError, LookupError) as error:
            raise BadInputError(
                f"{self.version.ref}: template failed: {type(error).__name__}: {error}"
            ) from None


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
        compiled = CompiledPrompt(
            version=version,
            templates=tuple(
                (message.role, self.sandbox.from_string(message.content))
                for message in version.spec.messages
            ),
            validator=Draft202012Validator(version.spec.variables),
        )
        self._cache[key] = compiled
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return compiled
