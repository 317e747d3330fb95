"""Where training rows come from: dataset versions and the settled items of review queues."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem
from steerwise.evals.datasets import DatasetRegistry
from steerwise.finetune.building import RowSource

ReviewItems = Callable[[str | None], list[DatasetItem]]
"""The settled items of a review queue (None: every queue), as dataset items."""


def gather(
    datasets: DatasetRegistry,
    refs: Sequence[str],
    *,
    reviews: ReviewItems | None = None,
    queues: Sequence[str] = (),
) -> list[RowSource]:
    """One source per dataset version (`NAME`, `NAME@V`, `NAME@LABEL`) and per review queue
    (`*` for every queue); row ids are prefixed so that two sources never share one."""
    sources = []
    for ref in refs:
        found = datasets.get(ref)
        origin = f"{found.ref} ({found.hash[:12]})"
        sources.append(RowSource(origin, f"{found.name}-", found.spec.items))
    for queue in queues:
        if reviews is None:
            raise BadInputError("reviews are not available here")
        items = reviews(None if queue == "*" else queue)
        if not items:
            raise BadInputError(
                f"review queue {queue!r} has no settled item with a reference answer",
                hint="see: steerwise review list --queue " + queue,
            )
        sources.append(RowSource(f"reviews of {queue}", "", items))
    if not sources:
        raise BadInputError(
            "name at least one dataset (--from NAME[@V]) or review queue (--from-reviews QUEUE)"
        )
    return sources
