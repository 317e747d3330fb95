"""The decision report as a standalone HTML page (inline CSS and SVG, nothing fetched) or as
Markdown for a pull request: the recommendation and its reasons, each candidate's accuracy
with its interval (drawn as an interval plot), every scorer's mean, latency p50/p95, tokens
and cost per 1,000 requests, accuracy on questions whose sources changed, what it takes to
change each, and each pairing with the best candidate. Every value is escaped."""

from __future__ import annotations

from steerwise.advisor.decision import Decision
from steerwise.evals.reports import report_templates

_ENVIRONMENT = report_templates("steerwise.advisor")
FORMS = ("html", "md")


def render_decision(decision: Decision, *, form: str = "html") -> str:
    """The report of `decision` as `html` or `md`."""
    name = "decision.html.j2" if form == "html" else "decision.md.j2"
    return _ENVIRONMENT.get_template(name).render(decision=decision, pct=_pct, ms=_ms)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
