"""``sklearn-rbm demo``: the main job on embedded data, in about a minute.

Trains each estimator on data that ships with scikit-learn or is generated
here, prints a short report and writes figures to an output folder.
"""

import time
import warnings
from pathlib import Path

import numpy as np


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _section(title):
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def demo_bernoulli(out, random_state=0):
    """Digits: features for classification, and a density model scored exactly."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from . import BernoulliRBM
    from .datasets import load_nudged_digits

    _section("BernoulliRBM features: digits nudged by one pixel (8,985 images)")
    X, y = load_nudged_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    t0 = time.perf_counter()
    raw_clf = LogisticRegression(C=100.0, max_iter=300)
    pipe = Pipeline(
        [
            (
                "rbm",
                BernoulliRBM(
                    100,
                    batch_size=10,
                    learning_rate=0.006,
                    max_iter=10,
                    centering=False,
                    random_state=random_state,
                ),
            ),
            ("clf", LogisticRegression(C=6000.0, max_iter=300)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        raw = raw_clf.fit(X_tr, y_tr).score(X_te, y_te)
        pipe.fit(X_tr, y_tr)
    acc = pipe.score(X_te, y_te)
    print(f"logistic regression on raw pixels      accuracy {raw:.3f}")
    print(
        f"RBM(100) features + logistic regression accuracy {acc:.3f}  "
        f"({time.perf_counter() - t0:.1f}s)"
    )

    _section("BernoulliRBM as a density model: binarised digits (1,797 images)")
    # small enough for an exact log-likelihood, checked by AIS
    Xb = (_digits()[0] > 0.5).astype(np.float64)
    Xb_tr, Xb_te = train_test_split(Xb, test_size=0.3, random_state=0)
    dens = BernoulliRBM(
        16,
        learning_rate=0.02,
        batch_size=20,
        max_iter=100,
        learning_rate_schedule="linear",
        random_state=random_state,
    ).fit(Xb_tr)
    exact = dens.log_partition("exact")
    ais = dens.log_partition("ais", n_betas=5000, n_runs=100, random_state=0)
    print(
        f"16 hidden units: log Z exact {exact.log_z:.3f}, "
        f"AIS {ais.log_z:.3f} +- {ais.std_err:.3f} (5,000 temperatures, 100 runs)"
    )
    dens.log_partition("exact")  # score with the exact value
    base = float(
        np.mean(
            np.sum(
                Xb_te * np.log(Xb_tr.mean(0).clip(1e-3, 1 - 1e-3))
                + (1 - Xb_te) * np.log1p(-Xb_tr.mean(0).clip(1e-3, 1 - 1e-3)),
                axis=1,
            )
        )
    )
    print(
        f"held-out log-likelihood: RBM {dens.score(Xb_te):.2f} nats/image "
        f"(independent pixels: {base:.2f})"
    )

    rbm = pipe.named_steps["rbm"]
    samples = dens.sample(16, n_steps=1000, random_state=0, return_mean=True)
    paths = []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        print("(matplotlib not installed: no figures)")
        return paths
    fig, axes = plt.subplots(8, 8, figsize=(6, 6))
    for ax, w in zip(axes.ravel(), rbm.components_[:64]):
        ax.imshow(w.reshape(8, 8), cmap="gray")
        ax.axis("off")
    fig.suptitle("BernoulliRBM filters on nudged digits (first 64 of 100)")
    paths.append(out / "bernoulli_filters.png")
    fig.savefig(paths[-1], dpi=80)
    plt.close(fig)
    fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
    for ax, img in zip(axes[0], Xb_te[:8]):
        ax.imshow(img.reshape(8, 8), cmap="gray_r")
        ax.axis("off")
    for ax, img in zip(axes[1], samples[:8]):
        ax.imshow(img.reshape(8, 8), cmap="gray_r")
        ax.axis("off")
    fig.suptitle("top: data, bottom: samples after 1,000 Gibbs steps")
    paths.append(out / "bernoulli_samples.png")
    fig.savefig(paths[-1], dpi=80)
    plt.close(fig)
    return paths


#: the demo's parts, in order; each takes the output folder and returns figures
PARTS = [demo_bernoulli]


def run_demo(out="demo_output", random_state=0):
    """Run every part of the demo and print where the figures went."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    figures = []
    for part in PARTS:
        figures += part(out, random_state=random_state) or []
    _section("done")
    print(f"total {time.perf_counter() - t0:.0f}s; figures written to {out.resolve()}:")
    for f in figures:
        print(f"  {f.name}")
    return figures
