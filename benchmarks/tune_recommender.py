"""Hyperparameter search for CategoricalRBMRecommender on *validation* splits.

Never looks at test ratings: for ML-100K it holds out 10% of u1.base (seed
0) and for ML-1M 10% of the 90% training part of the benchmark's split
(seed 0 for the benchmark split, then seed 1). Each configuration prints its
validation RMSE and fit time; the chosen values are written into
bench_recommender.py by hand.

    python benchmarks/tune_recommender.py ml100k "n_components=100" "learning_rate=0.02"
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _movielens import ml1m, ml100k_split, random_split

from sklearn_rbm import CategoricalRBMRecommender

BENCH_SEED = 0


def validation_data(name):
    if name == "ml100k":
        X, y, _, _ = ml100k_split(1)  # the test part is discarded
    else:
        X, y = ml1m()
        X, y, _, _ = random_split(X, y, 0.1, BENCH_SEED)  # discard the test part
    return random_split(X, y, 0.1, 1)


def main(argv):
    name, specs = argv[0], argv[1:]
    base = {}
    if specs and specs[0].startswith("base:"):
        base = eval("dict(" + specs[0][5:] + ")")
        specs = specs[1:]
    Xtr, ytr, Xva, yva = validation_data(name)
    for spec in specs or [""]:
        kw = dict(base, **eval("dict(" + spec + ")"))
        rec = CategoricalRBMRecommender(random_state=0, **kw)
        t0 = time.perf_counter()
        rec.fit(Xtr, ytr)
        fit_s = time.perf_counter() - t0
        rmse = float(np.sqrt(np.mean((rec.predict(Xva) - yva) ** 2)))
        print(
            f"{name} {spec or '(base)':70s} val RMSE {rmse:.4f}  fit {fit_s:6.1f}s "
            f"epochs {rec.n_iter_}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
