"""The ranking model of ``CategoricalRBMRecommender.recommend`` (issue 14):
the validation comparison that chose it, and its test numbers.

Protocol (issue 14): relevant = test items rated 4 or 5; every item the user
did not rate in training is ranked; top 10; NDCG@10 and P@10 averaged over
the users with at least one relevant test item. Implicit mode: ratings
dropped, relevant = every test item (EASE under the same rule).

    python benchmarks/tune_ranking.py val    # ML-1M: 20% of each training
                                             # user's ratings held out
    python benchmarks/tune_ranking.py val choice  # only the variants whose
                                             # name holds "choice", no peers
    python benchmarks/tune_ranking.py val weight  # the rating model's
                                             # log P(liked) weight only
    python benchmarks/tune_ranking.py lateral user    # the lateral term's
    python benchmarks/tune_ranking.py lateral random  # L2 and the like
                                             # weight with it, on the per-user
                                             # holdout or on a random 1/9 of
                                             # the training ratings
    python benchmarks/tune_ranking.py lateral random implicit
    python benchmarks/tune_ranking.py lateral ml100k  # u1..u3, random 1/5
    python benchmarks/tune_ranking.py lateral random w=2 w=3  # like weights
    python benchmarks/tune_ranking.py test   # ML-1M 90/10 (seed 0), once
    python benchmarks/tune_ranking.py ml100k # u1..u5, test
    python benchmarks/tune_ranking.py time   # the ranking model's fit time

Every setting is chosen with ``val`` (validation splits of the training
data); ``test`` and ``ml100k`` report the defaults once. BLAS runs on one
thread. The metrics here are a private copy (``sklearn_rbm.metrics`` is
being written for issue 14 by another branch).
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import ml1m, ml100k_split, random_split

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.recommender import ranking
from sklearn_rbm.recommender.recommend import top_n

K = 10


def per_user_holdout(X, y, frac=0.2, seed=0):
    """Hold out ``floor(frac * n_u)`` random ratings of each user."""
    rng = np.random.default_rng(seed)
    u = X[:, 0]
    order = np.lexsort((rng.random(len(u)), u))
    us = u[order]
    rank = np.arange(len(us)) - np.searchsorted(us, us, side="left")
    n_val = np.floor(frac * np.bincount(us)[us]).astype(int)
    val = np.zeros(len(u), bool)
    val[order[rank < n_val]] = True
    return X[~val], y[~val], X[val], y[val]


def evaluate(top_ids, users, X_test, y_test, rel_min=4):
    """NDCG@10 and P@10 of the lists ``top_ids`` (rows: ``users``)."""
    rel = {}
    for (u, i), r in zip(X_test.tolist(), y_test.tolist(), strict=True):
        if r >= rel_min:
            rel.setdefault(u, set()).add(i)
    disc = 1 / np.log2(np.arange(2, K + 2))
    ndcg, prec = [], []
    for u, row in zip(users.tolist(), top_ids.tolist(), strict=True):
        if u not in rel:
            continue
        hits = np.array([i in rel[u] for i in row[:K]], dtype=float)
        ndcg.append(hits @ disc[: len(hits)] / disc[: min(len(rel[u]), K)].sum())
        prec.append(hits.sum() / K)
    return float(np.mean(ndcg)), float(np.mean(prec))


def binary(X, users, items):
    """Users x items indicator (rows ``users``, columns ``items``)."""
    r = np.searchsorted(users, X[:, 0])
    c = np.searchsorted(items, X[:, 1])
    return sp.csr_matrix(
        (np.ones(len(X)), (r, c)), shape=(len(users), len(items))
    ).astype(np.float64)


def rank_scores(S, B, users, items):
    """Top-10 item ids of the scores ``S`` with the training items masked."""
    S = S.copy()
    S[B.nonzero()] = -np.inf
    top, _ = top_n(S, K)
    return items[top]


def peers(X_tr, lambdas=(500.0,)):
    """{name: top-10 ids} of popularity and EASE (binary matrix)."""
    users, items = np.unique(X_tr[:, 0]), np.unique(X_tr[:, 1])
    B = binary(X_tr, users, items)
    out = {}
    pop = np.asarray(B.sum(axis=0)).ravel()
    out["popularity"] = rank_scores(np.tile(pop, (len(users), 1)), B, users, items)
    G = (B.T @ B).toarray()
    for lam in lambdas:
        P = np.linalg.inv(G + lam * np.eye(len(items)))
        W = -P / np.diag(P)
        np.fill_diagonal(W, 0.0)
        out[f"EASE (lambda {lam:g})"] = rank_scores(np.asarray(B @ W), B, users, items)
    return users, out


def ours(X_tr, y_tr, users, **params):
    """Top-10 ids, fit seconds (wall, CPU) and recommend seconds (wall)."""
    t, c = time.perf_counter(), time.process_time()
    rec = CategoricalRBMRecommender(random_state=0, **params)
    rec.fit(X_tr, y_tr)
    fit_s = f"{time.perf_counter() - t:.1f} (CPU {time.process_time() - c:.1f})"
    t = time.perf_counter()
    top, _ = rec.recommend(users, K)
    return top, fit_s, time.perf_counter() - t


def row(name, m, extra=""):
    print(f"| {name} | {m[0]:.4f} | {m[1]:.4f} | {extra} |", flush=True)


def header():
    print(f"load average {os.getloadavg()}")
    print("| method | NDCG@10 | P@10 | seconds |\n| --- | ---: | ---: | --- |")


def validation(only=()):
    """``only``: run the variants whose name holds one of these strings
    (and no peers)."""
    X, y = ml1m()
    X_tr, y_tr, _, _ = random_split(X, y, 0.1, 0)
    Xa, ya, Xv, yv = per_user_holdout(X_tr, y_tr)
    header()
    if only:
        users = np.unique(Xa[:, 0])
    else:
        users, base = peers(Xa, (500.0, 1000.0))
        for name, top in base.items():
            row(name, evaluate(top, users, Xv, yv))
    # the ranking model does not read the rating model: one rating epoch
    cheap = dict(max_iter=1, early_stopping=False)
    variants = [
        ("ranking='rating' (defaults)", dict(ranking="rating"), ya),
        ("choice, target = rated items (implicit)", dict(cheap), None),
        ("choice, target = liked items, 20 epochs", dict(cheap, ranking_iter=20), ya),
        ("choice, target = liked items, 30 epochs (default)", dict(cheap), ya),
        ("choice, liked, 50 epochs", dict(cheap, ranking_iter=50), ya),
        ("choice, liked, 400 hidden", dict(cheap, ranking_components=400), ya),
    ]
    for name, params, yy in variants:
        if only and not any(o in name for o in only):
            continue
        top, fit_s, rec_s = ours(Xa, yy, users, **params)
        row(name, evaluate(top, users, Xv, yv), f"fit {fit_s}")
    # the ranking model's constants (module-level in recommender/ranking.py)
    constants = [  # (name, constants, epochs, hidden units)
        ("choice, liked, keep 0.3 (dropout 0.7)", dict(KEEP=0.3), 30, 200),
        ("choice, liked, keep 0.7 (dropout 0.3)", dict(KEEP=0.7), 30, 200),
        ("choice, liked, L2 3e-3", dict(WEIGHT_DECAY=3e-3), 30, 200),
        ("choice, liked, L2 3e-2", dict(WEIGHT_DECAY=3e-2), 30, 200),
        ("choice, liked, Adam 2e-3, 40 epochs", dict(LEARNING_RATE=2e-3), 40, 200),
        ("choice, liked, 400 hidden, keep 0.3, 40 epochs", dict(KEEP=0.3), 40, 400),
    ]
    for name, const, ep, H in constants:
        if only and not any(o in name for o in only):
            continue
        saved = {k: getattr(ranking, k) for k in const}
        vars(ranking).update(const)
        try:
            params = dict(cheap, ranking_iter=ep, ranking_components=H)
            top, fit_s, _ = ours(Xa, ya, users, **params)
        finally:
            vars(ranking).update(saved)
        row(name, evaluate(top, users, Xv, yv), f"fit {fit_s}")
    # + w * log P(rating >= 4) of the (fully fitted) rating model: one fit,
    # ranked with each weight (a serving-time parameter)
    if only and not any("weight" in o for o in only):
        return
    rec = CategoricalRBMRecommender(random_state=0).fit(Xa, ya)
    for w in (0.0, 0.5, 1.0, 1.5, 2.0):
        rec.set_params(ranking_like_weight=w)
        t = time.perf_counter()
        top, _ = rec.recommend(users, K)
        row(
            f"defaults, ranking_like_weight={w:g}",
            evaluate(top, users, Xv, yv),
            f"top-10 all users {time.perf_counter() - t:.2f}",
        )


def lateral(split="user", implicit=False, weights=(0.0, 0.5, 1.0, 2.0)):
    """The lateral item-item term (``ranking_lateral_l2``) and the like
    weight beside it, on validation splits of the training data: ML-1M
    (``split``: "user", 20% of each training user's ratings; "random", a
    random 1/9 of the training ratings, the test protocol's shape) or ML-100K
    u1..u3 ("ml100k": a random fifth of each training set). One fit per
    split; the lateral weights are refitted per L2 value (they do not
    depend on the rest of the model) and the like weight is a serving-time
    parameter."""
    if split == "ml100k":
        splits = [random_split(*ml100k_split(i)[:2], 0.2, 1) for i in (1, 2, 3)]
    else:
        X, y = ml1m()
        X_tr, y_tr, _, _ = random_split(X, y, 0.1, 0)
        holdout = per_user_holdout if split == "user" else _random_ninth
        splits = [holdout(X_tr, y_tr)]
    rel = -np.inf if implicit else 4
    weights = (0.0,) if implicit else weights
    res = {}
    for Xa, ya, Xv, yv in splits:
        users, base = peers(Xa, (500.0, 1000.0, 2000.0))
        for name, top in base.items():
            res.setdefault(name, []).append(evaluate(top, users, Xv, yv, rel))
        rec = CategoricalRBMRecommender(random_state=0, ranking_lateral_l2=None)
        rec.fit(Xa, None if implicit else ya)
        V, _ = rec._ranking_inputs(vars(rec), rec.orientation)
        for l2 in (None, 500.0, 1000.0, 2000.0):
            if l2 is None:
                rec.__dict__.pop("_ranking_lateral", None)
            else:
                rec._ranking_lateral = ranking.fit_lateral(V, l2, np.float32)
            for w in weights:
                rec.set_params(ranking_like_weight=w)
                top, _ = rec.recommend(users, K)
                name = f"ours, ranking_lateral_l2={l2}, ranking_like_weight={w:g}"
                res.setdefault(name, []).append(evaluate(top, users, Xv, yv, rel))
    print(f"validation split {split}, {'implicit' if implicit else 'explicit'}")
    header()
    for name, ms in res.items():
        row(name, np.mean(ms, axis=0))


def _random_ninth(X, y):
    return random_split(X, y, 1 / 9, 1)


def test():
    X, y = ml1m()
    X_tr, y_tr, X_te, y_te = random_split(X, y, 0.1, 0)
    header()
    users, base = peers(X_tr)
    for name, top in base.items():
        row(name, evaluate(top, users, X_te, y_te))
    top, fit_s, rec_s = ours(X_tr, y_tr, users)
    row(
        "CategoricalRBMRecommender defaults",
        evaluate(top, users, X_te, y_te),
        f"fit {fit_s}, top-10 all users {rec_s:.2f}",
    )
    print("\nimplicit feedback (ratings dropped; relevant = every test item)")
    header()
    for name, top in base.items():
        row(name, evaluate(top, users, X_te, y_te, rel_min=-np.inf))
    top, fit_s, rec_s = ours(X_tr, None, users)
    row(
        "CategoricalRBMRecommender, fit(pairs)",
        evaluate(top, users, X_te, y_te, rel_min=-np.inf),
        f"fit {fit_s}, top-10 all users {rec_s:.2f}",
    )


def timing():
    """The ranking model alone (an implicit fit: no rating model) on the
    ML-1M training split: wall and CPU seconds, and top-10 for all users."""
    X, y = ml1m()
    X_tr, _, _, _ = random_split(X, y, 0.1, 0)
    print(f"load average {os.getloadavg()}")
    _, fit_s, rec_s = ours(X_tr, None, np.unique(X_tr[:, 0]))
    print(f"ranking model fit {fit_s} s; top-10 for all users {rec_s:.2f} s")


def ml100k():
    header()
    res = {}
    for i in range(1, 6):
        X_tr, y_tr, X_te, y_te = ml100k_split(i)
        # EASE's lambda on a validation split of this training set
        Xa, ya, Xv, yv = per_user_holdout(X_tr, y_tr)
        u_a, val = peers(Xa, (50.0, 200.0, 500.0))
        best = max(
            (500.0, 200.0, 50.0),
            key=lambda lam: evaluate(val[f"EASE (lambda {lam:g})"], u_a, Xv, yv)[0],
        )
        users, base = peers(X_tr, (best,))
        base["EASE (lambda on validation)"] = base.pop(f"EASE (lambda {best:g})")
        base["ours (defaults)"] = ours(X_tr, y_tr, users)[0]
        for name, top in base.items():
            m = evaluate(top, users, X_te, y_te)
            res.setdefault(name, []).append(m)
            row(f"u{i} {name}", m, f"lambda {best:g}" if "EASE" in name else "")
    for name, ms in res.items():
        row(f"mean {name}", np.mean(ms, axis=0))


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "val"
    with threadpool_limits(1):
        if what == "val":
            validation(sys.argv[2:])
        elif what == "lateral":
            w = [float(a[2:]) for a in sys.argv[3:] if a.startswith("w=")]
            lateral(sys.argv[2], "implicit" in sys.argv[3:], *([w] if w else []))
        else:
            {"test": test, "ml100k": ml100k, "time": timing}[what]()
