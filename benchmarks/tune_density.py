"""Validation of the MNIST density recipe (``bench_bernoulli.RECIPE``):
train on the first 50,000 thresholded training images, AIS test
log-likelihood (14,500 temperatures x 100 runs) on the last 10,000, under a
wall-clock budget on one BLAS thread; the test images are never read.

    python benchmarks/tune_density.py MINUTES '{"learning_rate": 0.02}'
    python benchmarks/tune_density.py MINUTES '{}' stochastic

(``"max_iter": N`` in the second argument fixes the epochs instead of the
budget) prints one JSON line: the recipe's settings overridden by the second
argument, the epochs that fit the budget, the fit seconds and the
validation log-likelihood (with AIS's standard error and the estimate with
a quarter of the temperatures), and the log-likelihood of the first 10,000
training images (the gap between the two is the overfitting). A third
argument ``stochastic`` uses the fixed Bernoulli draw of
``bench_bernoulli.py --binarize stochastic`` instead of the thresholded
images (the same 50,000 / 10,000 split of its training draw).
"""

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

minutes = float(sys.argv[1])
over = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
binarize = sys.argv[3] if len(sys.argv) > 3 else "threshold"
X, _ = load(find_mnist(None), binarize)
Xtr, Xva = X[:50000], X[50000:]
cfg = dict(RECIPE, **over)
with threadpool_limits(1):
    # probe fits of 1 and 3 epochs: the time of an epoch and of the set-up
    t = time.perf_counter()
    BernoulliRBM(**dict(cfg, max_iter=1)).fit(Xtr)
    t1 = time.perf_counter() - t
    t = time.perf_counter()
    BernoulliRBM(**dict(cfg, max_iter=3)).fit(Xtr)
    t3 = time.perf_counter() - t
    te = (t3 - t1) / 2
    setup = max(t1 - te, 0)
    epochs = max(int((0.9 * minutes * 60 - setup) / te), 1)
    # a fixed number of epochs instead (settings that do not change the cost
    # of an epoch compare at equal time whatever the machine's load)
    epochs = cfg.pop("max_iter", epochs)
    m = BernoulliRBM(**dict(cfg, max_iter=epochs), random_state=0)
    t = time.perf_counter()
    m.fit(Xtr)
    fit_s = time.perf_counter() - t
    ll, se, t_ais, llq, logz = ais_ll(m, Xva, 14500, 100)
    train_ll = float(np.mean(-m.free_energy(Xtr[:10000])) - logz)
out = dict(over=over, binarize=binarize, minutes=minutes, epochs=epochs)
out.update(fit_s=round(fit_s), val_ll=round(ll, 2), se=round(se, 3))
out.update(ll_quarter=round(llq, 2), train_ll=round(train_ll, 2))
print(json.dumps(dict(out, load=os.getloadavg()[0])), flush=True)
