"""The advisor's first answer: from a task's profile (how often its knowledge changes, volume,
latency budget, labelled examples, regulation, how stable the wanted behaviour is), which
lever to pull first, with the reasons, as a checklist a reviewer signs.

Every rule is written out and every reason names the answer it rests on, so that the
recommendation can be argued with. It is a starting point; `advise compare` settles it
with the team's own measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Change = Literal["never", "yearly", "monthly", "weekly", "daily"]
Stability = Literal["stable", "evolving"]
Strategy = Literal["prompt", "retrieval", "fine-tune", "fine-tune+retrieval"]
CHANGES: tuple[Change, ...] = ("never", "yearly", "monthly", "weekly", "daily")
STRATEGIES: tuple[Strategy, ...] = ("prompt", "retrieval", "fine-tune", "fine-tune+retrieval")
FEW_EXAMPLES = 100
"""Below this many labelled examples, fine-tuning has too little to learn from."""
HIGH_VOLUME = 100_000
"""Requests a day above which a shorter prompt (knowledge in the weights) pays for itself."""
TIGHT_LATENCY_MS = 500


@dataclass(frozen=True)
class Profile:
    """What the team says about its task."""

    knowledge_changes: Change
    requests_per_day: int
    latency_budget_ms: int
    labelled_examples: int
    regulated: bool
    behaviour: Stability
    needs_private_knowledge: bool = True


@dataclass
class Advice:
    """The recommendation, the points each strategy earned and why, and the checklist."""

    strategy: Strategy
    scores: dict[str, int]
    reasons: list[str] = field(default_factory=list)
    checklist: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "strategy": self.strategy,
            "scores": self.scores,
            "reasons": self.reasons,
            "checklist": self.checklist,
        }

    def markdown(self, profile: Profile) -> str:
        """The advice as a signable Markdown checklist."""
        lines = [
            "# Advice: which lever first",
            "",
            f"**Recommendation: {self.strategy}**",
            "",
            "## Profile",
            "",
            *(f"- {key.replace('_', ' ')}: {value}" for key, value in vars(profile).items()),
            "",
            "## Why",
            "",
            *(f"- {reason}" for reason in self.reasons),
            "",
            "## Points per strategy",
            "",
            *(f"- {name}: {points}" for name, points in self.scores.items()),
            "",
            "## Checklist (tick each, then sign)",
            "",
            *(f"- [ ] {item}" for item in self.checklist),
            "",
            "Reviewed by: ____________________   Date: ____________",
            "",
        ]
        return "\n".join(lines)


def recommend(profile: Profile) -> Advice:
    """Score each strategy by the profile's answers (module docstring) and pick the best;
    ties go to the cheaper lever to change (prompt, retrieval, fine-tune, both)."""
    scores: dict[str, int] = dict.fromkeys(STRATEGIES, 0)
    reasons: list[str] = []
    for rule in (_freshness, _examples, _volume, _latency, _regulation, _behaviour, _knowledge):
        rule(profile, scores, reasons)
    best = max(STRATEGIES, key=lambda name: (scores[name], -STRATEGIES.index(name)))
    return Advice(best, scores, reasons, _checklist(best, profile))


def _add(scores: dict[str, int], points: dict[str, int]) -> None:
    for name, value in points.items():
        scores[name] += value


def _freshness(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    if profile.knowledge_changes in ("weekly", "daily"):
        _add(scores, {"retrieval": 3, "fine-tune+retrieval": 2, "fine-tune": -3})
        reasons.append(
            f"knowledge changes {profile.knowledge_changes}: re-indexing takes minutes,"
            " retraining for every change does not keep up, so knowledge belongs in retrieval"
        )
    elif profile.knowledge_changes == "monthly":
        _add(scores, {"retrieval": 2, "fine-tune+retrieval": 1, "fine-tune": -1})
        reasons.append(
            "knowledge changes monthly: retrieval keeps answers current between retrains"
        )
    else:
        _add(scores, {"fine-tune": 1})
        reasons.append(
            f"knowledge changes {profile.knowledge_changes}: weights can hold it without"
            " going stale"
        )


def _examples(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    count = profile.labelled_examples
    if count < FEW_EXAMPLES:
        _add(scores, {"prompt": 2, "fine-tune": -3, "fine-tune+retrieval": -3})
        reasons.append(
            f"{count} labelled examples (fewer than {FEW_EXAMPLES}): too few to fine-tune on;"
            " put them in the prompt as examples and into an evaluation set"
        )
    else:
        _add(scores, {"fine-tune": 2, "fine-tune+retrieval": 2})
        reasons.append(f"{count} labelled examples: enough to fine-tune and hold out a test split")


def _volume(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    if profile.requests_per_day >= HIGH_VOLUME:
        _add(scores, {"fine-tune": 2, "fine-tune+retrieval": 1, "prompt": -1})
        reasons.append(
            f"{profile.requests_per_day:,} requests a day: a fine-tuned small model with a"
            " short prompt costs less per request than long instructions on a large one"
        )


def _latency(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    if profile.latency_budget_ms < TIGHT_LATENCY_MS:
        _add(scores, {"fine-tune": 2, "retrieval": -1, "fine-tune+retrieval": -1})
        reasons.append(
            f"a {profile.latency_budget_ms} ms budget: retrieval adds a search and a longer"
            " prompt to every request; a fine-tuned model answers with less"
        )


def _regulation(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    if profile.regulated:
        _add(scores, {"retrieval": 2, "fine-tune+retrieval": 2, "fine-tune": -1})
        reasons.append(
            "regulated: answers must cite their sources and be traceable to a document"
            " version, which retrieval gives and weights cannot"
        )


def _behaviour(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    if profile.behaviour == "evolving":
        _add(scores, {"prompt": 2, "retrieval": 1, "fine-tune": -2, "fine-tune+retrieval": -1})
        reasons.append(
            "the wanted behaviour still changes: a prompt changes in minutes, a fine-tune"
            " needs new data and a new training run each time"
        )
    else:
        _add(scores, {"fine-tune": 1, "fine-tune+retrieval": 2})
        reasons.append(
            "the wanted behaviour is stable: worth teaching the model (format, tone, reading"
            " the context and citing it) once, in its weights"
        )


def _knowledge(profile: Profile, scores: dict[str, int], reasons: list[str]) -> None:
    if not profile.needs_private_knowledge:
        _add(scores, {"prompt": 2, "retrieval": -2, "fine-tune+retrieval": -2})
        reasons.append("no private knowledge needed: retrieval has nothing to add")


def _checklist(strategy: Strategy, profile: Profile) -> list[str]:
    items = [
        "a versioned evaluation dataset with a held-out split exists (steerwise dataset import)",
        "the baseline prompt-only release is evaluated with intervals (steerwise eval run)",
        "steerwise advise compare confirmed the choice on our own data",
    ]
    if "retrieval" in strategy:
        items += [
            "every source has an owner and a valid_until date (freshness rails can act)",
            "answers cite their sources; the grounding rail is on in the policy",
        ]
    if "fine-tune" in strategy:
        items += [
            "the training set holds no personal data (built without --redact-pii, or redacted)",
            "the training set's data card was read and its origins approved",
            "the model version's lineage (dataset, hyperparameters) is recorded",
            "a retraining trigger is agreed (knowledge or behaviour change)",
        ]
    if profile.regulated:
        items.append("the audit log verifies (steerwise audit verify) and releases need approval")
    return items
