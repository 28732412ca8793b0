"""Top-N baselines for bench_ranking.py, on a binary users x items CSR matrix.

Each model has ``fit(R)`` (``R``: scipy CSR, users x items, 1 where the user
rated the item in training) and ``scores(users)`` (dense ``(len(users),
n_items)`` scores, higher is better); the benchmark masks the training items
and takes the top 10.

- ``Popularity``: the number of training ratings of the item.
- ``ItemKNN``: item-based kNN with cosine similarity on the binary matrix,
  each item keeping its ``n_neighbors`` most similar items (the neighbourhood
  size is chosen on a validation split of the training data); a user's score
  of item j is the sum of the similarities of j to the items the user rated
  (Deshpande & Karypis 2004, without normalisation).
- ``EASE``: Steck (2019), "Embarrassingly shallow autoencoders for sparse
  data": ``B = I - P / diag(P)``, ``P = (R^T R + lambda I)^-1``, diagonal 0;
  scores ``R_u B``.
- ``ImplicitModel``: a model of the ``implicit`` library (ALS, BPR), one
  thread.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve


def gram(R):
    """``(R as float CSR, dense R^T R)``."""
    R = sp.csr_matrix(R, dtype=np.float64)
    return R, (R.T @ R).toarray()


class Popularity:
    def fit(self, R):
        self.counts_ = np.asarray(R.sum(axis=0), dtype=float).ravel()
        return self

    def scores(self, users):
        return np.broadcast_to(self.counts_, (len(users), self.counts_.size)).copy()


class ItemKNN:
    def __init__(self, n_neighbors=100):
        self.n_neighbors = n_neighbors

    def fit(self, R):
        self.R_, G = gram(R)
        norms = np.sqrt(np.diag(G))
        norms[norms == 0] = 1.0
        S = G / norms[:, None] / norms[None, :]
        np.fill_diagonal(S, 0.0)
        k = self.n_neighbors
        if k is not None and k < S.shape[0] - 1:
            # keep, for each item j (a column), its k most similar items
            drop = np.argpartition(-S, k, axis=0)[k:]
            np.put_along_axis(S, drop, 0.0, axis=0)
        self.S_ = S
        return self

    def scores(self, users):
        return np.asarray(self.R_[users] @ self.S_)


class EASE:
    def __init__(self, lam=500.0):
        self.lam = lam

    def fit(self, R):
        self.R_, G = gram(R)
        G[np.diag_indices_from(G)] += self.lam
        P = cho_solve(cho_factor(G), np.eye(G.shape[0]))
        B = -P / np.diag(P)[None, :]
        np.fill_diagonal(B, 0.0)
        self.B_ = B
        return self

    def scores(self, users):
        return np.asarray(self.R_[users] @ self.B_)


class ImplicitModel:
    """``implicit``'s ALS (``kind="als"``) or BPR (``kind="bpr"``)."""

    def __init__(self, kind="als", factors=64, **params):
        self.kind, self.factors, self.params = kind, factors, params

    def fit(self, R):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        cls = {"als": AlternatingLeastSquares, "bpr": BayesianPersonalizedRanking}
        self.model_ = cls[self.kind](
            factors=self.factors, num_threads=1, random_state=0, **self.params
        )
        self.model_.fit(sp.csr_matrix(R, dtype=np.float32), show_progress=False)
        return self

    def scores(self, users):
        m = self.model_
        return np.asarray(m.user_factors[users] @ m.item_factors.T)
