"""Sequence packing for mean-pooled BERT sentence embedders: the same vectors, less padding.

A batch of short texts of unequal length is padded to its longest, and the padding is
computed too: for the sentence windows of a 1 kB message that is about twice the real work.
Packing puts several texts one after another in one row instead, each with its own position
ids (restarting at 0) and an attention mask that lets a token see only the tokens of its own
text (block diagonal). Every text is then embedded exactly as alone (the vectors agree with
sentence-transformers' `encode` to about 1e-6), and a row holds up to `capacity` real tokens.
Rows of packs are batched; the few pad tokens left at a row's end see only each other.

It applies to sentence-transformers models made of a BERT-family transformer, mean pooling
and (optionally) normalisation, such as the bundled all-MiniLM-L6-v2; `packable` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

PACKABLE_TYPES = frozenset({"bert"})
PACK_CAPACITY = 256
PACKS_PER_BATCH = 8


def packable(model: Any) -> bool:
    """Whether `model` (a SentenceTransformer) is a BERT encoder with plain mean pooling."""
    modules = [type(module).__name__ for module in model]
    if modules not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    pooling, transformer = model[1], model[0]
    config = getattr(getattr(transformer, "auto_model", None), "config", None)
    return (
        getattr(pooling, "pooling_mode", None) == "mean"
        and getattr(config, "model_type", None) in PACKABLE_TYPES
    )


def first_fit(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices grouped so that each group's lengths sum to at most `capacity` (longest first)."""
    packs: list[list[int]] = []
    room: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        size = lengths[index]
        slot = next((p for p, free in enumerate(room) if free >= size), None)
        if slot is None:
            packs.append([index])
            room.append(capacity - size)
        else:
            packs[slot].append(index)
            room[slot] -= size
    return packs


def packed_embeddings(
    model: Any,
    texts: Sequence[str],
    *,
    capacity: int = PACK_CAPACITY,
    packs_per_batch: int | None = None,
    encode: Callable[[dict[str, Any]], Any] | None = None,
) -> npt.NDArray[np.float32]:
    """Mean-pooled token vectors of each text, computed in packed rows (not normalised).

    `encode` maps the packed inputs to the last hidden state in place of the model's own
    torch encoder (ONNX Runtime, `steerwise.models.onnx_encoder`). Torch runs
    `PACKS_PER_BATCH` rows a call; ONNX Runtime one, so that rows of unequal width carry no
    padding (batching gains it nothing)."""
    import torch

    limit = int(model.max_seq_length)
    ids: list[list[int]] = model.tokenizer(
        list(texts), truncation=True, max_length=limit, add_special_tokens=True
    )["input_ids"]
    packs = first_fit([len(sequence) for sequence in ids], max(capacity, limit))
    encoder = model[0].auto_model
    pooled = np.zeros((len(texts), int(encoder.config.hidden_size)), dtype=np.float32)
    with torch.inference_mode():
        step = packs_per_batch or (PACKS_PER_BATCH if encode is None else 1)
        for start in range(0, len(packs), step):
            batch = packs[start : start + step]
            inputs, owners = packed_batch(batch, ids, encoder.dtype)
            if encode is None:
                hidden = encoder(**inputs).last_hidden_state.float()
            else:
                hidden = encode(inputs)
            _pool(hidden, owners, pooled)
    return pooled


def packed_batch(
    packs: list[list[int]], ids: list[list[int]], dtype: Any = None
) -> tuple[dict[str, Any], Any]:
    """Model inputs for rows of packs, and which text owns each position (-1: padding)."""
    import torch

    dtype = dtype or torch.float32
    width = max(sum(len(ids[i]) for i in pack) for pack in packs)
    tokens = torch.zeros((len(packs), width), dtype=torch.long)
    positions = torch.zeros_like(tokens)
    owners = torch.full_like(tokens, -1)
    for row, pack in enumerate(packs):
        at = 0
        for index in pack:
            sequence = ids[index]
            end = at + len(sequence)
            tokens[row, at:end] = torch.tensor(sequence)
            positions[row, at:end] = torch.arange(len(sequence))
            owners[row, at:end] = index
            at = end
    same_text = owners[:, :, None] == owners[:, None, :]
    mask = torch.zeros((len(packs), 1, width, width), dtype=dtype)
    mask.masked_fill_(~same_text[:, None], torch.finfo(dtype).min)
    inputs = {
        "input_ids": tokens,
        "attention_mask": mask,
        "position_ids": positions,
        "token_type_ids": torch.zeros_like(tokens),
    }
    return inputs, owners


def _pool(hidden: Any, owners: Any, pooled: npt.NDArray[np.float32]) -> None:
    """Add each text's mean token vector to `pooled` (row = text index)."""
    import torch

    flat_owners = owners.reshape(-1)
    real = flat_owners >= 0
    vectors = hidden.reshape(-1, hidden.shape[-1])[real]
    index = flat_owners[real]
    sums = torch.zeros((len(pooled), hidden.shape[-1])).index_add_(0, index, vectors)
    counts = torch.zeros(len(pooled)).index_add_(0, index, torch.ones(len(index)))
    present = counts > 0
    pooled[present.numpy()] = (sums[present] / counts[present, None]).numpy()
