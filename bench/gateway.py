"""The gateway under load: steerwise against the LiteLLM proxy, same instant upstream, one run.

    unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/gateway.py'

(the network cut: LiteLLM phones home otherwise.) Needs `wrk` (Debian package) and LiteLLM
in its own virtual environment: `make bench/.venv-litellm/bin/litellm`.

Both gateways run one worker and call `bench/instant_upstream.py`, which answers at once.
Measured per target, the sides alternating within each repeat (medians of the repeats):

- latency added per request, p50 and p99 (wrk at concurrency 1, minus the upstream's own);
- requests per second at concurrency 1 and 32 (wrk);
- streaming: time to the first content byte, added to the upstream's (a raw socket client,
  one request at a time);
- memory: the gateway's resident set after start-up and after each tenth of 50,000 requests.

steerwise is measured twice: `plain` (a release with a prompt and the upstream model, traces
written) and `guarded` (the same with the demo pack's `support` policy: PII, injection,
topics and length rails in; PII, citations, freshness and grounding out) and `rules` (the
same policy with every rail by rules: injection by patterns, topics by keyword, grounding by
word overlap; `bench/guardrails_cost.py`'s `support-patterns`); for those two the questions
vary per request (a per-run salt and a counter), so no cache can answer.
Results go to bench/results/gateway.json; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "gateway.json"
LITELLM = BENCH / ".venv-litellm" / "bin" / "litellm"
_ONE_WORKER = ("--num_workers", "1")
_STEERWISE_RELEASES = {
    "steerwise": "plain",
    "steerwise-guarded": "guarded",
    "steerwise-rules": "rules",
}
STEERWISE = Path(sys.executable).parent / "steerwise"
QUESTION = "How long do refunds take?"
MASTER_KEY = "sk-bench"
PROMPT = """name: answer
messages:
  - role: system
    content: You answer questions about Fernhill Cycles briefly.
  - role: user
    content: '{{ question }}'
variables:
  type: object
  properties:
    question: {type: string}
  required: [question]
"""


@dataclass(frozen=True)
class Target:
    """One thing to load: its URL, the `model` it is asked for, headers, varied questions."""

    name: str
    url: str
    model: str
    headers: dict[str, str]
    vary: bool = False
    pid: int | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description="gateway latency, throughput and memory")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="each wrk run")
    parser.add_argument("--memory-requests", type=int, default=50_000)
    parser.add_argument("--stream-requests", type=int, default=200)
    parser.add_argument("--no-litellm-memory", action="store_true", help="skip its 50k run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, _services(Path(folder)) as targets:
        results = _measure(targets, args, Path(folder))
    results["machine"] = _machine()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print_summary(results)


@contextmanager
def _services(folder: Path) -> Iterator[dict[str, Target]]:
    """The upstream, steerwise serve and the LiteLLM proxy, each on a free port."""
    upstream_port, steerwise_port, litellm_port = _free_ports(3)
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    workspace = _workspace(folder / "ws", upstream)
    config = _litellm_config(folder / "litellm.yaml", upstream)
    processes = [
        _start([sys.executable, str(BENCH / "instant_upstream.py"), "--port", str(upstream_port)]),
        _start([str(STEERWISE), "serve", "--port", str(steerwise_port)], cwd=workspace),
        _start(
            [str(LITELLM), "--config", str(config), "--port", str(litellm_port), *_ONE_WORKER],
            env=_litellm_env(),
        ),
    ]
    try:
        _wait(f"http://127.0.0.1:{steerwise_port}/healthz")
        _wait(f"http://127.0.0.1:{litellm_port}/health/liveliness")
        _wait_socket(upstream_port)
        chat = "/v1/chat/completions"
        yield {
            "upstream": Target("upstream", upstream + "/chat/completions", "m", {}),
            "litellm": Target(
                "litellm",
                f"http://127.0.0.1:{litellm_port}{chat}",
                "m",
                {"Authorization": f"Bearer {MASTER_KEY}"},
                pid=processes[2].pid,
            ),
            **{
                name: Target(
                    name,
                    f"http://127.0.0.1:{steerwise_port}{chat}",
                    f"{release}@production",
                    {},
                    vary=release != "plain",  # new questions, so no rail's cache answers
                    pid=processes[1].pid,
                )
                for name, release in _STEERWISE_RELEASES.items()
            },
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _workspace(root: Path, upstream: str) -> Path:
    """A workspace with releases `plain`, `guarded` and `rules` deployed as `@production`."""
    from guardrails_cost import variant
    from steerwise import Workspace
    from steerwise.demo import pack_path
    from steerwise.releases import PinRequest, release_id

    Workspace.init(root).close()
    model = f'\n[models.instant]\nprovider = "openai"\nmodel = "m"\nbase_url = "{upstream}"\n'
    (root / "steerwise.toml").write_text((root / "steerwise.toml").read_text() + model)
    (root / "prompts").mkdir()
    (root / "prompts" / "answer.prompt.yaml").write_text(PROMPT)
    rules = variant(root.parent, "support-patterns", patterns_only=True)
    with Workspace.open(root) as ws:
        ws.prompts.push([root / "prompts"])
        ws.policies.push([pack_path() / "policies", rules])
        releases = (("plain", None), ("guarded", "support"), ("rules", "support-patterns"))
        for name, policy in releases:
            made = ws.releases.create(name, PinRequest("answer@1", model="instant", policy=policy))
            ws.releases.deploy(name, release_id(made), "production")
    return root


def _litellm_config(path: Path, upstream: str) -> Path:
    path.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n"
        f"      api_base: {upstream}\n      api_key: unused\n"
        f"general_settings:\n  master_key: {MASTER_KEY}\n"
    )
    return path


def _litellm_env() -> dict[str, str]:
    quiet = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "DISABLE_ADMIN_UI": "True",
        "LITELLM_TELEMETRY": "False",
    }
    return {**os.environ, **quiet}


def _measure(targets: dict[str, Target], args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    for target in targets.values():  # warm-up: first requests load lazily
        _wrk(target, folder, connections=4, seconds=3)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for repeat in range(args.repeats):
        for name, target in targets.items():
            single = _wrk(target, folder, connections=1, seconds=args.seconds)
            loaded = _wrk(target, folder, connections=32, seconds=args.seconds)
            first_byte = _first_byte(target, args.stream_requests)
            runs[name].append(
                {
                    "p50_ms": single["p50_ms"],
                    "p99_ms": single["p99_ms"],
                    "rps_c1": single["rps"],
                    "rps_c32": loaded["rps"],
                    "errors": single["errors"] + loaded["errors"],
                    "first_byte_ms": first_byte,
                }
            )
            print(f"repeat {repeat + 1}: {name} {runs[name][-1]}", file=sys.stderr)
    medians = {name: _medians(values) for name, values in runs.items()}
    memory = {"steerwise": _memory(targets["steerwise"], folder, args.memory_requests)}
    if not args.no_litellm_memory:
        memory["litellm"] = _memory(targets["litellm"], folder, args.memory_requests)
    return {"runs": runs, "medians": medians, "memory": memory, "added": _added(medians)}


def _added(medians: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    base = medians["upstream"]
    return {
        name: {
            "p50_ms": values["p50_ms"] - base["p50_ms"],
            "p99_ms": values["p99_ms"] - base["p99_ms"],
            "first_byte_ms": values["first_byte_ms"] - base["first_byte_ms"],
            "rps_c1": values["rps_c1"],
            "rps_c32": values["rps_c32"],
        }
        for name, values in medians.items()
        if name != "upstream"
    }


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _wrk(target: Target, folder: Path, *, connections: int, seconds: int) -> dict[str, float]:
    script = _lua(target, folder)
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command.append("--latency")
    done = subprocess.run(
        [*command, "-s", str(script), target.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return _parse_wrk(done.stdout)


def _lua(target: Target, folder: Path) -> Path:
    """A wrk script that POSTs a chat body (with a counter in the question when `vary`)."""
    path = folder / f"{target.name}.lua"
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in target.headers.items())
    body = {"model": target.model, "messages": [{"role": "user", "content": QUESTION}]}
    fixed = json.dumps(body).replace("'", "\\'")
    prefix, _, suffix = fixed.partition(QUESTION)
    request = (
        "counter = 0\nsalt = string.sub(tostring({}), 8)  -- differs per thread and run\n"
        "function request()\n  counter = counter + 1\n"
        f"  return wrk.format(nil, nil, nil, '{prefix}{QUESTION} ' .. salt .. counter .."
        f" '{suffix}')\nend\n"
        if target.vary
        else f"wrk.body = '{fixed}'\n"
    )
    path.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        + headers
        + request
    )
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_SOCKET_ERRORS = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
_CONTENT = re.compile(rb'"content": ?"[^"]')  # a delta with text (not the empty first one)


def _parse_wrk(output: str) -> dict[str, float]:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"wrk printed no {percent}% latency:\n{output}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    if rps is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return {
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "rps": float(rps.group(1)),
        "requests": float(count.group(1)) if count else 0.0,
        "errors": float(errors),
    }


def _first_byte(target: Target, requests: int) -> float:
    """Median ms from sending a streamed request to reading its first content delta."""
    host, port, path = _split(target.url)
    body = {
        "model": target.model,
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    times = []
    salt = random.getrandbits(40)  # new questions each run: no cache answers them
    with socket.create_connection((host, port), timeout=30) as connection:
        for number in range(requests):
            if target.vary:
                body["messages"] = [{"role": "user", "content": f"{QUESTION} {salt}{number}"}]
            times.append(_one_first_byte(connection, host, path, target.headers, body))
    return statistics.median(times)


def _one_first_byte(
    connection: socket.socket, host: str, path: str, headers: dict[str, str], body: dict[str, Any]
) -> float:
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(payload)}", "", ""]
    started = time.perf_counter()
    connection.sendall("\r\n".join(lines).encode() + payload)
    received, first = b"", None
    while not received.endswith(b"data: [DONE]\n\n") and not received.endswith(b"0\r\n\r\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise RuntimeError(f"{path}: the connection closed mid-stream")
        received += chunk
        if first is None and _CONTENT.search(received):
            first = time.perf_counter()
    if first is None:
        raise RuntimeError(f"{path}: no content in the stream:\n{received[:500]!r}")
    return (first - started) * 1000


def _memory(target: Target, folder: Path, requests: int) -> dict[str, Any]:
    """Resident set (MB) after start-up and warm-up, then after each tenth of `requests`."""
    assert target.pid is not None
    samples = [_rss_mb(target.pid)]
    done = 0
    step = requests // 10
    while done < requests:
        before = done
        while done < before + step:
            result = _wrk(target, folder, connections=32, seconds=5)
            done += int(result["requests"])
        samples.append(_rss_mb(target.pid))
        print(f"memory {target.name}: {done} requests, {samples[-1]:.0f} MB", file=sys.stderr)
    return {"requests": done, "rss_mb": samples}


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (LiteLLM runs a worker child)."""
    total = 0
    for each in [pid, *_children(pid)]:
        status = Path(f"/proc/{each}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += [int(child), *_children(int(child))]
    return found


def _start(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    environment = {**(env or os.environ), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        command, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout_s:g} s")


def _wait_socket(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def _split(url: str) -> tuple[str, int, str]:
    rest = url.removeprefix("http://")
    address, _, path = rest.partition("/")
    host, _, port = address.partition(":")
    return host, int(port), "/" + path


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": subprocess.run(
            ["wrk", "-v"], check=False, capture_output=True, text=True
        ).stdout.split("\n")[0],
    }


def _print_summary(results: dict[str, Any]) -> None:
    added, medians = results["added"], results["medians"]
    print("| target | added p50 ms | added p99 ms | first byte +ms | rps c=1 | rps c=32 |")
    print("|---|---|---|---|---|---|")
    for name, values in added.items():
        print(
            f"| {name} | {values['p50_ms']:.2f} | {values['p99_ms']:.2f} |"
            f" {values['first_byte_ms']:.2f} | {values['rps_c1']:.0f} | {values['rps_c32']:.0f} |"
        )
    base = medians["upstream"]
    print(f"upstream alone: p50 {base['p50_ms']:.3f} ms, {base['rps_c32']:.0f} rps at c=32")
    for name, memory in results["memory"].items():
        print(f"memory {name}: {' '.join(f'{mb:.0f}' for mb in memory['rss_mb'])} MB")


if __name__ == "__main__":
    main()
