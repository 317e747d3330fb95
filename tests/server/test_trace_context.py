"""The caller's distributed trace (W3C `traceparent`) travels into the stored trace, and an
error answer names the trace that recorded the failure."""

from __future__ import annotations

import openai
import pytest

from tests.server.conftest import Gateway, stored_trace

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
QUESTION = [{"role": "user", "content": "How long?"}]


def _asked(gateway: Gateway, traceparent: str, *, stream: bool = False) -> str:
    """The trace id of one request sent with `traceparent`."""
    response = gateway.client("viewer").chat.completions.with_raw_response.create(
        model="bot@production",
        messages=QUESTION,  # type: ignore[arg-type]
        stream=stream,
        extra_headers={"traceparent": traceparent},
    )
    if stream:
        list(response.parse())  # type: ignore[call-overload]
    return response.headers["X-Steerwise-Trace-Id"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_keeps_the_callers_trace_context(gateway: Gateway, stream: bool) -> None:
    trace = stored_trace(gateway.root, _asked(gateway, CALLER, stream=stream))
    assert trace.root.attributes["traceparent"] == CALLER
    assert trace.status == "ok"


@pytest.mark.parametrize(
    "header",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # trace id all zero
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # span id all zero
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "not a traceparent",
    ],
)
def test_an_invalid_traceparent_is_ignored(gateway: Gateway, header: str) -> None:
    trace = stored_trace(gateway.root, _asked(gateway, header))
    assert "traceparent" not in trace.root.attributes
    assert trace.status == "ok"


def test_a_failed_request_names_its_trace(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client("viewer").chat.completions.create(
            model="bot@production",
            messages=QUESTION,  # type: ignore[arg-type]
            extra_body={"variables": {"mood": "grumpy"}},
            extra_headers={"traceparent": CALLER},
        )
    trace = stored_trace(gateway.root, caught.value.response.headers["X-Steerwise-Trace-Id"])
    assert trace.status == "error" and "mood" in (trace.root.error or "")
    assert trace.root.attributes["traceparent"] == CALLER


def test_an_unknown_model_leaves_no_trace_and_names_none(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client("viewer").chat.completions.create(
            model="nobody@production",
            messages=QUESTION,  # type: ignore[arg-type]
        )
    assert "X-Steerwise-Trace-Id" not in caught.value.response.headers
