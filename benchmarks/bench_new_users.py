"""Top-N lists for new users with short histories (cold start), against peers.

MovieLens 1M, users split at random (seed 0): 90% train every model; each
of the other 10% ("new users") reveals ``k`` of their ratings, drawn at
random (seed 0), and the task is to rank every other item for them;
relevant = their remaining ratings of 4 or 5. No model is refitted: ours
serves them with ``recommend_new_user`` (history items, and with
``--ratings`` their ratings too), the peers score the same history:

* EASE (lambda 1000, on the binary training matrix): ``history @ B``;
* item-kNN (cosine): the summed similarities to the history items;
* popularity (most-rated items not in the history).

Prints NDCG@10 and P@10 for each ``k``, and each method's ratio to EASE.

    python benchmarks/bench_new_users.py [--k 1 3 5 10 20] [--dataset ml1m|ml100k]

Results: ``benchmarks/README.md``, "New users with short histories".
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import data_dir, ml1m

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.metrics import ndcg_at_k, precision_at_k
from sklearn_rbm.recommender.ranking import fit_lateral


def load(name):
    if name == "ml1m":
        return ml1m()
    a = np.loadtxt(data_dir() / "ml-100k" / "u.data", dtype=np.int64, usecols=(0, 1, 2))
    return a[:, :2], a[:, 2].astype(float)


def top10(S, exclude):
    S = S.copy()
    for r, cols in enumerate(exclude):
        S[r, cols] = -np.inf
    return np.argsort(-S, axis=1, kind="stable")[:, :10]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="ml1m", choices=["ml1m", "ml100k"])
    ap.add_argument("--k", type=int, nargs="+", default=[1, 3, 5, 10, 20])
    args = ap.parse_args()
    os.environ["SKLEARN_RBM_BLAS_THREADS"] = "1"
    X, y = load(args.dataset)
    rng = np.random.default_rng(0)
    users = np.unique(X[:, 0])
    new = np.sort(rng.choice(users, size=len(users) // 10, replace=False))
    is_new = np.isin(X[:, 0], new)
    X_tr, y_tr = X[~is_new], y[~is_new]
    with threadpool_limits(1):
        t = time.perf_counter()
        rec = CategoricalRBMRecommender(random_state=0).fit(X_tr, y_tr)
        fit_s = time.perf_counter() - t
    ids = rec.items_
    code = {int(i): c for c, i in enumerate(ids)}
    rows = np.searchsorted(users, X_tr[:, 0])
    cols = np.searchsorted(ids, X_tr[:, 1])
    V = sp.csr_matrix((np.ones(len(X_tr)), (rows, cols)), shape=(len(users), len(ids)))
    B = fit_lateral(V, 1000.0, np.float64)["weights"]  # every item (< 5,000)
    G = (V.T @ V).toarray()
    norm = np.sqrt(np.diag(G))
    cos = G / np.maximum(np.outer(norm, norm), 1e-12)
    np.fill_diagonal(cos, 0.0)
    pop = np.asarray(V.sum(axis=0)).ravel()
    print(
        f"# bench_new_users ({args.dataset}): {len(new)} new users of "
        f"{len(users)}, every model fitted on the others ({len(y_tr):,} "
        f"ratings; ours {fit_s:.1f} s, one BLAS thread, load average "
        f"{os.getloadavg()[0]:.1f})\n"
    )
    print("| k | method | NDCG@10 | P@10 | x EASE (NDCG) |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for k in args.k:
        hist, truth, ratings = [], [], []
        for u in new:
            sel = np.flatnonzero(X[:, 0] == u)
            sel = sel[np.isin(X[sel, 1], ids)]  # items unknown to every model
            if len(sel) <= k:
                continue
            pick = rng.permutation(sel)
            h, rest = pick[:k], pick[k:]
            liked = rest[y[rest] >= 4]
            if not len(liked):
                continue
            hist.append([code[int(i)] for i in X[h, 1]])
            ratings.append(y[h])
            truth.append(set(X[liked, 1].tolist()))
        H = sp.csr_matrix(
            (
                np.ones(sum(map(len, hist))),
                np.concatenate(hist),
                np.r_[0, np.cumsum([len(h) for h in hist])],
            ),
            shape=(len(hist), len(ids)),
        )
        lists = {
            "ours, history items": [
                rec.recommend_new_user(ids[h], 10)[0] for h in hist
            ],
            "ours, items and ratings": [
                rec.recommend_new_user(ids[h], 10, history_ratings=r)[0]
                for h, r in zip(hist, ratings)
            ],
            "EASE, lambda 1000": ids[top10(np.asarray(H @ B), hist)],
            "item-kNN, cosine": ids[top10(np.asarray(H @ cos), hist)],
            "popularity": ids[top10(np.tile(pop, (len(hist), 1)), hist)],
        }
        res = {}
        for label, L in lists.items():
            L = np.asarray(L).tolist()
            res[label] = (ndcg_at_k(L, truth, 10), precision_at_k(L, truth, 10))
        ease = res["EASE, lambda 1000"][0]
        for label, (nd, pr) in res.items():
            print(f"| {k} | {label} | {nd:.4f} | {pr:.4f} | {nd / ease:.2f} |")
    print("\n(users per k: those with more than k ratings and a liked one left)")


if __name__ == "__main__":
    main()
