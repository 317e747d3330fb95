"""Importing a promptfoo configuration: prompts, tests and assertions become prompt files, a
dataset and scorers; what cannot be mapped is counted; the result runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from steerwise import BadInputError, Workspace
from steerwise.releases import PinRequest
from tests.models.fault_server import FaultServer, ok

CONFIG = {
    "description": "refund answers",
    "prompts": ["Answer briefly: {{question}}", "file://prompts/other.txt"],
    "providers": ["openai:gpt-4o-mini"],
    "defaultTest": {"assert": [{"type": "latency", "threshold": 2000}]},
    "tests": [
        {
            "vars": {"question": "How long do refunds take?"},
            "assert": [
                {"type": "icontains", "value": "five working days"},
                {"type": "regex", "value": "\\d+|five"},
                {"type": "llm-rubric", "value": "Polite, and gives a number of days"},
            ],
        },
        {
            "description": "shipping",
            "vars": {"question": "Do you ship to Norway?"},
            "assert": [
                {"type": "icontains", "value": "yes"},
                {"type": "icontains", "value": "norway"},
                {"type": "equals", "value": "Yes."},
                {"type": "javascript", "value": "output.length < 100"},
                {"type": "regex", "value": "other"},
            ],
        },
        {"vars": {"question": "Is this JSON?"}, "assert": [{"type": "is-json"}]},
    ],
}


def test_a_promptfoo_config_becomes_prompts_a_dataset_and_scorers(tmp_path: Path) -> None:
    config = tmp_path / "promptfooconfig.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    with Workspace.init(tmp_path / "ws") as ws:
        found = ws.import_promptfoo(config, dataset="refunds")
        assert found.prompts == ["promptfoo-1@1"]
        assert (found.dataset, found.items) == ("refunds@1", 3)
        assert found.scorers == [
            "latency:max_ms=2000",
            "contains",
            'regex:pattern="\\\\d+|five"',
            'llm_judge:rubric="Polite, and gives a number of days"',
            "json_valid:extract=false",
        ]
        assert found.unmapped == {
            "equals (a second kind of reference in one test)": 1,
            "javascript": 1,
            "regex (a setting that differs between tests)": 1,
        }
        items = ws.datasets.get("refunds@1").spec.items
        assert [item.id for item in items] == ["t1", "shipping", "t3"]
        assert items[1].references == ("yes", "norway")
        assert items[0].variables == {"question": "How long do refunds take?"}
        rendered = ws.prompts.render("promptfoo-1@1", items[0].variables)
        assert rendered.messages[0]["content"] == "Answer briefly: How long do refunds take?"


def test_the_imported_set_runs_with_its_scorers(tmp_path: Path) -> None:
    config = tmp_path / "promptfooconfig.yaml"
    simple = {
        "prompts": ["{{question}}"],
        "tests": [
            {"vars": {"question": "Refunds?"}, "assert": [{"type": "icontains", "value": "FIVE"}]},
            {"vars": {"question": "Ship?"}, "assert": [{"type": "icontains", "value": "norway"}]},
        ],
    }
    config.write_text(yaml.safe_dump(simple))
    with FaultServer(default=ok("Refunds take five working days.")) as upstream:
        root = tmp_path / "ws"
        Workspace.init(root).close()
        url = upstream.base_url
        model = f'\n[models.scripted]\nprovider = "openai"\nmodel = "m"\nbase_url = "{url}"\n'
        (root / "steerwise.toml").write_text((root / "steerwise.toml").read_text() + model)
        with Workspace.open(root) as ws:
            found = ws.import_promptfoo(config, dataset="pf")
            made = ws.releases.create("pf", PinRequest(found.prompts[0], model="scripted"))
            report = ws.evals.run(made.ref, found.dataset, found.scorers)
    assert [s.scored for s in report.summary] == [2]
    assert report.summary[0].mean == 0.5  # "five" found (case folded); "norway" not


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"prompts": ["x"]}, "no inline `tests` list"),
        ({"prompts": ["file://a.txt"], "tests": [{"vars": {}}]}, "no inline prompt"),
        (
            {"prompts": ["x"], "tests": [{"description": "a"}, {"description": "a"}]},
            "the tests do not make a dataset: items: Value error, duplicate item id 'a'",
        ),
        ("just text", "a promptfoo configuration is a mapping"),
    ],
)
def test_configs_that_cannot_be_imported_name_why(
    tmp_path: Path, config: object, message: str
) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(yaml.safe_dump(config))
    with Workspace.init(tmp_path / "ws") as ws, pytest.raises(BadInputError, match=message):
        ws.import_promptfoo(path, dataset="pf")
    assert not (tmp_path / "ws" / "prompts").exists()
