"""The MNIST training recipe of ``bench_bernoulli.py``, resumable across sessions.

A run of thousands of epochs (issue 18's -84 target on stochastically
binarised MNIST: 1,802 epochs with 200 chains took 2.5 hours) outlasts a
working session. This script trains the recipe's model as ``fit`` would,
``--chunk`` epochs at a time, and after each chunk writes the whole training
state (parameters, momentum, persistent chains, centring offsets, the random
stream, the epoch count that drives the linear schedule) to ``--checkpoint``.
Started again with the same settings, it continues from the last chunk; the
result is the ``fit`` of the full run, bit for bit (``--selftest`` checks
this on a small problem). When the last epoch is done it reports the AIS
test log-likelihood as ``bench_bernoulli.py --recipe`` does (14,500
temperatures, 100 runs; the training draw's first 10,000 images; RAISE on
500 test images), and keeps the fitted model in the checkpoint folder.

    python benchmarks/train_resumable.py --selftest
    python benchmarks/train_resumable.py --binarize stochastic --epochs 3604 \\
        --override '{"n_chains": 200}' --checkpoint /work/runs/stoch-200-3604

A run's settings are stored with its first checkpoint; a second start with
other settings is refused. The checkpoints are pickles written by this
script: load only your own.
"""

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bernoulli import RECIPE, ais_ll, find_mnist, load, raise_ll

from sklearn_rbm import BernoulliRBM
from sklearn_rbm.training.loop import run_epochs
from sklearn_rbm.training.threads import training_threads


def train(est, X, checkpoint, chunk, config, log=print, stop_at=None):
    """Train ``est`` on ``X`` as ``fit`` would, resuming from and writing to
    the folder ``checkpoint`` every ``chunk`` epochs; returns ``est`` fitted
    (or None when ``stop_at`` epochs are done first: a session's end)."""
    if est.early_stopping:
        raise ValueError("resumable runs do not support early_stopping")
    checkpoint = Path(checkpoint)
    checkpoint.mkdir(parents=True, exist_ok=True)
    state_file = checkpoint / "state.pkl"
    X, _, _, _, batch_size, n_epochs, phase, state = est._start_fit(X, None)
    if state_file.is_file():
        with open(state_file, "rb") as f:
            saved = pickle.load(f)
        if saved["config"] != config:
            raise SystemExit(f"{state_file} belongs to another run: {saved['config']}")
        state = saved["state"]
        log(f"resumed at epoch {state.n_epochs} of {n_epochs} from {state_file}")
    step = phase.bind(state, X)
    while state.n_epochs < n_epochs:
        if stop_at is not None and state.n_epochs >= stop_at:
            return None
        todo = min(chunk, n_epochs - state.n_epochs)
        t0 = time.perf_counter()
        with training_threads():
            state, _ = run_epochs(
                state,
                step,
                X.shape[0],
                phase.settings,
                batch_size=batch_size,
                n_epochs=todo,
                shuffle=est.shuffle,
            )
        tmp = state_file.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump({"config": config, "state": state}, f)
        os.replace(tmp, state_file)  # a crash mid-write keeps the last chunk
        log(
            f"epoch {state.n_epochs} of {n_epochs}: {todo} epochs in "
            f"{time.perf_counter() - t0:.0f} s, saved",
            flush=True,
        )
    est._commit(state)
    est.batch_size_ = batch_size
    est.validation_scores_ = None
    return est


def selftest():
    """A chunked, resumed run equals one ``fit`` bit for bit."""
    import tempfile

    rng = np.random.default_rng(0)
    X = (rng.random((300, 20)) < rng.random(20)).astype(np.float32)
    kw = dict(RECIPE, n_components=8, batch_size=20, max_iter=7, random_state=0)
    ref = BernoulliRBM(**kw).fit(X)
    with tempfile.TemporaryDirectory() as tmp:
        config = {"selftest": True}
        # a first "session" ends after 3 epochs; the second resumes
        quiet = lambda m, **k: None
        assert train(BernoulliRBM(**kw), X, tmp, 3, config, quiet, stop_at=3) is None
        logged = []
        est = train(
            BernoulliRBM(**kw), X, tmp, 2, config, log=lambda m, **k: logged.append(m)
        )
    if not logged or not logged[0].startswith("resumed at epoch 3 of 7"):
        raise SystemExit(f"selftest FAILED: the run did not resume: {logged[:1]}")
    for attr in ("components_", "intercept_hidden_", "intercept_visible_"):
        a, b = getattr(est, attr), getattr(ref, attr)
        if not np.array_equal(a, b):
            raise SystemExit(
                f"selftest FAILED: {attr} differs by {np.abs(a - b).max()}"
            )
    print("selftest passed: the resumed run equals fit bit for bit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder holding mnist/mnist.npz")
    ap.add_argument("--binarize", choices=["threshold", "stochastic"])
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--override", default="{}", help="JSON settings over the recipe")
    ap.add_argument("--checkpoint", help="folder of the run's checkpoint")
    ap.add_argument("--chunk", type=int, default=20, help="epochs per checkpoint")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    if not (args.binarize and args.epochs and args.checkpoint):
        ap.error("--binarize, --epochs and --checkpoint are required")
    settings = dict(RECIPE, **json.loads(args.override), max_iter=args.epochs)
    config = {"binarize": args.binarize, "settings": settings, "random_state": 0}
    print(f"run: {config}", flush=True)
    X, X_test = load(find_mnist(args.data), args.binarize)
    est = BernoulliRBM(**settings, random_state=0)
    t0 = time.perf_counter()
    train(est, X, args.checkpoint, args.chunk, config)
    print(f"training done ({time.perf_counter() - t0:.0f} s in this session)")
    with open(Path(args.checkpoint) / "model.pkl", "wb") as f:
        pickle.dump(est, f)
    ll, se, t_ais, ll_q, log_z = ais_ll(est, X_test, 14500, 100)
    train_ll = float(np.mean(-est.free_energy(X[:10000])) - log_z)
    sub = X_test[:500].astype(est.components_.dtype)
    ais_sub = float(np.mean(-est.free_energy(sub)) - log_z)
    raise_sub, _ = raise_ll(est, sub, 5000)
    print(
        f"epochs {args.epochs}: AIS test LL {ll:.2f} (std err of log Z {se:.3f}; "
        f"3,625 temperatures {ll_q:.2f}), train LL (10k) {train_ll:.2f}, "
        f"500 test images: AIS {ais_sub:.2f}, RAISE {raise_sub:.2f}"
    )


if __name__ == "__main__":
    main()
