"""The request path. So far: running a prompt version against a model."""

from steerwise.pipeline.runner import PromptRunner, RunResult

__all__ = ["PromptRunner", "RunResult"]
