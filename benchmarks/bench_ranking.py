"""Top-10 ranking quality of CategoricalRBMRecommender against baselines.

Protocol (issue 14): relevant items are the test items rated 4 or 5 (test
items not in the training catalogue are left out: no model can rank them);
every item the user has not rated in training is ranked; the top 10 of every
training user are computed (timed), and P@10, R@10, NDCG@10 are averaged
over the test users with at least one relevant item (``sklearn_rbm.metrics``);
coverage is the fraction of the training catalogue in any top-10 list.

Data: MovieLens 100K on the official u1..u5 splits (mean over the five) and
MovieLens 1M on the random 90/10 split of bench_recommender.py (seed 0).

    python benchmarks/bench_ranking.py                 # ML-100K u1..u5, ML-1M
    python benchmarks/bench_ranking.py --quick         # u1 only
    python benchmarks/bench_ranking.py --datasets ml1m --mode implicit

``--mode implicit`` (``both``: after the explicit one) is the implicit-feedback
section, on the same splits: the ratings are dropped (every training pair is
a positive, every test item of a user is relevant), and ours is fitted on the
pairs alone (``fit(X)``).

Models: ours, ``CategoricalRBMRecommender(random_state=0)`` (defaults) through
``recommend()``; popularity (number of training ratings); item-kNN (cosine on
the binary matrix, neighbourhood size chosen on validation); EASE (Steck
2019, binary matrix, lambda chosen on validation); ``implicit``'s ALS and
BPR (factors, regularisation and alpha of ALS, factors and learning rate of
BPR, chosen on validation; one thread).
Every baseline hyperparameter is chosen by NDCG@10 on a validation split of
the training data (``UserHoldoutSplit``, 10% of each training user's
ratings, seed 0, same relevance rule), then the model is refitted on all the
training data and tested once. Everything runs on one BLAS thread.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import ml1m, ml100k_split, random_split
from _ranking_baselines import EASE, ImplicitModel, ItemKNN, Popularity

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.metrics import (
    catalogue_coverage,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from sklearn_rbm.model_selection import UserHoldoutSplit

K = 10
THRESHOLD = 4.0
ML1M_SEED = 0
EASE_GRID = [20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]
KNN_GRID = [20, 50, 100, 200, None]  # None: every item is a neighbour
ALS_GRID = [
    {"factors": f, "regularization": r, "alpha": a}
    for f in (8, 16, 32, 64, 128)
    for r in (0.01, 1.0)
    for a in (1.0, 10.0)
]
BPR_GRID = [
    {"factors": f, "learning_rate": lr} for f in (128, 256) for lr in (0.01, 0.05)
]


class Split:
    """Training pairs as a binary CSR matrix, and the relevant test sets."""

    def __init__(self, X_train, y_train, X_test, y_test, threshold):
        self.X_train, self.y_train = X_train, y_train
        self.users, ucode = np.unique(X_train[:, 0], return_inverse=True)
        self.items, icode = np.unique(X_train[:, 1], return_inverse=True)
        R = sp.csr_matrix(
            (np.ones(len(ucode)), (ucode, icode)),
            shape=(len(self.users), len(self.items)),
        )
        R.data[:] = 1.0  # a repeated pair is one positive
        self.R = R
        keep = np.isin(X_test[:, 1], self.items) & np.isin(X_test[:, 0], self.users)
        if threshold is not None:
            keep &= y_test >= threshold
        rel = {}
        for u, i in X_test[keep].tolist():
            rel.setdefault(u, set()).add(i)
        self.relevant = rel

    def evaluate(self, top_ids):
        """Metrics of ``top_ids`` (one row per ``self.users``)."""
        rows = np.flatnonzero([u in self.relevant for u in self.users.tolist()])
        rec = top_ids[rows]
        rel = [self.relevant[u] for u in self.users[rows].tolist()]
        return {
            "P@10": precision_at_k(rec, rel, K),
            "R@10": recall_at_k(rec, rel, K),
            "NDCG@10": ndcg_at_k(rec, rel, K),
            "coverage": catalogue_coverage(top_ids, self.items, K),
        }


def top_k(model, split, chunk=1024):
    """Top-K item ids of every training user, training items excluded."""
    n = len(split.users)
    out = np.empty((n, K), dtype=split.items.dtype)
    for s in range(0, n, chunk):
        users = np.arange(s, min(s + chunk, n))
        S = np.array(model.scores(users), dtype=float)
        seen = split.R[users]
        S[
            np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices
        ] = -np.inf
        top = np.argpartition(-S, K - 1, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(S, top, axis=1), axis=1, kind="stable")
        out[users] = split.items[np.take_along_axis(top, order, axis=1)]
    return out


def run_baseline(model, split):
    t0 = time.perf_counter()
    model.fit(split.R)
    t1 = time.perf_counter()
    top = top_k(model, split)
    t2 = time.perf_counter()
    return dict(split.evaluate(top), fit=t1 - t0, top=t2 - t1)


def validation_split(X, y, implicit):
    cv = UserHoldoutSplit(n_splits=1, test_size=0.1, random_state=0)
    tr, va = next(cv.split(X))
    return Split(X[tr], y[tr], X[va], y[va], None if implicit else THRESHOLD)


def choose(make, grid, val):
    """The grid value with the best validation NDCG@10, and all the scores."""
    scores = [run_baseline(make(g), val)["NDCG@10"] for g in grid]
    return grid[int(np.argmax(scores))], scores


def run_ours(split, implicit, seeds=1):
    """Our defaults with ``random_state`` 0, 1, ..., ``seeds - 1`` (the
    default ``random_state=None`` gives a user any of them): the mean of each
    metric, and the NDCG@10 of every seed under ``"NDCG@10 seeds"``."""
    runs = []
    for seed in range(seeds):
        est = CategoricalRBMRecommender(random_state=seed)
        t0 = time.perf_counter()
        try:
            if implicit:
                est.fit(split.X_train)
            else:
                est.fit(split.X_train, split.y_train)
        except (TypeError, ValueError) as exc:
            print(f"  ours: fit failed ({type(exc).__name__}: {exc})", flush=True)
            return None
        t1 = time.perf_counter()
        top = est.recommend(split.users, n_items=K)
        top = top[0] if isinstance(top, tuple) else top
        t2 = time.perf_counter()
        runs.append(dict(split.evaluate(np.asarray(top)), fit=t1 - t0, top=t2 - t1))
    out = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    out["NDCG@10 seeds"] = [r["NDCG@10"] for r in runs]
    return out


def run_split(X_train, y_train, X_test, y_test, implicit, peers, label, seeds=1):
    thr = None if implicit else THRESHOLD
    split = Split(X_train, y_train, X_test, y_test, thr)
    val = validation_split(X_train, y_train, implicit)
    res = {}
    ours = run_ours(split, implicit, seeds)
    if ours is not None:
        nd = ours.pop("NDCG@10 seeds")
        if seeds > 1:
            se = np.std(nd, ddof=1) / np.sqrt(len(nd))
            print(
                f"  {label} ours NDCG@10 per seed {np.round(nd, 4)}, mean "
                f"{np.mean(nd):.4f} (se {se:.4f})",
                flush=True,
            )
        name = "ours, defaults (`recommend()`" + (
            f", mean of seeds 0-{seeds - 1})" if seeds > 1 else ")"
        )
        res[name] = ours
    res["popularity"] = run_baseline(Popularity(), split)
    k, s = choose(lambda g: ItemKNN(g), KNN_GRID, val)
    print(f"  {label} item-kNN neighbours {k} (validation NDCG {np.round(s, 4)})")
    res[f"item-kNN, cosine ({k or 'all'} neighbours)"] = run_baseline(ItemKNN(k), split)
    lam, s = choose(lambda g: EASE(g), EASE_GRID, val)
    print(f"  {label} EASE lambda {lam:g} (validation NDCG {np.round(s, 4)})")
    res[f"EASE (lambda {lam:g})"] = run_baseline(EASE(lam), split)
    if peers:
        g, s = choose(lambda g: ImplicitModel("als", **g), ALS_GRID, val)
        print(f"  {label} implicit ALS {g} (validation NDCG {np.round(s, 4)})")
        name = f"{g['factors']}, reg {g['regularization']}, alpha {g['alpha']}"
        res[f"implicit ALS ({name})"] = run_baseline(ImplicitModel("als", **g), split)
        g, s = choose(lambda g: ImplicitModel("bpr", **g), BPR_GRID, val)
        print(f"  {label} implicit BPR {g} (validation NDCG {np.round(s, 4)})")
        res[f"implicit BPR ({g['factors']}, lr {g['learning_rate']})"] = run_baseline(
            ImplicitModel("bpr", **g), split
        )
    print(
        f"  {label}: "
        + ", ".join(
            f"{name.split(' (')[0]} {r['NDCG@10']:.4f}" for name, r in res.items()
        ),
        flush=True,
    )
    return res


def table(title, runs):
    """Markdown table of the mean over ``runs`` (a list of per-split dicts);
    the model names may differ between splits (chosen hyperparameters)."""
    names = list(runs[0])
    base = {n.split(" (")[0]: n for n in names}
    cols = ["P@10", "R@10", "NDCG@10", "coverage", "fit", "top"]

    def mean(i, c):
        return float(np.mean([list(r.values())[i][c] for r in runs]))

    pop = names.index(base["popularity"])
    ease = names.index(base["EASE"])
    print(f"\n### {title}\n")
    print(
        "| method | P@10 | R@10 | NDCG@10 | coverage | fit s | top-10 s "
        "| NDCG / popularity | NDCG / EASE |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, name in enumerate(names):
        if len(runs) > 1:  # hyperparameters may differ by split
            name = name.split(" (")[0] + (
                " (`recommend()`)" if name[:4] == "ours" else ""
            )
        v = [mean(i, c) for c in cols]
        print(
            f"| {name} | {v[0]:.4f} | {v[1]:.4f} | {v[2]:.4f} | {v[3]:.3f} | "
            f"{v[4]:.1f} | {v[5]:.2f} | {v[2] / mean(pop, 'NDCG@10'):.2f} | "
            f"{v[2] / mean(ease, 'NDCG@10'):.2f} |"
        )
    if len(runs) > 1:
        nd = [[list(r.values())[i]["NDCG@10"] for r in runs] for i in range(len(names))]
        print(
            "\nNDCG@10 per split: "
            + "; ".join(
                f"{n.split(' (')[0]} " + " ".join(f"{x:.4f}" for x in v)
                for n, v in zip(names, nd)
            )
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="ML-100K u1 only")
    p.add_argument(
        "--datasets", nargs="+", choices=["ml100k", "ml1m"], default=["ml100k", "ml1m"]
    )
    p.add_argument(
        "--mode",
        choices=["explicit", "implicit", "both"],
        default="explicit",
        help="explicit ratings (relevant: rated >= 4), implicit (ratings dropped) "
        "or both sections",
    )
    p.add_argument("--no-peers", action="store_true", help="skip implicit's ALS/BPR")
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="fit ours with random_state 0..SEEDS-1 and report the mean",
    )
    args = p.parse_args(argv)
    peers = not args.no_peers
    if peers:
        try:
            import implicit
        except ImportError:
            print("implicit is not installed (pip install implicit): no ALS/BPR")
            peers = False
    datasets = ["ml100k"] if args.quick else args.datasets
    modes = {"explicit": [False], "implicit": [True], "both": [False, True]}[args.mode]
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {os.getloadavg()}"
    )
    with threadpool_limits(1):
        for implicit in modes:
            kind = "implicit (ratings dropped)" if implicit else "explicit"
            rel = "every test item" if implicit else "test items rated >= 4"
            if "ml100k" in datasets:
                runs = []
                for i in [1] if args.quick else range(1, 6):
                    Xtr, ytr, Xte, yte = ml100k_split(i)
                    runs.append(
                        run_split(
                            Xtr, ytr, Xte, yte, implicit, peers, f"u{i}", args.seeds
                        )
                    )
                splits = "u1" if args.quick else "u1..u5, mean"
                table(f"ML-100K {splits}, {kind}; relevant: {rel}", runs)
            if "ml1m" in datasets:
                X, y = ml1m()
                Xtr, ytr, Xte, yte = random_split(X, y, 0.1, ML1M_SEED)
                runs = [
                    run_split(Xtr, ytr, Xte, yte, implicit, peers, "ml1m", args.seeds)
                ]
                table(f"ML-1M 90/10 (seed 0), {kind}; relevant: {rel}", runs)
    print(f"\nload average {os.getloadavg()}")


if __name__ == "__main__":
    main()
