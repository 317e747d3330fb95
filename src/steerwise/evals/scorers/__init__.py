"""Every scorer kind an evaluation may name; importing this package registers them all."""

from steerwise.evals.scorers import behaviour, judge, policies, reference, retrieval, structure
from steerwise.evals.scorers.base import (
    SCORERS,
    Scorer,
    ScorerError,
    ScorerServices,
    ScorerSettings,
    build_scorer,
    register_scorer,
)

__all__ = [
    "SCORERS",
    "Scorer",
    "ScorerError",
    "ScorerServices",
    "ScorerSettings",
    "behaviour",
    "build_scorer",
    "judge",
    "policies",
    "reference",
    "register_scorer",
    "retrieval",
    "structure",
]
