"""Held-out log-likelihood of GaussianBernoulliRBM against PPCA and Gaussian mixtures.

On the same standardised data for every model:

* ``digits``: scikit-learn's 8x8 digits, the 50 pixels that are non-zero in at
  least 5% of the training images, standardised (70/30 split);
* ``mnist``: MNIST pixels / 255 reduced by PCA (fitted on the training images)
  to 50 dimensions, then standardised. Read from
  ``$SKLEARN_RBM_DATA/mnist/mnist.npz`` or ``shared/data/mnist/mnist.npz`` in a
  parent folder of this repository; skipped when absent.

Models: our RBM (log Z by AIS); probabilistic PCA (``PCA.score_samples``) with
as many latent dimensions as the parameter budget allows; ``GaussianMixture``
with diagonal and with full covariances, each with about as many parameters
as the RBM (``reg_covar=1e-3``). Reported: held-out average log-likelihood
in nats per sample, its difference to PPCA, the fit time and its ratio to
the RBM's.

Usage::

    python benchmarks/bench_gaussian.py            # full run
    python benchmarks/bench_gaussian.py --quick    # a short run
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_rbm import GaussianBernoulliRBM

#: covariance regularisation of the mixtures. With scikit-learn's default
#: (1e-6) diagonal components collapse onto the few discrete values of some
#: digits pixels (train LL +10, held-out LL -1400 nats).
GMM_REG_COVAR = 1e-3


def find_mnist():
    """Path of mnist.npz, or None."""
    candidates = []
    if os.environ.get("SKLEARN_RBM_DATA"):
        candidates.append(Path(os.environ["SKLEARN_RBM_DATA"]) / "mnist" / "mnist.npz")
    for parent in Path(__file__).resolve().parents:
        candidates.append(parent / "shared" / "data" / "mnist" / "mnist.npz")
    candidates.append(Path("../shared/data/mnist/mnist.npz"))
    return next((p for p in candidates if p.is_file()), None)


def load_digits_std(seed=0):
    X = load_digits().data
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=seed)
    keep = (X_train > 0).mean(axis=0) >= 0.05
    scaler = StandardScaler().fit(X_train[:, keep])
    return scaler.transform(X_train[:, keep]), scaler.transform(X_test[:, keep])


def load_mnist_pca(path, n_dims=50, n_train=None, n_test=None, seed=0):
    with np.load(path) as data:
        X_train = data["x_train"][:n_train].reshape(-1, 784) / 255.0
        X_test = data["x_test"][:n_test].reshape(-1, 784) / 255.0
    pca = PCA(n_dims, random_state=seed).fit(X_train)
    scaler = StandardScaler().fit(pca.transform(X_train))
    return (
        scaler.transform(pca.transform(X_train)),
        scaler.transform(pca.transform(X_test)),
    )


def rbm_n_params(n_hidden, d):
    return n_hidden * d + n_hidden + 2 * d  # W, c, b, log-variances


def gmm_n_components(budget, d, covariance_type):
    per = {"diag": 2 * d + 1, "full": d + d * (d + 1) // 2 + 1}[covariance_type]
    return max(1, int(round((budget + 1) / per)))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_dataset(name, X_train, X_test, rbm_params, ais, seed=0):
    d = X_train.shape[1]
    rows = []
    rbm = GaussianBernoulliRBM(random_state=seed, **rbm_params)
    _, t_rbm = timed(lambda: rbm.fit(X_train))
    est, t_ais = timed(lambda: rbm.log_partition(method="ais", **ais))
    # the same 500 test samples under AIS (optimistic on average) and RAISE
    # (conservative on average): their agreement backs the AIS number
    sub = X_test[:500]
    raise_ll, t_raise = timed(
        lambda: rbm.score_samples_raise(
            sub, n_betas=ais["n_betas"], random_state=seed
        ).mean()
    )
    ais_sub = rbm.score(sub)
    budget = rbm_n_params(rbm.n_components, d)
    rows.append(
        {
            "model": f"GaussianBernoulliRBM ({rbm.n_components} hidden)",
            "params": budget,
            "ll": rbm.score(X_test),
            "ll_train": rbm.score(X_train[:10000]),
            "fit": t_rbm,
            "note": f"AIS log Z +- {est.std_err:.3f} ({t_ais:.0f} s); "
            f"500 test samples: AIS {ais_sub:.2f}, RAISE {raise_ll:.2f} "
            f"({t_raise:.0f} s); median sigma {np.median(rbm.sigma_):.2f}",
        }
    )
    q = int(min(d - 1, max(1, (budget - d - 1) // d)))
    ppca = PCA(q, random_state=seed)
    _, t = timed(lambda: ppca.fit(X_train))
    rows.append(
        {
            "model": f"PCA (PPCA, {q} components)",
            "params": d * q + d + 1,
            "ll": ppca.score(X_test),
            "ll_train": ppca.score(X_train[:10000]),
            "fit": t,
            "note": "",
        }
    )
    for cov in ("diag", "full"):
        k = gmm_n_components(budget, d, cov)
        gmm = GaussianMixture(
            k, covariance_type=cov, reg_covar=GMM_REG_COVAR, random_state=seed
        )
        _, t = timed(lambda gmm=gmm: gmm.fit(X_train))
        rows.append(
            {
                "model": f"GaussianMixture ({cov}, {k} components)",
                "params": int(gmm._n_parameters()),
                "ll": gmm.score(X_test),
                "ll_train": gmm.score(X_train[:10000]),
                "fit": t,
                "note": "" if gmm.converged_ else "not converged",
            }
        )
    ll_ppca = rows[1]["ll"]
    lines = [
        f"### {name}: {X_train.shape[0]} train / {X_test.shape[0]} test, {d} dims",
        "",
        "| model | parameters | held-out LL (nats/sample) | LL - PPCA | "
        "train LL | fit time (s) | time / RBM | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']} | {r['ll']:.2f} | "
            f"{r['ll'] - ll_ppca:+.2f} | {r['ll_train']:.2f} | {r['fit']:.1f} | "
            f"{r['fit'] / t_rbm:.3g} | {r['note']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    quick = args.quick
    ais = {"n_betas": 3000 if quick else 14500, "n_runs": 100}
    print(
        f"# bench_gaussian ({'quick' if quick else 'full'} run, "
        f"{os.cpu_count()} cores, AIS {ais['n_betas']} betas x "
        f"{ais['n_runs']} runs)\n",
        flush=True,
    )
    X_train, X_test = load_digits_std(args.seed)
    digits_params = {  # small data set: smaller minibatches, more updates
        "n_components": 100,
        "learning_rate": 2e-3,
        "batch_size": 20,
        "max_iter": 60 if quick else 300,
    }
    print(run_dataset("digits", X_train, X_test, digits_params, ais, args.seed))
    print(flush=True)

    path = find_mnist()
    if path is None:
        print(
            "### mnist: skipped (mnist.npz not found; set SKLEARN_RBM_DATA to the "
            "folder holding mnist/mnist.npz)"
        )
        return
    X_train, X_test = load_mnist_pca(
        path,
        n_train=10000 if quick else None,
        n_test=2000 if quick else None,
        seed=args.seed,
    )
    mnist_params = {
        "n_components": 100,
        "learning_rate": 1e-2,
        "max_iter": 40 if quick else 50,
    }
    print(run_dataset("mnist (PCA-50)", X_train, X_test, mnist_params, ais, args.seed))


if __name__ == "__main__":
    main()
