"""Evaluation: datasets, scorers, runs, comparisons, gates and reports."""

from pathlib import Path

JUDGE_PROMPT = Path(__file__).parent / "prompts" / "llm-judge.prompt.yaml"
"""The bundled prompt of the `llm_judge` scorer (push it into a workspace to use it)."""
