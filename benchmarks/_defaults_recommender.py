"""The recommender section of ``bench_defaults.py`` (issue 15): what a user
gets from ``CategoricalRBMRecommender(random_state=0)``, nothing else set.

On MovieLens 100K (u1..u5, mean), MovieLens 1M (random 90/10, seed 0),
ml-latest-small (random 90/10, seed 0) and ``make_ratings(300, 200)`` (a
held-out fifth, ``train_test_split(test_size=0.2, random_state=0)``), the
defaults and ``orientation="both"`` against the global mean, item means, a
user + item bias baseline, Surprise's SVD with its defaults and Surprise's
SVD with hyperparameters tuned on validation splits of the training data
(``tune_surprise.py``), and the benchmark's fine-tuned I-RBM recipe
(``bench_recommender.py``) on MovieLens. Prints markdown tables of test RMSE,
each with its ratio to the defaults' RMSE, and fit seconds.

    python benchmarks/_defaults_recommender.py            # everything (~30 min)
    python benchmarks/_defaults_recommender.py --quick    # no ML-1M, ML-100K u1
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import random_split
from bench_recommender import RBM_ML1M_FT, RBM_ML100K_FT, BiasBaseline

from sklearn_rbm import CategoricalRBMRecommender

#: Surprise SVD hyperparameters chosen by validation RMSE on 10% of each
#: training set, by ``python benchmarks/tune_surprise.py NAME`` (NAME:
#: ml100k-all, ml1m --small-grid, mlsmall, synthetic); never on test ratings
SVD_TUNED = {
    # validation RMSE 0.9114 (mean of the five; Surprise's defaults: n_factors
    # 100, lr_all 0.005, reg_all 0.02, n_epochs 20: 0.9381)
    "ml100k": {"n_factors": 200, "lr_all": 0.01, "reg_all": 0.1, "n_epochs": 40},
    # validation RMSE 0.8524: "ml1m --small-grid" (best 0.8532 at 200 factors,
    # reg_all 0.05), then its edges, "ml1m --small-grid n_factors=200,300
    # reg_all=0.05 n_epochs=40,60" (Surprise's defaults: not run on ML-1M)
    "ml1m": {"n_factors": 300, "lr_all": 0.01, "reg_all": 0.05, "n_epochs": 40},
    # validation RMSE 0.8478 (defaults 0.8721)
    "mlsmall": {"n_factors": 200, "lr_all": 0.01, "reg_all": 0.1, "n_epochs": 40},
    # validation RMSE 0.8085 (defaults 0.8693)
    "synthetic": {"n_factors": 100, "lr_all": 0.01, "reg_all": 0.1, "n_epochs": 40},
}


# ---------------------------------------------------------------- data sets
def _ml100k(data_dir, i):
    d = Path(data_dir) / "ml-100k"
    tr = np.loadtxt(d / f"u{i}.base", dtype=np.int64, usecols=(0, 1, 2))
    te = np.loadtxt(d / f"u{i}.test", dtype=np.int64, usecols=(0, 1, 2))
    return tr[:, :2], tr[:, 2].astype(float), te[:, :2], te[:, 2].astype(float)


def _load(data_dir, variant):
    from sklearn_rbm.datasets import load_movielens

    data = load_movielens(variant=variant, data_home=data_dir, as_frame=False)
    return np.asarray(data.X, dtype=np.int64), np.asarray(data.y, dtype=float)


def _synthetic():
    from sklearn.model_selection import train_test_split

    from sklearn_rbm.datasets import make_ratings

    X, y = make_ratings(n_users=300, n_items=200, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    return Xtr, ytr, Xte, yte


def splits(name, data_dir, quick=False):
    """The (train, test) splits of a data set: a list of 4-tuples."""
    if name == "ml100k":
        return [_ml100k(data_dir, i) for i in ([1] if quick else range(1, 6))]
    if name == "ml1m":
        return [random_split(*_load(data_dir, "1m"), 0.1, 0)]
    if name == "mlsmall":
        return [random_split(*_load(data_dir, "latest-small"), 0.1, 0)]
    return [_synthetic()]


def validation_splits(name, data_dir):
    """10% (seed 1) of each training set held out: the tuning data."""
    return [random_split(Xtr, ytr, 0.1, 1) for Xtr, ytr, _, _ in splits(name, data_dir)]


TITLES = {
    "ml100k": "MovieLens 100K, u1..u5 (mean)",
    "ml1m": "MovieLens 1M, random 90/10 (seed 0)",
    "mlsmall": "ml-latest-small, random 90/10 (seed 0)",
    "synthetic": "make_ratings(300, 200), held-out fifth",
}


# ------------------------------------------------------------------- models
class GlobalMean:
    def fit(self, X, y):
        self.mu_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mu_)


class ItemMeans(GlobalMean):
    """Each item's mean training rating (the global mean for unknown items)."""

    def fit(self, X, y):
        super().fit(X, y)
        self.items_, i = np.unique(X[:, 1], return_inverse=True)
        self.means_ = np.bincount(i, y) / np.bincount(i)
        return self

    def predict(self, X):
        pos = np.clip(np.searchsorted(self.items_, X[:, 1]), 0, len(self.items_) - 1)
        known = self.items_[pos] == X[:, 1]
        return np.where(known, self.means_[pos], self.mu_)


class Bias(BiasBaseline):
    """``mu + b_u + b_i`` (regularised least squares), clipped to the scale."""

    def fit(self, X, y):
        self.low_, self.high_ = float(np.min(y)), float(np.max(y))
        return super().fit(X, y)

    def predict(self, X):
        return np.clip(self._biases(X)[0], self.low_, self.high_)


class SurpriseSVD:
    """Surprise's SVD behind fit(X, y) / predict(X), on the data's scale."""

    def __init__(self, **params):
        self.params = params

    def fit(self, X, y):
        import pandas as pd
        from surprise import SVD, Dataset, Reader

        df = pd.DataFrame({"u": X[:, 0], "i": X[:, 1], "r": y})
        reader = Reader(rating_scale=(float(np.min(y)), float(np.max(y))))
        data = Dataset.load_from_df(df, reader)
        self.algo = SVD(random_state=0, **self.params)
        self.algo.fit(data.build_full_trainset())
        return self

    def predict(self, X):
        return np.array([self.algo.predict(u, i).est for u, i in X.tolist()])


def models(name, surprise):
    out = {
        "defaults: CategoricalRBMRecommender(random_state=0)": (
            lambda: CategoricalRBMRecommender(random_state=0)
        ),
        'orientation="both", n_jobs=2 (defaults otherwise)': (
            lambda: CategoricalRBMRecommender(
                orientation="both", n_jobs=2, random_state=0
            )
        ),
    }
    recipe = {"ml100k": RBM_ML100K_FT, "ml1m": RBM_ML1M_FT}.get(name)
    if recipe is not None:
        out["benchmark recipe (fine-tuned I-RBM, bench_recommender.py)"] = lambda: (
            CategoricalRBMRecommender(**recipe)
        )
    out["global mean"] = GlobalMean
    out["item means"] = ItemMeans
    out["user + item bias baseline"] = Bias
    if surprise:
        out["Surprise SVD, defaults"] = SurpriseSVD
        tuned = SVD_TUNED[name]
        out[f"Surprise SVD, tuned on validation {tuned}"] = lambda: SurpriseSVD(**tuned)
    return out


def evaluate(make, data):
    rmses, fit, cpu, fitted = [], 0.0, 0.0, []
    for Xtr, ytr, Xte, yte in data:
        est = make()
        t0, c0 = time.perf_counter(), time.process_time()
        est.fit(Xtr, ytr)
        fit += time.perf_counter() - t0
        cpu += time.process_time() - c0
        rmses.append(float(np.sqrt(np.mean((est.predict(Xte) - yte) ** 2))))
        fitted.append(est)
    if getattr(est, "n_jobs", None) not in (None, 1):
        cpu = float("nan")  # in worker processes: not measured here
    return float(np.mean(rmses)), fit / len(data), cpu / len(data), fitted


def same_as_defaults(recipe, defaults, data):
    """Whether the recipe's models would be those of the defaults, bit for
    bit: the same settings once the "auto" values are resolved for each
    training set, except the patience of early stopping, and every epoch of
    the defaults ran (so the patience did not matter)."""
    from sklearn_rbm.recommender.defaults import resolve

    ignore = {"n_iter_no_change"}
    for est, (Xtr, ytr, _, _) in zip(defaults, data):
        n_cases = len(np.unique(Xtr[:, 1]))
        mine = resolve(est.get_params(), len(ytr), n_cases)
        theirs = resolve(CategoricalRBMRecommender(**recipe).get_params(), 1, 1)
        if any(mine[k] != theirs[k] for k in mine if k not in ignore):
            return False
        if est.n_iter_ != est.max_iter + mine["fine_tune_iter"]:
            return False
        if len(est.validation_scores_) != est.n_iter_:
            return False
    return True


def recommender_section(data_dir, quick=False, names=None):
    """Print the recommender tables (markdown). ``quick``: ML-100K u1 only,
    no ML-1M."""
    try:
        import surprise  # noqa: F401

        use_surprise = True
    except ImportError:
        print("(scikit-surprise is not installed: no SVD rows)")
        use_surprise = False
    if names is None:
        names = ["synthetic", "mlsmall", "ml100k"] + ([] if quick else ["ml1m"])
    print("\n## CategoricalRBMRecommender defaults (issue 15)\n")
    print(f"load average at start: {os.getloadavg()[0]:.2f}; BLAS threads: 1")
    print("(fit CPU: process time of this process; '-' for fits in workers)")
    with threadpool_limits(limits=1, user_api="blas"):
        for name in names:
            data = splits(name, data_dir, quick)
            title = TITLES[name] + (" (u1 only)" if quick and name == "ml100k" else "")
            print(f"\n### {title}\n")
            print("| model | test RMSE | / defaults | fit (s, wall) | fit CPU (s) |")
            print("| --- | ---: | ---: | ---: | ---: |")
            ref = defaults = None
            recipe = {"ml100k": RBM_ML100K_FT, "ml1m": RBM_ML1M_FT}.get(name)
            for label, make in models(name, use_surprise).items():
                if label.startswith("benchmark recipe") and same_as_defaults(
                    recipe, defaults, data
                ):
                    print(f"| {label} | {ref:.4f} | 1.000 | (the defaults' models) | |")
                    continue
                rmse, fit, cpu, fitted = evaluate(make, data)
                ref, defaults = ref or rmse, defaults or fitted
                cpu = "-" if np.isnan(cpu) else f"{cpu:.1f}"
                print(
                    f"| {label} | {rmse:.4f} | {rmse / ref:.3f} | {fit:.1f} | {cpu} |"
                )
                sys.stdout.flush()


if __name__ == "__main__":
    from _movielens import data_dir

    args = sys.argv[1:]
    recommender_section(
        data_dir(),
        quick="--quick" in args,
        names=[a for a in args if not a.startswith("--")] or None,
    )
