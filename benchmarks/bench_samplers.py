"""Seconds per training epoch of the persistent samplers, as ratios to Gibbs.

    python benchmarks/bench_samplers.py                 # thresholded MNIST
    python benchmarks/bench_samplers.py --rows 20000 --repeat 3

The MNIST recipe of ``bench_bernoulli.py`` (``RECIPE``: 500 hidden units,
batches of 100, one BLAS thread) with ``sampler="gibbs"`` (PCD), ``"fpcd"``
(fast weights) and ``"pt"`` (parallel tempering), and PCD with more chains
than the batch. An epoch's time is the difference of a 3-epoch and a 1-epoch
fit (the set-up cancels); the settings are interleaved ``--repeat`` times and
the median is printed, so a change in the machine's load hits all of them.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["SKLEARN_RBM_BLAS_THREADS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from bench_bernoulli import RECIPE, find_mnist, load
from threadpoolctl import threadpool_limits

from sklearn_rbm import BernoulliRBM

SETTINGS = {
    "PCD (gibbs), 100 chains": {},
    "FPCD": {"sampler": "fpcd"},
    "PCD, 200 chains": {"n_chains": 200},
    "PCD, 400 chains": {"n_chains": 400},
    "PT, 3 temperatures": {"sampler": "pt", "n_temperatures": 3},
}


def epoch_seconds(X, over):
    times = []
    for epochs in (1, 3):
        t = time.perf_counter()
        BernoulliRBM(**dict(RECIPE, max_iter=epochs, **over), random_state=0).fit(X)
        times.append(time.perf_counter() - t)
    return (times[1] - times[0]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="MNIST folder")
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    X, _ = load(find_mnist(args.data), "threshold")
    X = X[: args.rows]
    runs = {name: [] for name in SETTINGS}
    with threadpool_limits(1):
        for _ in range(args.repeat):
            for name, over in SETTINGS.items():
                runs[name].append(epoch_seconds(X, over))
    base = float(np.median(runs["PCD (gibbs), 100 chains"]))
    print(f"{X.shape[0]} rows, load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| sampler | s per epoch (median) | all runs | x PCD |")
    print("| --- | ---: | --- | ---: |")
    for name, ts in runs.items():
        med = float(np.median(ts))
        runs_s = " ".join(f"{t:.2f}" for t in ts)
        print(f"| {name} | {med:.2f} | {runs_s} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
