"""What a user gets without tuning (issue 15): our defaults against the peers.

Sections, each printing ours against the peer as ratios or differences:

1. scikit-learn's own RBM example ("Restricted Boltzmann Machine features for
   digit classification"): nudged digits (float32, ``minmax_scale``), its
   80/20 split (``random_state=0``), ``LogisticRegression(solver="newton-cg",
   C=6000)``. scikit-learn's ``BernoulliRBM(n_components=100,
   learning_rate=0.06, n_iter=10)`` against ours at the same hyperparameters
   (``max_iter=10, batch_size=10``, scikit-learn's batch size) and ours with
   defaults (only ``n_components=100``); mean test accuracy over 3 seeds of
   the RBM.
2. A default pipeline on plain digits: ``MinMaxScaler(clip=True) ->
   BernoulliRBM() -> LogisticRegression()`` (and scikit-learn's
   ``BernoulliRBM()`` in its place) against logistic regression on the raw
   pixels, shuffled stratified 5-fold.
3. ``make_pipeline(StandardScaler(), GaussianBernoulliRBM())``: held-out
   log-likelihood (nats per sample, 5-fold) on wine, diabetes, breast cancer
   and digits against a single full-covariance and a diagonal Gaussian
   (``GaussianMixture(1)``, scikit-learn's default ``reg_covar``).
4. The recommender's defaults, from ``benchmarks/_defaults_recommender.py``
   (skipped with a message when absent).

Usage::

    python benchmarks/bench_defaults.py            # everything (one thread)
    python benchmarks/bench_defaults.py --quick    # one seed, 2 folds
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler, minmax_scale
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

# the density-model settings: the MNIST recipe's (the defaults before issue 15)
from bench_bernoulli import DENSITY  # noqa: E402

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM  # noqa: E402
from sklearn_rbm.datasets import load_nudged_digits  # noqa: E402

#: scikit-learn's hyperparameters in its example (ours: max_iter, and its
#: default batch size made explicit)
SK_EXAMPLE = dict(n_components=100, learning_rate=0.06, n_iter=10)
OURS_AT_SK = dict(n_components=100, learning_rate=0.06, max_iter=10, batch_size=10)


def table(rows, header):
    rows = [list(r) + [""] * (len(header) - len(r)) for r in rows]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print()


def sklearn_example(seeds, validation=False):
    where = "validation split of the training part" if validation else "test"
    print(f"## 1. scikit-learn's RBM example (nudged digits, 80/20, C=6000): {where}\n")
    X, y = load_nudged_digits(scale=False)
    X = minmax_scale(X.astype(np.float32), feature_range=(0, 1))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    if validation:  # where the defaults were chosen: 20% of the training part
        X_tr, X_te, y_tr, y_te = train_test_split(
            X_tr, y_tr, test_size=0.2, random_state=1
        )

    def accuracy(make_rbm):
        accs, t0 = [], time.perf_counter()
        for seed in seeds:
            pipe = make_pipeline(
                make_rbm(seed), LogisticRegression(solver="newton-cg", C=6000)
            )
            accs.append(pipe.fit(X_tr, y_tr).score(X_te, y_te))
        return float(np.mean(accs)), accs, (time.perf_counter() - t0) / len(seeds)

    sk = accuracy(lambda s: SkBernoulliRBM(random_state=s, **SK_EXAMPLE))
    rows = [["scikit-learn BernoulliRBM(100, lr 0.06, 10 epochs)", *_acc_row(sk, sk)]]
    print("  ", *rows[-1], flush=True)
    for label, kw in (
        ("ours at scikit-learn's hyperparameters", OURS_AT_SK),
        ("ours, defaults (n_components=100)", dict(n_components=100)),
        ("  same as scikit-learn's, centering=True", dict(OURS_AT_SK, centering=True)),
        (
            "  same as scikit-learn's, linear schedule",
            dict(OURS_AT_SK, learning_rate_schedule="linear"),
        ),
        ("  density settings (n_components=100)", dict(DENSITY, n_components=100)),
    ):
        ours = accuracy(lambda s, kw=kw: BernoulliRBM(random_state=s, **kw))
        rows.append([label, *_acc_row(ours, sk)])
        print("  ", *rows[-1], flush=True)
    raw = LogisticRegression(solver="newton-cg", C=6000).fit(X_tr, y_tr)
    rows.append(["logistic regression on raw pixels", f"{raw.score(X_te, y_te):.4f}"])
    table(rows, ["model", "test accuracy (mean)", "per seed", "ratio to sklearn", "s"])


def _acc_row(res, ref):
    mean, accs, secs = res
    per_seed = " ".join(f"{a:.4f}" for a in accs)
    return [f"{mean:.4f}", per_seed, f"{mean / ref[0]:.4f}", f"{secs:.1f}"]


def digits_pipeline(n_splits):
    print(f"## 2. Default pipelines on plain digits ({n_splits}-fold, shuffled)\n")
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=0)
    models = {
        "LogisticRegression on raw pixels": lambda: make_pipeline(
            MinMaxScaler(clip=True), LogisticRegression()
        ),
        "ours: BernoulliRBM() + LogisticRegression()": lambda: make_pipeline(
            MinMaxScaler(clip=True), BernoulliRBM(random_state=0), LogisticRegression()
        ),
        "ours, density settings (the defaults before issue 15)": lambda: make_pipeline(
            MinMaxScaler(clip=True),
            BernoulliRBM(random_state=0, **DENSITY),
            LogisticRegression(),
        ),
        "scikit-learn: BernoulliRBM() + LogisticRegression()": lambda: make_pipeline(
            MinMaxScaler(clip=True),
            SkBernoulliRBM(random_state=0),
            LogisticRegression(),
        ),
    }
    scores = {}
    for name, make in models.items():
        accs, t0 = [], time.perf_counter()
        for tr, te in cv.split(X, y):
            accs.append(make().fit(X[tr], y[tr]).score(X[te], y[te]))
        scores[name] = (float(np.mean(accs)), time.perf_counter() - t0)
    raw = scores["LogisticRegression on raw pixels"][0]
    table(
        [[n, f"{a:.4f}", f"{a / raw:.4f}", f"{s:.0f}"] for n, (a, s) in scores.items()],
        ["pipeline", "accuracy", "ratio to raw pixels", "s (all folds)"],
    )
    print(
        "(MinMaxScaler(clip=True): a scaler fitted on the training folds maps "
        "some test pixels above 1; our BernoulliRBM's transform used to "
        "refuse them, and clipping keeps these rows comparable)\n"
    )


GAUSSIAN_SETS = {
    "wine": load_wine,
    "diabetes": load_diabetes,
    "breast cancer": load_breast_cancer,
    "digits": load_digits,
}


def gaussian_table(n_splits):
    print(
        f"## 3. StandardScaler + GaussianBernoulliRBM() ({n_splits}-fold), "
        "held-out log-likelihood (nats per sample)\n"
    )
    rows = []
    for name, load in GAUSSIAN_SETS.items():
        X = load(return_X_y=True)[0].astype(np.float64)
        res = {"ours": [], "full": [], "diag": [], "se": [], "s": 0.0}
        for tr, te in KFold(n_splits, shuffle=True, random_state=0).split(X):
            sc = StandardScaler().fit(X[tr])
            A, B = sc.transform(X[tr]), sc.transform(X[te])
            for ct in ("full", "diag"):
                gm = GaussianMixture(1, covariance_type=ct, random_state=0).fit(A)
                res[ct].append(gm.score(B))
            t0 = time.perf_counter()
            rbm = GaussianBernoulliRBM(random_state=0).fit(A)
            res["ours"].append(rbm.score(B))
            res["s"] += time.perf_counter() - t0
            lz = rbm.log_partition()
            res["se"].append(getattr(lz, "std_err", 0.0) or 0.0)
            n_hidden = rbm.n_components
        m = {k: float(np.mean(v)) for k, v in res.items() if k not in ("s", "se")}
        print(f"   {name}: {m}", flush=True)
        rows.append(
            [
                f"{name} {X.shape}",
                n_hidden,
                f"{m['ours']:.2f}",
                f"{m['full']:.2f}",
                f"{m['ours'] - m['full']:+.2f}",
                f"{m['diag']:.2f}",
                f"{m['ours'] - m['diag']:+.2f}",
                f"{max(res['se']):.3f}",
                f"{res['s']:.0f}",
            ]
        )
    table(
        rows,
        [
            "data (n, d)",
            "hidden",
            "ours",
            "full Gaussian",
            "ours - full",
            "diagonal",
            "ours - diag",
            "log Z std err",
            "ours s",
        ],
    )
    print(
        "(log Z exact for <= 20 hidden units: std err 0; AIS above. Digits: "
        "the full Gaussian's density on the constant pixels is set by "
        "reg_covar, see benchmarks/README.md)\n"
    )


def recommender(data_dir, quick):
    try:
        from _defaults_recommender import recommender_section
    except ImportError:
        print(
            "## 4. Recommender defaults: skipped (benchmarks/_defaults_recommender.py "
            "is not in this checkout)\n"
        )
        return
    recommender_section(data_dir, quick=quick)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed, 2 folds")
    ap.add_argument(
        "--validation",
        action="store_true",
        help="section 1 on a validation split of the training part",
    )
    ap.add_argument(
        "--data-dir",
        default=os.environ.get("SKLEARN_RBM_DATA"),
        help="datasets folder (MovieLens) for the recommender section",
    )
    ap.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["example", "digits", "gaussian", "rec"],
    )
    args = ap.parse_args(argv)
    print(
        f"# Defaults (issue 15); one BLAS thread; load {os.getloadavg()}"
        f"{' (quick)' if args.quick else ''}\n"
    )
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    t0 = time.perf_counter()
    with threadpool_limits(1):
        if "example" not in args.skip:
            seeds = (0,) if args.quick else (0, 1, 2)
            sklearn_example(seeds, validation=args.validation)
        if "digits" not in args.skip:
            digits_pipeline(2 if args.quick else 5)
        if "gaussian" not in args.skip:
            gaussian_table(2 if args.quick else 5)
    if "rec" not in args.skip:
        recommender(args.data_dir, args.quick)
    print(f"total {time.perf_counter() - t0:.0f} s, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
