"""CategoricalRBMRecommender against scikit-surprise on MovieLens.

MovieLens 100K on the official u1..u5 splits (per split and mean) and
MovieLens 1M on a random 90/10 split (seed 0). Prints RMSE, MAE, fit and
predict seconds as markdown tables.

    python benchmarks/bench_recommender.py            # full run
    python benchmarks/bench_recommender.py --quick    # u1 only, no ML-1M
    python benchmarks/bench_recommender.py --no-surprise

``--no-surprise`` (or a missing scikit-surprise) replaces the surprise models
with this script's own numpy bias baseline and biased matrix factorisation
(minibatch SGD), labelled as such. SVD++ on ML-1M takes a long time in
surprise (single-threaded): it runs only with ``--svdpp-1m``.

The RBM hyperparameters below were chosen with ``tune_recommender.py`` on
validation splits of the *training* data (never on test ratings).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import VotingRegressor
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import ml1m, ml100k_split, random_split

from sklearn_rbm import CategoricalRBMRecommender

ML1M_SEED = 0

# Chosen on 10% validation splits of u1.base .. u5.base (tune_recommender.py
# ml100k; mean validation RMSE over the five): 0.9157 (the previous settings,
# batch 50, learning rate 0.1 and no visible-bias decay: 0.9185).
RBM_ML100K = {
    "n_components": 100,
    "orientation": "item",
    "batch_size": 100,
    "learning_rate": 0.2,
    "momentum": 0.9,
    "max_iter": 20,
    "cd_steps": 1,
    "weight_decay": 0.003,
    "visible_bias_decay": 0.03,
    "learning_rate_schedule": "linear",
    "negative_visible": "mean_field",
    "n_iter_no_change": 20,
    "fine_tune_iter": 0,  # CD only (the default fine-tunes for 10 epochs)
    "random_state": 0,
}
# The user-based RBM of the I+U average (alone 0.9491; averaged with the I-RBM
# above, weights 0.65 / 0.35: 0.9061 on the same five validation splits).
RBM_ML100K_USER = dict(
    RBM_ML100K, orientation="user", batch_size=200, learning_rate=0.4
)
# Chosen on a 10% validation split of the ML-1M training part
# (tune_recommender.py ml1m), within the one-minute fit budget: validation
# RMSE 0.8637 (the previous settings, batch 100, learning rate 0.1 and no
# visible-bias decay: 0.8668; 200 units: 0.8629 in 45 s CPU).
RBM_ML1M = {
    "n_components": 150,
    "orientation": "item",
    "batch_size": 200,
    "learning_rate": 0.2,
    "momentum": 0.9,
    "max_iter": 20,
    "cd_steps": 1,
    "weight_decay": 0.001,
    "visible_bias_decay": 0.03,
    "learning_rate_schedule": "linear",
    "negative_visible": "mean_field",
    "n_iter_no_change": 20,
    "fine_tune_iter": 0,  # CD only (the default fine-tunes for 10 epochs)
    "random_state": 0,
}
# The U-RBM of the I+U average (alone 0.8800; it overfits after about 12
# epochs). Averaged with the I-RBM above, weights 0.65 / 0.35: validation RMSE
# 0.8535, 34 + 19 s CPU.
RBM_ML1M_USER = dict(RBM_ML1M, orientation="user", max_iter=12)
# Discriminative fine-tuning (fine_tune_iter): half of the CD epochs are
# spent on training the mean-field predictor (fine_tune_alpha at its default,
# 25). Chosen with tune_blend.py on the same validation splits, within the
# fit budgets. ML-100K (mean of the five): I-RBM 0.9055 (CD only 0.9157),
# U-RBM 0.9303 (0.9491), average 0.8963 (0.9061).
RBM_ML100K_FT = dict(
    RBM_ML100K, max_iter=10, fine_tune_iter=10, fine_tune_learning_rate=3e-3
)
RBM_ML100K_USER_FT = dict(
    RBM_ML100K_USER, max_iter=10, fine_tune_iter=10, fine_tune_learning_rate=3e-3
)
# ML-1M: I-RBM 0.8508 (CD only 0.8637), U-RBM 0.8686 (0.8800), average
# 0.8421 (0.8535), 34 + 16 s CPU on the validation training set. A U-RBM with
# 8 CD epochs gives 0.8411 at 1.5 s more, too close to the one-minute budget
# on one core; 8 CD epochs for the I-RBM and 6 for the U-RBM: 0.8443.
RBM_ML1M_FT = dict(
    RBM_ML1M, max_iter=10, fine_tune_iter=10, fine_tune_learning_rate=1.5e-3
)
RBM_ML1M_USER_FT = dict(
    RBM_ML1M_USER, max_iter=6, fine_tune_iter=4, fine_tune_learning_rate=2e-3
)
# Weight of the I-RBM in the I+U average (0.6 to 0.7 are within 0.0005 of
# each other on both validation sets, with and without fine-tuning).
BLEND_WEIGHT = 0.65


def rbm_average(item_params, user_params, weight=BLEND_WEIGHT, n_jobs=None):
    """Weighted average of an I-RBM's and a U-RBM's predicted ratings
    (``n_jobs=2``: the two fits run in parallel, one core each)."""
    return VotingRegressor(
        [
            ("item", CategoricalRBMRecommender(**item_params)),
            ("user", CategoricalRBMRecommender(**user_params)),
        ],
        weights=[weight, 1.0 - weight],
        n_jobs=n_jobs,
    )


# ------------------------------------------------------------- own baselines
class BiasBaseline:
    """``mu + b_u + b_i`` by alternating regularised least squares (numpy)."""

    def __init__(self, reg_u=15.0, reg_i=10.0, n_iter=10):
        self.reg_u, self.reg_i, self.n_iter = reg_u, reg_i, n_iter

    def fit(self, X, y):
        self.users_, u = np.unique(X[:, 0], return_inverse=True)
        self.items_, i = np.unique(X[:, 1], return_inverse=True)
        self.mu_ = y.mean()
        bu, bi = np.zeros(len(self.users_)), np.zeros(len(self.items_))
        nu, ni = np.bincount(u), np.bincount(i)
        for _ in range(self.n_iter):
            bi = np.bincount(i, y - self.mu_ - bu[u]) / (ni + self.reg_i)
            bu = np.bincount(u, y - self.mu_ - bi[i]) / (nu + self.reg_u)
        self.bu_, self.bi_ = bu, bi
        return self

    def _codes(self, ids, table):
        pos = np.clip(np.searchsorted(table, ids), 0, len(table) - 1)
        return np.where(table[pos] == ids, pos, -1)

    def _biases(self, X):
        """Global mean plus the known user and item biases, and the codes."""
        u, i = self._codes(X[:, 0], self.users_), self._codes(X[:, 1], self.items_)
        p = (
            self.mu_
            + np.where(u >= 0, self.bu_[u], 0)
            + np.where(i >= 0, self.bi_[i], 0)
        )
        return p, u, i

    def predict(self, X):
        return np.clip(self._biases(X)[0], 1, 5)


class BiasedMF(BiasBaseline):
    """Biased matrix factorisation (Funk/Koren SVD) by minibatch SGD (numpy)."""

    def __init__(
        self, n_factors=100, n_epochs=20, lr=0.01, reg=0.05, batch=256, seed=0
    ):
        self.n_factors, self.n_epochs, self.lr, self.reg = n_factors, n_epochs, lr, reg
        self.batch, self.seed = batch, seed

    def fit(self, X, y):
        rng = np.random.default_rng(self.seed)
        self.users_, u = np.unique(X[:, 0], return_inverse=True)
        self.items_, i = np.unique(X[:, 1], return_inverse=True)
        self.mu_ = y.mean()
        f = self.n_factors
        P = rng.normal(0, 0.1, (len(self.users_), f))
        Q = rng.normal(0, 0.1, (len(self.items_), f))
        bu, bi = np.zeros(len(self.users_)), np.zeros(len(self.items_))
        lr, reg = self.lr, self.reg
        for _ in range(self.n_epochs):
            order = rng.permutation(len(y))
            for s in range(0, len(y), self.batch):
                b = order[s : s + self.batch]
                ub, ib = u[b], i[b]
                e = y[b] - (self.mu_ + bu[ub] + bi[ib] + np.sum(P[ub] * Q[ib], axis=1))
                pu, qi = P[ub], Q[ib]
                np.add.at(bu, ub, lr * (e - reg * bu[ub]))
                np.add.at(bi, ib, lr * (e - reg * bi[ib]))
                np.add.at(P, ub, lr * (e[:, None] * qi - reg * pu))
                np.add.at(Q, ib, lr * (e[:, None] * pu - reg * qi))
        self.bu_, self.bi_, self.P_, self.Q_ = bu, bi, P, Q
        return self

    def predict(self, X):
        p, u, i = self._biases(X)
        ok = (u >= 0) & (i >= 0)
        p[ok] += np.sum(self.P_[u[ok]] * self.Q_[i[ok]], axis=1)
        return np.clip(p, 1, 5)


class SurpriseModel:
    """Adapter: a surprise algorithm behind fit(X, y) / predict(X)."""

    def __init__(self, algo):
        self.algo = algo

    def fit(self, X, y):
        import pandas as pd
        from surprise import Dataset, Reader

        df = pd.DataFrame({"u": X[:, 0], "i": X[:, 1], "r": y})
        data = Dataset.load_from_df(df, Reader(rating_scale=(1, 5)))
        self.algo.fit(data.build_full_trainset())
        return self

    def predict(self, X):
        return np.array([self.algo.predict(u, i).est for u, i in X.tolist()])


def models(dataset, use_surprise, svdpp_1m):
    small = dataset == "ml100k"
    # rating prediction only: without the ranking model of recommend()
    # (predict does not use it; bench_ranking.py times the default fit)
    rating = {"ranking": "rating"}
    rbm = dict(RBM_ML100K if small else RBM_ML1M, **rating)
    rbm_ft = dict(RBM_ML100K_FT if small else RBM_ML1M_FT, **rating)
    rbm_u_ft = dict(RBM_ML100K_USER_FT if small else RBM_ML1M_USER_FT, **rating)
    out = {
        "CategoricalRBMRecommender (I-RBM, CD only)": (
            lambda: CategoricalRBMRecommender(**rbm)
        ),
        "I-RBM, CD + fine-tuning": lambda: CategoricalRBMRecommender(**rbm_ft),
        f"average of fine-tuned I-RBM and U-RBM ({BLEND_WEIGHT:g} / "
        f"{1 - BLEND_WEIGHT:g})": lambda: rbm_average(rbm_ft, rbm_u_ft),
        # the same models (identical predictions); the fit CPU of the worker
        # processes is not measured, so that column shows "-"
        "the same average, both fits in parallel (n_jobs=2)": (
            lambda: rbm_average(rbm_ft, rbm_u_ft, n_jobs=2)
        ),
    }
    if use_surprise:
        from surprise import SVD, BaselineOnly, SVDpp

        out["surprise BaselineOnly"] = lambda: SurpriseModel(
            BaselineOnly(verbose=False)
        )
        out["surprise SVD"] = lambda: SurpriseModel(SVD(random_state=0))
        if dataset == "ml100k" or svdpp_1m:
            out["surprise SVD++"] = lambda: SurpriseModel(SVDpp(random_state=0))
    else:
        out["numpy bias baseline (own)"] = BiasBaseline
        out["numpy biased MF SGD (own)"] = BiasedMF
    return out


def evaluate(make, Xtr, ytr, Xte, yte):
    est = make()
    c0, t0 = time.process_time(), time.perf_counter()
    est.fit(Xtr, ytr)
    c1, t1 = time.process_time(), time.perf_counter()
    pred = est.predict(Xte)
    t2 = time.perf_counter()
    err = pred - yte
    parallel = getattr(est, "n_jobs", None) not in (None, 1)
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "fit": t1 - t0,
        "fit_cpu": float("nan") if parallel else c1 - c0,
        "predict": t2 - t1,
    }


def table(title, rows):
    print(f"\n### {title}\n")
    print("| model | RMSE | MAE | fit (s) | fit CPU (s) | predict (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        cpu = "-" if np.isnan(r["fit_cpu"]) else f"{r['fit_cpu']:.2f}"
        print(
            f"| {name} | {r['rmse']:.4f} | {r['mae']:.4f} | {r['fit']:.2f} | "
            f"{cpu} | {r['predict']:.2f} |"
        )
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="u1 only; skip ML-1M")
    ap.add_argument("--no-surprise", action="store_true", help="own numpy baselines")
    ap.add_argument("--svdpp-1m", action="store_true", help="also SVD++ on ML-1M")
    ap.add_argument("--skip-100k", action="store_true")
    ap.add_argument("--skip-1m", action="store_true")
    args = ap.parse_args(argv)
    use_surprise = not args.no_surprise
    if use_surprise:
        try:
            import surprise  # noqa: F401
        except ImportError:
            print("scikit-surprise is not installed: using the own numpy baselines.")
            use_surprise = False
    print(f"numpy {np.__version__}; 2-core machine; BLAS threads limited to 1")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with threadpool_limits(limits=1, user_api="blas"):
        if not args.skip_100k:
            splits = [1] if args.quick else [1, 2, 3, 4, 5]
            results = {}
            for i in splits:
                Xtr, ytr, Xte, yte = ml100k_split(i)
                per = {}
                for name, make in models("ml100k", use_surprise, False).items():
                    per[name] = evaluate(make, Xtr, ytr, Xte, yte)
                    results.setdefault(name, []).append(per[name])
                table(f"MovieLens 100K, split u{i}", per)
            mean = {
                name: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
                for name, rs in results.items()
            }
            table(f"MovieLens 100K, mean over u{splits[0]}..u{splits[-1]}", mean)
            print("\nRMSE per split:")
            for name, rs in results.items():
                print(f"  {name}: " + " ".join(f"{r['rmse']:.4f}" for r in rs))
        if not args.quick and not args.skip_1m:
            X, y = ml1m()
            Xtr, ytr, Xte, yte = random_split(X, y, 0.1, ML1M_SEED)
            per = {}
            for name, make in models("ml1m", use_surprise, args.svdpp_1m).items():
                per[name] = evaluate(make, Xtr, ytr, Xte, yte)
            table(f"MovieLens 1M, random 90/10 split (seed {ML1M_SEED})", per)


if __name__ == "__main__":
    main()
