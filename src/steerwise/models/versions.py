"""ModelVersions: the model registry of fine-tuned (and imported) models.

A model version is immutable and named `NAME@VERSION`; labels (`production`, `candidate`)
move and every move is audited, like prompts. A version records its lineage (base model,
training set version, job, hyperparameters, training metrics) and where its weights are: a
LoRA adapter served by the transformers provider over the base weights, a GGUF file served
by llama.cpp, or a hosted provider's fine-tuned model id. `NAME@VERSION` (or `NAME@LABEL`)
is a model reference anywhere a model is named: releases, `prompt run --model`, evals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from steerwise.core.actors import Actor
from steerwise.core.errors import NotFoundError
from steerwise.core.finetune import ModelVersionSpec
from steerwise.core.models import ModelConfig, ModelInputError
from steerwise.core.versioning import PushResult, SpecVersion
from steerwise.models.refs import resolve_config
from steerwise.store import Store
from steerwise.versioning.files import SpecFormat, no_problems
from steerwise.versioning.registry import VersionedRegistry

ModelVersion = SpecVersion[ModelVersionSpec]


MODEL_FORMAT: SpecFormat[ModelVersionSpec] = SpecFormat(
    noun="model", suffix=".model.yaml", model=ModelVersionSpec.model_validate, check=no_problems
)


def tree_sha256(path: Path) -> str:
    """SHA-256 over a file, or over a folder's files (names and contents, sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class ModelVersions(VersionedRegistry[ModelVersionSpec]):
    """The registered model versions of one workspace (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        root: Path,
        named: Mapping[str, ModelConfig],
        label_cache_ttl_s: float = 1.0,
    ) -> None:
        super().__init__(store, MODEL_FORMAT, actor=actor, label_cache_ttl_s=label_cache_ttl_s)
        self._root = root
        self._named = dict(named)

    def register(self, spec: ModelVersionSpec, *, source: str) -> PushResult:
        """Store a new version of `spec.name` after checking that its files are there and
        unchanged (their SHA-256 is part of the version)."""
        for relative, expected in (
            (spec.adapter, spec.adapter_sha256),
            (spec.gguf, spec.gguf_sha256),
        ):
            if relative is None:
                continue
            path = self._root / relative
            if not path.exists():
                raise NotFoundError(f"model {spec.name}: {relative} does not exist")
            if expected is not None and tree_sha256(path) != expected:
                raise ModelInputError(f"model {spec.name}: {relative} changed after training")
        return self.push_spec(spec, source)

    def pin(self, ref: str) -> str:
        """`NAME@VERSION` for a reference to a registered model (a label is resolved now, so
        that a release keeps the version it was made with)."""
        found = self.get(ref if "@" in ref else f"{ref}@latest")
        return found.ref

    def config(self, ref: str) -> ModelConfig:
        """How to call a registered version: its weights, on its base model's settings."""
        version = self.get(ref if "@" in ref else f"{ref}@latest")
        spec = version.spec
        base = resolve_config(spec.base, self._named)
        if spec.remote_model is not None:
            return base.model_copy(update={"model": spec.remote_model})
        if spec.gguf is not None:
            return ModelConfig(
                provider="local",
                model=version.ref,
                path=str(self._root / spec.gguf),
                context_window=base.context_window,
                threads=base.threads,
                params=base.params,
            )
        return ModelConfig(
            provider="transformers",
            model=version.ref,
            path=str(base_weights(spec.base, base, self._root)),
            adapter=str(self._root / str(spec.adapter)),
            params=base.params,
        )


def base_weights(ref: str, config: ModelConfig, root: Path) -> Path:
    """The weights file or folder of a model that can be fine-tuned here (local GGUF or a
    transformers model), or an error saying it cannot."""
    from steerwise.models.providers import resolve_path

    if config.provider == "local":
        if config.path:
            return resolve_path(root, config.path)
        from steerwise.models.llamacpp import bundled_gguf

        return bundled_gguf()
    if config.provider == "transformers" and config.path:
        return resolve_path(root, config.path)
    raise ModelInputError(
        f"model {ref} ({config.provider}) cannot be fine-tuned on this machine",
        hint="fine-tune a local:... or transformers:... model here; hosted models need"
        " --base openai:MODEL, which uses the provider's fine-tuning API",
    )
