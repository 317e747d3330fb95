"""Human review: queues of items waiting for a person, verdicts, agreement."""

from steerwise.review.queue import ReviewItem, ReviewQueue, Verdict

__all__ = ["ReviewItem", "ReviewQueue", "Verdict"]
