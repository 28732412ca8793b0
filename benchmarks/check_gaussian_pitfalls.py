"""Three ways to get a poor GaussianBernoulliRBM that a user review found.

Prints, on standardised wine (scikit-learn's bundled copy):

1. early stopping against the full default schedule (16 hidden units, a
   70/30 split, held-out log-likelihood with log Z by AIS), and the plain
   stop that early stopping was before a stall started the decay (with
   ``--select``, only the validation choice of that decay's length);
2. ``partial_fit`` on a stream whose first chunk is 10 rows in the data's
   order, then 30 shuffled passes in 10-row chunks: the mean log-likelihood
   of all rows after passes 0, 5, 10, 30, against ``fit``;
3. ``MinMaxScaler`` instead of ``StandardScaler`` in a 5-fold
   cross-validated pipeline: the folds' held-out log-likelihoods, and the
   warnings of ``fit`` (its divergence check; the variance floor's).

Usage::

    python benchmarks/check_gaussian_pitfalls.py
    python benchmarks/check_gaussian_pitfalls.py --select   # about two minutes

About 10 seconds on one core (``--select``: about two minutes). The user
guide ("Training", "Gaussian visible units"), the docstring of
``GaussianBernoulliRBM`` and the known limitations of
``docs/changelog.rst`` quote it.
"""

import argparse
import contextlib
import warnings
from unittest import mock

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_rbm import GaussianBernoulliRBM
from sklearn_rbm.estimators import _base
from sklearn_rbm.training import loop

LP = {"n_betas": 3000, "n_runs": 50, "check": False, "random_state": 0}


def plain_stop():
    """Early stopping as before the decay on a stall: the stop of
    ``EarlyStopping`` for every schedule (patched in for the comparison)."""
    return mock.patch.object(
        _base,
        "AnnealingEarlyStopping",
        lambda tol, n, end: loop.EarlyStopping(tol, n),
    )


def early_stopping(X):
    X_tr, X_te = train_test_split(X, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    print("| early_stopping | epochs | held-out LL |\n| --- | ---: | ---: |")
    for label, es, patch in [
        ("off (the full schedule)", False, contextlib.nullcontext()),
        ("on (a stall starts the decay)", True, contextlib.nullcontext()),
        ("on, a plain stop (before)", True, plain_stop()),
    ]:
        with patch:
            g = GaussianBernoulliRBM(
                16, early_stopping=es, random_state=0, log_partition_params=LP
            ).fit(X_tr)
        print(f"| {label} | {g.n_iter_} | {g.score(X_te):.2f} |")


def select_decay():
    """The decay's length after a stall (``loop.ANNEAL_FACTOR`` times the
    epochs done), chosen on 3-fold splits of the training parts (70%,
    ``random_state=0``) of three data sets; the test parts are not read."""
    print("| decay factor | wine: epochs, LL | breast cancer | diabetes |")
    print("| --- | --- | --- | --- |")
    data = [load_wine().data, load_breast_cancer().data, load_diabetes().data]
    for factor in ("plain stop", 1, 3, 10, 30, "off"):
        cells = []
        for X in data:
            X_tr, _ = train_test_split(X, test_size=0.3, random_state=0)
            epochs, lls = [], []
            for tr, va in KFold(3, shuffle=True, random_state=1).split(X_tr):
                scaler = StandardScaler().fit(X_tr[tr])
                a, b = scaler.transform(X_tr[tr]), scaler.transform(X_tr[va])
                if factor == "plain stop":
                    patch = plain_stop()
                elif factor == "off":  # no early stopping: nothing to patch
                    patch = contextlib.nullcontext()
                else:
                    patch = mock.patch.object(loop, "ANNEAL_FACTOR", factor)
                with patch:
                    g = GaussianBernoulliRBM(
                        16,
                        early_stopping=factor != "off",
                        random_state=0,
                        log_partition_params=LP,
                    ).fit(a)
                epochs.append(g.n_iter_)
                lls.append(g.score(b))
            cells.append(f"{np.mean(epochs):.0f}, {np.mean(lls):.2f}")
        print(f"| {factor} | " + " | ".join(cells) + " |")


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--select",
        action="store_true",
        help="only the validation choice of the decay after a stall",
    )
    args = ap.parse_args()
    X = load_wine().data
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.select:
            return select_decay()
        early_stopping(X)
        stream(X)
        minmax(X)


if __name__ == "__main__":
    main()
