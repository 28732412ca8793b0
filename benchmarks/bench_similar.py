"""Item-to-item lists ("more like this") on MovieLens, against peers.

For the most-rated items of the data as queries, each method lists the 10
items most like the query (never the query itself):

* ours, ``similar_items``: cosine of the ranking model's item rows, from
  ``CategoricalRBMRecommender()`` with its defaults fitted on every rating
  (``min_support="auto"``, and the other ``--min-support`` values);
* ours, ``recommend_new_user([query])``: the full ranking model for a
  one-item history (what "because you chose X" gives without similar_items);
* item-kNN: cosine of the items' columns of the binary users x items matrix
  (the classic item-item similarity);
* EASE (lambda 1000, as the lateral term): the query's row of ``B``;
* popularity: the most-rated other items (the same list for every query).

No held-out data defines "similar", so the lists are measured by the
genres MovieLens gives each film (never seen by any model): the mean
Jaccard index of the genre sets of the query and each listed item; and by
popularity bias: the share of listed items among the 100 most rated; the
share of listed items rated fewer than 5 times (whose rows a handful of
users shaped); and the catalogue coverage of all the lists together.

    python benchmarks/bench_similar.py [--datasets ml100k ml1m latest]
        [--queries 200] [--min-support 1 2 10]

Results: ``benchmarks/README.md``, "Similar items".
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
from sklearn_rbm.recommender.ranking import fit_lateral
from sklearn_rbm.recommender.similar import MIN_SUPPORT

#: "rarely rated": fewer training ratings than this
RARE = 5


def load(name):
    """``(X, y, genres)``: all ratings and each item id's set of genres."""
    if name == "ml100k":
        d = data_dir() / "ml-100k"
        a = np.loadtxt(d / "u.data", dtype=np.int64, usecols=(0, 1, 2))
        X, y = a[:, :2], a[:, 2].astype(float)
        genres = {}
        for line in (d / "u.item").read_text(encoding="latin-1").splitlines():
            f = line.split("|")
            genres[int(f[0])] = {k for k, v in enumerate(f[5:]) if v == "1"}
        return X, y, genres
    if name == "latest":
        import csv

        d = data_dir() / "ml-latest-small"
        with open(d / "ratings.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        X = np.array([[int(r["userId"]), int(r["movieId"])] for r in rows])
        y = np.array([float(r["rating"]) for r in rows])
        with open(d / "movies.csv", newline="", encoding="utf-8") as f:
            genres = {
                int(r["movieId"]): set(r["genres"].split("|"))
                for r in csv.DictReader(f)
            }
        return X, y, genres
    X, y = ml1m()
    genres = {}
    text = (data_dir() / "ml-1m" / "movies.dat").read_text(encoding="latin-1")
    for line in text.splitlines():
        f = line.split("::")
        genres[int(f[0])] = set(f[2].split("|"))
    return X, y, genres


def top10(S, query_codes):
    S = S.copy()
    S[np.arange(len(query_codes)), query_codes] = -np.inf
    return np.argsort(-S, axis=1, kind="stable")[:, :10]


def measure(lists, queries, item_ids, genres, popular, rare):
    """Mean genre Jaccard, share among the most rated, share of rarely rated
    items, catalogue coverage."""
    jac = []
    for q, row in zip(queries, lists):
        gq = genres[int(q)]
        for i in row:
            gi = genres[int(i)]
            jac.append(len(gq & gi) / max(len(gq | gi), 1))
    flat = np.asarray(lists).ravel()
    return (
        np.mean(jac),
        np.isin(flat, popular).mean(),
        np.isin(flat, rare).mean(),
        len(set(flat.tolist())),
    )


def run(name, n_queries, supports=()):
    X, y, genres = load(name)
    t = time.perf_counter()
    rec = CategoricalRBMRecommender(random_state=0).fit(X, y)
    fit_s = time.perf_counter() - t
    ids = rec.items_
    counts = np.bincount(np.searchsorted(ids, X[:, 1]), minlength=len(ids))
    order = np.argsort(-counts, kind="stable")
    queries = ids[order[:n_queries]]
    popular = ids[order[:100]]
    rare = ids[counts < RARE]
    qc = order[:n_queries]
    out = {}
    t = time.perf_counter()
    label = f'ours, similar_items (min_support="auto": {MIN_SUPPORT})'
    out[label] = rec.similar_items(queries, 10)[0]
    sim_s = time.perf_counter() - t
    for m in supports:
        if m != MIN_SUPPORT:
            lists = rec.similar_items(queries, 10, min_support=m)[0]
            out[f"ours, similar_items, min_support={m}"] = lists
    out["ours, recommend_new_user([query])"] = np.array(
        [rec.recommend_new_user([q], 10)[0] for q in queries]
    )
    users = np.unique(X[:, 0], return_inverse=True)[1]
    V = sp.csr_matrix(
        (np.ones(len(X)), (users, np.searchsorted(ids, X[:, 1]))),
        shape=(users.max() + 1, len(ids)),
    )
    G = (V.T @ V).toarray()
    norm = np.sqrt(np.diag(G))
    cos = G[qc] / np.outer(norm[qc], norm)
    out["item-kNN, cosine"] = ids[top10(cos, qc)]
    # EASE over the 5,000 most rated items (every item of ML-100K and ML-1M)
    lat = fit_lateral(V, 1000.0, np.float64)
    B = np.full((len(qc), len(ids)), -np.inf)
    rows = np.searchsorted(lat["items"], qc)  # the queries are among them
    B[:, lat["items"]] = lat["weights"][rows]
    out["EASE, lambda 1000"] = ids[top10(B, qc)]
    pop = np.tile(counts.astype(float), (len(qc), 1))
    out["popularity"] = ids[top10(pop, qc)]
    print(
        f"## {name}: {len(y):,} ratings, {len(ids):,} items; the {n_queries} "
        f"most rated items as queries; fit {fit_s:.1f} s, similar_items "
        f"{sim_s * 1000:.0f} ms for all queries\n"
    )
    print(
        "| method | genre Jaccard | x item-kNN | share in top-100 | "
        f"share rated < {RARE} times | coverage |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    args = (queries, ids, genres, popular, rare)
    ref = measure(out["item-kNN, cosine"], *args)[0]
    for label, lists in out.items():
        jac, share, low, cov = measure(lists, *args)
        print(
            f"| {label} | {jac:.3f} | {jac / ref:.2f} | {share:.2f} | {low:.2f} | "
            f"{cov} |"
        )
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--datasets",
        nargs="+",
        default=["ml100k", "ml1m", "latest"],
        choices=["ml100k", "ml1m", "latest"],
    )
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument(
        "--min-support",
        type=int,
        nargs="+",
        default=[1],
        help="further min_support values of similar_items to list (1: every item)",
    )
    args = ap.parse_args()
    os.environ["SKLEARN_RBM_BLAS_THREADS"] = "1"
    with threadpool_limits(1):
        for name in args.datasets:
            run(name, args.queries, args.min_support)


if __name__ == "__main__":
    main()
