"""What a guardrail check costs: microseconds per check with the full example policy, per
rail, and as a share of a local-model request's latency (target: under 2%).

    .venv/bin/python bench/guardrails_cost.py [--repeats 5] [--calls 30] [--requests 5]

The policy is the demo pack's `support` policy (prompt injection, PII, topics and length in;
PII, citations, freshness and grounding out). The input is a 1 kB customer message holding
personal data; the output is a 1 kB answer with citations, checked against the three passages
hybrid search returned from the demo documents. The request is `support-answer` on the
bundled SmolLM2-135M (llama.cpp, default parameters: at most 200 tokens), with the same
passages as context. Medians of `--repeats` runs of `--calls` checks each, after a warm-up;
every check is cold (the embedding cache is emptied first), as the first check of a request is.
The snapshot stores its chunk sentences' vectors (the default), so grounding embeds only the
answer; `support` is also measured in a workspace whose snapshot lacks them
(`[retrieval] sentence_vectors = false`: every passage sentence it compares is embedded per
request), and the index build is timed both ways.
Two variants show where the time goes: `support-lexical` (topics by keyword, grounding by word
overlap) and `support-patterns` (that, and prompt injection by patterns alone).

Policies whose grounding embeds also get the output check after the answer's finished
sentences were prepared (`[guardrails] prepare_answers`, the default: done while the model
writes the rest, so only the check's remainder is on the request's path).

End to end, the same request is also made behind the `support` policy, with the rails' work
overlapping the model's (`[guardrails] overlap = true`: the judging input rails and the
output rails' preparation run while the model reads the redacted input), without it (the
default), and without it nor answer preparation; the latency each adds is the median over
`--rounds` rounds of (guarded - plain), each round one request of each kind in turn, the
plain one asking the same redacted question, every guarded one with an emptied embedding
cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from steerwise import Workspace
from steerwise.core.guardrails import CheckContext
from steerwise.demo import pack_path
from steerwise.guardrails.context import context_from_hits
from steerwise.pipeline.guarded import AnswerWatch, GuardedRunner
from steerwise.retrieval import number_context
from timing import per_call

RESULTS = Path(__file__).resolve().parent / "results" / "guardrails_cost.json"
QUESTION = "How long does a refund take after I return a bike, and who pays for postage?"
MESSAGE = (
    "Hello, I bought a hybrid bike from your Leeds store three weeks ago and it does not fit "
    "me as well as I hoped. I would like to return it. My name is on the order and you can "
    "reach me at sam.taylor@example.co.uk or on 0113 496 0321 during the day. I paid with my "
    "card and would like the refund to go back to it if possible. The bike has been ridden "
    "twice, only on dry roads, and I still have the box, the receipt and the spare parts bag. "
    "Could you tell me how long a refund takes after I return a bike, who pays for the "
    "postage or the collection, and whether I can bring it to the York store instead, which "
    "is closer to my office? I would also like to know if there is a restocking fee for "
    "bikes. I could not find it in the policy on your web site. Thank you for your help, and "
    "sorry for the long message; I wanted to give you everything you might need at once. "
    "My order number is 48213 and it was delivered on the 3rd. I look forward to your reply, "
    "and thanks again for all your help with this."
)
ANSWER = (
    "Thank you for your message. You can return a bike within 30 days of delivery as long as "
    "it is in resaleable condition with its receipt [1]. Refunds are paid to the original "
    "payment method once the bike has been inspected [1]. You are welcome to bring it to "
    "either store, including York [1]. Postage and collection are free for faulty items; for "
    "change-of-mind returns the cost of collection is deducted from the refund [1]. We do "
    "not charge a restocking fee for bikes returned in resaleable condition [2]. If you have "
    "the original box, please use it, as it protects the frame in transit. When your refund "
    "has been issued you will receive an email confirmation [1]. If anything is unclear, "
    "please reply to this message or call Customer Care and we will be happy to help you. "
    "Keep the receipt with the bike until the refund arrives, in case we need it. "
    "Enjoy your riding in the meantime, and thank you very much for shopping with Fernhill "
    "Cycles, the co-operative!"
)


def variant(root: Path, name: str, *, patterns_only: bool) -> Path:
    """The demo policy with topics by keyword and grounding by word overlap; with
    `patterns_only` the injection rail uses no embeddings either."""
    text = (pack_path() / "policies" / "support.policy.yaml").read_text(encoding="utf-8")
    text = text.replace("name: support\n", f"name: {name}\n")
    if patterns_only:
        text = text.replace(
            "  - detector: prompt_injection\n    action: block\n",
            "  - detector: prompt_injection\n    action: block\n"
            "    settings: {use_embeddings: false}\n",
        )
    text = text.replace(
        '          examples: ["Can I take the shop to court over a faulty bike?"]\n', ""
    )
    text = text.replace(
        "  - detector: grounding\n    action: flag\n",
        "  - detector: grounding\n    action: flag\n    settings: {use_embeddings: false}\n",
    )
    path = root / f"{name}.policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def workspace(root: Path, *, sentence_vectors: bool = True) -> tuple[Workspace, float]:
    """A workspace with the demo pack's prompts, documents, snapshot and policies, and the
    seconds its index build took."""
    Workspace.init(root).close()
    if not sentence_vectors:
        settings = root / "steerwise.toml"
        settings.write_text(settings.read_text() + "\n[retrieval]\nsentence_vectors = false\n")
    ws = Workspace.open(root, actor="user:bench")
    pack = pack_path()
    ws.prompts.push([pack / "prompts"])
    ws.policies.push(
        [
            pack / "policies",
            variant(root.parent, "support-lexical", patterns_only=False),
            variant(root.parent, "support-patterns", patterns_only=True),
        ]
    )
    ws.sources.add([pack / "docs"], owner="policy-team")
    ws.models.embedder("default").embed(["warm-up"])
    started = time.perf_counter()
    ws.index.build()
    return ws, time.perf_counter() - started


def without_sentence_vectors(folder: Path, repeats: int, calls: int) -> dict[str, Any]:
    """The `support` policy's checks where passages are embedded per request."""
    ws, build_s = workspace(folder / "plain-ws", sentence_vectors=False)
    try:
        hits = ws.search(QUESTION, options=ws.default_search_options(k=3))
        figures = measure(ws, "support", context_from_hits(hits), repeats, calls)
    finally:
        ws.close()
    return {**figures, "index_build_s": round(build_s, 3)}


def rail_medians(decisions: list[Any]) -> dict[str, float]:
    """Median microseconds per rail over many decisions."""
    times: dict[str, list[float]] = {}
    for decision in decisions:
        for rail in decision.rails:
            times.setdefault(rail.rail, []).append(rail.elapsed_us)
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


def request_latency(ws: Workspace, variables: dict[str, str], requests: int) -> float:
    """Median seconds of one local-model request (after a warm-up that loads the model)."""
    ws.run_prompt("support-answer", variables)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        ws.run_prompt("support-answer", variables)
        latencies.append(time.perf_counter() - started)
    return statistics.median(latencies)


def measure(
    ws: Workspace, name: str, context: CheckContext, repeats: int, calls: int
) -> dict[str, Any]:
    """Cold checks (nothing embedded yet) of the 1 kB input and output with one policy."""
    policy = ws.policies.load(name)
    inputs = [policy.check_input(MESSAGE) for _ in range(5)]  # warm-up: loads the embedder
    outputs = [policy.check_output(ANSWER, context) for _ in range(5)]
    cache = ws.policies.services.embedder()

    def cold_input(_: int) -> None:
        cache.clear()  # a new request: nothing embedded yet
        inputs.append(policy.check_input(MESSAGE))

    def cold_output(_: int) -> None:
        cache.clear()
        outputs.append(policy.check_output(ANSWER, context))

    input_s = per_call(cold_input, calls, repeats)
    output_s = per_call(cold_output, calls, repeats)
    found: dict[str, Any] = {
        "input_outcome": inputs[-1].outcome,
        "output_outcome": outputs[-1].outcome,
        "check_input_us": round(input_s * 1e6, 1),
        "check_output_us": round(output_s * 1e6, 1),
        "input_rails_us": rail_medians(inputs[5:]),
        "output_rails_us": rail_medians(outputs[5:]),
        "check_both_s": input_s + output_s,
    }
    if policy.prepares_answers:
        prepared_s = prepared_output(policy, context, cache, calls * repeats)
        found["check_output_prepared_us"] = round(prepared_s * 1e6, 1)
        found["check_both_prepared_s"] = input_s + prepared_s
    return found


def prepared_output(policy: Any, context: CheckContext, cache: Any, calls: int) -> float:
    """Median seconds of the output check once the answer's finished sentences were prepared
    (as while the model writes: `[guardrails] prepare_answers`), from an emptied cache."""
    times = []
    for _ in range(calls):
        cache.clear()
        policy.prepare_answer(ANSWER, context)
        started = time.perf_counter()
        policy.check_output(ANSWER, context)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def end_to_end(ws: Workspace, context: CheckContext, passages: str, rounds: int) -> dict[str, Any]:
    """Latency a policy adds to a whole local-model request, by how the rails run.

    Per arm, medians over rounds of the paired differences (guarded - plain) of: the whole
    request (`added_ms`, which the model's own variation from request to request blurs); the
    time outside the model call (`off_model_ms`: the rails on the request's path); and the
    model call itself (`model_ms`: rails working beside the model slow it, if they do).
    """
    policy = ws.policies.load("support")
    redacted = policy.check_input(MESSAGE).text
    plain_variables = {"question": redacted, "context": passages}
    sequential = GuardedRunner(ws.runner, overlap=False)
    overlapping = GuardedRunner(ws.runner, overlap=True)
    unprepared = GuardedRunner(ws.runner, overlap=False, prepare_answers=False)
    cache = ws.policies.services.embedder()

    def guarded(runner: GuardedRunner) -> tuple[float, float]:
        cache.clear()
        started = time.perf_counter()
        result = runner.run(
            "support-answer",
            {"question": MESSAGE},
            policy=policy,
            context=context,
            extra={"context": passages},
        )
        elapsed = time.perf_counter() - started
        assert result.runs[0].prompt.messages[-1]["content"] == redacted
        return elapsed, sum(run.answer.latency_s for run in result.runs)

    def plain() -> tuple[float, float]:
        started = time.perf_counter()
        result = ws.run_prompt("support-answer", plain_variables)
        return time.perf_counter() - started, result.answer.latency_s

    runners = (overlapping, sequential, unprepared)
    plain(), *(guarded(runner) for runner in runners)  # warm-up: models and embedder loaded
    rows = [(plain(), *(guarded(runner) for runner in runners)) for _ in range(rounds)]
    for runner in runners:
        runner.close()
    base = statistics.median(row[0][0] for row in rows)
    found: dict[str, Any] = {"plain_request_s": round(base, 3), "rounds": rounds}
    for index, name in ((1, "overlap"), (2, "sequential"), (3, "sequential, unprepared")):
        whole = [row[index][0] - row[0][0] for row in rows]
        model = [row[index][1] - row[0][1] for row in rows]
        off_model = [w - m for w, m in zip(whole, model, strict=True)]
        found[name] = {
            "added_ms": milliseconds(whole),
            "off_model_ms": milliseconds(off_model),
            "model_ms": milliseconds(model),
            "share_of_request": round(statistics.median(whole) / base, 4),
            "off_model_share": round(statistics.median(off_model) / base, 4),
        }
    return found


def preparing_beside_the_model(
    ws: Workspace, context: CheckContext, passages: str, rounds: int
) -> dict[str, Any]:
    """What preparing the answer costs the model it runs beside.

    Each round makes the plain request three ways: a whole answer (no streaming), streamed to
    a watcher that does nothing, and streamed to the `support` policy's `AnswerWatch` (the
    answer's sentences embedded on a worker as they are finished, from an emptied cache).
    Per way: the request's wall time and the part of it the request thread (llama.cpp's
    one thread) was not computing (`waiting`: wall minus the thread's CPU time). Preparation
    that took the model's core would show as more waiting; streaming's own cost as more
    wall time with no more waiting.
    """
    policy = ws.policies.load("support")
    variables = {"question": policy.check_input(MESSAGE).text, "context": passages}
    cache = ws.policies.services.embedder()

    def once(way: str, workers: ThreadPoolExecutor) -> tuple[float, float]:
        cache.clear()
        watch = AnswerWatch(policy, context, workers) if way == "prepared" else None
        on_text = None if way == "whole" else (watch.feed if watch else (lambda _: None))
        wall, cpu = time.perf_counter(), time.thread_time()
        ws.runner.run("support-answer", variables, on_text=on_text)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        if watch is not None:
            watch.settle()
        return wall, wall - cpu

    ways = ("whole", "streamed", "prepared")
    with ThreadPoolExecutor(max_workers=1) as workers:
        for way in ways:
            once(way, workers)  # warm-up
        rows = [[once(way, workers) for way in ways] for _ in range(rounds)]
    found: dict[str, Any] = {"rounds": rounds}
    for index, way in enumerate(ways):
        found[way] = {
            "wall_s": round(statistics.median(row[index][0] for row in rows), 3),
            "waiting_ms": round(statistics.median(row[index][1] for row in rows) * 1000, 1),
        }
    for index, name in ((1, "streamed - whole"), (2, "prepared - streamed")):
        found[name] = {
            "wall_ms": milliseconds([row[index][0] - row[index - 1][0] for row in rows]),
            "waiting_ms": milliseconds([row[index][1] - row[index - 1][1] for row in rows]),
        }
    return found


def milliseconds(differences: list[float]) -> dict[str, float]:
    """The median of paired differences (seconds) in milliseconds, with a bootstrap 95%
    interval."""
    rng = random.Random(0)
    medians = sorted(
        statistics.median(rng.choices(differences, k=len(differences))) for _ in range(2000)
    )
    return {
        "median": round(statistics.median(differences) * 1000, 1),
        "low": round(medians[49] * 1000, 1),
        "high": round(medians[1949] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=9, help="end-to-end rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws, build_s = workspace(Path(folder) / "ws")
        try:
            hits = ws.search(QUESTION, options=ws.default_search_options(k=3))
            context = context_from_hits(hits)
            policies = {
                name: measure(ws, name, context, args.repeats, args.calls)
                for name in ("support", "support-lexical", "support-patterns")
            }
            variables = {"question": QUESTION, "context": number_context(hits)}
            request_s = request_latency(ws, variables, args.requests)
            whole = end_to_end(ws, context, variables["context"], args.rounds)
            beside = preparing_beside_the_model(ws, context, variables["context"], args.rounds)
        finally:
            ws.close()
        plain = without_sentence_vectors(Path(folder), args.repeats, args.calls)
    policies["support"]["index_build_s"] = round(build_s, 3)
    policies["support (no sentence vectors)"] = plain
    for figures in policies.values():
        figures["share_of_request"] = round(figures.pop("check_both_s") / request_s, 4)
        if "check_both_prepared_s" in figures:
            prepared = figures.pop("check_both_prepared_s") / request_s
            figures["share_with_prepared_answer"] = round(prepared, 4)
    found: dict[str, Any] = {
        "input_chars": len(MESSAGE),
        "output_chars": len(ANSWER),
        "request_s": round(request_s, 3),
        "policies": policies,
        "end_to_end_support": whole,
        "preparing_beside_the_model": beside,
    }
    found["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    found["load_average"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
