"""Human review: the queue of items waiting for a person."""

from steerwise.review.queue import ReviewItem, ReviewQueue

__all__ = ["ReviewItem", "ReviewQueue"]
