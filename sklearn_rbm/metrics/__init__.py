"""Ranking metrics for recommenders and scorers for model selection.

:func:`precision_at_k`, :func:`recall_at_k`, :func:`ndcg_at_k`,
:func:`map_at_k` (:func:`average_precision_at_k` per user) and
:func:`catalogue_coverage` take ranked lists of recommended item ids and
sets of relevant item ids, one per user.
:func:`make_ranking_scorer` turns one into a scorer for
:class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_validate`.

Input format, shared by every metric:

``recommended``
    One ranked list of item ids per user, best first: a 2-d array of shape
    ``(n_users, n_recommended)`` or a sequence of 1-d sequences (the lists
    may differ in length). Only the first ``k`` items of each list count.
    A list must not repeat an item within its first ``k`` entries.
``relevant``
    One collection of relevant item ids per user, in the same user order
    (sets, lists or arrays; empty for a user with no relevant item).

Users with no relevant item are left out of the mean (their recall, NDCG and
average precision are undefined), as in most of the literature; with
``average=False`` their entry is NaN. Item ids are compared by equality, so
they can be ints or strings (but ``1`` and ``"1"`` are different items).
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
