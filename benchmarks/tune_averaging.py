"""Parameter averaging for the MNIST density recipe, on validation (issue 18).

Does averaging the parameters over the last epochs (Polyak-Ruppert, as
Swersky et al. 2010 found for PCD) beat the recipe's final parameters,
whose learning rate already decays linearly to zero? One fit of
``bench_bernoulli.RECIPE`` for EPOCHS epochs on the first 50,000 training
images (one BLAS thread); the parameters at the end of each epoch are
averaged over the last quarter and the last half of the epochs; the final
and the two averaged models are scored by AIS (14,500 temperatures x 100
runs) on the last 10,000 training images. The test images are never read.

    python benchmarks/tune_averaging.py EPOCHS [threshold|stochastic]

Prints one JSON line per model as its score comes in.
"""

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

os.environ["SKLEARN_RBM_BLAS_THREADS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from bench_bernoulli import RECIPE, ais_ll, find_mnist, load
from threadpoolctl import threadpool_limits

from sklearn_rbm import BernoulliRBM

FRACTIONS = (0.25, 0.5)


class EpochAverages(BernoulliRBM):
    """The recipe's model, collecting its parameters after every epoch (the
    monitor hook of ``fit``, active with ``verbose``)."""

    def _monitor_score(self, X, params, sample_weight=None):
        epoch = self._epochs_seen
        self._epochs_seen += 1
        for f in FRACTIONS:
            if epoch >= round(self.max_iter * (1 - f)):
                n, acc = self._sums.setdefault(
                    f, [0, {k: np.zeros(v.shape) for k, v in params.items()}]
                )
                self._sums[f][0] = n + 1
                for k, v in params.items():
                    acc[k] += v
        return 0.0


def score(model, X_train, X_val):
    ll, se, _, ll_quarter, log_z = ais_ll(model, X_val, 14500, 100)
    train = float(np.mean(-model.free_energy(X_train[:10000])) - log_z)
    return dict(
        val_ll=round(ll, 2),
        se=round(se, 3),
        ll_quarter=round(ll_quarter, 2),
        train_ll=round(train, 2),
    )


def main():
    epochs = int(sys.argv[1])
    binarize = sys.argv[2] if len(sys.argv) > 2 else "threshold"
    X, _ = load(find_mnist(None), binarize)
    X_train, X_val = X[:50000], X[50000:]
    model = EpochAverages(**dict(RECIPE, max_iter=epochs), random_state=0, verbose=1)
    model._epochs_seen, model._sums = 0, {}
    with threadpool_limits(1):
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the progress lines
            model.fit(X_train)
        fit_s = round(time.perf_counter() - t0)
        head = dict(epochs=epochs, binarize=binarize, fit_s=fit_s)
        print(json.dumps(dict(head, model="final", **score(model, X_train, X_val))))
        for _, (n, sums) in sorted(model._sums.items()):
            dtype = model.components_.dtype
            model.components_ = (sums["W"] / n).astype(dtype)
            model.intercept_visible_ = (sums["b"] / n).astype(dtype)
            model.intercept_hidden_ = (sums["c"] / n).astype(dtype)
            row = dict(head, model=f"average of the last {n} epochs")
            print(json.dumps(dict(row, **score(model, X_train, X_val))), flush=True)


if __name__ == "__main__":
    main()
