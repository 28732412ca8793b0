"""Items like a given item: the cosine of their embeddings in the ranking
model (the rows of its weights ``W``, one per item)."""

from numbers import Integral

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions

from ..estimators._common import validate_method_params
from .ids import as_array, as_id_column
from .recommend import top_n

#: ``similar_items``'s ``min_support="auto"``: items rated fewer times are
#: left out (``benchmarks/bench_similar.py``: on ml-latest-small 14% of the
#: listed items had fewer than 5 ratings without it)
MIN_SUPPORT = 5


class SimilarItemsMixin:
    """``similar_items`` of a fitted :class:`CategoricalRBMRecommender`."""

    @validate_method_params(
        {
            "query_items": ["array-like"],
            "n_items": [Interval(Integral, 1, None, closed="left")],
            "items": ["array-like", None],
            "min_support": [
                Interval(Integral, 1, None, closed="left"),
                StrOptions({"auto"}),
            ],
            "chunk_size": [Interval(Integral, 1, None, closed="left")],
        },
    )
    def similar_items(
        self, query_items, n_items=10, *, items=None, min_support="auto", chunk_size=256
    ):
        """The items most like each query item ("more like this"), best first.

        Each item's row of the ranking model's weights ``W`` is both what it
        adds to a user's hidden units when the user chose it and how those
        hidden units score it, so items chosen by the same users get nearby
        rows. The similarity of two items is the cosine of their rows (in
        ``[-1, 1]``; 0 for an item whose row is all zeros). It does not
        depend on popularity: for "because you chose X" lists that weigh in
        what users choose most, use ``recommend_new_user([X])``, which ranks
        by the full ranking model and is dominated by popular items for a
        one-item history.

        Needs the ranking model (``ranking="choice"``, the default, and every
        implicit-feedback model); with ``orientation="both"``, that of its
        item-based part.

        Parameters
        ----------
        query_items : array-like of shape (n_queries,)
            Item ids known to the model.
        n_items : int, default=10
            Number of similar items per query item (at most the number of
            candidates; a query item is never its own similar item, so a
            list that would need it is padded with it, scored ``-inf``).
        items : array-like of shape (n_candidates,) or None, default=None
            Candidate items (known item ids; duplicates counted once). None
            considers every item of ``items_``.
        min_support : int or "auto", default="auto"
            Leave out the candidate items rated (chosen) fewer than this many
            times in training: the row of an item that a handful of users
            chose is shaped by those few, and its cosine to anything is
            mostly noise (on long-tailed catalogues such items would fill
            the lists). ``"auto"`` is 5, or fewer when fewer than two
            candidates have 5 ratings (then the second most any candidate
            has: a tiny data set still gets lists); 1 keeps every
            candidate. Query items are not filtered. On
            ml-latest-small, 14% of the listed items had fewer than 5
            ratings with 1; with 5 the lists agree more with the films'
            genres on all three MovieLens sets
            (``benchmarks/bench_similar.py``).
        chunk_size : int, default=256
            Query items scored at a time (memory ``chunk_size x n_items``).

        Returns
        -------
        item_ids : ndarray of shape (n_queries, n)
            The most similar items, best first; equal similarities in the
            order of ``items_``. ``n`` is ``n_items``, or the number of
            candidates with ``min_support`` ratings if that is smaller.
        similarities : ndarray of shape (n_queries, n)
            Their cosine similarities to the query item.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_rbm import CategoricalRBMRecommender
        >>> # two groups of users, each choosing among its own five items
        >>> X = np.array([[u, i + 5 * (u % 2)] for u in range(40) for i in range(5)
        ...               if (u + i) % 3])
        >>> rec = CategoricalRBMRecommender(ranking_iter=20, random_state=0).fit(X)
        >>> similar, cosines = rec.similar_items([0, 7], n_items=4)
        >>> [sorted(row) for row in similar.tolist()]  # each from its own group
        [[1, 2, 3, 4], [5, 6, 8, 9]]
        >>> bool((cosines[:, :-1] >= cosines[:, 1:]).all())
        True
        """
        self._check_serving()
        ranker = self._ranker()
        if "_ranking" not in ranker.__dict__:
            raise ValueError(
                "similar_items compares the items' rows in the ranking model; "
                "this model was fitted with ranking='rating' and has none. Fit "
                "with ranking='choice' (the default)."
            )
        if any(isinstance(v, bool) for v in (n_items, min_support, chunk_size)):
            raise ValueError(
                "n_items, min_support and chunk_size must be positive integers."
            )
        q = as_array(query_items, "query_items")
        if q.ndim != 1:
            raise ValueError(f"query_items must be 1-dimensional; got shape {q.shape}.")
        cand = self._candidates(items)
        support = self._item_cnt if cand is None else self._item_cnt[cand]
        if min_support == "auto":  # at least two candidates: one not the query
            second = np.partition(support, -2)[-2] if len(support) > 1 else 1
            min_support = min(MIN_SUPPORT, int(second))
        if min_support > 1:
            keep = support >= min_support
            cand = np.flatnonzero(keep) if cand is None else cand[keep]
            if not len(cand):
                raise ValueError(
                    f"No candidate item has min_support={min_support} training "
                    "ratings; lower min_support."
                )
        n = min(int(n_items), self._n_candidates(cand))
        if not len(q):
            return self._items.ids[np.zeros((0, n), np.int64)], np.zeros((0, n))
        code = self._items.codes(as_id_column(q, "item", allow_mixed=True))
        if np.any(code < 0):
            raise ValueError(
                f"query_items has ids unknown to the model: {q[code < 0][:5].tolist()}."
            )
        W = ranker._ranking.params["W"].astype(np.float64)
        norm = np.linalg.norm(W, axis=1, keepdims=True)
        E = np.divide(W, norm, out=np.zeros_like(W), where=norm > 0)
        top = np.zeros((len(code), n), np.int64)
        sims = np.zeros((len(code), n))
        for s in gen_batches(len(code), int(chunk_size)):
            S = np.clip(E[code[s]] @ E.T, -1.0, 1.0)
            S[np.arange(S.shape[0]), code[s]] = -np.inf  # not its own neighbour
            top[s], sims[s] = top_n(S, n, cand)
        return self._items.ids[top], sims
