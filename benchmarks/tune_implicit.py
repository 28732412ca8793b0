"""Implicit-feedback ranking on MovieLens 1M validation splits (issue 14):
the choice RBM's training and the ways of adding it to the lateral (EASE)
term, on the training part of the 90/10 split only (test never read).

    python benchmarks/tune_implicit.py random base:30:constant lin:30:linear
    python benchmarks/tune_implicit.py user base:30:constant
    python benchmarks/tune_implicit.py random ens3:30:constant:200:3
    python benchmarks/tune_implicit.py combine
    python benchmarks/tune_implicit.py dlae
    python benchmarks/tune_implicit.py splits [ml1m|ml100k]

A variant ``NAME:EPOCHS:SCHEDULE[:HIDDEN[:SEEDS]]`` trains the choice model
(``recommender/ranking.py``) for EPOCHS with the Adam step "constant" or
"linear" (decayed to 0), HIDDEN units (200), and averages the
log-probabilities of SEEDS models (1); it prints NDCG@10 and P@10 of the RBM
alone and with 5 and 8 times the lateral term (L2 1000). ``combine`` fits
the default choice model once per split ("random": a random 1/9 of the
training ratings held out; "user": 20% of each user's) and prints other
ways of adding the two experts. ``dlae`` refits the lateral term with a
per-item ridge ``l2 + alpha * G_jj`` (``G`` the item-item co-occurrence
matrix: the zero-diagonal solution of Steck's denoising linear autoencoder,
EDLAE, with dropout ``alpha / (1 + alpha)``; ``alpha = 0`` is EASE) and
prints it alone and added to the default choice RBM, on both splits.
``splits`` repeats the comparison over several random holdouts, from which
the implicit-feedback lateral settings were chosen: MovieLens 1M, a random
1/9 of the training ratings with seeds 1-4 (seed 1 is the "random" split
above); MovieLens 100K, a random fifth of the u1..u3 training sets. Every
held-out item is relevant; one BLAS thread for the RBM. Results:
``benchmarks/README.md``, "Lateral item-item term".
"""

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import ml1m, ml100k_split, random_split
from tune_ranking import _random_ninth, binary, evaluate, per_user_holdout, rank_scores

from sklearn_rbm.recommender import ranking
from sklearn_rbm.training.state import Schedule


def split_data(split):
    X, y = ml1m()
    X_tr, y_tr, _, _ = random_split(X, y, 0.1, 0)
    holdout = per_user_holdout if split == "user" else _random_ninth
    Xa, _, Xv, yv = holdout(X_tr, y_tr)
    users, items = np.unique(Xa[:, 0]), np.unique(Xa[:, 1])
    V = binary(Xa, users, items).astype(np.float32).tocsr()

    def ndcg(S):
        top = rank_scores(S, V, users, items)
        return round(evaluate(top, users, Xv, yv, -np.inf)[0], 4)

    return V, ndcg


def lateral_scores(V, l2):
    lat = ranking.fit_lateral(V, l2, np.float32)
    E = np.zeros(V.shape)
    E[:, lat["items"]] = np.asarray(V[:, lat["items"]] @ lat["weights"])
    return E


def choice_log_proba(V, epochs, schedule="constant", hidden=200, seed=0):
    def make(n):
        return Schedule(
            learning_rate=ranking.LEARNING_RATE,
            momentum_schedule="constant",
            max_iter=max(int(n), 1),
            learning_rate_schedule=schedule,
        )

    saved, ranking._schedule = ranking._schedule, make
    try:
        with threadpool_limits(1):
            rng = np.random.default_rng(seed)
            st = ranking.fit_choice(V, V, hidden, epochs, np.float32, rng)
    finally:
        ranking._schedule = saved
    return ranking.log_proba(st.params, V).astype(np.float64)


def variants(split, specs):
    V, ndcg = split_data(split)
    E = lateral_scores(V, 1000.0)
    print(f"{split} split; EASE (lambda 1000) {ndcg(E)}", flush=True)
    for spec in specs:
        name, epochs, schedule, *rest = spec.split(":")
        hidden = int(rest[0]) if rest else 200
        seeds = int(rest[1]) if len(rest) > 1 else 1
        t = time.perf_counter()
        L = np.mean(
            [
                choice_log_proba(V, int(epochs), schedule, hidden, s)
                for s in range(seeds)
            ],
            axis=0,
        )
        print(
            f"{spec}: fit {time.perf_counter() - t:.1f}s, alone {ndcg(L)}, "
            f"+5 x lateral {ndcg(L + 5 * E)}, +8 x lateral {ndcg(L + 8 * E)}",
            flush=True,
        )


def combine():
    for split in ("random", "user"):
        V, ndcg = split_data(split)
        L = choice_log_proba(V, 30)
        n = np.asarray(V.sum(axis=1)).ravel()[:, None]
        res = {}
        for l2 in (500.0, 1000.0, 2000.0):
            E = lateral_scores(V, l2)
            res[f"EASE {l2:g}"] = ndcg(E)
            for w in (5, 8, 12):
                res[f"RBM + {w} x lateral, L2 {l2:g}"] = ndcg(L + w * E)
        E = lateral_scores(V, 1000.0)
        for w in (5, 10, 20):
            res[f"RBM + {w} x lateral x sqrt(mean n / n)"] = ndcg(
                L + w * E * np.sqrt(n.mean() / n)
            )
        for w in (3, 5, 10):
            res[f"RBM + {w} x lateral x n / mean n"] = ndcg(L + w * E * n / n.mean())
        Lz = (L - L.mean(1, keepdims=True)) / L.std(1, keepdims=True)
        Ez = (E - E.mean(1, keepdims=True)) / (E.std(1, keepdims=True) + 1e-12)
        for a in (0.3, 0.5, 0.7):
            res[f"z-scores, {a} x RBM + {1 - a:.1f} x lateral"] = ndcg(
                a * Lz + (1 - a) * Ez
            )
        for w in (0.5, 1, 2):
            res[f"log(P + {w} x max(lateral, 0) / n)"] = ndcg(
                np.log(np.exp(L) + w * np.maximum(E, 0) / n)
            )
        print(f"{split} split", flush=True)
        for k, v in res.items():
            print(f"  {k}: {v}", flush=True)


def dlae_scores(V, l2, alpha):
    """EDLAE's lateral scores: EASE with the ridge ``l2 + alpha * G_jj``."""
    B = sp.csr_matrix(V, dtype=np.float64)
    G = (B.T @ B).toarray()
    G[np.diag_indices_from(G)] *= 1.0 + alpha
    G[np.diag_indices_from(G)] += l2
    P = np.linalg.inv(G)
    P /= -np.diag(P).copy()
    np.fill_diagonal(P, 0.0)
    return np.asarray(V @ P)


def dlae():
    for split in ("random", "user"):
        V, ndcg = split_data(split)
        L = choice_log_proba(V, 30)
        for l2 in (250.0, 500.0, 1000.0):
            for alpha in (0.0, 0.1, 0.25, 0.5, 1.0):
                E = dlae_scores(V, l2, alpha)
                print(
                    f"{split} split, L2 {l2:g}, alpha {alpha:g}: alone {ndcg(E)}, "
                    f"RBM + 5 x {ndcg(L + 5 * E)}, RBM + 8 x {ndcg(L + 8 * E)}",
                    flush=True,
                )


#: (L2, alpha) of the lateral term compared by ``splits``
SPLIT_GRID = (
    (500.0, 0.0),
    (1000.0, 0.0),
    (2000.0, 0.0),
    (250.0, 1.0),
    (250.0, 2.0),
    (500.0, 0.25),
    (500.0, 0.5),
    (500.0, 1.0),
    (500.0, 2.0),
    (1000.0, 0.5),
    (1000.0, 1.0),
)


def _holdouts(dataset):
    if dataset == "ml100k":
        for i in (1, 2, 3):
            yield f"u{i}", random_split(*ml100k_split(i)[:2], 0.2, 1)
        return
    X, y = ml1m()
    X_tr, y_tr, _, _ = random_split(X, y, 0.1, 0)
    for seed in (1, 2, 3, 4):
        yield f"seed {seed}", random_split(X_tr, y_tr, 1 / 9, seed)


def splits(dataset="ml1m"):
    """NDCG@10 of each lateral setting alone and added to the choice RBM
    (weights 5 to 30) on several random holdouts, and the means."""
    weights = (5, 8, 12, 20, 30)
    table = {}
    for name, (Xa, _, Xv, yv) in _holdouts(dataset):
        users, items = np.unique(Xa[:, 0]), np.unique(Xa[:, 1])
        V = binary(Xa, users, items).astype(np.float32).tocsr()

        def ndcg(S, V=V, users=users, items=items, Xv=Xv, yv=yv):
            top = rank_scores(S, V, users, items)
            return evaluate(top, users, Xv, yv, -np.inf)[0]

        L = choice_log_proba(V, 30)
        table.setdefault("choice RBM alone", []).append(ndcg(L))
        with threadpool_limits(1):
            for l2, alpha in SPLIT_GRID:
                E = dlae_scores(V, l2, alpha)
                key = f"L2 {l2:g}, alpha {alpha:g}"
                table.setdefault(f"{key}: alone", []).append(ndcg(E))
                for w in weights:
                    table.setdefault(f"{key}: RBM + {w} x", []).append(ndcg(L + w * E))
        print(f"{name} done", flush=True)
    names = (
        [n for n, _ in _holdouts(dataset)]
        if dataset == "ml100k"
        else [f"seed {s}" for s in (1, 2, 3, 4)]
    )
    print(f"\n| setting | {' | '.join(names)} | mean |")
    print("| --- |" + " ---: |" * (len(names) + 1))
    for key, vals in table.items():
        cells = " | ".join(f"{v:.4f}" for v in vals)
        print(f"| {key} | {cells} | {np.mean(vals):.4f} |")


if __name__ == "__main__":
    if sys.argv[1] == "combine":
        combine()
    elif sys.argv[1] == "dlae":
        dlae()
    elif sys.argv[1] == "splits":
        splits(*sys.argv[2:])
    else:
        variants(sys.argv[1], sys.argv[2:])
