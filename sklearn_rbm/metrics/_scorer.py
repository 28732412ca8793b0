"""Scorers of top-k recommendations for GridSearchCV and cross_validate."""

import numbers

import numpy as np

from ..recommender.ids import check_pairs
from ._ranking import (
    _check_k,
    average_precision_at_k,
    catalogue_coverage,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

__all__ = ["make_ranking_scorer"]

RANKING_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
    "coverage": catalogue_coverage,
}


def parse_metric(metric, k=None):
    """``(name, k)`` from ``"ndcg"`` or ``"ndcg@10"`` (k from the name wins
    unless ``k`` is given too and differs: then a ValueError)."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, got {type(metric).__name__}.")
    name, at, rest = metric.strip().lower().partition("@")
    if name not in RANKING_METRICS:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose one of "
            f"{sorted(RANKING_METRICS)}, optionally with @k (e.g. 'ndcg@10')."
        )
    if at:
        if not rest.isdigit() or int(rest) < 1:
            raise ValueError(f"Bad cut-off in {metric!r}: write e.g. '{name}@10'.")
        if k is not None and _check_k(k) != int(rest):
            raise ValueError(f"{metric!r} contradicts k={k}.")
        k = int(rest)
    return name, _check_k(10 if k is None else k)


def _known(values, fitted):
    """Which ``values`` are among the ``fitted`` ids (by equality, so that
    columns mixing ints and strings work too)."""
    fitted = set(fitted.tolist())
    return np.fromiter((v in fitted for v in values.tolist()), bool, len(values))


def _unseen(estimator, users, items):
    """The pairs ``(users, items)`` (items known to the model) whose item the
    user did not rate in training: ``recommend`` leaves those out, so they
    cannot be hits."""
    matrix = getattr(estimator, "_user_item_matrix", None)
    if matrix is None or len(users) == 0:
        return users, items
    ucode = estimator._users.codes(users)
    known = ucode >= 0
    seen = np.zeros(len(users), dtype=bool)
    if known.any():
        icode = estimator._items.codes(items[known])
        seen[known] = np.asarray(matrix()[ucode[known], icode]).ravel() != 0
    return users[~seen], items[~seen]


def _read_pairs(estimator, X):
    """``(users, items)`` of the test pairs ``X``, read as ``estimator``
    reads pairs (its fitted column names, ids of either type)."""
    users, items, _ = check_pairs(
        X, allow_mixed=True, fitted_names=getattr(estimator, "feature_names_in_", None)
    )
    return users, items


class _RankingScorer:
    """``scorer(estimator, X_test, y_test)``: see :func:`make_ranking_scorer`."""

    def __init__(self, name, k, threshold, unknown_users):
        self.name, self.k = name, k
        self.threshold, self.unknown_users = threshold, unknown_users

    def __repr__(self):
        return (
            f"make_ranking_scorer({self.name!r}, k={self.k}, "
            f"threshold={self.threshold!r}, unknown_users={self.unknown_users!r})"
        )

    def relevant_sets(self, estimator, X, y=None):
        """``(users, relevant)``: the test users to rank for and their
        relevant known items, in order of first appearance in ``X``."""
        users, items = _read_pairs(estimator, X)
        keep = np.ones(len(users), dtype=bool)
        if self.threshold is not None:
            if y is None:
                raise ValueError(
                    f"threshold={self.threshold} needs the test ratings y; "
                    "pass y, or threshold=None for implicit data (every test "
                    "item is relevant)."
                )
            y = np.asarray(y, dtype=float)
            if y.shape != (len(users),):
                raise ValueError(
                    f"y must hold one rating per test pair ({len(users)}), got "
                    f"shape {y.shape}."
                )
            keep &= y >= self.threshold
        # test items outside the training catalogue cannot be recommended
        keep &= _known(items, estimator.items_)
        if self.unknown_users == "skip":
            keep &= _known(users, estimator.users_)
        users, items = users[keep], items[keep]
        users, items = _unseen(estimator, users, items)
        by_user = {}  # in order of first appearance
        for u, i in zip(users.tolist(), items.tolist()):
            by_user.setdefault(u, set()).add(i)
        return np.asarray(list(by_user), dtype=users.dtype), list(by_user.values())

    def test_users(self, estimator, X):
        """Every user of the test pairs, in order of first appearance (those
        unknown to the model left out with ``unknown_users="skip"``): the
        users whose lists catalogue coverage counts."""
        users, _ = _read_pairs(estimator, X)
        if self.unknown_users == "skip":
            users = users[_known(users, estimator.users_)]
        first = dict.fromkeys(users.tolist())
        return np.asarray(list(first), dtype=users.dtype)

    def __call__(self, estimator, X, y=None):
        if self.name == "coverage":  # every test user's list, relevant or not
            test_users = self.test_users(estimator, X)
            if len(test_users) == 0:
                raise ValueError(
                    "No test user to recommend for: X is empty, or every test "
                    'user is unknown to the model (unknown_users="skip").'
                )
            recommended = estimator.recommend(test_users, n_items=self.k)
            if isinstance(recommended, tuple):  # (item_ids, scores)
                recommended = recommended[0]
            return catalogue_coverage(recommended, estimator.items_, k=self.k)
        test_users, relevant = self.relevant_sets(estimator, X, y)
        if len(test_users) == 0:
            rating = "" if self.threshold is None else f"rated >= {self.threshold}, "
            raise ValueError(
                "No test user has a relevant item (a test item "
                f"{rating}seen in training, and not rated by that user in "
                f"training): the {self.name}@{self.k} of this split is "
                "undefined. (On the training pairs themselves it always is: "
                "recommend leaves a user's training items out.)"
            )
        recommended = estimator.recommend(test_users, n_items=self.k)
        if isinstance(recommended, tuple):  # (item_ids, scores)
            recommended = recommended[0]
        return RANKING_METRICS[self.name](recommended, relevant, k=self.k)


def make_ranking_scorer(metric, k=None, *, threshold=None, unknown_users="recommend"):
    """A scorer of a recommender's top-``k`` lists, for model selection.

    The scorer is a callable ``scorer(estimator, X_test, y_test=None)``, the
    form :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_validate` take as ``scoring``
    (alone or in a dict of scorers). scikit-learn's registry of scorer
    names cannot be extended, so pass this callable rather than a string.

    For each user of the test pairs, the relevant items are the user's test
    items rated at least ``threshold`` (all of them with
    ``threshold=None``, e.g. for implicit data with ``y_test=None``); the
    recommendations are ``estimator.recommend(users, n_items=k)``, which
    leaves out the items the user rated in training. Users with no relevant
    item are left out of the mean (see :mod:`sklearn_rbm.metrics`); so are
    test items that the model has not seen in training (``estimator.items_``),
    since no model fitted on that training set can recommend them, and test
    items the user rated in training too (a pair in both sets, e.g. a
    rating repeated in the data), which ``recommend`` leaves out. A split
    from :class:`~sklearn_rbm.model_selection.UserHoldoutSplit` keeps every
    test user in training.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg", "map", "coverage"}
        The metric, optionally with its cut-off, as in ``"ndcg@10"``.
        ``"coverage"`` is the :func:`catalogue_coverage` of the lists of
        every test user (with a relevant item or not: ``threshold`` does not
        apply) over ``estimator.items_``.
    k : int, default=None
        Cut-off (list length); default 10, or the ``@k`` of ``metric``.
    threshold : float, default=None
        Lowest rating of a relevant test item; None: every test item.
    unknown_users : {"recommend", "skip"}, default="recommend"
        Test users that are not in training: ``"recommend"`` scores the
        list the estimator gives an unknown user (a cold start);
        ``"skip"`` leaves them out.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X_test, y_test=None) -> float``; greater is
        better.

    Examples
    --------
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_rbm import CategoricalRBMRecommender
    >>> from sklearn_rbm.datasets import make_ratings
    >>> from sklearn_rbm.metrics import make_ranking_scorer
    >>> from sklearn_rbm.model_selection import UserHoldoutSplit
    >>> X, y = make_ratings(n_users=60, n_items=30, random_state=0)
    >>> scoring = {"ndcg": make_ranking_scorer("ndcg@5", threshold=4),
    ...            "coverage": make_ranking_scorer("coverage", k=5)}
    >>> cv = UserHoldoutSplit(n_splits=2, test_size=0.2, random_state=0)
    >>> est = CategoricalRBMRecommender(n_components=5, max_iter=3, random_state=0)
    >>> res = cross_validate(est, X, y, cv=cv, scoring=scoring)
    >>> bool(0 <= res["test_ndcg"].min() <= res["test_ndcg"].max() <= 1)
    True
    """
    name, k = parse_metric(metric, k)
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
    ):
        raise ValueError(f"threshold must be a number or None, got {threshold!r}.")
    if unknown_users not in ("recommend", "skip"):
        raise ValueError(
            f"unknown_users must be 'recommend' or 'skip', got {unknown_users!r}."
        )
    return _RankingScorer(name, k, threshold, unknown_users)
