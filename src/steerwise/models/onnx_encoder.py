"""A BERT sentence encoder run by ONNX Runtime: the same vectors as torch, several times faster.

PyTorch's eager CPU kernels spend most of a small encoder's time between operations; ONNX
Runtime fuses attention, layer norm and GELU and runs the graph in one call. For the bundled
all-MiniLM-L6-v2 the hidden states agree with torch's to about 1e-6 (the tests check it), so
every threshold tuned on torch vectors holds.

The graph is exported from the loaded torch encoder the first time a model folder is used
(about a second) and kept in the cache folder (`STEERWISE_CACHE_DIR`, else
`~/.cache/steerwise`) under a key made of the folder's contents and the torch and
transformers versions, so a refitted model is exported again. Nothing is
downloaded. `STEERWISE_EMBEDDER_RUNTIME=torch` turns it off; if onnxruntime is missing or the
export fails (say, the cache folder is read-only), torch runs the encoder and a warning says
why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from steerwise.core import environment

LOG = logging.getLogger(__name__)

ENCODER_INPUTS = ("input_ids", "attention_mask", "position_ids", "token_type_ids")
EXPORT_FORMAT = 1
"""Raised when the export itself changes, so that old cached graphs are not reused."""

Encode = Callable[[dict[str, Any]], Any]
"""Model inputs (torch tensors, `ENCODER_INPUTS`) to the last hidden state (a torch tensor)."""


def onnx_encoder(folder: str, encoder: Any, *, threads: int | None = None) -> Encode | None:
    """The ONNX Runtime form of `encoder`, one per process and thread count (`threads`: as
    many as torch uses unless given), unless `STEERWISE_EMBEDDER_RUNTIME=torch` or it cannot be
    had (then None: the caller runs torch)."""
    if (environment.EMBEDDER_RUNTIME.get() or "onnx").lower() == "torch":
        return None
    return _shared_onnx_encoder(folder, encoder, threads)


def load_onnx_encoder(folder: str, encoder: Any, threads: int | None = None) -> Encode | None:
    """The ONNX Runtime form of `encoder` (loaded from `folder`), exported first if the cache
    lacks it; None, with a warning, when onnxruntime is missing or the export fails."""
    try:
        import onnxruntime
    except ImportError:
        LOG.warning("onnxruntime is not installed: embeddings run on torch (slower)")
        return None
    try:
        session = _session(onnxruntime, exported_graph(folder, encoder), threads)
    except Exception as error:  # any export failure: torch runs it, as before
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        LOG.warning("cannot run %s on ONNX Runtime (%s): embeddings run on torch", folder, reason)
        return None
    return _runner(session)


_shared_onnx_encoder = lru_cache(maxsize=4)(load_onnx_encoder)


def exported_graph(folder: str, encoder: Any) -> Path:
    """The cached ONNX graph of `encoder`, exported now if it is not there yet."""
    graph = environment.cache_dir() / "onnx" / f"{_graph_key(Path(folder))}.onnx"
    if not graph.is_file():
        _export(encoder, graph)
    return graph


def _graph_key(folder: Path) -> str:
    """A digest of what the exported graph depends on: the folder's contents (not its place
    or times, so every install of the same model shares one export) and the exporter."""
    import torch
    import transformers

    from steerwise.models.versions import tree_sha256

    described = {
        "model": tree_sha256(folder),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "format": EXPORT_FORMAT,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:24]


def _export(encoder: Any, graph: Path) -> None:
    """Trace `encoder` on a small packed batch and write the graph atomically to `graph`."""
    import torch

    from steerwise.models.packing import packed_batch

    class Positional(torch.nn.Module):
        """The encoder with positional inputs and the last hidden state as its only output
        (what the exporter traces)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *inputs: Any) -> Any:
            named = dict(zip(ENCODER_INPUTS, inputs, strict=True))
            return self.encoder(**named).last_hidden_state

    module = Positional().eval()  # a new module is in training mode; export would restore it
    inputs, _ = packed_batch([[0, 1], [2]], [[101, 7592, 102], [101, 102], [101, 2088, 102]])
    dynamic = {name: {0: "rows", 1: "width"} for name in ENCODER_INPUTS}
    dynamic["attention_mask"] = {0: "rows", 2: "width", 3: "seen"}
    dynamic["hidden"] = {0: "rows", 1: "width"}
    graph.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=graph.parent, suffix=".onnx.partial")
    os.close(handle)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shapes it keeps dynamic
            torch.onnx.export(
                module,
                tuple(inputs[name] for name in ENCODER_INPUTS),
                temporary,
                input_names=list(ENCODER_INPUTS),
                output_names=["hidden"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
        os.replace(temporary, graph)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _session(onnxruntime: Any, graph: Path, threads: int | None) -> Any:
    """An inference session on the CPU with `threads` threads (as many as torch uses if
    None), which sleep between calls instead of spinning (spinning threads starve a local
    model beside them)."""
    import torch

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def _runner(session: Any) -> Encode:
    import torch

    def encode(inputs: dict[str, Any]) -> Any:
        feed = {name: inputs[name].numpy() for name in ENCODER_INPUTS}
        return torch.from_numpy(session.run(None, feed)[0])

    return encode
