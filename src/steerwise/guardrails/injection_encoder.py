"""A fine-tuned encoder for the prompt-injection detector: the default embedder trained end to
end, with a linear head, to tell attacks from benign text.

`fit_encoder` fine-tunes a copy of a sentence-transformers model (by default the bundled
all-MiniLM-L6-v2) on labelled texts: every weight of the transformer and a logistic head over
its unit-length sentence vector, binary cross-entropy, AdamW with a linear warm-up and decay.
It writes a folder the detector's `classifier` setting can name:

    FOLDER/classifier.json   kind, base model, head weights, recipe, training rows
    FOLDER/encoder/          the fine-tuned sentence-transformers model (safetensors)

`EncoderScorer` embeds texts with the fine-tuned model (the same packed, cached path as the
default embedder) and returns `sigmoid(scale * (w . v) + b)`. Fitting and scoring see the
same normalised text (`normalise`), and benign sentence windows join the training rows as
negatives, as for the logistic classifier (`training_rows`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from steerwise.core.errors import BadInputError
from steerwise.guardrails.injection_scoring import training_rows
from steerwise.models.embeddings import (
    SentenceTransformerEmbedder,
    default_embedder_path,
    sentence_dimension,
)
from steerwise.models.torch_runtime import prepare_torch_environment

ENCODER_KIND = "steerwise.prompt_injection.encoder/1"
HEAD_FILE = "classifier.json"
ENCODER_FOLDER = "encoder"

Progress = Callable[[int, int, float], None]
"""Called after each optimiser step with (step, total steps, loss)."""


@dataclass(frozen=True)
class EncoderRecipe:
    """How the encoder is fine-tuned (the usual BERT fine-tuning settings by default)."""

    epochs: int = 3
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    batch_size: int = 16
    max_length: int = 256
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    scale: float = 20.0
    """The head reads the unit sentence vector times this, so that small weights suffice."""
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise BadInputError(f"the encoder recipe's {name} must be at least 1")
        for name in ("learning_rate", "head_learning_rate", "scale"):
            if not getattr(self, name) > 0:
                raise BadInputError(f"the encoder recipe's {name} must be positive")


@dataclass(frozen=True)
class EncoderHead:
    """What `classifier.json` holds: the head over the fine-tuned encoder's vectors."""

    folder: Path
    base: str
    weights: tuple[float, ...]
    bias: float
    scale: float
    encoder_sha256: str

    @property
    def model_id(self) -> str:
        """An id for the fine-tuned encoder (its weights' hash), for caches and reports."""
        return f"injection-encoder:{self.encoder_sha256[:16]}"


def fit_encoder(
    texts: Sequence[str],
    labels: Sequence[int],
    folder: Path,
    *,
    base: Path | None = None,
    recipe: EncoderRecipe | None = None,
    progress: Progress | None = None,
) -> EncoderHead:
    """Fine-tune the encoder on labelled texts (1 = attack) and write it to `folder`.

    The folder appears whole or not at all (written beside it, then renamed); an existing
    one is replaced only once the new one is complete.
    """
    recipe = recipe or EncoderRecipe()
    rows, targets = training_rows(texts, labels)
    base_path = base or default_embedder_path()
    folder = folder.expanduser()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model, head = _train(rows, targets, base_path, recipe, progress)
        model.save(str(staging / ENCODER_FOLDER))
        digest = _folder_sha256(staging / ENCODER_FOLDER)
        body = {
            "kind": ENCODER_KIND,
            "base": base_path.name,
            "scale": recipe.scale,
            "bias": head[1],
            "weights": head[0],
            "encoder_sha256": digest,
            "recipe": asdict(recipe),
            "rows": len(rows),
            "attacks": sum(targets),
        }
        (staging / HEAD_FILE).write_text(json.dumps(body) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return load_encoder(folder)


def _train(
    rows: list[str],
    targets: list[int],
    base: Path,
    recipe: EncoderRecipe,
    progress: Progress | None,
) -> tuple[Any, tuple[list[float], float]]:
    """The fine-tuned SentenceTransformer and its head's (weights, bias)."""
    prepare_torch_environment()
    import torch
    from sentence_transformers import SentenceTransformer

    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.seed)
    order = random.Random(recipe.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = recipe.max_length
    model.train()
    head = torch.nn.Linear(sentence_dimension(model), 1)
    optimiser = torch.optim.AdamW(
        [
            {"params": model.parameters(), "lr": recipe.learning_rate},
            {"params": head.parameters(), "lr": recipe.head_learning_rate},
        ],
        weight_decay=recipe.weight_decay,
    )
    per_epoch = math.ceil(len(rows) / recipe.batch_size)
    total = recipe.epochs * per_epoch
    warmup = max(1.0, recipe.warmup_share * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / total)
    )
    labels = torch.tensor(targets, dtype=torch.float32)
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in v5.2
    step = 0
    for _ in range(recipe.epochs):
        indices = list(range(len(rows)))
        order.shuffle(indices)
        for start in range(0, len(indices), recipe.batch_size):
            batch = indices[start : start + recipe.batch_size]
            features = tokenize([rows[i] for i in batch])
            vectors = model(features)["sentence_embedding"]
            logits = head(vectors * recipe.scale).squeeze(-1)
            loss: Any = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if progress is not None:
                progress(step, total, float(loss.detach()))
    model.eval()
    weights = [float(v) for v in head.weight.detach().reshape(-1)]
    return model, (weights, float(head.bias.detach()[0]))


def _folder_sha256(folder: Path) -> str:
    """One hash over every file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\x00")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_encoder(folder: Path) -> EncoderHead:
    """The head `fit_encoder` wrote in `folder`, checked against its encoder."""
    try:
        body = json.loads((folder / HEAD_FILE).read_text(encoding="utf-8"))
        if body.get("kind") != ENCODER_KIND:
            raise ValueError(f"kind is {body.get('kind')!r}, not {ENCODER_KIND!r}")
        head = EncoderHead(
            folder,
            str(body["base"]),
            tuple(float(v) for v in body["weights"]),
            float(body["bias"]),
            float(body["scale"]),
            str(body["encoder_sha256"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(
            f"cannot read the fine-tuned classifier in {folder}: {error}",
            hint="write it with `steerwise guard fit-classifier --kind encoder`",
        ) from None
    if not (folder / ENCODER_FOLDER).is_dir():
        raise BadInputError(f"the fine-tuned classifier in {folder} has no {ENCODER_FOLDER}/")
    return head


class EncoderScorer:
    """The fine-tuned encoder's probability of injection: sigmoid(scale * (w . v) + b)."""

    def __init__(self, head: EncoderHead) -> None:
        self._head = head
        self._weights = np.asarray(head.weights, dtype=np.float64) * head.scale
        self._embedder = SentenceTransformerEmbedder(
            head.folder / ENCODER_FOLDER, model_id=head.model_id
        )
        if self._embedder.dimension != len(self._weights):
            raise BadInputError(
                f"the fine-tuned classifier in {head.folder} has {len(self._weights)} weights"
                f" for {self._embedder.dimension}-dimensional vectors",
                hint="fit it again with `steerwise guard fit-classifier --kind encoder`",
            )

    def score(self, texts: Sequence[str]) -> list[float]:
        """The probability of injection per text."""
        if not texts:
            return []
        logits = self._embedder.embed(list(texts)).astype(np.float64) @ self._weights
        return [float(v) for v in 1.0 / (1.0 + np.exp(-np.clip(logits + self._head.bias, -60, 60)))]
