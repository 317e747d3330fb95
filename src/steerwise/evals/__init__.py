"""Evaluation: scorers (and, as they land, datasets, runs, comparisons and gates)."""
