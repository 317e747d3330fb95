"""Drift of what users ask and what the model answers, in embedding space.

The inputs (and, separately, the outputs) of two windows are embedded with the workspace's
embedder, then compared three ways:

- **Domain classifier** (Evidently's default for embeddings): a logistic regression learns to
  tell the current window's vectors from the reference's, with 5-fold cross-validation; its
  ROC AUC is 0.5 when it cannot (same distribution) and grows toward 1 as they part. Drift at
  an AUC of 0.55 or more.
- **Mean-embedding distance**: the cosine distance between the two windows' mean vectors,
  reported beside the AUC.
- **Topic shift** (inputs): the share of current inputs near no reference input (best cosine
  similarity under 0.5), against the same share among the reference's own inputs (each against
  the others). Drift when the current share exceeds the reference's by 0.1 or more: people ask
  about something the reference period did not cover.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from steerwise.monitor.drift_types import DriftSettings, FeatureDrift

Vectors = npt.NDArray[np.float32]


def domain_classifier_drift(
    feature: str, reference: Vectors, current: Vectors, settings: DriftSettings
) -> FeatureDrift:
    """ROC AUC of telling the windows apart, and the distance between their means."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = np.vstack([reference, current])
    labels = np.concatenate([np.zeros(len(reference)), np.ones(len(current))])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_predict(
        LogisticRegression(max_iter=1000), rows, labels, cv=folds, method="predict_proba"
    )[:, 1]
    auc = float(roc_auc_score(labels, scores))
    distance = _centroid_distance(reference, current)
    drifted = auc >= settings.roc_auc
    return FeatureDrift(
        feature,
        "embedding",
        "domain_classifier",
        round(auc, 6),
        None,
        round(distance, 6),
        settings.roc_auc,
        len(reference),
        len(current),
        "drift" if drifted else "no drift",
        f"domain classifier ROC AUC = {auc:.4f} (drift at >= {settings.roc_auc});"
        f" mean-embedding cosine distance {distance:.4f}",
    )


def topic_shift(reference: Vectors, current: Vectors, settings: DriftSettings) -> FeatureDrift:
    """How many more current inputs than reference ones lie near no reference input."""
    similar = settings.novel_similarity
    novel_now = float(np.mean((current @ reference.T).max(axis=1) < similar))
    within = reference @ reference.T
    np.fill_diagonal(within, -1.0)
    novel_before = float(np.mean(within.max(axis=1) < similar))
    shift = novel_now - novel_before
    drifted = shift >= settings.topic_shift
    return FeatureDrift(
        "input_topics",
        "embedding",
        "topic_shift",
        round(novel_now, 6),
        None,
        round(shift, 6),
        settings.topic_shift,
        len(reference),
        len(current),
        "drift" if drifted else "no drift",
        f"{novel_now:.1%} of current inputs are near no reference input (cosine < {similar}),"
        f" against {novel_before:.1%} of the reference's own (drift at +{settings.topic_shift})",
    )


def _centroid_distance(reference: Vectors, current: Vectors) -> float:
    first, second = reference.mean(axis=0), current.mean(axis=0)
    norms = float(np.linalg.norm(first) * np.linalg.norm(second))
    return 1.0 - float(first @ second) / norms if norms else 0.0
