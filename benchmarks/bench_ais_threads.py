"""AIS with one BLAS thread (the package's policy) against the BLAS
library's own thread count, on a 200-hidden BernoulliRBM of the binarised
digits (100 runs of 64 visible units: thousands of thin products).

    python benchmarks/bench_ais_threads.py [--betas 2000] [--repeat 2]

``SKLEARN_RBM_BLAS_THREADS=0`` leaves the BLAS libraries' settings alone
(OpenBLAS: one thread per core); the default runs AIS on one thread. The
difference shows when other work keeps the cores busy, as on a shared
machine: run it beside another job. Prints the seconds of each, their ratio
and both estimates (equal: the thread count does not change the bits here).
"""

import argparse
import os
import time

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info

from sklearn_rbm import BernoulliRBM


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--betas", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    X = (load_digits().data / 16.0 > 0.5).astype(float)
    rbm = BernoulliRBM(n_components=200, random_state=0).fit(X)
    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"BLAS threads by default: {blas}; load average {os.getloadavg()[0]:.1f}")
    times = {
        "one thread (default)": [],
        "library's own (SKLEARN_RBM_BLAS_THREADS=0)": [],
    }
    logz = {}
    for _ in range(args.repeat):  # interleaved
        for label in times:
            if label.startswith("library"):
                os.environ["SKLEARN_RBM_BLAS_THREADS"] = "0"
            else:
                os.environ.pop("SKLEARN_RBM_BLAS_THREADS", None)
            t = time.perf_counter()
            est = rbm.log_partition(
                "ais", n_betas=args.betas, n_runs=100, random_state=0
            )
            times[label].append(time.perf_counter() - t)
            logz[label] = est.log_z
    os.environ.pop("SKLEARN_RBM_BLAS_THREADS", None)
    for label, ts in times.items():
        print(f"{label:45s} {np.median(ts):8.2f} s  log Z {logz[label]:.6f}")
    one, own = (np.median(ts) for ts in times.values())
    print(
        f"library's own / one thread: {own / one:.1f}x; load average "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
