"""How far to trust AIS's standard error and RAISE, against exact values.

Small models whose log-partition function is exact by enumeration
(``log_partition("exact")``, itself tested against independent enumeration
code in ``tests/test_engine.py``):

1. AIS standard errors: 20-visible, 10-hidden BernoulliRBMs with random
   weights (N(0, s^2), s = 0.5, 1.0 and 2.0; random biases). For each model and
   seed, AIS with few runs (300 temperatures x 5 runs) and with the
   grid-search budget of the user guide (2000 x 20), ``check=False``; the
   share of estimates more than two standard errors from the exact log Z.
   A well-calibrated error gives about 5%.
2. RAISE on badly fitted points: 5-dimensional GaussianBernoulliRBMs with
   10 hidden units whose weights are set far from any fit (N(0, s^2),
   s = 1.5 and 2.0); RAISE (2000 temperatures, 5 runs) minus the exact
   log-likelihood of 8 training points, and AIS's log Z minus the exact one.

    python benchmarks/check_ais_raise.py [--models 10] [--seeds 4]
"""

import argparse
import warnings

import numpy as np

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM


def ais_coverage(n_models, n_seeds):
    rng = np.random.default_rng(0)
    X = (rng.random((200, 20)) < 0.5).astype(float)
    print("## AIS: share of estimates beyond 2 standard errors of the exact log Z\n")
    print("| weight scale | 300 x 5 runs | 2000 x 20 runs | estimates each |")
    print("| ---: | ---: | ---: | ---: |")
    for scale in (0.5, 1.0, 2.0):
        out = {}
        for budget in ((300, 5), (2000, 20)):
            far = []
            for m in range(n_models):
                r = BernoulliRBM(n_components=10, max_iter=1, random_state=m).fit(X)
                g = np.random.default_rng(1000 + m)
                r.components_ = g.normal(0, scale, r.components_.shape)
                r.intercept_visible_ = g.normal(0, 1, 20)
                r.intercept_hidden_ = g.normal(0, 1, 10)
                exact = r.log_partition("exact").log_z
                for s in range(n_seeds):
                    a = r.log_partition(
                        "ais",
                        n_betas=budget[0],
                        n_runs=budget[1],
                        check=False,
                        random_state=s,
                    )
                    far.append(abs(a.log_z - exact) > 2 * a.std_err)
            out[budget] = np.mean(far)
        print(
            f"| {scale} | {out[(300, 5)]:.0%} | {out[(2000, 20)]:.0%} | "
            f"{n_models * n_seeds} |"
        )


def raise_misfit():
    print("\n## RAISE on badly fitted points (exact log-likelihoods known)\n")
    print(
        "| weight scale | exact LL of the 8 points | RAISE - exact "
        "| AIS log Z - exact |"
    )
    print("| ---: | --- | --- | ---: |")
    rng = np.random.default_rng(6)
    for scale in (1.5, 2.0):
        X = rng.normal(0, 1, (300, 5))
        g = GaussianBernoulliRBM(10, max_iter=2, random_state=0).fit(X)
        g.components_ = rng.normal(0, scale, (10, 5))
        g.intercept_hidden_ = rng.normal(-1, 1, 10)
        exact = g.score_samples(X[:8])  # 10 hidden units: exact
        est = g.score_samples_raise(X[:8], n_betas=2000, n_runs=5, random_state=0)
        ais = g.log_partition("ais", n_betas=2000, random_state=0).log_z
        dz = ais - g.log_partition("exact").log_z
        print(
            f"| {scale} | {np.array2string(exact, precision=0)} | "
            f"{np.array2string(est - exact, precision=1)} | {dz:+.2f} |"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # the AIS check's warnings are off anyway
    ais_coverage(args.models, args.seeds)
    raise_misfit()


if __name__ == "__main__":
    main()
