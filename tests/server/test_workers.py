"""The gateway's worker threads: results and errors come back to the loop, the thread idle
last is used first, no more than the limit run at once (the rest wait), and a cancelled call
harms nothing."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from steerwise.server.workers import Workers


def test_results_and_errors_come_back_to_the_awaiting_coroutine() -> None:
    workers = Workers(2, name="test")

    def fail() -> None:
        raise KeyError("missing")

    async def main() -> tuple[int, str]:
        answer = await workers.run(lambda: 6 * 7)
        with pytest.raises(KeyError, match="missing"):
            await workers.run(fail)
        return answer, await workers.run(lambda: threading.current_thread().name)

    answer, name = asyncio.run(main())
    assert answer == 42 and name == "test-1"


def test_calls_one_after_another_run_on_the_thread_idle_last() -> None:
    workers = Workers(8, name="test")

    async def main() -> list[int]:
        both = [workers.run(lambda: time.sleep(0.05)) for _ in range(2)]
        await asyncio.gather(*both)  # two threads now exist
        return [await workers.run(threading.get_ident) for _ in range(20)]

    threads = asyncio.run(main())
    assert workers.started == 2
    assert len(set(threads)) == 1  # always the warm one, never taking turns


def test_no_more_than_the_limit_run_at_once_and_the_rest_wait() -> None:
    workers = Workers(3, name="test")
    running, most, began = 0, 0, []
    lock = threading.Lock()

    def call(number: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            began.append(number)
        time.sleep(0.02)
        with lock:
            running -= 1
        return number

    async def main() -> list[int]:
        return list(await asyncio.gather(*(workers.run(lambda n=n: call(n)) for n in range(12))))

    assert asyncio.run(main()) == list(range(12))
    assert (most, workers.started) == (3, 3)
    assert sorted(began) == list(range(12))  # those that waited ran once a thread was free


def test_a_cancelled_call_leaves_the_worker_serving() -> None:
    workers = Workers(1, name="test")
    release = threading.Event()

    async def main() -> str:
        slow = asyncio.ensure_future(workers.run(release.wait))
        await asyncio.sleep(0.05)
        slow.cancel()  # the client went away: the thread still finishes its call
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await slow
        return await asyncio.wait_for(workers.run(lambda: "next"), timeout=5)

    assert asyncio.run(main()) == "next"


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Workers(0, name="test")
