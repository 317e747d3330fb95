"""The transformers backend on the bundled SmolLM2-135M-Instruct GGUF (dequantized in-process)."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from steerwise.core.models import ChatParams, Completion, ModelConfig, ModelInputError, StreamDelta
from steerwise.models.llamacpp import bundled_gguf
from steerwise.models.transformers_provider import TransformersChatModel, build

# find_spec, not importorskip: importing torch here would come before the loader's settings.
if not all(importlib.util.find_spec(name) for name in ("torch", "transformers", "gguf", "peft")):
    pytest.skip("the transformers provider's packages are not installed", allow_module_level=True)

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = ChatParams(temperature=0, max_tokens=24)


@pytest.fixture(scope="module")
def model() -> TransformersChatModel:
    """The bundled GGUF through transformers, loaded once for the module."""
    config = ModelConfig(provider="transformers", path=str(bundled_gguf()), timeout_s=60)
    chat = build("transformers:smollm2", config, Path("/"))
    assert isinstance(chat, TransformersChatModel)
    assert chat.model is not None  # load now, so tests measure generation only
    return chat


@pytest.fixture(scope="module")
def base_answer(model: TransformersChatModel) -> Completion:
    return model.complete(QUESTION, GREEDY)


def test_greedy_is_deterministic_and_not_empty(
    model: TransformersChatModel, base_answer: Completion
) -> None:
    again = model.complete(QUESTION, GREEDY)
    assert base_answer.text.strip()
    assert again.text == base_answer.text
    assert again.model == "transformers:smollm2"


def test_usage_counts_are_exact(model: TransformersChatModel, base_answer: Completion) -> None:
    import torch

    prompt = model.chat_ids(QUESTION)
    with torch.inference_mode():
        output = model.model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=24,
            do_sample=False,
        )
    assert base_answer.usage.input_tokens == prompt.shape[-1]
    assert base_answer.usage.output_tokens == output.shape[-1] - prompt.shape[-1]


def test_stream_deltas_join_to_the_completion(
    model: TransformersChatModel, base_answer: Completion
) -> None:
    events = list(model.stream(QUESTION, GREEDY))
    deltas, final = events[:-1], events[-1]
    assert deltas and all(isinstance(event, StreamDelta) for event in deltas)
    assert isinstance(final, Completion)
    assert "".join(delta.text for delta in deltas if isinstance(delta, StreamDelta)) == final.text
    assert final.text == base_answer.text
    assert final.usage == base_answer.usage


def test_stop_string_is_trimmed_in_complete_and_stream(
    model: TransformersChatModel, base_answer: Completion
) -> None:
    stop = base_answer.text.split()[1]
    params = ChatParams(temperature=0, max_tokens=24, stop=(stop,))
    answer = model.complete(QUESTION, params)
    streamed = list(model.stream(QUESTION, params))[-1]
    assert answer.text == base_answer.text[: base_answer.text.find(stop)]
    assert isinstance(streamed, Completion) and streamed.text == answer.text
    assert answer.finish_reason == "stop"


def test_max_tokens_gives_length(model: TransformersChatModel) -> None:
    answer = model.complete(QUESTION, ChatParams(max_tokens=5))
    assert answer.finish_reason == "length"
    assert answer.usage.output_tokens == 5


def test_prompt_longer_than_context_window_is_refused() -> None:
    small = TransformersChatModel(
        "transformers:small", bundled_gguf(), adapter=None, context_window=64, timeout_s=60
    )
    long_question = [{"role": "user", "content": "Tell me about Paris. " * 20}]
    expected = r"model transformers:small: the prompt \(\d+ tokens\) .* context window of 64"
    with pytest.raises(ModelInputError, match=expected):
        small.complete(long_question, ChatParams(max_tokens=5))


def test_timeout_is_a_retryable_model_call_error(model: TransformersChatModel) -> None:
    from steerwise.core.models import ModelCallError

    with pytest.raises(ModelCallError, match="timed out") as caught:
        model.complete(QUESTION, ChatParams(max_tokens=24, timeout_s=1e-6))
    assert caught.value.retryable


@pytest.mark.parametrize("name", ["missing.gguf", "notes.gguf", "folder"])
def test_bad_paths_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "notes.gguf").write_text("not a model", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ModelInputError, match=rf"transformers:bad.*{name}"):
        TransformersChatModel(
            "transformers:bad", tmp_path / name, adapter=None, context_window=None, timeout_s=5
        )


def test_missing_path_and_adapter_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError, match="set path"):
        build("transformers:none", ModelConfig(provider="transformers"), tmp_path)
    config = ModelConfig(provider="transformers", path=str(bundled_gguf()), adapter="nowhere")
    with pytest.raises(ModelInputError, match=r"transformers:x: adapter folder .*nowhere"):
        build("transformers:x", config, tmp_path)


def _write_adapter(base: Any, folder: Path) -> None:
    """A LoRA adapter on q_proj and v_proj whose weights are set to change the answer."""
    import torch
    from peft import LoraConfig, get_peft_model

    lora = get_peft_model(
        copy.deepcopy(base),
        LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    with torch.no_grad():
        for name, weight in lora.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                weight.fill_(0.1)  # 0.05 moves the logits but not this greedy answer
    lora.save_pretrained(folder, save_embedding_layers=False)


def test_peft_adapter_changes_the_answer(
    model: TransformersChatModel, tmp_path: Path, base_answer: Completion
) -> None:
    _write_adapter(model.model, tmp_path / "adapter")
    tuned = TransformersChatModel(
        "transformers:tuned",
        bundled_gguf(),
        adapter=tmp_path / "adapter",
        context_window=None,
        timeout_s=60,
    )
    answer = tuned.complete(QUESTION, GREEDY)
    assert type(tuned.model).__name__ == "PeftModelForCausalLM"
    assert tuned.model.base_model.model is not model.model  # the shared base is untouched
    assert not any("lora" in name for name, _ in model.model.named_parameters())
    assert answer.text != base_answer.text
