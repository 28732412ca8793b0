"""Inner-validation runs behind GaussianBernoulliRBM's defaults (issue 15).

For each outer training fold of ``bench_defaults.py``'s Gaussian table
(shuffled 5-fold, ``random_state=0``), 20% of it (``random_state=0``) is
held out; candidates are fitted on the rest (standardised on it) and scored
on the held-out part, never on the outer test fold. ``"U": N`` in a
candidate stands for ``max_iter`` = epochs for about N updates (the rule of
``max_iter="auto"``, which is N=5000).

Usage (the runs of benchmarks/README.md, "Defaults")::

    python benchmarks/tune_gaussian_defaults.py wine,diabetes,breast_cancer,digits \\
        '[{"n_components":16,"U":5000},{"n_components":16,"U":5000,"variance_lr_scale":0.1},
          {"n_components":16,"U":20000,"variance_lr_scale":0.1},
          {"n_components":16,"max_iter":20}]' --folds 3
    python benchmarks/tune_gaussian_defaults.py wine,diabetes \\
        '[{"n_components":256,"U":5000},{"n_components":64,"U":5000}]' --folds 2
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import KFold, train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_rbm import GaussianBernoulliRBM

SETS = {
    "wine": load_wine,
    "diabetes": load_diabetes,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


def epochs_for(n_samples, updates):
    """Epochs for about ``updates`` updates at the "auto" batch size."""
    rbm = GaussianBernoulliRBM(max_iter="auto")
    batch = rbm._batch_size(n_samples, continuing=False)
    per_epoch = -(-n_samples // batch)
    return int(min(max(-(-updates // per_epoch), 20), 1000))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", help="comma-separated: " + ",".join(SETS))
    ap.add_argument("candidates", help="JSON list of GaussianBernoulliRBM params")
    ap.add_argument("--folds", type=int, default=5, help="outer folds used")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    candidates = json.loads(args.candidates)
    with threadpool_limits(1):
        for name in args.datasets.split(","):
            X = SETS[name](return_X_y=True)[0].astype(float)
            res = {}
            outer = KFold(5, shuffle=True, random_state=0).split(X)
            for tr, _ in list(outer)[: args.folds]:
                itr, iva = train_test_split(tr, test_size=0.2, random_state=0)
                sc = StandardScaler().fit(X[itr])
                A, B = sc.transform(X[itr]), sc.transform(X[iva])
                for ct in ("full", "diag"):
                    gm = GaussianMixture(1, covariance_type=ct, random_state=0)
                    res.setdefault(ct, []).append(gm.fit(A).score(B))
                for i, c in enumerate(candidates):
                    c = dict(c)
                    updates = c.pop("U", None)
                    if updates:
                        c["max_iter"] = epochs_for(len(A), updates)
                    t0 = time.perf_counter()
                    m = GaussianBernoulliRBM(random_state=0, **c).fit(A)
                    res.setdefault(i, []).append((m.score(B), time.perf_counter() - t0))
            print(
                f"{name} {X.shape} inner validation: full {np.mean(res['full']):.2f}"
                f" diag {np.mean(res['diag']):.2f}",
                flush=True,
            )
            for i, c in enumerate(candidates):
                r = np.array(res[i])
                print(f"   {r[:, 0].mean():.2f}  ({r[:, 1].mean():.0f} s/fold) {c}")


if __name__ == "__main__":
    main()
