"""Does ``fit``'s divergence check warn where it should, and only there?

Fits both dense RBMs on scikit-learn's bundled data sets over a range of
learning rates (the default first) and prints, per fit: the exact training
log-likelihood (16 hidden units: exact log Z), the check's proven upper
bound, the exact log-likelihoods of the two references (independent units
fitted to the training data, and the model training started from; all
three on the check's up to 1,000 random training rows), and whether
``fit`` warned ``ConvergenceWarning``. A warning with an exact value above
both references would be a false alarm (it cannot happen: the bound is
proven); a fit far below them without a warning is a miss.

Usage::

    python benchmarks/check_divergence.py

About a minute on one core.
"""

import time
import warnings

from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM
from sklearn_rbm.estimators._base import divergence_bounds

DATA = {
    "wine": load_wine,
    "diabetes": load_diabetes,
    "breast cancer": load_breast_cancer,
    "digits": load_digits,
}


def fit_row(est, X, label, n_hidden):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t0
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    exact = est.score(X) if n_hidden <= 16 else float("nan")
    # the check's own numbers (its rows, references and bound)
    bound, independent, start = divergence_bounds(est, X, None)
    lr = est.learning_rate
    print(
        f"| {label} | {n_hidden} | {lr:g} | {exact:.2f} | {bound:.2f} | "
        f"{independent:.2f} | {start:.2f} | {'yes' if warned else 'no'} | "
        f"{seconds:.1f} |"
    )


def main():
    print(
        "| data | hidden | learning rate | exact LL | bound | independent | "
        "start | warned | fit s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, loader in DATA.items():
        X = StandardScaler().fit_transform(loader().data)
        for n_hidden in (16, 64):
            for lr in (5e-3, 0.05, 0.1, 0.5, 1.0):
                est = GaussianBernoulliRBM(n_hidden, learning_rate=lr, random_state=0)
                fit_row(est, X, f"{name}, Gaussian", n_hidden)
    X = MinMaxScaler().fit_transform(load_digits().data)
    for n_hidden in (16, 100):
        for lr in (0.1, 1.0, 10.0):
            est = BernoulliRBM(n_hidden, learning_rate=lr, random_state=0)
            fit_row(est, X, "digits (MinMaxScaler), Bernoulli", n_hidden)


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
