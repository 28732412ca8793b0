"""Hyperparameter search for CategoricalRBMRecommender on *validation* splits.

Never looks at test ratings: for ML-100K it holds out 10% (seed 1) of
u1.base (``ml100k``), of u{i}.base (``ml100k2`` .. ``ml100k5``) or of each of
the five in turn, printing the mean (``ml100k-all``); for ML-1M 10% of the
90% training part of the benchmark's split (seed 0 for the benchmark split,
then seed 1). Each configuration prints its validation RMSE and fit CPU time;
the chosen values are written into bench_recommender.py by hand.

    python benchmarks/tune_recommender.py ml100k "n_components=100" "learning_rate=0.02"
    python benchmarks/tune_recommender.py ml100k-all "visible_bias_decay=0.03"
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
    if name.startswith("ml100k"):
        X, y, _, _ = ml100k_split(int(name[6:] or 1))  # the test part is discarded
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
    names = [f"ml100k{i}" for i in range(1, 6)] if name == "ml100k-all" else [name]
    data = [validation_data(n) for n in names]
    for spec in specs or [""]:
        kw = dict(base, **eval("dict(" + spec + ")"))
        rmses, cpu, epochs = [], 0.0, []
        for Xtr, ytr, Xva, yva in data:
            rec = CategoricalRBMRecommender(random_state=0, **kw)
            t0 = time.process_time()
            rec.fit(Xtr, ytr)
            cpu += time.process_time() - t0
            rmses.append(float(np.sqrt(np.mean((rec.predict(Xva) - yva) ** 2))))
            epochs.append(rec.n_iter_)
        per = " ".join(f"{r:.4f}" for r in rmses) if len(rmses) > 1 else ""
        print(
            f"{name} {spec or '(base)':70s} val RMSE {np.mean(rmses):.4f}  fit CPU "
            f"{cpu / len(data):6.1f}s  epochs {epochs} {per}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
