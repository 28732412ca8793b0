"""scikit-learn's RBM example on the validation split, many seeds (issue 15).

What separates scikit-learn's ``BernoulliRBM`` from ours at the same four
hyperparameters (``n_components=100, learning_rate=0.06``, 10 epochs, batches
of 10)? Both run PCD-1 with ``batch_size`` persistent chains of sampled hidden
states, sampled negative visibles, ``normal(0, 0.01)`` weights and the mean
gradient of each batch. Ours differs by three other defaults: weight decay
(``1e-4``; scikit-learn none), the visible biases' start (the data's log-odds;
scikit-learn zeros) and shuffling every epoch (scikit-learn none); and its
chains start from the base-rate model (scikit-learn: all-zero hidden states).
Each row switches some of them to scikit-learn's choice, on the validation
split of ``bench_defaults.py --validation`` (20% of the 80% training part),
with the mean, standard deviation and standard error over the seeds.

Usage::

    python benchmarks/bench_sk_gap.py              # 10 seeds, ~5 min
    python benchmarks/bench_sk_gap.py --seeds 30 --rows 0 2 5 6
    python benchmarks/bench_sk_gap.py --seeds 30 --rows 0 5 --test  # report
    python benchmarks/bench_sk_gap.py --cv 5 --seeds 6 --rows 0 2 4 7 9
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import minmax_scale
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_defaults import OURS_AT_SK, SK_EXAMPLE  # noqa: E402

from sklearn_rbm import BernoulliRBM  # noqa: E402
from sklearn_rbm.datasets import load_nudged_digits  # noqa: E402

SK_LIKE = dict(weight_decay=0.0, visible_bias_init="zeros", shuffle=False)
VARIANTS = {
    "ours at scikit-learn's hyperparameters": OURS_AT_SK,
    "  weight_decay=0": dict(OURS_AT_SK, weight_decay=0.0),
    '  visible_bias_init="zeros"': dict(OURS_AT_SK, visible_bias_init="zeros"),
    "  shuffle=False": dict(OURS_AT_SK, shuffle=False),
    "  all three as scikit-learn's": dict(OURS_AT_SK, **SK_LIKE),
    "ours, defaults (n_components=100)": dict(n_components=100),
    '  defaults, visible_bias_init="zeros"': dict(
        n_components=100, visible_bias_init="zeros"
    ),
    "ours at scikit-learn's, persistent=False (CD-1)": dict(
        OURS_AT_SK, persistent=False
    ),
    "ours, defaults, persistent=False (CD-1)": dict(n_components=100, persistent=False),
    "ours at scikit-learn's, CD-1, all three as scikit-learn's": dict(
        OURS_AT_SK, persistent=False, **SK_LIKE
    ),
    'ours at scikit-learn\'s, CD-1, visible_bias_init="zeros"': dict(
        OURS_AT_SK, persistent=False, visible_bias_init="zeros"
    ),
    'ours, defaults, CD-1, visible_bias_init="zeros"': dict(
        n_components=100, persistent=False, visible_bias_init="zeros"
    ),
}


def validation_split(test=False):
    """The validation split (20% of the 80% training part), or with ``test``
    the example's own 80/20 split (to report, never to choose)."""
    X, y = load_nudged_digits(scale=False)
    X = minmax_scale(X.astype(np.float32), feature_range=(0, 1))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    if test:
        return X_tr, X_te, y_tr, y_te
    return train_test_split(X_tr, y_tr, test_size=0.2, random_state=1)


def cv_splits(n_folds):
    """Stratified folds of the example's 80% training part (test unread)."""
    X, y = load_nudged_digits(scale=False)
    X = minmax_scale(X.astype(np.float32), feature_range=(0, 1))
    X_tr, _, y_tr, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=1)
    return [(X_tr[a], X_tr[b], y_tr[a], y_tr[b]) for a, b in folds.split(X_tr, y_tr)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument(
        "--rows", type=int, nargs="*", help="only these rows of ours (0-based)"
    )
    ap.add_argument(
        "--test",
        action="store_true",
        help="the example's test split (report the chosen defaults once)",
    )
    ap.add_argument(
        "--cv",
        type=int,
        default=0,
        help="instead of the validation split: this many stratified folds of "
        "the example's training part, each with every seed (se of the "
        "difference paired by fold)",
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.cv:
        splits = cv_splits(args.cv)
        split = f"{args.cv}-fold cross-validation of the training part"
    else:
        splits = [validation_split(args.test)]
        split = "test split" if args.test else "validation split"
    seeds = range(args.seeds)
    print(f"# {split}, seeds 0..{args.seeds - 1}; load {os.getloadavg()}\n")

    def run(label, make_rbm, ref=None):
        t0 = time.perf_counter()
        accs = np.array(
            [
                [
                    make_pipeline(
                        make_rbm(s), LogisticRegression(solver="newton-cg", C=6000)
                    )
                    .fit(X_tr, y_tr)
                    .score(X_va, y_va)
                    for s in seeds
                ]
                for X_tr, X_va, y_tr, y_va in splits
            ]
        )  # (splits, seeds)
        n = accs.size
        sd = accs.std(ddof=1) if n > 1 else 0.0
        diff = ""
        if ref is not None:
            d = accs - ref  # paired by split (the seeds' streams differ)
            se_d = d.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0
            diff = f"{d.mean():+.4f} (se {se_d:.4f})"
        print(
            f"{label:42s} {accs.mean():.4f}  sd {sd:.4f}  se "
            f"{sd / np.sqrt(n):.4f}  {diff:17s} "
            f"{(time.perf_counter() - t0) / n:.1f} s/fit",
            flush=True,
        )
        return accs

    print(f"{'model':42s} mean    sd      se      - sklearn (se)")
    with threadpool_limits(1):
        sk = run(
            "scikit-learn BernoulliRBM(100, 0.06, 10 it)",
            lambda s: SkBernoulliRBM(random_state=s, **SK_EXAMPLE),
        )
        for i, (label, kw) in enumerate(VARIANTS.items()):
            if args.rows is not None and i not in args.rows:
                continue
            run(label, lambda s, kw=kw: BernoulliRBM(random_state=s, **kw), sk)
    print(f"\nload {os.getloadavg()}")


if __name__ == "__main__":
    main()
