"""Serving users unseen in fit from a rating history, without refitting."""

from numbers import Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

from ..engine.families import softmax_rows
from ..engine.sparse_categorical import (
    Batch,
    exact_log_scores,
    hidden_field,
    hidden_proba,
    visible_logits,
    weights3,
)
from ..training.threads import single_blas_thread
from .fallback import fallback_mean, history_mean
from .ids import as_array, as_id_column
from .serving import expected
from .store import check_ratings


class FoldInMixin:
    """``predict_new_user`` of a fitted :class:`CategoricalRBMRecommender`."""

    def predict_new_user(
        self, history_items, history_ratings, query_items, *, alpha="auto"
    ):
        """Predict ratings of a user unseen in fit from a rating history,
        without refitting (fold-in).

        With ``orientation="user"`` the user is a new case: the hidden
        probabilities are computed from the history and the queries are
        predicted exactly as :meth:`predict` does for a training user (a
        training user's own history reproduces ``predict``). With
        ``orientation="item"`` the user is a new visible variable: its
        softmax weights and biases are fitted to the history by L2-penalised
        maximum conditional likelihood ``p(v_u,i | p(h | item i))`` with the
        model's item representations held fixed (a multinomial logistic
        regression), then the queries are predicted from them. This keeps the
        items' hidden representations as they were; on MovieLens 1M it
        predicted new users as well as refitting with their histories (RMSE
        0.8651 against the refit's 0.8721), and the user orientation's
        fold-in matches its refit to 0.001 (user guide, "Folding in a new user";
        ``benchmarks/bench_serving.py``).

        Parameters
        ----------
        history_items : array-like of shape (n_history,)
            Item ids the user rated (unknown items are ignored, but for the
            mean rating below). A history with no known item gives
            :meth:`predict`'s answer for an unknown user: each query item's
            mean training rating.
        history_ratings : array-like of shape (n_history,)
            Their ratings, values among ``classes_``.
        query_items : array-like of shape (n_queries,)
            Items to predict. Unknown items get the mean of
            ``history_ratings`` (the global mean for an empty history), as
            :meth:`predict` gives a training user their own mean rating.
        alpha : float or "auto", default="auto"
            ``orientation="item"`` only: L2 penalty pulling the new user's
            weights towards the average user's, in units of one rating's
            log-loss (``alpha / 10`` on their biases). ``"auto"`` is
            ``n_components / 10``, which keeps the prior variance of the
            new user's logits independent of the number of hidden units.
            Chosen on validation users of the MovieLens 100K and 1M training
            data (``benchmarks/README.md``, "Serving").

        Returns
        -------
        y_pred : ndarray of shape (n_queries,)
            Predicted ratings.
        """
        self._check_serving()
        self._check_rating_model("predict_new_user")
        q = as_array(query_items, "query_items")
        prob, qk = self._new_user_proba(history_items, history_ratings, q, alpha)
        # unknown query items: the history's mean rating, as predict gives a
        # training user their own mean for an unknown item
        user_mean = history_mean(self, history_ratings)
        if prob is None:  # no known history or query item: the item means,
            # as predict gives an unknown user
            qcode = self._items.codes(as_id_column(q, "item", allow_mixed=True), "item")
            out = fallback_mean(self, np.full(len(q), -1), qcode)
            out[qcode < 0] = user_mean
            return out
        out = np.full(len(q), user_mean)
        out[qk] = expected(prob, self.classes_)
        return np.clip(out, self.classes_[0], self.classes_[-1])

    def _new_user_proba(self, history_items, history_ratings, q, alpha="auto"):
        """Fold-in: ``(prob, known)``, the predictive distributions over
        ``classes_`` of the known query items ``q[known]`` for a user with
        this history (``prob`` None when no query item is known)."""
        if isinstance(alpha, str) and alpha == "auto":
            alpha = self._params()["c"].shape[0] / 10
        elif (
            not isinstance(alpha, Real)
            or isinstance(alpha, bool | np.bool_)
            or not 0 < alpha < np.inf
        ):
            raise ValueError(
                f'alpha must be "auto" or a positive finite number; got {alpha!r}.'
            )
        hist = as_array(history_items, "history_items")
        if hist.ndim != 1 or q.ndim != 1:
            raise ValueError("history_items and query_items must be 1-dimensional.")
        ratings = check_ratings(
            history_ratings,
            len(hist),
            names=("history_items", "items", "history_ratings"),
        )
        K = len(self.classes_)
        k = np.minimum(np.searchsorted(self.classes_, ratings), K - 1)
        if len(hist) and np.any(self.classes_[k] != ratings):
            raise ValueError(
                f"history_ratings must take values among classes_="
                f"{self.classes_.tolist()}."
            )
        hcode = (
            self._items.codes(as_id_column(hist, "item", allow_mixed=True), "item")
            if len(hist)
            else (np.zeros(0, np.int64))
        )
        if len(hcode) and len(np.unique(hcode[hcode >= 0])) != int(np.sum(hcode >= 0)):
            raise ValueError("history_items contains duplicate items.")
        qcode = (
            self._items.codes(as_id_column(q, "item", allow_mixed=True))
            if len(q)
            else (np.zeros(0, np.int64))
        )
        ok = hcode >= 0
        hcode, k = hcode[ok], k[ok]
        qk = qcode >= 0
        if not np.any(qk) or not len(hcode):  # nothing to predict, or no evidence
            return None, qk
        p = self._params()
        with single_blas_thread():
            if self._orientation == "user":
                batch = Batch(
                    np.zeros(len(hcode), np.int64), hcode, k, 1, self._n_vars, K
                )
                if self.prediction == "exact":
                    u = hidden_field(batch, p)
                    logits = exact_log_scores(
                        qcode[qk], np.zeros(int(qk.sum()), np.int64), u, p
                    )
                else:
                    ph = hidden_proba(batch, p)
                    logits = visible_logits(
                        qcode[qk], np.zeros(int(qk.sum()), np.int64), ph, p
                    )
                prob = softmax_rows(logits.astype(np.float64))
            else:
                prob = self._fold_in_variable(hcode, k, qcode[qk], float(alpha))
        return prob, qk

    def _fold_in_variable(self, items, k, query, alpha):
        """Multinomial logistic regression of a new visible variable on the
        (fixed) hidden representations of the cases it observed."""
        p = self._params()
        K = len(self.classes_)
        H = p["c"].shape[0]
        b0 = np.asarray(p["b"], dtype=np.float64).mean(axis=0)
        # the prior is the average trained user: with no history, or a
        # strong penalty, the new user predicts as the average user does
        W0 = weights3(p).mean(axis=0, dtype=np.float64)
        Hq = self._case_hidden(query).astype(np.float64)
        if len(items) == 0:
            return softmax_rows(Hq @ W0.T + b0)
        Hh = self._case_hidden(items).astype(np.float64)
        Y = np.zeros((len(items), K))
        Y[np.arange(len(items)), k] = 1.0
        lam = alpha  # L2 on the new weights, in units of one rating's log-loss
        lam_b = 0.1 * alpha

        def loss(theta):
            Wn = theta[: K * H].reshape(K, H)
            bn = theta[K * H :]
            logits = Hh @ Wn.T + bn
            lp = log_softmax(logits, axis=1)
            f = -np.sum(Y * lp) + 0.5 * lam * np.sum((Wn - W0) ** 2)
            f += 0.5 * lam_b * np.sum((bn - b0) ** 2)
            G = np.exp(lp) - Y
            gW = G.T @ Hh + lam * (Wn - W0)
            gb = G.sum(axis=0) + lam_b * (bn - b0)
            return f, np.concatenate([gW.ravel(), gb])

        theta0 = np.concatenate([W0.ravel(), b0])
        res = minimize(
            loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 200}
        )
        Wn = res.x[: K * H].reshape(K, H)
        bn = res.x[K * H :]
        return softmax_rows(Hq @ Wn.T + bn)
