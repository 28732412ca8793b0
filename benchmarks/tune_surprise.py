"""Grid search of Surprise's SVD on the validation splits of
``tune_recommender.py`` (never on test ratings).

The peer is tuned as ours is: each configuration is fitted on the training
part of the validation split and scored by RMSE on its held-out 10%
(ML-100K: the mean over u1.base .. u5.base; ML-1M: 10% of the benchmark's
training part). Prints one line per configuration and the best one; the
chosen values are hard-coded in ``_defaults_recommender.py``.

    python benchmarks/tune_surprise.py ml100k-all
    python benchmarks/tune_surprise.py ml1m --small-grid
    python benchmarks/tune_surprise.py ml1m --small-grid n_factors=200,300 \
        reg_all=0.05 n_epochs=40,60                 # the edges of the grid
    python benchmarks/tune_surprise.py mlsmall      # ml-latest-small
    python benchmarks/tune_surprise.py synthetic    # make_ratings(300, 200)
"""

import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _defaults_recommender import SurpriseSVD, validation_splits
from _movielens import data_dir
from tune_recommender import validation_data

GRID = {
    "n_factors": (50, 100, 200),
    "lr_all": (0.005, 0.01),
    "reg_all": (0.02, 0.05, 0.1),
    "n_epochs": (20, 40),
}
#: ML-1M fits take about a minute each: the grid around the ML-100K optimum
#: (n_factors=200, lr_all=0.01, reg_all=0.1, n_epochs=40)
SMALL_GRID = {
    "n_factors": (100, 200),
    "lr_all": (0.01,),
    "reg_all": (0.05, 0.1),
    "n_epochs": (40,),
}


def main(argv):
    name = argv[0]
    grid = dict(SMALL_GRID if "--small-grid" in argv else GRID)
    for arg in argv[1:]:  # e.g. n_epochs=40,60 overrides a row of the grid
        if "=" in arg:
            key, values = arg.split("=")
            grid[key] = tuple(type(grid[key][0])(v) for v in values.split(","))
    names = [f"ml100k{i}" for i in range(1, 6)] if name == "ml100k-all" else [name]
    if name in ("mlsmall", "synthetic"):
        data = validation_splits(name, data_dir())
    else:
        data = [validation_data(n) for n in names]
    best = (np.inf, None)
    for values in itertools.product(*grid.values()):
        kw = dict(zip(grid, values))
        t0 = time.process_time()
        rmses = []
        for Xtr, ytr, Xva, yva in data:
            model = SurpriseSVD(**kw).fit(Xtr, ytr)
            rmses.append(np.sqrt(np.mean((model.predict(Xva) - yva) ** 2)))
        score = float(np.mean(rmses))
        best = min(best, (score, kw), key=lambda t: t[0])
        print(
            f"{name} {kw} val RMSE {score:.4f} CPU "
            f"{(time.process_time() - t0) / len(data):.1f}s",
            flush=True,
        )
    print(f"best: {best[1]} val RMSE {best[0]:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
