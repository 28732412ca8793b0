"""Top-N recommendation: every item scored for a chunk of users in one
GEMM, then the best unseen items."""

from numbers import Integral

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, validate_params

from ..engine.sparse_categorical import weights3
from ..training.threads import single_blas_thread
from .cache import serving_cache
from .fallback import popular_scores
from .ids import as_array, as_id_column
from .serving import expected, with_ones


class RecommendMixin:
    """``recommend`` of a fitted :class:`CategoricalRBMRecommender`."""

    @validate_params(
        {
            "users": ["array-like"],
            "n_items": [Interval(Integral, 1, None, closed="left")],
            "exclude_seen": ["boolean"],
            "chunk_size": [Interval(Integral, 1, None, closed="left")],
        },
        prefer_skip_nested_validation=True,
    )
    def recommend(self, users, n_items=10, *, exclude_seen=True, chunk_size=256):
        """Top-``n_items`` items for each user by predicted rating.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids. Unknown users get the items with the highest mean
            training rating (shrunk towards the global mean).
        n_items : int, default=10
            Number of items per user (at most the number of known items).
        exclude_seen : bool, default=True
            Leave out the items the user rated in training.
        chunk_size : int, default=256
            Users scored at a time (memory is ``chunk_size x n_items x K``).

        Returns
        -------
        item_ids : ndarray of shape (n_users, n_items)
            Recommended item ids, best first (when a user has rated almost
            every item and ``exclude_seen`` is set, the list is padded with
            seen items scored ``-inf``).
        scores : ndarray of shape (n_users, n_items)
            Their predicted ratings.
        """
        self._check_serving()
        users = as_array(users)
        if users.ndim != 1:
            raise ValueError(f"users must be 1-dimensional; got shape {users.shape}.")
        for name, value in (("n_items", n_items), ("chunk_size", chunk_size)):
            if isinstance(value, bool):  # an Integral to scikit-learn
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        chunk_size = int(chunk_size)
        n_items = min(int(n_items), len(self._items.ids))
        if len(users):
            ucode = self._users.codes(as_id_column(users, "user", allow_mixed=True))
        else:
            ucode = np.zeros(0, np.int64)
        top_all = np.zeros((len(ucode), n_items), dtype=np.int64)
        score_all = np.zeros((len(ucode), n_items))
        seen = self._user_item_matrix() if exclude_seen else None
        with single_blas_thread():
            for s in gen_batches(len(ucode), chunk_size) if len(ucode) else ():
                uc = ucode[s]
                S = self._score_matrix(uc)
                if seen is not None:
                    known = np.flatnonzero(uc >= 0)
                    sub = seen[uc[known]]
                    r = np.repeat(known, np.diff(sub.indptr))
                    S[r, sub.indices] = -np.inf
                top = np.argpartition(S, -n_items, axis=1)[:, -n_items:]
                vals = np.take_along_axis(S, top, axis=1)
                order = np.argsort(-vals, axis=1, kind="stable")
                top_all[s] = np.take_along_axis(top, order, axis=1)
                score_all[s] = np.take_along_axis(vals, order, axis=1)
        return self._items.ids[top_all], score_all

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
