"""Small data and ``batch_size="auto"``: exact log-likelihoods on digits.

The user guide's "Small data sets and batch_size='auto'" paragraph
(``docs/user_guide/training.rst``) quotes these figures. 16 hidden units, so
that every log-likelihood is exact (the log-partition function is summed
over the 2^16 hidden states):

* BernoulliRBM on scikit-learn's digits thresholded at half intensity
  (1,797 rows), training log-likelihood: the base-rate model it starts
  from; the density settings with a fixed batch of 100 (20 epochs and 200)
  and with ``batch_size="auto"`` (20 epochs, and batch 10 for 100); the
  feature-learning defaults; scikit-learn's ``BernoulliRBM`` with its
  defaults, its weights scored by our exact log-likelihood (3 seeds).
* GaussianBernoulliRBM on standardised digits (75/25 split, a 0.01 jitter
  for the constant pixels), held-out log-likelihood after 20 epochs with
  ``batch_size="auto"``, 20 and 100 (two seeds).

    python benchmarks/bench_small_data.py
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SkRBM
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bernoulli import DENSITY

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM


def bernoulli():
    X = (load_digits().data / 16.0 > 0.5).astype(float)
    rows = []
    base = BernoulliRBM(16, max_iter=0).fit(X)
    rows.append(("base-rate model (the start)", base.batch_size_, 0, base.score(X)))
    for batch, epochs in ((100, 20), (100, 200), ("auto", 20), (10, 100)):
        m = BernoulliRBM(
            16, batch_size=batch, max_iter=epochs, random_state=0, **DENSITY
        ).fit(X)
        rows.append(("density settings", m.batch_size_, epochs, m.score(X)))
    m = BernoulliRBM(16, random_state=0).fit(X)
    rows.append(("defaults (feature learning)", m.batch_size_, m.n_iter_, m.score(X)))
    print("## BernoulliRBM, thresholded digits, 16 hidden: exact training LL\n")
    print("| settings | batch | epochs | LL (nats) |")
    print("| --- | ---: | ---: | ---: |")
    for label, batch, epochs, ll in rows:
        print(f"| {label} | {batch} | {epochs} | {ll:.2f} |")
    sk = []
    for seed in range(3):
        s = SkRBM(n_components=16, random_state=seed).fit(X)
        ours = BernoulliRBM(16, max_iter=0).fit(X)  # a fitted shell
        ours.components_[...] = s.components_
        ours.intercept_hidden_[...] = s.intercept_hidden_
        ours.intercept_visible_[...] = s.intercept_visible_
        sk.append(ours.score(X))
    print(
        "\nscikit-learn BernoulliRBM(16), its defaults (batch 10, 10 epochs), "
        f"seeds 0-2: {' '.join(f'{v:.2f}' for v in sk)}\n"
    )


def gaussian():
    X = load_digits().data
    X_tr, X_te = train_test_split(X, test_size=0.25, random_state=0)
    sc = StandardScaler().fit(X_tr)
    rng = np.random.default_rng(0)  # jitter: some pixels are constant
    X_tr = sc.transform(X_tr) + rng.normal(0, 0.01, X_tr.shape)
    X_te = sc.transform(X_te) + rng.normal(0, 0.01, X_te.shape)
    print("## GaussianBernoulliRBM, standardised digits, 16 hidden, 20 epochs\n")
    print("| batch | held-out LL, seeds 0 / 1 | mean |")
    print("| --- | --- | ---: |")
    for batch in ("auto", 20, 100):
        lls = [
            GaussianBernoulliRBM(16, batch_size=batch, max_iter=20, random_state=s)
            .fit(X_tr)
            .score(X_te)
            for s in (0, 1)
        ]
        print(f"| {batch} | {lls[0]:.2f} / {lls[1]:.2f} | {np.mean(lls):.2f} |")


if __name__ == "__main__":
    os.environ["SKLEARN_RBM_BLAS_THREADS"] = "1"
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's RBM, float warnings
        bernoulli()
        gaussian()
