"""Paired comparison, its statistics against scipy, and gate rules, on runs built by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from scipy.stats import binomtest

from steerwise import BadInputError
from steerwise.core.evals import DatasetItem, EvalReport, EvalRunInfo, ItemResult, Score
from steerwise.evals.compare import compare
from steerwise.evals.gates import check_gate, junit_xml, parse_rule
from steerwise.evals.reports import render_report
from steerwise.evals.scoring import summarise
from steerwise.evals.stats import mcnemar_exact, paired_bootstrap

ITEMS = [
    DatasetItem(id="i1", tags=["easy"]),
    DatasetItem(id="i2", tags=["easy", "numeric"]),
    DatasetItem(id="i3", tags=["numeric"]),
    DatasetItem(id="i4"),
]


def _report(run_id: str, values: list[float], *, dataset: str = "qa@1") -> EvalReport:
    info = EvalRunInfo(run_id, "t", "me", "bot", "bot@1", "", dataset, ("em",), "finished")
    results = [
        ItemResult(f"i{n}", f"answer {n} of {run_id}", scores={"em": Score(v, v >= 0.5, "")})
        for n, v in enumerate(values, start=1)
    ]
    return EvalReport(info, results, summarise(("em",), results), len(values))


@pytest.mark.parametrize(("only_a", "only_b"), [(3, 9), (0, 5), (7, 7), (1, 12), (40, 71), (0, 0)])
def test_mcnemar_exact_equals_scipys_binomial_test(only_a: int, only_b: int) -> None:
    expected = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    assert mcnemar_exact(only_a, only_b) == pytest.approx(expected, rel=1e-12)


def test_the_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    before = [0.0, 0.5, 1.0, 0.2, 0.9, 0.4, 0.3, 0.8]
    after = [0.2, 0.6, 1.0, 0.5, 0.9, 0.7, 0.3, 1.0]
    first = paired_bootstrap(before, after, seed=7)
    assert first == paired_bootstrap(before, after, seed=7)
    assert first != paired_bootstrap(before, after, seed=8)
    assert first.delta == pytest.approx(0.1375)
    assert first.low <= first.delta <= first.high and first.excludes_zero  # no item got worse
    constant = paired_bootstrap([0.0] * 5, [0.1] * 5)
    assert (constant.low, constant.high) == pytest.approx((0.1, 0.1))
    with pytest.raises(ValueError, match="equally long"):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_a_comparison_pairs_items_and_counts_by_hand() -> None:
    found = compare(_report("A", [1, 0, 1, 0]), _report("B", [1, 1, 0, 1]), ITEMS)
    (em,) = found.metrics
    assert (em.paired, em.baseline, em.candidate, em.delta) == (4, 0.5, 0.75, 0.25)
    assert (em.wins, em.ties, em.losses) == (2, 1, 1)
    assert (em.passed_baseline_only, em.passed_candidate_only) == (1, 2)
    assert em.mcnemar_p == 1.0  # 2 * P(X <= 1 | n = 3) = 2 * 4/8
    assert not em.significant
    slices = {piece.tag: (piece.items, piece.baseline, piece.candidate) for piece in em.slices}
    assert slices == {"easy": (2, 0.5, 1.0), "numeric": (2, 0.5, 0.5)}
    (regressed,) = found.regressions
    assert (regressed.item_id, regressed.baseline, regressed.candidate) == ("i3", 1.0, 0.0)
    assert regressed.candidate_output == "answer 3 of B"


def test_runs_of_other_datasets_are_not_paired() -> None:
    with pytest.raises(BadInputError, match="different datasets"):
        compare(_report("A", [1.0]), _report("B", [1.0], dataset="other@1"), ITEMS)


def test_gate_rules_read_every_kind_of_metric() -> None:
    baseline, candidate = _report("A", [1, 0, 1, 0]), _report("B", [1, 1, 0, 1])
    comparison = compare(baseline, candidate, ITEMS)
    rules = [
        "em>=0.7",
        "em_pass_rate==0.75",
        "em_delta>=0.3",
        "em_pass_rate_delta>0",
        "em_delta_low>-1",
    ]
    result = check_gate(rules, comparison, baseline, candidate)
    assert [(r.rule.text, r.passed) for r in result.results] == [
        ("em>=0.7", True),
        ("em_pass_rate==0.75", True),
        ("em_delta>=0.3", False),
        ("em_pass_rate_delta>0", True),
        ("em_delta_low>-1", True),
    ]
    assert not result.passed
    suite = ElementTree.fromstring(junit_xml(result))
    assert (suite.get("tests"), suite.get("failures")) == ("5", "1")
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["em_delta>=0.3"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("em >= high", "is not METRIC OP NUMBER"),
        ("em => 0.5", "rule metric 'em =' names no scorer"),
        ("f1>=0.5", "rule metric 'f1' names no scorer of the run"),
    ],
)
def test_bad_rules_name_the_problem(rule: str, message: str) -> None:
    baseline, candidate = _report("A", [1.0]), _report("B", [1.0])
    with pytest.raises(BadInputError, match=message):
        check_gate([rule], compare(baseline, candidate, ITEMS), baseline, candidate)


def test_a_metric_may_hold_settings_and_equals_signs() -> None:
    parsed = parse_rule("f1:threshold=0.6_delta >= -0.02")
    assert (parsed.metric, parsed.op, parsed.threshold) == ("f1:threshold=0.6_delta", ">=", -0.02)


class _Tags(HTMLParser):
    """Counts start tags and keeps the text, to check a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_reports_render_with_plots_and_escaped_answers() -> None:
    baseline = _report("A", [1, 0, 1, 0])
    hostile = replace(baseline.results[2], output="<script>alert(1)</script>")
    baseline = replace(baseline, results=[*baseline.results[:2], hostile, baseline.results[3]])
    candidate = _report("B", [1, 1, 0, 1])
    comparison = compare(baseline, candidate, ITEMS)
    page = render_report(candidate, comparison)
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags["script"] == 0 and "<script>alert(1)</script>" in "".join(parsed.text)
    assert parsed.tags["svg"] == 2  # the histogram of em, the slices of em
    assert parsed.tags["rect"] == 10 + 2  # ten bins; two tags
    (em,) = comparison.metrics
    assert "Regressed items (1)" in page and f"[{em.low:+.3f}, {em.high:+.3f}]" in page
    markdown = render_report(candidate, comparison, form="markdown")
    assert "| `em` | 0.750 | 0.750 | 4 | 0 |" in markdown
    assert "| `em` | 0.500 | 0.750 | +0.250 (" in markdown
    assert "| `i3` | `em` | 1.000 | 0.000 |" in markdown
    alone = render_report(candidate, form="markdown")
    assert "Against baseline" not in alone and "| `em` | 0.750 | 0.750 |" in alone
