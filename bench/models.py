"""Model layer overhead: steerwise's providers against the libraries they wrap, in one run.

    .venv/bin/python bench/models.py [--repeats N] [--quick]

1. tokens/s of the local provider against `llama_cpp.Llama.create_chat_completion` called
   directly, same GGUF, prompt, threads and settings;
2. time to first token, streaming, both ways;
3. sentences/s of the default embedder against `SentenceTransformer.encode` called directly.
Medians of the repeats; the two sides alternate within each repeat so that noise hits both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llama_cpp import Llama
from sentence_transformers import SentenceTransformer

from steerwise.core.models import ChatParams
from steerwise.models import ModelRegistry
from steerwise.models.embeddings import SentenceTransformerEmbedder, default_embedder_path
from steerwise.models.llamacpp import bundled_gguf, default_threads

RESULTS = Path(__file__).resolve().parent / "results" / "models.json"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Tell me a long story about a bicycle mechanic in York."},
]
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "cyclists",
    "ride",
    "past",
    "the",
    "old",
    "shop",
]


def sentences(count: int) -> list[str]:
    """Distinct ~20-word sentences."""
    return [
        " ".join(WORDS[(i + j) % len(WORDS)] for j in range(20)) + f" {i}" for i in range(count)
    ]


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def generation(max_tokens: int, repeats: int) -> dict[str, float]:
    """Tokens/s and time to first token, steerwise vs llama.cpp direct."""
    direct = Llama(
        model_path=str(bundled_gguf()),
        n_ctx=2048,
        n_threads=default_threads(),
        verbose=False,
        seed=0,
    )
    models = ModelRegistry({}, root=Path("."))
    params = ChatParams(temperature=0, max_tokens=max_tokens)
    settings: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens, "seed": 0}
    models.chat("local:smollm2-135m", MESSAGES, params)  # load and warm both
    direct.create_chat_completion(messages=MESSAGES, **settings)
    ours_tps, theirs_tps, ours_ttft, theirs_ttft = [], [], [], []
    for _ in range(repeats):
        seconds, result = timed(lambda: models.chat("local:smollm2-135m", MESSAGES, params))
        ours_tps.append(result.usage.output_tokens / seconds)
        seconds, answer = timed(
            lambda: direct.create_chat_completion(messages=MESSAGES, **settings)
        )
        theirs_tps.append(answer["usage"]["completion_tokens"] / seconds)
        ours_ttft.append(first_event(lambda: models.stream("local:smollm2-135m", MESSAGES, params)))
        theirs_ttft.append(
            first_event(
                lambda: direct.create_chat_completion(messages=MESSAGES, stream=True, **settings),
                skip_role=True,
            )
        )
    return {
        "steerwise_tokens_per_s": statistics.median(ours_tps),
        "llama_cpp_tokens_per_s": statistics.median(theirs_tps),
        "steerwise_ttft_ms": statistics.median(ours_ttft) * 1e3,
        "llama_cpp_ttft_ms": statistics.median(theirs_ttft) * 1e3,
    }


def first_event(start: Callable[[], Any], *, skip_role: bool = False) -> float:
    """Seconds until the first piece of text arrives; the rest of the stream is drained."""
    began = time.perf_counter()
    first = None
    for event in start():
        if first is None:
            if skip_role and not event["choices"][0]["delta"].get("content"):
                continue
            first = time.perf_counter() - began
    return float(first or 0.0)


def embedding(count: int, repeats: int) -> dict[str, float]:
    """Sentences/s, steerwise's default embedder vs SentenceTransformer.encode direct."""
    texts = sentences(count)
    path = default_embedder_path()
    ours = SentenceTransformerEmbedder(path, model_id="bench", batch_size=64)
    direct = SentenceTransformer(str(path), device="cpu")
    ours.embed(texts[:64])
    direct.encode(texts[:64], batch_size=64, normalize_embeddings=True)
    ours_rate, theirs_rate = [], []
    for _ in range(repeats):
        ours_rate.append(count / timed(lambda: ours.embed(texts))[0])
        theirs_rate.append(count / timed(lambda: encode_directly(direct, texts))[0])
    return {
        "steerwise_sentences_per_s": statistics.median(ours_rate),
        "sentence_transformers_sentences_per_s": statistics.median(theirs_rate),
    }


def encode_directly(model: Any, texts: list[str]) -> Any:
    """What the embedder does, called on sentence-transformers itself."""
    return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)


def overhead(ours: float, theirs: float, *, higher_is_better: bool) -> float:
    """Percent by which steerwise is worse (negative: better)."""
    return (theirs - ours) / theirs * 100 if higher_is_better else (ours - theirs) / theirs * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer tokens and sentences")
    args = parser.parse_args()
    gen = generation(32 if args.quick else 128, args.repeats)
    emb = embedding(200 if args.quick else 1000, args.repeats)
    rows = [
        (
            "local generation, tokens/s",
            gen["steerwise_tokens_per_s"],
            gen["llama_cpp_tokens_per_s"],
            True,
        ),
        (
            "time to first token, streaming (ms)",
            gen["steerwise_ttft_ms"],
            gen["llama_cpp_ttft_ms"],
            False,
        ),
        (
            "default embedder, sentences/s",
            emb["steerwise_sentences_per_s"],
            emb["sentence_transformers_sentences_per_s"],
            True,
        ),
    ]
    print("| measure | steerwise | library direct | steerwise overhead |")
    print("|---|---:|---:|---:|")
    for name, ours, theirs, higher in rows:
        worse = overhead(ours, theirs, higher_is_better=higher)
        print(f"| {name} | {ours:,.1f} | {theirs:,.1f} | {worse:+.1f}% |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "repeats": args.repeats,
                "quick": args.quick,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                **gen,
                **emb,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
