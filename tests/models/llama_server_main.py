"""`python -m llama_cpp.server ...` with llama.cpp's weight repacking off, as steerwise loads
models (`steerwise.models.llamacpp.without_weight_repacking`: AMX repacking dies of an
illegal instruction where the CPU reports AMX but the kernel does not enable it)."""

from __future__ import annotations

import runpy

from steerwise.models.llamacpp import without_weight_repacking

if __name__ == "__main__":
    with without_weight_repacking():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
