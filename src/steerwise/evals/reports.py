"""Reports of an eval run (and of its comparison with a baseline) as HTML or Markdown.

The HTML page stands alone (inline CSS and SVG, nothing fetched): the run, each scorer's
mean and pass rate, a histogram of each scorer's values, and with a baseline the
differences with their intervals, per-tag bars and the regressed items with both answers
side by side. The Markdown is made for a pull-request comment: the same tables, without
plots. Both are rendered from templates that escape every value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from steerwise.core.evals import EvalReport, Score
from steerwise.evals.compare import Comparison

BINS = 10
MAX_REGRESSIONS = 50


def report_templates(package: str) -> Environment:
    """The templates of `package`'s `templates/` folder: HTML ones escape every value."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_ENVIRONMENT = report_templates("steerwise.evals")


@dataclass(frozen=True)
class Bar:
    """One bar of a plot: its label, its height as a share of the tallest, and its value."""

    label: str
    share: float
    value: str


def render_report(
    report: EvalReport, comparison: Comparison | None = None, *, form: str = "html"
) -> str:
    """The report of `report` (with `comparison` against its baseline, if given)."""
    template = _ENVIRONMENT.get_template("report.html.j2" if form == "html" else "report.md.j2")
    return template.render(**_context(report, comparison))


def _context(report: EvalReport, comparison: Comparison | None) -> dict[str, Any]:
    return {
        "report": report,
        "comparison": comparison,
        "histograms": {name: _histogram(report, name) for name in report.run.scorers},
        "slices": _slice_bars(comparison) if comparison else {},
        "regressions": comparison.regressions[:MAX_REGRESSIONS] if comparison else [],
        "figure": _figure,
    }


def _histogram(report: EvalReport, scorer: str) -> list[Bar]:
    """How many items fell in each tenth of [0, 1]."""
    counts = [0] * BINS
    for result in report.results:
        score = result.scores.get(scorer)
        if isinstance(score, Score):
            counts[min(BINS - 1, int(score.value * BINS))] += 1
    tallest = max(counts) or 1
    return [
        Bar(f"{index / BINS:.1f}", count / tallest, str(count))
        for index, count in enumerate(counts)
    ]


def _slice_bars(comparison: Comparison) -> dict[str, list[Bar]]:
    """Per scorer, the difference on each tag, scaled to the largest difference."""
    bars: dict[str, list[Bar]] = {}
    for metric in comparison.metrics:
        widest = max((abs(p.candidate - p.baseline) for p in metric.slices), default=0.0) or 1.0
        bars[metric.scorer] = [
            Bar(p.tag, (p.candidate - p.baseline) / widest, f"{p.candidate - p.baseline:+.3f}")
            for p in metric.slices
        ]
    return bars


def _figure(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
