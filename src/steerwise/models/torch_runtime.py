"""The environment torch-based models need, set before torch is first imported."""

from __future__ import annotations

import os
from functools import lru_cache


def prepare_torch_environment() -> None:
    """Offline model loading, and OpenMP threads that sleep instead of spinning.

    Spinning OpenMP threads make CPU inference several times slower when another process
    shares the cores; the setting only takes effect before torch is first imported. Values
    the user set are kept.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder must never turn into a download
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars on a user's terminal
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles); where it
    does not, bfloat16 is emulated and slower than float32."""
    import torch

    cpu = torch.cpu
    return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
