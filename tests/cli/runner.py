"""Run the real `steerwise` executable in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXECUTABLE = Path(sys.executable).parent / "steerwise"


@dataclass(frozen=True)
class Outcome:
    """Exit code and output of one command."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)


def steerwise(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 120
) -> Outcome:
    """Run `steerwise ARGS...` in `cwd` with a clean steerwise environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STEERWISE_")}
    environment.update(env or {})
    done = subprocess.run(
        [str(EXECUTABLE), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)
