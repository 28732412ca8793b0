"""Serving the recommender: ``predict``, ``predict_proba``, ``score``,
``transform`` and ``free_energy``, from the stored ratings of each case.

A case's hidden field is computed from its training ratings (cached per case
in the typed :class:`~.cache.ServingCache`); pairs with an unknown id go to
``fallback.py``. Top-N lists are in ``recommend.py``, new users in
``fold_in.py``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.metrics import r2_score
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ..engine.families import softmax_rows
from ..engine.sparse_categorical import (
    exact_log_scores,
    hidden_field,
    visible_logits,
    weights3,
)
from ..engine.sparse_categorical import free_energy as sparse_free_energy
from ..estimators._common import named_arguments
from ..training.threads import single_blas_thread
from .cache import serving_cache
from .fallback import fallback_mean, fallback_proba
from .ids import as_array, as_id_column, check_pairs, frame_names
from .store import check_ratings

#: the parameters prediction reads (the structural ones come from fit):
#: checked at every call, as ``set_params`` does not validate
SERVING_PARAMS = ("prediction", "transductive", "ranking_like_weight", "item_weight")

#: largest block of cached hidden fields (n_cases x n_components values,
#: 128 MB in float32); above it predictions recompute them per call
_FIELD_CACHE_MAX = 2**25


class ServingMixin:
    """Predictions of a fitted :class:`CategoricalRBMRecommender`."""

    def _params(self):
        return self._state.params

    def _check_serving(self):
        """Fitted, and the parameters prediction reads valid (a few
        microseconds; ``set_params`` after fit is not validated)."""
        check_is_fitted(self)
        validate_parameter_constraints(
            {n: self._parameter_constraints[n] for n in SERVING_PARAMS},
            {n: getattr(self, n) for n in SERVING_PARAMS},
            # fit validated them: an invalid value was set since (also keeps
            # recommend's validate_params from naming itself as the owner)
            caller_name=f"{type(self).__name__} (changed after fit)",
        )

    def _pair_codes(self, X):
        self._check_names(frame_names(X))
        fitted = getattr(self, "feature_names_in_", None)
        uid, iid, _ = check_pairs(X, allow_mixed=True, fitted_names=fitted)
        return self._users.codes(uid, "user"), self._items.codes(iid, "item")

    def _proba_pairs(self, ucode, icode):
        K = len(self.classes_)
        out = np.empty((len(ucode), K))
        known = (ucode >= 0) & (icode >= 0)
        if np.any(known):
            case, var = self._orient(ucode[known], icode[known])
            out[known] = self._proba_codes(case, var)
        unk = ~known
        if np.any(unk):
            out[unk] = fallback_proba(self, ucode[unk], icode[unk])
        return out

    @named_arguments
    def predict(self, X):
        """Predicted ratings of ``(user, item)`` pairs.

        Parameters
        ----------
        X : array-like of shape (n_pairs, 2) or DataFrame
            ``(user id, item id)`` pairs. Unknown ids get the fallback (see
            Notes of the class docstring); they never raise. Missing ids
            (NaN, None) are refused.

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
            Expected rating, within ``[min(classes_), max(classes_)]``.
        """
        self._check_serving()
        self._check_rating_model("predict")
        ucode, icode = self._pair_codes(X)
        known = (ucode >= 0) & (icode >= 0)
        out = fallback_mean(self, ucode, icode)
        if np.any(known):
            with single_blas_thread():
                proba = self._proba_pairs(ucode[known], icode[known])
            out[known] = expected(proba, self.classes_)
        return np.clip(out, self.classes_[0], self.classes_[-1])

    @named_arguments
    def score(self, X, y=None, sample_weight=None):
        """Coefficient of determination R^2 of the predicted ratings.

        As :meth:`sklearn.base.RegressorMixin.score`, but at least two
        ratings are required (R^2 is undefined for one, and would be NaN).
        For RMSE use ``scoring="neg_root_mean_squared_error"`` in model
        selection; for a model fitted on implicit feedback (no ratings, so
        no R^2) a ranking scorer such as
        ``sklearn_rbm.metrics.make_ranking_scorer("ndcg", k=10)``.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2)
            (user, item) pairs.
        y : array-like of shape (n_ratings,)
            True ratings (required; None raises a ValueError that names the
            ranking scorers, as ``cross_validate`` passes None for implicit
            feedback).
        sample_weight : array-like of shape (n_ratings,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` with respect to ``y``.
        """
        if y is None:
            check_is_fitted(self)
            self._check_rating_model("score")
            raise ValueError(
                "y (the true ratings) is required: score is the R^2 of predict; "
                "for ranking quality use a scorer of sklearn_rbm.metrics, "
                "such as make_ranking_scorer('ndcg', k=10)."
            )
        n = len(y) if hasattr(y, "__len__") else 0
        if n < 2:
            raise ValueError(
                f"score needs at least 2 ratings (R^2 is undefined for {n}); "
                f"got y of length {n}."
            )
        y = check_ratings(y, n)
        pred = self.predict(X)
        # R^2 is scale-free: on y / max|y| its sums of squares cannot
        # overflow (they would for ratings above ~1e154)
        scale = max(float(np.max(np.abs(y))), np.finfo(float).tiny)
        return r2_score(y / scale, pred / scale, sample_weight=sample_weight)

    @named_arguments
    def predict_proba(self, X):
        """Distribution of the rating of each pair over ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_pairs, 2) or DataFrame
            ``(user id, item id)`` pairs.

        Returns
        -------
        proba : ndarray of shape (n_pairs, n_classes)
            ``p(rating = classes_[k])``; rows sum to one.
        """
        self._check_serving()
        self._check_rating_model("predict_proba")
        ucode, icode = self._pair_codes(X)
        with single_blas_thread():
            return self._proba_pairs(ucode, icode)

    def transform(self, X):
        """Hidden representation ``p(h = 1 | ratings)`` of cases.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 2)
            Case ids: user ids for ``orientation="user"``, item ids for
            ``orientation="item"``; with two columns, ``(user, item)`` pairs
            whose case column is used. Unknown cases get the representation
            of an empty history, ``sigmoid(c)``.

        Returns
        -------
        H : ndarray of shape (n, n_components)
            Hidden activation probabilities, from each case's training ratings.
        """
        self._check_serving()
        self._check_rating_model("transform")
        arr = X if hasattr(X, "iloc") else as_array(X)
        if getattr(arr, "ndim", 1) == 2 and arr.shape[1] == 2:
            ucode, icode = self._pair_codes(arr)
            case, _ = self._orient(ucode, icode)
        else:
            arr = np.asarray(arr)
            if arr.ndim != 1:
                raise ValueError(
                    f"X must be 1-d case ids or (n, 2) pairs; got shape {arr.shape}."
                )
            if len(arr) == 0:
                raise ValueError("X is empty (0 samples).")
            idx = self._users if self._orientation == "user" else self._items
            case = idx.codes(
                as_id_column(arr, "case", allow_mixed=True), self._orientation
            )
        return self._case_hidden(case)

    def _case_hidden(self, case):
        p = self._params()
        out = np.empty((len(case), p["c"].shape[0]), dtype=p["c"].dtype)
        known = case >= 0
        out[known] = expit(self._case_field(case[known]))
        out[~known] = expit(p["c"])
        return out

    def _field_cacheable(self):
        return self._n_cases * self._params()["c"].shape[0] <= _FIELD_CACHE_MAX

    def _case_field(self, case):
        """Hidden fields ``c + sum of W (+ D)`` of known cases from their
        stored ratings.

        Cached per case while the model is unchanged (``partial_fit`` starts
        from an empty cache, and caches are not saved), unless the block of
        all cases' fields would exceed :data:`_FIELD_CACHE_MAX` values.
        Computed for at most 4096 new cases at a time.
        """
        p = self._params()
        K = len(self.classes_)
        cached = self._field_cacheable()
        if cached:
            cache = serving_cache(self)
            if cache.case_field is None:
                n, H = self._n_cases, p["c"].shape[0]
                cache.case_field = (np.empty((n, H), p["c"].dtype), np.zeros(n, bool))
            F, done = cache.case_field
            todo = np.unique(case[~done[case]])
        else:
            todo, inv = np.unique(case, return_inverse=True)
            F = np.empty((len(todo), p["c"].shape[0]), p["c"].dtype)
        for sl in gen_batches(len(todo), 4096) if len(todo) else ():
            cs = todo[sl]
            rows = cs if cached else np.arange(sl.start, sl.start + len(cs))
            F[rows] = hidden_field(self._store.batch(cs, self._n_vars, K), p)
        if cached:
            done[todo] = True
            return F[case]
        return F[inv]

    def _proba_codes(self, case, var):
        """``p(v_var = k | case's stored ratings)`` for known code pairs, by
        the model's ``prediction`` (and ``transductive``) setting."""
        p = self._params()
        K = len(self.classes_)
        exact = self.prediction == "exact"
        if self.transductive and "D" in p:  # fields depend on the queries
            return predict_proba_codes(
                p,
                self._store,
                case,
                var,
                self._n_vars,
                K,
                exact=exact,
                transductive=True,
            )
        uc, inv = np.unique(case, return_inverse=True)
        return proba_from_fields(var, inv, self._case_field(uc), p, exact)

    def free_energy(self, X=None):
        """Free energy of each training case's observed ratings.

        Parameters
        ----------
        X : array-like of shape (n,), default=None
            Case ids (users or items, by orientation); None for all cases.

        Returns
        -------
        F : ndarray of shape (n,)
            ``F(V) = -sum b[j, v_j] - sum_h softplus(c_h + sum_j W[j, v_j, h])``
            over the observed entries of each case.
        """
        self._check_serving()
        self._check_rating_model("free_energy")
        if X is None:
            case = np.arange(self._n_cases)
        else:
            idx = self._users if self._orientation == "user" else self._items
            ids = as_id_column(as_array(X).ravel(), "case", allow_mixed=True)
            case = idx.codes(ids)
            if np.any(case < 0):
                raise ValueError("free_energy needs case ids seen in fit.")
        batch = self._store.batch(case, self._n_vars, len(self.classes_))
        p = dict(self._params())
        if "A" in p:
            p = {n: v for n, v in p.items() if n not in ("A", "B")}
            p["W3"] = weights3(self._params())
        return sparse_free_energy(batch, p)


def expected(proba, classes):
    """The expected rating ``proba @ classes``; finite for any finite
    ``classes`` (near the float64 limit it is taken in units of the largest
    one)."""
    top = float(np.max(np.abs(classes)))
    if top < 1e300:
        return proba @ classes
    return np.clip(proba @ (classes / top), -1.0, 1.0) * top


def rmse(pred, y):
    """Root mean squared error that cannot overflow (huge rating values)."""
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.asarray(pred, dtype=np.float64) - y
    top = float(np.max(np.abs(err))) if len(err) else 0.0
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(np.mean((err / top) ** 2)))


def with_ones(a):
    """``[a, 1]``: a column of ones appended (a bias term for a GEMM)."""
    out = np.empty((a.shape[0], a.shape[1] + 1), dtype=a.dtype)
    out[:, :-1] = a
    out[:, -1] = 1.0
    return out


def predict_proba_codes(
    p, store, case, var, n_vars, K, *, exact=False, transductive=False, chunk=4096
):
    """``p(v_var = k | case's stored ratings)`` for many (case, var) pairs.

    Cases are processed in groups of up to ``chunk`` distinct cases.
    """
    out = np.empty((len(case), K))
    uc, inv = np.unique(case, return_inverse=True)
    for sl in gen_batches(len(uc), chunk) if len(uc) else ():
        cs = uc[sl]
        sel = np.flatnonzero((inv >= sl.start) & (inv < sl.stop))
        rows = inv[sel] - sl.start
        batch = store.batch(cs, n_vars, K)
        extra = None
        if transductive and "D" in p:
            extra = sp.csr_matrix(
                (np.ones(len(sel), dtype=p["c"].dtype), (rows, var[sel])),
                shape=(len(cs), n_vars),
            )
        u = hidden_field(batch, p, extra)
        out[sel] = proba_from_fields(var[sel], rows, u, p, exact)
    return out


def proba_from_fields(var, rows, u, p, exact):
    """``p(v_var = k | hidden fields u[rows])``: hidden units summed out
    (``exact``) or through their mean-field probabilities."""
    if exact:
        logits = exact_log_scores(var, rows, u, p)
    else:
        logits = visible_logits(var, rows, expit(u), p)
    return softmax_rows(logits.astype(np.float64))
