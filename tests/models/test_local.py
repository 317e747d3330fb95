"""The local default: SmolLM2-135M-Instruct on llama.cpp, generating for real."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from steerwise.core.models import ChatParams, ModelConfig, ModelError, ModelInputError
from steerwise.models import ModelRegistry
from steerwise.models.llamacpp import LlamaCppChatModel, _loaded_llama

LOCAL = "local:smollm2-135m"
QUESTION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
GREEDY = ChatParams(temperature=0, max_tokens=24)
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    quick = ModelConfig(provider="local", model="smollm2-135m", max_retries=0)
    return ModelRegistry({"quick": quick}, root=tmp_path_factory.mktemp("root"))


def test_answers_deterministically_at_temperature_zero(models: ModelRegistry) -> None:
    first = models.chat(LOCAL, QUESTION, GREEDY)
    other = [QUESTION[0], {"role": "user", "content": "What is the capital of Germany?"}]
    models.chat(LOCAL, other, GREEDY)  # whatever ran before must not change the answer
    second = models.chat(LOCAL, QUESTION, GREEDY)
    third = models.chat(LOCAL, QUESTION, GREEDY)
    assert first.text.strip()
    assert first.text == second.text == third.text
    assert first.model == LOCAL
    assert first.usage.input_tokens > 10
    assert 0 < first.usage.output_tokens <= 24
    assert first.latency_s > 0
    assert first.cost_usd == 0.0
    assert [(a.model, a.outcome) for a in first.attempts] == [(LOCAL, "ok")]


def test_stream_yields_the_same_answer_and_usage(models: ModelRegistry) -> None:
    whole = models.chat(LOCAL, QUESTION, GREEDY)
    *deltas, final = list(models.stream(LOCAL, QUESTION, GREEDY))
    assert len(deltas) > 3
    assert "".join(d.text for d in deltas) == final.text == whole.text  # type: ignore[union-attr]
    assert final.usage == whole.usage  # type: ignore[union-attr]


def test_a_watched_answer_shows_its_pieces_as_written_and_is_the_same(
    models: ModelRegistry,
) -> None:
    whole = models.chat(LOCAL, QUESTION, GREEDY)
    pieces: list[str] = []
    watched = models.chat(LOCAL, QUESTION, GREEDY, on_text=pieces.append)
    assert len(pieces) > 3 and "".join(pieces) == watched.text == whole.text
    assert (watched.usage, watched.finish_reason) == (whole.usage, whole.finish_reason)
    structured = ChatParams(temperature=0, max_tokens=60, response_format=SCHEMA)
    messages = [{"role": "user", "content": "Which city is the capital of France? How many days?"}]
    seen: list[str] = []
    parsed = models.chat(LOCAL, messages, structured, on_text=seen.append).parsed
    assert isinstance(parsed, dict) and set(parsed) == {"city", "days"} and seen


def test_length_limit_sets_finish_reason(models: ModelRegistry) -> None:
    result = models.chat(LOCAL, QUESTION, ChatParams(temperature=0, max_tokens=3))
    assert (result.finish_reason, result.usage.output_tokens) == ("length", 3)


def test_schema_constrains_the_answer(models: ModelRegistry) -> None:
    messages = [{"role": "user", "content": "Which city is the capital of France? How many days?"}]
    result = models.chat(
        LOCAL, messages, ChatParams(temperature=0, max_tokens=60, response_format=SCHEMA)
    )
    assert isinstance(result.parsed, dict)
    assert set(result.parsed) == {"city", "days"}
    assert isinstance(result.parsed["days"], int)


def test_context_longer_than_the_window_is_bad_input(models: ModelRegistry) -> None:
    too_long = [{"role": "user", "content": "word " * 3000}]
    with pytest.raises(ModelInputError, match=r"model quick: Requested tokens \(\d+\) exceed"):
        models.chat("quick", too_long, GREEDY)


def test_timeout_stops_generation(models: ModelRegistry) -> None:
    story = [{"role": "user", "content": "Write a very long story about a bicycle."}]
    with pytest.raises(ModelError, match=r"timed out after 0\.2 s"):
        models.chat("quick", story, ChatParams(temperature=0, max_tokens=2000, timeout_s=0.2))


def test_model_is_loaded_once_per_process(gguf: Path) -> None:
    one = LlamaCppChatModel("a", gguf, context_window=None, timeout_s=5)
    two = LlamaCppChatModel("b", gguf, context_window=None, timeout_s=5)
    assert one.llama is two.llama


def test_threads_asking_for_the_model_at_once_share_one_load(gguf: Path) -> None:
    """Two loads side by side crashed the process (an eval run's first two workers)."""
    _loaded_llama.cache_clear()  # the first use in this process, as a fresh server sees it
    start = threading.Barrier(3)
    found: list[object] = []

    def load() -> None:
        start.wait()
        found.append(LlamaCppChatModel("x", gguf, context_window=None, timeout_s=5).llama)

    workers = [threading.Thread(target=load) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert len(found) == 3 and found[0] is found[1] is found[2]


def test_bad_gguf_paths_are_named(tmp_path: Path) -> None:
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("hello")
    configs = {
        "missing": ModelConfig(provider="local", path="nowhere/model.gguf"),
        "fake": ModelConfig(provider="local", path=str(not_gguf)),
    }
    models = ModelRegistry(configs, root=tmp_path)
    with pytest.raises(
        ModelInputError, match=r"model missing: GGUF file .*nowhere/model.gguf does not exist"
    ):
        models.resolve("missing")
    with pytest.raises(ModelInputError, match=r"model fake: .*model.gguf is not a GGUF file"):
        models.resolve("fake")


def test_unknown_model_reference_is_bad_input(tmp_path: Path) -> None:
    models = ModelRegistry({}, root=tmp_path)
    with pytest.raises(ModelInputError, match="unknown model 'gpt-9'"):
        models.resolve("gpt-9")
    with pytest.raises(ModelInputError, match="unknown model 'mystery:x'"):
        models.resolve("mystery:x")
