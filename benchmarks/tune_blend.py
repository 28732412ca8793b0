"""Validation RMSE of the I+U average (I-RBM and U-RBM) for blend weights.

Like ``tune_recommender.py``, only validation splits of the *training* data
are used (never test ratings). The two arguments after the data set name are
keyword overrides of the benchmark's I-RBM and U-RBM settings; the script
prints each model's validation RMSE and fit CPU seconds, and the RMSE of the
weighted average for several weights of the I-RBM:

    python benchmarks/tune_blend.py ml100k-all "max_iter=10,fine_tune_iter=10" ""
    python benchmarks/tune_blend.py ml1m "fine_tune_iter=8" "max_iter=6"
"""

import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_recommender import RBM_ML1M, RBM_ML1M_USER, RBM_ML100K, RBM_ML100K_USER
from tune_recommender import validation_data

from sklearn_rbm import CategoricalRBMRecommender

WEIGHTS = (0.5, 0.55, 0.6, 0.65, 0.7, 1.0)


def main(argv):
    name, item_spec, user_spec = argv
    names = [f"ml100k{i}" for i in range(1, 6)] if name == "ml100k-all" else [name]
    small = name.startswith("ml100k")
    item = dict(RBM_ML100K if small else RBM_ML1M, **eval(f"dict({item_spec})"))
    user = dict(
        RBM_ML100K_USER if small else RBM_ML1M_USER, **eval(f"dict({user_spec})")
    )
    rmse = {"item": [], "user": [], **{w: [] for w in WEIGHTS}}
    cpu = {"item": 0.0, "user": 0.0}
    for n in names:
        Xtr, ytr, Xva, yva = validation_data(n)
        pred = {}
        for key, params in (("item", item), ("user", user)):
            with threadpool_limits(limits=1, user_api="blas"):
                t0 = time.process_time()
                rec = CategoricalRBMRecommender(**params).fit(Xtr, ytr)
                cpu[key] += time.process_time() - t0
            pred[key] = rec.predict(Xva)
            rmse[key].append(np.sqrt(np.mean((pred[key] - yva) ** 2)))
        for w in WEIGHTS:
            avg = w * pred["item"] + (1 - w) * pred["user"]
            rmse[w].append(np.sqrt(np.mean((avg - yva) ** 2)))
    k = len(names)
    print(
        f"{name} I[{item_spec}] U[{user_spec}]: "
        f"I {np.mean(rmse['item']):.4f} ({cpu['item'] / k:.1f}s CPU) "
        f"U {np.mean(rmse['user']):.4f} ({cpu['user'] / k:.1f}s CPU) | "
        + " ".join(f"w={w:g}: {np.mean(rmse[w]):.4f}" for w in WEIGHTS),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
