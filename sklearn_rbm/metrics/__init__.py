"""Ranking metrics for recommenders and scorers for model selection.

:func:`precision_at_k`, :func:`recall_at_k`, :func:`ndcg_at_k`,
:func:`map_at_k` (:func:`average_precision_at_k` per user) and
:func:`catalogue_coverage` take ranked lists of recommended item ids and
sets of relevant item ids, one per user (see the ``_ranking`` module for the
input format and how users with no relevant item are treated).
:func:`make_ranking_scorer` turns one into a scorer for
:class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_validate`.
"""

from ._ranking import (
    average_precision_at_k,
    catalogue_coverage,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from ._scorer import make_ranking_scorer

__all__ = [
    "average_precision_at_k",
    "catalogue_coverage",
    "make_ranking_scorer",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]
