"""Export a LoRA model to one GGUF file that llama.cpp serves at full speed.

The base GGUF is copied as it is (metadata and every tensor, still quantized) except the
weights the adapter changes, which are written in float32 as base + (alpha / r) * B @ A.
Those are few (the attention projections LoRA targets), so the file stays close to the
base's size and speed, and the adapter's small changes are not rounded away by
re-quantizing. GGUF stores llama's query and key projections with their rows permuted for
its rotary embedding; the deltas are permuted the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from steerwise.core.finetune import FinetuneError

_MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_LORA_KEY = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.weight$")
ARCHITECTURES = ("llama",)


def permute_rows(weights: np.ndarray, heads: int) -> np.ndarray:
    """Rows of a query or key projection in GGUF's order (as llama.cpp's converter does)."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def adapter_deltas(adapter: Path, *, heads: int, kv_heads: int) -> dict[str, np.ndarray]:
    """GGUF tensor name -> the float32 change the adapter makes to that weight."""
    from safetensors.numpy import load_file

    config = json.loads((adapter / "adapter_config.json").read_text())
    if config.get("use_dora") or config.get("peft_type", "LORA") != "LORA":
        raise FinetuneError(f"{adapter}: only plain LoRA adapters can be exported to GGUF")
    rank, alpha = int(config["r"]), float(config["lora_alpha"])
    scale = alpha / (rank**0.5 if config.get("use_rslora") else rank)
    pairs: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for key, value in load_file(str(adapter / "adapter_model.safetensors")).items():
        match = _LORA_KEY.search(key)
        if match is None or match.group(2) not in _MODULES:
            raise FinetuneError(f"{adapter}: cannot map adapter weight {key!r} to GGUF")
        layer, module, part = match.groups()
        pairs.setdefault((layer, module), {})[part] = value.astype(np.float32)
    deltas = {}
    for (layer, module), parts in pairs.items():
        delta = scale * (parts["B"] @ parts["A"])
        if module == "self_attn.q_proj":
            delta = permute_rows(delta, heads)
        elif module == "self_attn.k_proj":
            delta = permute_rows(delta, kv_heads)
        deltas[f"blk.{layer}.{_MODULES[module]}.weight"] = delta
    return deltas


def export_gguf(base: Path, adapter: Path, destination: Path, *, name: str) -> Path:
    """Write base + adapter to `destination` (whole or not at all); the path written."""
    import gguf

    reader = gguf.GGUFReader(base)
    architecture = _field(reader, "general.architecture")
    if architecture not in ARCHITECTURES:
        raise FinetuneError(
            f"{base}: GGUF export supports {', '.join(ARCHITECTURES)} models, not {architecture}"
        )
    heads = int(_field(reader, f"{architecture}.attention.head_count"))
    kv_heads = int(_field(reader, f"{architecture}.attention.head_count_kv") or heads)
    deltas = adapter_deltas(adapter, heads=heads, kv_heads=kv_heads)
    missing = sorted(set(deltas) - {tensor.name for tensor in reader.tensors})
    if missing:
        raise FinetuneError(f"{adapter}: the base GGUF has no tensor {missing[0]}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    writer = gguf.GGUFWriter(partial, arch=str(architecture), endianess=reader.endianess)
    _copy_metadata(gguf, reader, writer, name=name)
    tensors = [
        (tensor, _merged(gguf, tensor, deltas.get(tensor.name))) for tensor in reader.tensors
    ]
    for tensor, merged in tensors:
        if merged is None:
            writer.add_tensor_info(
                tensor.name,
                tensor.data.shape,
                tensor.data.dtype,
                tensor.data.nbytes,
                tensor.tensor_type,
            )
        else:
            writer.add_tensor_info(tensor.name, merged.shape, merged.dtype, merged.nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor, merged in tensors:
        data = tensor.data if merged is None else merged
        writer.write_tensor_data(data, tensor_endianess=reader.endianess)
    writer.close()
    partial.rename(destination)
    return destination


def _merged(gguf: Any, tensor: Any, delta: np.ndarray | None) -> np.ndarray | None:
    if delta is None:
        return None
    weights = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
    if weights.shape != delta.shape:
        raise FinetuneError(
            f"adapter weight for {tensor.name} has shape {delta.shape}, the base {weights.shape}"
        )
    return np.ascontiguousarray(weights + delta)


def _copy_metadata(gguf: Any, reader: Any, writer: Any, *, name: str) -> None:
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        value = name if field.name == "general.name" else field.contents()
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, kind, sub_type=sub_type)


def _field(reader: Any, key: str) -> Any:
    field = reader.get_field(key)
    return None if field is None else field.contents()
