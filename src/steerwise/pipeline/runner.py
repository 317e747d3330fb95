"""Running a prompt: render a version, then call its model (or the one asked for)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from steerwise.core.models import ChatParams, ChatResult, StreamDelta
from steerwise.core.prompt import RenderedPrompt
from steerwise.models import ModelRegistry
from steerwise.prompts import PromptRegistry


@dataclass(frozen=True)
class RunResult:
    """The rendered prompt and the model's answer, with usage, cost, latency and attempts."""

    prompt: RenderedPrompt
    answer: ChatResult


class PromptRunner:
    """Renders prompt versions and calls models for them."""

    def __init__(self, prompts: PromptRegistry, models: ModelRegistry) -> None:
        self._prompts = prompts
        self._models = models

    def run(
        self,
        ref: str,
        variables: Mapping[str, Any],
        *,
        model: str | None = None,
        params: ChatParams | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> RunResult:
        """Render `ref` with `variables` and return the model's whole answer (`on_text` sees
        its pieces as they are written: `ModelRegistry.chat`)."""
        rendered = self._prompts.render(ref, variables)
        chosen, merged = self._choose(rendered, model, params)
        answer = self._models.chat(chosen, rendered.messages, merged, on_text=on_text)
        return RunResult(rendered, answer)

    def render(self, ref: str, variables: Mapping[str, Any]) -> RenderedPrompt:
        """The messages `ref` renders with `variables` (nothing is called)."""
        return self._prompts.render(ref, variables)

    def reask(
        self,
        result: RunResult,
        feedback: str,
        *,
        model: str | None = None,
        params: ChatParams | None = None,
    ) -> RunResult:
        """Ask the same model again, showing it its last answer and what was wrong with it."""
        chosen, merged = self._choose(result.prompt, model, params)
        messages = [
            *result.prompt.messages,
            {"role": "assistant", "content": result.answer.text},
            {"role": "user", "content": feedback},
        ]
        return RunResult(result.prompt, self._models.chat(chosen, messages, merged))

    def stream(
        self,
        ref: str,
        variables: Mapping[str, Any],
        *,
        model: str | None = None,
        params: ChatParams | None = None,
    ) -> Iterator[StreamDelta | RunResult]:
        """Render, then stream the answer's deltas and end with the RunResult."""
        rendered = self._prompts.render(ref, variables)
        chosen, merged = self._choose(rendered, model, params)
        for event in self._models.stream(chosen, rendered.messages, merged):
            yield RunResult(rendered, event) if isinstance(event, ChatResult) else event

    def _choose(
        self, rendered: RenderedPrompt, model: str | None, params: ChatParams | None
    ) -> tuple[str, ChatParams]:
        """The model: given > the prompt's > the workspace default; params layered likewise."""
        written_for = rendered.model or {}
        prompt_ref = _ref_of(written_for)
        chosen = model or prompt_ref or self._models.default_model
        layered = ChatParams.from_mapping(dict(written_for.get("params") or {}))
        if model and model != prompt_ref:
            layered = ChatParams()  # the prompt's params were tuned for another model
        layered = replace(layered, response_format=rendered.response_format)
        return chosen, layered.merged(params) if params else layered


def _ref_of(written_for: Mapping[str, Any]) -> str | None:
    name = written_for.get("name")
    if not name:
        return None
    provider = written_for.get("provider")
    return f"{provider}:{name}" if provider else str(name)
