"""TransformersChatModel: Hugging Face models in-process, with an optional PEFT adapter.

`path` is a Hugging Face model folder (with `config.json`) or a GGUF file, which
transformers dequantizes to float32. This is the backend that serves fine-tuned weights.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steerwise.core import environment
from steerwise.core.models import (
    ChatParams,
    Completion,
    Message,
    ModelConfig,
    ModelInputError,
    StreamDelta,
    Usage,
)
from steerwise.models.failures import timeout_failure
from steerwise.models.llamacpp import check_gguf
from steerwise.models.torch_runtime import prepare_torch_environment

if TYPE_CHECKING:
    from steerwise.models.interface import ChatModel, StreamEvent

DEFAULT_MAX_TOKENS = 256
INSTALL_HINT = "install torch, transformers and gguf (and peft for adapters)"


def check_model_source(model: str, path: Path) -> Path:
    """`path` if it is a Hugging Face model folder or a GGUF file, else an error naming both."""
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelInputError(
                f"model {model}: folder {path} has no config.json",
                hint="point path at a Hugging Face model folder or a .gguf file",
            )
        return path
    return check_gguf(model, path)


def check_adapter(model: str, adapter: Path) -> Path:
    """`adapter` if it is a PEFT adapter folder, else an error naming the model."""
    if not (adapter / "adapter_config.json").is_file():
        raise ModelInputError(
            f"model {model}: adapter folder {adapter} does not exist or has no adapter_config.json",
            hint="point adapter at a folder written by PEFT's save_pretrained",
        )
    return adapter


def _import_runtime() -> tuple[Any, Any]:
    """The torch and transformers modules, or an error saying what to install."""
    prepare_torch_environment()
    try:
        import torch
        import transformers
    except ImportError as error:
        raise ModelInputError(
            "the transformers provider needs torch and transformers, which are not installed",
            hint=INSTALL_HINT,
        ) from error
    return torch, transformers


@lru_cache(maxsize=3)
def _shared_model(path: str, adapter: str | None) -> tuple[Any, Any, threading.Lock]:
    """One loaded (model, tokenizer) per (weights, adapter) per process, with its lock.

    A model with an adapter starts from a copy of the shared base model, so the weights
    (slow to read from a GGUF) are read once however many adapters use them.
    """
    if adapter is not None:
        return _with_adapter(path, adapter)
    torch, _ = _import_runtime()
    torch.set_num_threads(os.cpu_count() or 1)
    model, tokenizer = load_weights(Path(path))
    model.eval()
    return model, tokenizer, threading.Lock()


def load_weights(source: Path) -> tuple[Any, Any]:
    """A new (float32 model, tokenizer) from a Hugging Face folder or a GGUF file; not
    shared (fine-tuning changes it). A GGUF file is dequantized by transformers once and
    kept as a Hugging Face folder in the cache (`converted_folder`): reading the GGUF takes
    tens of seconds on a laptop, the converted folder one or two."""
    torch, transformers = _import_runtime()
    transformers.utils.logging.disable_progress_bar()
    folder = converted_folder(source) if source.is_file() else source
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    return model, tokenizer


def converted_folder(gguf_file: Path) -> Path:
    """The Hugging Face folder transformers makes of `gguf_file` (its float32 weights and
    tokenizer), converted on first use and cached by the file's SHA-256."""
    from steerwise.models.versions import tree_sha256

    folder = environment.cache_dir() / "transformers" / tree_sha256(gguf_file)[:24]
    if (folder / "config.json").is_file():
        return folder
    torch, transformers = _import_runtime()
    options = {"gguf_file": gguf_file.name}
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(gguf_file.parent), **options)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(gguf_file.parent), dtype=torch.float32, **options
    )
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
    model.hf_quantizer = None  # dequantized to float32: plain weights from here on
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(partial))
    tokenizer.save_pretrained(str(partial))
    try:
        partial.rename(folder)  # whole or absent; another process may have won the race
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def _with_adapter(path: str, adapter: str) -> tuple[Any, Any, threading.Lock]:
    """A copy of the shared base model with the PEFT adapter in `adapter` applied."""
    try:
        from peft import PeftModel
    except ImportError as error:
        raise ModelInputError(
            "adapters need peft, which is not installed", hint=INSTALL_HINT
        ) from error
    base, tokenizer, lock = _shared_model(path, None)
    with lock:
        model = PeftModel.from_pretrained(copy.deepcopy(base), adapter)
        tokenizer = copy.deepcopy(tokenizer)
    model.eval()
    return model, tokenizer, threading.Lock()


@dataclass
class _Request:
    """One prepared generation: the prompt ids and the `generate` keyword arguments."""

    input_ids: Any
    arguments: dict[str, Any]
    max_new_tokens: int
    deadline: _Deadline
    timeout_s: float


class TransformersChatModel:
    """A chat model run by transformers; its chat template comes with the tokenizer.

    Temperature None or 0 is greedy decoding.
    """

    supports_json_schema = False

    def __init__(
        self,
        model_id: str,
        path: Path,
        *,
        adapter: Path | None,
        context_window: int | None,
        timeout_s: float,
    ) -> None:
        self._id = model_id
        self._path = check_model_source(model_id, path)
        self._adapter = check_adapter(model_id, adapter) if adapter is not None else None
        self._context = context_window
        self._timeout_s = timeout_s

    @property
    def model_id(self) -> str:
        return self._id

    def _shared(self) -> tuple[Any, Any, threading.Lock]:
        adapter = str(self._adapter) if self._adapter is not None else None
        return _shared_model(str(self._path), adapter)

    @property
    def model(self) -> Any:
        """The shared transformers model (loaded on first use)."""
        return self._shared()[0]

    @property
    def tokenizer(self) -> Any:
        """The shared tokenizer (loaded on first use)."""
        return self._shared()[1]

    def chat_ids(self, messages: Sequence[Message]) -> Any:
        """The prompt token ids (a 1 x n tensor) that the chat template makes of `messages`."""
        try:
            encoded = self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, return_tensors="pt"
            )
        except ValueError as error:
            raise ModelInputError(f"model {self._id}: {error}") from None
        # transformers 5 returns a BatchEncoding; older versions return the ids tensor.
        return encoded["input_ids"] if hasattr(encoded, "keys") else encoded

    def _prepare(self, messages: Sequence[Message], params: ChatParams) -> _Request:
        tokenizer = self.tokenizer
        torch, transformers = _import_runtime()
        input_ids = self.chat_ids(messages)
        max_new_tokens = params.max_tokens or DEFAULT_MAX_TOKENS
        self._check_context(input_ids.shape[-1], max_new_tokens)
        timeout = params.timeout_s or self._timeout_s
        deadline = _Deadline(torch, time.monotonic() + timeout)
        arguments: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": max_new_tokens,
            "stopping_criteria": transformers.StoppingCriteriaList([deadline]),
            "pad_token_id": _pad_token(tokenizer),
            **_sampling(params),
        }
        if params.stop:
            arguments.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        return _Request(input_ids, arguments, max_new_tokens, deadline, timeout)

    def _check_context(self, input_tokens: int, max_new_tokens: int) -> None:
        window = self._context or int(self.model.config.max_position_embeddings)
        if input_tokens + max_new_tokens > window:
            raise ModelInputError(
                f"model {self._id}: the prompt ({input_tokens} tokens) plus max_tokens "
                f"({max_new_tokens}) needs {input_tokens + max_new_tokens} tokens, more than "
                f"the context window of {window}",
                hint="shorten the prompt, lower max_tokens or raise context_window",
            )

    def _seed(self, params: ChatParams) -> None:
        if params.temperature:
            torch, _ = _import_runtime()
            torch.manual_seed(params.seed or 0)

    def _completion(self, request: _Request, output: Any, text: str | None = None) -> Completion:
        if request.deadline.passed:
            raise timeout_failure(self._id, request.timeout_s)
        prompt_length = request.input_ids.shape[-1]
        generated = output[0, prompt_length:]
        if text is None:
            text = self.tokenizer.decode(generated, skip_special_tokens=True)
        finish = "length" if len(generated) >= request.max_new_tokens else "stop"
        stops = request.arguments.get("stop_strings", [])
        return Completion(
            trim_at_stop(text, stops), finish, Usage(prompt_length, len(generated)), self._id
        )

    def complete(self, messages: Sequence[Message], params: ChatParams) -> Completion:
        model, _, lock = self._shared()
        with lock:
            request = self._prepare(messages, params)
            self._seed(params)
            output = _no_grad(model.generate, request.arguments)
        return self._completion(request, output)

    def stream(self, messages: Sequence[Message], params: ChatParams) -> Iterator[StreamEvent]:
        model, tokenizer, lock = self._shared()
        _, transformers = _import_runtime()
        with lock:
            request = self._prepare(messages, params)
            streamer = transformers.TextIteratorStreamer(
                tokenizer, skip_prompt=True, skip_special_tokens=True
            )
            self._seed(params)
            worker = _Generation(model, {**request.arguments, "streamer": streamer})
            stops = _StopFilter(request.arguments.get("stop_strings", []))
            pieces: list[str] = []
            try:
                for piece in streamer:
                    text = stops.feed(piece)
                    if text:
                        pieces.append(text)
                        yield StreamDelta(text)
                text = stops.flush()
                if text:
                    pieces.append(text)
                    yield StreamDelta(text)
            finally:
                request.deadline.cancel()
                worker.join()
            output = worker.result()
        yield self._completion(request, output, "".join(pieces))


def _sampling(params: ChatParams) -> dict[str, Any]:
    """Greedy decoding for temperature None or 0, else sampling with temperature and top_p."""
    if not params.temperature:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    arguments: dict[str, Any] = {"do_sample": True, "temperature": params.temperature}
    if params.top_p is not None:
        arguments["top_p"] = params.top_p
    return arguments


def _pad_token(tokenizer: Any) -> int | None:
    pad: int | None = tokenizer.pad_token_id
    eos: int | None = tokenizer.eos_token_id
    return pad if pad is not None else eos


def _no_grad(generate: Any, arguments: dict[str, Any]) -> Any:
    torch, _ = _import_runtime()
    with torch.inference_mode():
        return generate(**arguments)


def trim_at_stop(text: str, stops: Sequence[str]) -> str:
    """`text` up to the first stop string it contains (stop strings are not returned)."""
    cuts = [index for index in (text.find(stop) for stop in stops if stop) if index >= 0]
    return text[: min(cuts)] if cuts else text


class _StopFilter:
    """Streamed text up to the first stop string, holding back what may start one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [stop for stop in stops if stop]
        self._hold = max((len(stop) for stop in self._stops), default=1) - 1
        self._buffer = ""
        self._stopped = False

    def feed(self, text: str) -> str:
        """The part of `text` that is safe to emit now."""
        if self._stopped:
            return ""
        self._buffer += text
        trimmed = trim_at_stop(self._buffer, self._stops)
        if len(trimmed) < len(self._buffer):
            self._stopped, self._buffer = True, ""
            return trimmed
        ready = len(self._buffer) - self._hold
        if ready <= 0:
            return ""
        text, self._buffer = self._buffer[:ready], self._buffer[ready:]
        return text

    def flush(self) -> str:
        """What is still held back once generation has ended."""
        text, self._buffer = ("" if self._stopped else self._buffer), ""
        return text


class _Generation:
    """`model.generate` in a worker thread, so a streamer can be read while it runs."""

    def __init__(self, model: Any, arguments: dict[str, Any]) -> None:
        self._output: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(model, arguments), name="steerwise-generate", daemon=True
        )
        self._thread.start()

    def _run(self, model: Any, arguments: dict[str, Any]) -> None:
        try:
            self._output = _no_grad(model.generate, arguments)
        except BaseException as error:
            self._error = error
            arguments["streamer"].end()  # unblock the reader

    def join(self) -> None:
        """Wait for generation to end."""
        self._thread.join()

    def result(self) -> Any:
        """The generated ids, or the error generation raised."""
        if self._error is not None:
            raise self._error
        return self._output


class _Deadline:
    """A transformers stopping criterion that ends generation when the timeout passes."""

    def __init__(self, torch: Any, deadline: float) -> None:
        self._torch = torch
        self.deadline = deadline
        self.passed = False
        self._cancelled = False

    def cancel(self) -> None:
        """Stop generation early (the reader went away); this is not a timeout."""
        self._cancelled = True

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        self.passed = self.passed or time.monotonic() > self.deadline
        stop = self.passed or self._cancelled
        return self._torch.full((input_ids.shape[0],), stop, dtype=self._torch.bool)


def build(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    """The `transformers` provider: `path` (and `adapter`) are relative to the workspace root."""
    from steerwise.models.providers import resolve_path

    if config.path is None:
        raise ModelInputError(
            f"model {model_id}: the transformers provider needs a path",
            hint="set path in [models.NAME] to a Hugging Face model folder or a .gguf file",
        )
    adapter = resolve_path(root, config.adapter) if config.adapter else None
    return TransformersChatModel(
        model_id,
        resolve_path(root, config.path),
        adapter=adapter,
        context_window=config.context_window,
        timeout_s=config.timeout_s,
    )
