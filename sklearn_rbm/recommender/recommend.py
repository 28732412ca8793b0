"""Top-N recommendation: every item scored for a chunk of users in one
GEMM, then the best unseen items."""

from collections.abc import Set as AbstractSet
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval

from ..engine.sparse_categorical import weights3
from ..estimators._common import validate_method_params
from ..training.threads import single_blas_thread
from . import ranking
from .cache import serving_cache
from .fallback import popular_scores
from .ids import as_array, as_id_column
from .serving import expected, with_ones


class RecommendMixin:
    """``recommend`` and ``recommend_new_user`` of a fitted
    :class:`CategoricalRBMRecommender`."""

    @validate_method_params(
        {
            "users": ["array-like"],
            "n_items": [Interval(Integral, 1, None, closed="left")],
            "exclude_seen": ["boolean"],
            "items": ["array-like", None],
            "chunk_size": [Interval(Integral, 1, None, closed="left")],
        },
    )
    def recommend(
        self, users, n_items=10, *, exclude_seen=True, items=None, chunk_size=256
    ):
        """Top-``n_items`` items for each user, best first.

        With the ranking model (``ranking="choice"``, the default, and every
        implicit-feedback model) items are ranked by the log-probability that
        the item is the user's next liked (chosen) item, given every item the
        user rated: "what the user will choose and like", plus the lateral
        item-item term of ``ranking_lateral_l2`` (see the user guide, "How
        recommend ranks"). With explicit feedback, the ranking
        model's 50 best items (``n_items`` if more) are then re-ranked by
        that score plus ``ranking_like_weight`` times the rating
        model's log-probability that the user rates the item above the
        middle of the scale. With ``ranking="rating"`` they are ranked by
        predicted rating.

        Ties are broken deterministically: equal scores are ordered by the
        items' position in ``items_`` (for ids fitted in one call, their
        sorted order). The ranking model's scores are float32 products: a
        user's scores can differ by a few ulp with the other users of the
        call (BLAS rounds one row and many rows differently).

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids. Users unknown to the model are scored as a user with
            an empty history (the ranking model: the items most often
            liked; ``ranking="rating"``: the items with the highest mean
            training rating, shrunk towards the global mean).
        n_items : int, default=10
            Number of items per user (at most the number of candidates).
        exclude_seen : bool, default=True
            Leave out the items the user rated in training.
        items : array-like of shape (n_candidates,) or None, default=None
            Candidate items to rank (known item ids; duplicates are counted
            once). None ranks every item of ``items_``.
        chunk_size : int, default=256
            Users scored at a time (memory is ``chunk_size x n_items``, times
            the number of rating values with ``ranking="rating"``).

        Returns
        -------
        item_ids : ndarray of shape (n_users, n_items)
            Recommended item ids, best first (when a user has rated almost
            every candidate and ``exclude_seen`` is set, the list is padded
            with seen items scored ``-inf``).
        scores : ndarray of shape (n_users, n_items)
            Their scores: with the ranking model, the log-probability of the
            choice plus the lateral term (and the like term, when
            re-ranked); predicted ratings with ``ranking="rating"``.

        Examples
        --------
        >>> from sklearn_rbm import CategoricalRBMRecommender
        >>> from sklearn_rbm.datasets import make_ratings
        >>> X, y = make_ratings(60, 30, random_state=0)
        >>> rec = CategoricalRBMRecommender(
        ...     n_components=8, max_iter=2, ranking_iter=5, random_state=0
        ... ).fit(X, y)
        >>> items, scores = rec.recommend([0, 1], n_items=3, items=range(10))
        >>> items.shape, bool((scores[:, :-1] >= scores[:, 1:]).all())
        ((2, 3), True)
        """
        self._check_serving()
        users = as_array(users, "users")
        if users.ndim != 1:
            raise ValueError(f"users must be 1-dimensional; got shape {users.shape}.")
        for name, value in (("n_items", n_items), ("chunk_size", chunk_size)):
            if isinstance(value, bool):  # an Integral to scikit-learn
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        chunk_size = int(chunk_size)
        cand = self._candidates(items)
        n_items = min(int(n_items), self._n_candidates(cand))
        if len(users):
            ucode = self._users.codes(
                as_id_column(users, "user", allow_mixed=True), "user"
            )
        else:
            ucode = np.zeros(0, np.int64)
        top_all = np.zeros((len(ucode), n_items), dtype=np.int64)
        score_all = np.zeros((len(ucode), n_items))
        seen = self._user_item_matrix() if exclude_seen else None
        w = self._like_weight()
        with single_blas_thread():
            for s in gen_batches(len(ucode), chunk_size) if len(ucode) else ():
                uc = ucode[s]
                S = self._rank_matrix(uc)
                if seen is not None:
                    known = np.flatnonzero(uc >= 0)
                    sub = seen[uc[known]]
                    r = np.repeat(known, np.diff(sub.indptr))
                    S[r, sub.indices] = -np.inf
                if w:
                    top, vals = top_n(S, max(n_items, RERANK), cand)
                    pairs = (np.repeat(uc, top.shape[1]), top.ravel())
                    proba = self._proba_pairs(*pairs).reshape(*top.shape, -1)
                    top, vals = self._add_like(top, vals, proba, w)
                    top_all[s], score_all[s] = top[:, :n_items], vals[:, :n_items]
                else:
                    top_all[s], score_all[s] = top_n(S, n_items, cand)
        return self._items.ids[top_all], score_all

    def _like_weight(self):
        """The weight of the rating model's ``log P(liked)`` in
        :meth:`recommend` (0: the ranking model alone)."""
        if (
            "_ranking" not in self._ranker().__dict__
            or self.__dict__.get("feedback_") == "implicit"
        ):
            return 0.0
        return float(self.ranking_like_weight)

    def _ranker(self):
        """The estimator that holds the ranking model, if any: this one, or
        with ``orientation="both"`` its item-based part."""
        return self._parts()[0] if self._is_both() else self

    def _add_like(self, top, vals, proba, w):
        """Re-sort the ranking model's candidates ``top`` (scores ``vals``)
        by ``vals + w * log P(rating liked)``, ``proba`` the rating model's
        class probabilities of each candidate (shape ``top.shape + (K,)``),
        liked meaning above the middle of the scale; ties by item order."""
        good = ranking.liked(self.classes_, np.arange(len(self.classes_)))
        like = proba[..., good].sum(axis=-1)
        vals = vals + w * np.log(np.maximum(like, np.finfo(np.float64).tiny))
        order = np.lexsort((top, -vals), axis=-1)
        return np.take_along_axis(top, order, -1), np.take_along_axis(vals, order, -1)

    @validate_method_params(
        {
            "history_items": ["array-like"],
            "n_items": [Interval(Integral, 1, None, closed="left")],
            "exclude_seen": ["boolean"],
            "items": ["array-like", None],
        },
    )
    def recommend_new_user(
        self,
        history_items,
        n_items=10,
        *,
        history_ratings=None,
        exclude_seen=True,
        items=None,
    ):
        """Top-``n_items`` items for a user unseen in fit, from a history,
        without refitting.

        The ranking model scores the history exactly as it scores a
        training user's. With ``history_ratings``, its best items are
        re-ranked by the ``ranking_like_weight`` term of :meth:`recommend`,
        the probability of a liked rating coming from the rating model's
        fold-in of the rated history (:meth:`predict_new_user`); without
        them the ranking model alone ranks (a training user's own history
        then reproduces their :meth:`recommend` list when
        ``ranking_like_weight=0``; with the term, the fold-in's ratings
        approximate theirs, exactly so with ``orientation="user"``; with
        ``orientation="both"`` the two models' fold-ins are averaged with
        ``item_weight``, as :meth:`recommend` averages their probabilities).
        A history with no item known to the model gets the list and scores
        :meth:`recommend` gives an unknown user, like term included.
        With ``ranking="rating"`` the items are ranked by
        :meth:`predict_new_user`.

        Parameters
        ----------
        history_items : array-like of shape (n_history,)
            Items the user rated (or chose); unknown items are ignored.
        n_items : int, default=10
            Number of items (at most the number of candidates).
        history_ratings : array-like of shape (n_history,) or None
            Their ratings (values among ``classes_``): required with
            ``ranking="rating"``; with the ranking model they feed the
            ``ranking_like_weight`` re-ranking (an implicit-feedback model,
            which has no rating model, refuses them).
        exclude_seen : bool, default=True
            Leave out the history's items.
        items : array-like or None, default=None
            Candidate items (as in :meth:`recommend`).

        Returns
        -------
        item_ids : ndarray of shape (n_items,)
            Recommended item ids, best first (when the history holds almost
            every candidate and ``exclude_seen`` is set, the list is padded
            with history items scored ``-inf``, as in :meth:`recommend`).
        scores : ndarray of shape (n_items,)
            Their scores (as in :meth:`recommend`).

        Examples
        --------
        >>> from sklearn_rbm import CategoricalRBMRecommender
        >>> from sklearn_rbm.datasets import make_ratings
        >>> X, _ = make_ratings(60, 30, random_state=0)
        >>> rec = CategoricalRBMRecommender(n_components=8, ranking_iter=5)
        >>> rec = rec.fit(X)  # implicit feedback: (user, item) pairs only
        >>> items, _ = rec.recommend_new_user([3, 4, 5], n_items=2)
        >>> len(items), bool({3, 4, 5} & set(items))
        (2, False)
        """
        self._check_serving()
        if isinstance(n_items, bool):  # an Integral to scikit-learn
            raise ValueError(f"n_items must be a positive integer; got {n_items!r}.")
        hist = as_array(history_items, "history_items")
        if hist.ndim != 1:
            raise ValueError("history_items must be 1-dimensional.")
        hcode = (
            self._items.codes(as_id_column(hist, "item", allow_mixed=True), "item")
            if len(hist)
            else np.zeros(0, np.int64)
        )
        cand = self._candidates(items)
        ni = len(self._items.ids)
        ranker = self._ranker()
        with single_blas_thread():
            if "_ranking" in ranker.__dict__:
                hk = np.unique(hcode[hcode >= 0])
                V = sp.csr_matrix((np.ones(len(hk)), hk, [0, len(hk)]), shape=(1, ni))
                S = ranking.scores(ranker._ranking.params, ranker._lateral(), V)
            else:
                if history_ratings is None:
                    raise ValueError(
                        "ranking='rating' ranks by predicted rating: "
                        "history_ratings is required."
                    )
                S = self.predict_new_user(hist, history_ratings, self._items.ids)
                if not np.any(hcode >= 0):  # no evidence: as an unknown user
                    S = popular_scores(self)
                S = np.array(S, dtype=np.float64)[None, :]
        if exclude_seen:
            S[0, hcode[hcode >= 0]] = -np.inf
        n = min(int(n_items), self._n_candidates(cand))
        if "_ranking" in ranker.__dict__:
            implicit = self.__dict__.get("feedback_") == "implicit"
            if history_ratings is not None and implicit:
                raise ValueError(
                    "history_ratings: this recommender was fitted on implicit "
                    "feedback and has no rating model; pass history_items only."
                )
            w = self._like_weight()  # 0 for implicit feedback
            if history_ratings is not None and not w:
                # the re-ranking below checks them (length, values,
                # duplicates); without it, check them here
                self._new_user_proba(hist, history_ratings, self._items.ids[:0])
            # rated history: its fold-in; no known item: an unknown user's
            # term, so that the list is recommend()'s for an unknown user
            if w and (history_ratings is not None or not np.any(hcode >= 0)):
                m = min(max(n, RERANK), self._n_candidates(cand))
                top, vals = top_n(S, m, cand)
                # P(liked) from the rating model's fold-in of the history
                ids = self._items.ids[top[0]]
                prob = None
                if history_ratings is not None:
                    prob, _ = self._new_user_proba(hist, history_ratings, ids)
                if prob is None:  # no known rated item: as for an unknown user
                    prob = self._proba_pairs(np.full(len(ids), -1), top[0])
                top, vals = self._add_like(top[0], vals[0], prob, w)
                return self._items.ids[top[:n]], vals[:n]
        top, vals = top_n(S, n, cand)
        return self._items.ids[top[0]], vals[0]

    def _candidates(self, items):
        """Codes of the candidate items, in ``items_`` order (all: None)."""
        if items is None:
            return None
        if isinstance(items, AbstractSet):  # candidates: their order is moot
            items = list(items)
        arr = as_array(items, "items")
        if arr.ndim != 1:
            raise ValueError(f"items must be 1-dimensional; got shape {arr.shape}.")
        if not len(arr):
            raise ValueError("items is empty: give at least one candidate item.")
        code = self._items.codes(as_id_column(arr, "item", allow_mixed=True))
        if np.any(code < 0):
            bad = arr[code < 0][:5].tolist()
            raise ValueError(f"items has ids unknown to the model: {bad}.")
        return np.unique(code.astype(np.int64))

    def _n_candidates(self, cand):
        return len(self._items.ids) if cand is None else len(cand)

    def _rank_matrix(self, ucode):
        """Ranking scores ``(n_users, n_items)``: the ranking model's
        log-probabilities when fitted, else the predicted ratings."""
        if "_ranking" not in self.__dict__:
            return self._score_matrix(ucode)
        V = self._user_item_matrix()
        known = ucode >= 0
        rows = V[np.where(known, ucode, 0)]
        if not np.all(known):  # unknown users: an empty history
            keep = sp.diags(known.astype(np.float32))
            rows = (keep @ rows).tocsr()
            rows.eliminate_zeros()
        return ranking.scores(self._ranking.params, self._lateral(), rows)

    def _lateral(self):
        """The ranking model's lateral item-item weights (None: none)."""
        return self.__dict__.get("_ranking_lateral")

    def _user_item_matrix(self):
        """CSR users x items indicator of the training ratings (cached)."""
        cache = serving_cache(self)
        if cache.user_item is None:
            m = self._store.indicator(self._n_vars)
            cache.user_item = m if self._orientation == "user" else m.T.tocsr()
        return cache.user_item

    def _score_matrix(self, ucode):
        """Predicted ratings ``(n_users, n_items)`` for the known items.

        The values :meth:`predict` gives for these pairs (the conditional
        RBM's transductive queries aside). With the mean-field prediction the
        logits of a chunk of users are one GEMM (:meth:`_mean_field_logits`);
        ``prediction="exact"`` sums out the hidden units for every pair,
        which costs ``n_items x K x n_components`` softplus terms per user.
        """
        ni = len(self._items.ids)
        S = np.empty((len(ucode), ni))
        known = ucode >= 0
        S[~known] = popular_scores(self)
        if not np.any(known):
            return S
        uk = ucode[known]
        vals = self.classes_.astype(np.float64)
        K = len(vals)
        if self.prediction == "exact":
            case, var = self._orient(np.repeat(uk, ni), np.tile(np.arange(ni), len(uk)))
            prob = self._proba_codes(case, var)
            S[known] = expected(prob, vals).reshape(len(uk), ni)
            return S
        L = self._mean_field_logits(uk)  # (n_users, K, n_items)
        L -= L.max(axis=1, keepdims=True)
        np.exp(L, out=L)
        # sums over K by batched products, in L's dtype (no float64 copies),
        # of the values relative to the lowest one: float32 then keeps the
        # resolution of the scale's span, not of its offset (ratings 1e6 + k)
        with np.errstate(over="ignore"):
            span = vals[-1] - vals[0]
        if span > np.finfo(np.float64).max / 4:  # ratings near the float64 limit
            top = float(np.max(np.abs(vals)))
            L = L.astype(np.float64)
            num = np.matmul(vals / top, L) / np.matmul(np.ones(K), L)
            S[known] = np.clip(num, vals[0] / top, vals[-1] / top) * top
            return S
        rel = vals - vals[0]
        dt = L.dtype if rel[-1] < 1e30 else np.float64
        num = np.matmul(rel.astype(dt), L)
        num /= np.matmul(np.ones(K, dt), L)
        S[known] = num
        S[known] += vals[0]
        return S

    def _mean_field_logits(self, uk):
        """``log p(v_ui = k | p(h | V))`` up to a constant, as ``(n, K, n_items)``.

        One GEMM for the chunk of users ``uk``. User orientation: items are
        the visible variables, so the logits are ``p(h | user) . W[i, k] +
        b[i, k]`` against a cached ``(K * n_items, H)`` copy of the weights.
        Item orientation: each item's hidden probabilities (cached) meet the
        users' own weights, ``W[u, k] . p(h | item) + b[u, k]``.
        """
        p = self._params()
        K = len(self.classes_)
        cache = serving_cache(self)
        # the biases ride in the GEMM: a column of ones meets a column of b
        if self._orientation == "user":
            if cache.item_weights is None:
                W3 = weights3(p)  # (n_vars, K, H)
                Wb = np.concatenate([W3, p["b"][:, :, None]], axis=2)
                cache.item_weights = np.ascontiguousarray(
                    Wb.transpose(1, 0, 2)
                ).reshape(-1, Wb.shape[2])  # (K * n_items, H + 1)
            Wt = cache.item_weights
            ph = with_ones(self._case_hidden(uk))  # (n, H + 1)
            return (ph @ Wt.T).reshape(len(uk), K, -1)
        if cache.item_hidden is None:
            ph = self._case_hidden(np.arange(len(self._items.ids)))
            cache.item_hidden = with_ones(ph)  # (n_items, H + 1)
        ph_items = cache.item_hidden
        Wu = p["A"][uk] @ p["B"] if "A" in p else p["W3"][uk]  # (n, K, H)
        Wu = np.concatenate([Wu, p["b"][uk][:, :, None]], axis=2)
        L = Wu.reshape(len(uk) * K, -1) @ ph_items.T
        return L.reshape(len(uk), K, -1)


#: how many of the ranking model's best items the rating model re-ranks
RERANK = 50


def top_n(S, n, cand=None):
    """The ``n`` best columns of each row of ``S`` (restricted to the sorted
    column indices ``cand``), best first, ties by column index: ``(columns,
    scores)``. Deterministic: which of several tied items enter the list
    and their order depend only on the scores and the item order."""
    if cand is not None:
        S = S[:, cand]
    m = S.shape[1]
    if n == 0 or S.shape[0] == 0:
        cols = np.zeros((S.shape[0], n), np.int64)
    elif n >= m:
        cols = np.tile(np.arange(m), (S.shape[0], 1))
    else:
        # the n-th best score of each row; every item above it is in, and
        # the tied ones at it by column order fill the remaining places
        kth = np.partition(S, m - n, axis=1)[:, m - n][:, None]
        above = kth < S
        at = kth == S
        need = n - above.sum(axis=1, keepdims=True)
        pick = above | (at & (np.cumsum(at, axis=1) <= need))
        cols = np.nonzero(pick)[1].reshape(S.shape[0], n)
    vals = np.take_along_axis(S, cols, axis=1)
    order = np.lexsort((cols, -vals), axis=1)
    cols = np.take_along_axis(cols, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    if cand is not None:
        cols = cand[cols]
    return cols, vals
