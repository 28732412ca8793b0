"""Three ways to get a poor GaussianBernoulliRBM that a user review found.

Prints, on standardised wine (scikit-learn's bundled copy):

1. early stopping against the full default schedule (16 hidden units, a
   70/30 split, held-out log-likelihood with log Z by AIS);
2. ``partial_fit`` on a stream whose first chunk is 10 rows in the data's
   order, then 30 shuffled passes in 10-row chunks: the mean log-likelihood
   of all rows after passes 0, 5, 10, 30, against ``fit``;
3. ``MinMaxScaler`` instead of ``StandardScaler`` in a 5-fold
   cross-validated pipeline: the folds' held-out log-likelihoods, and the
   warnings of ``fit`` (its divergence check; the variance floor's).

Usage::

    python benchmarks/check_gaussian_pitfalls.py

About 10 seconds on one core. The user guide ("Gaussian visible units") and
the known limitations of ``docs/changelog.rst`` quote it.
"""

import warnings

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_rbm import GaussianBernoulliRBM

LP = {"n_betas": 3000, "n_runs": 50, "check": False, "random_state": 0}


def early_stopping(X):
    X_tr, X_te = train_test_split(X, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    print("| early_stopping | epochs | held-out LL |\n| --- | ---: | ---: |")
    for es in (False, True):
        g = GaussianBernoulliRBM(
            16, early_stopping=es, random_state=0, log_partition_params=LP
        ).fit(X_tr)
        print(f"| {es} | {g.n_iter_} | {g.score(X_te):.2f} |")


def stream(X):
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(0)
    g = GaussianBernoulliRBM(8, random_state=0, log_partition_params=LP)
    g.partial_fit(X[:10])  # rows in the data's order: one class
    scores = {0: g.score(X)}
    for p in range(1, 31):
        for chunk in np.array_split(rng.permutation(len(X)), len(X) // 10):
            g.partial_fit(X[chunk])
        if p in (5, 10, 30):
            scores[p] = g.score(X)
    full = GaussianBernoulliRBM(8, random_state=0, log_partition_params=LP).fit(X)
    print("\n| partial_fit passes | mean LL of all rows |\n| ---: | ---: |")
    for p, s in scores.items():
        print(f"| {p} | {s:.4g} |")
    print(f"| fit (max_iter='auto') | {full.score(X):.2f} |")


def minmax(X):
    print("\n| scaler | fold LLs | fit warned |\n| --- | --- | --- |")
    for scaler in (StandardScaler, MinMaxScaler):
        lls, warned = [], {"divergence": 0, "variance floor": 0}
        for tr, te in KFold(5, shuffle=True, random_state=0).split(X):
            pipe = make_pipeline(
                scaler(),
                GaussianBernoulliRBM(8, random_state=0, log_partition_params=LP),
            )
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                pipe.fit(X[tr])
            text = " ".join(str(m.message) for m in w)
            warned["divergence"] += "diverged" in text
            warned["variance floor"] += "below min_variance" in text
            lls.append(pipe.score(X[te]))
        print(
            f"| {scaler.__name__} | {' '.join(f'{v:.1f}' for v in lls)} | "
            + (", ".join(f"{k} in {n} folds" for k, n in warned.items() if n) or "no")
            + " |"
        )


def main():
    X = load_wine().data
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        early_stopping(X)
        stream(X)
        minmax(X)


if __name__ == "__main__":
    main()
