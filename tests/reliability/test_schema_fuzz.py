"""schemathesis against the gateway's own OpenAPI schema: requests generated from every
operation's parameters and bodies (valid and not), sent with an admin key to a served
workspace. No generated request may get a 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.reliability.harness import keyed_gateway

EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with keyed_gateway(tmp_path_factory.mktemp("fuzz") / "ws", "admin") as running:
        yield running.url, running.key


def load_schema(url: str, key: str) -> Any:
    return schemathesis.openapi.from_url(
        f"{url}/openapi.json", headers={"Authorization": f"Bearer {key}"}
    )


@pytest.mark.reliability
def test_no_generated_request_gets_a_server_error(
    fuzzed_gateway: tuple[str, str], figures: dict[str, Any]
) -> None:
    """Each operation's hypothesis strategy (positive and negative data), a bounded number
    of examples each (schemathesis's pytest plugin is not used: it does not run on this
    pytest)."""
    url, key = fuzzed_gateway
    statuses: Counter[str] = Counter()
    server_errors: list[str] = []
    operations = [result.ok() for result in load_schema(url, key).get_all_operations()]

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=30)
            statuses[str(response.status_code)] += 1
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        call()
    figures["schema_fuzz"] = {
        "operations": len(operations),
        "requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "server_errors": len(server_errors),
    }
    assert server_errors == []
    assert sum(statuses.values()) >= 10 * len(operations)


def test_the_schema_names_every_route_the_matrix_tests(fuzzed_gateway: tuple[str, str]) -> None:
    """The fuzzing covers what the schema lists; the schema must list the API (the static
    pages and the health check are outside it)."""
    url, key = fuzzed_gateway
    paths = set(load_schema(url, key).raw_schema["paths"])
    assert {"/v1/chat/completions", "/api/prompts", "/api/keys", "/api/audit/verify"} <= paths
    assert len(paths) >= 35
