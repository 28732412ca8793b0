"""``sklearn-rbm demo``: the main job on embedded data, in about ten seconds.

Trains each estimator on data that ships with scikit-learn or is generated
here, prints a short report and writes figures to an output folder. The
estimators and data come through the public API only (``sklearn_rbm`` and
``sklearn_rbm.datasets``); the item-mean baseline is the command line's own
(:mod:`sklearn_rbm.cli.baseline`).
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

    from sklearn_rbm import BernoulliRBM
    from sklearn_rbm.datasets import load_nudged_digits

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
                    learning_rate=0.06,
                    max_iter=10,
                    random_state=random_state,
                ),
            ),
            ("clf", LogisticRegression(solver="newton-cg", C=6000.0)),
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
        momentum=0.9,
        centering=True,
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
    plt = _pyplot()
    if plt is None:
        return []
    return [
        _images(
            plt,
            [rbm.components_[:64]],
            "BernoulliRBM filters on nudged digits (first 64 of 100)",
            out / "bernoulli_filters.png",
        ),
        _images(
            plt,
            [Xb_te[:8], samples[:8]],
            "top: data, bottom: samples after 1,000 Gibbs steps",
            out / "bernoulli_samples.png",
        ),
    ]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        print("(matplotlib not installed: no figures)")
        return None
    return plt


def _images(plt, rows, title, path):
    """A figure of 8 x 8 images, one row of 8 per array of ``rows`` (a single
    array of 64 fills an 8 x 8 grid of filters); returns its path."""
    if len(rows) == 1:  # filters: a grid, grey levels as they are
        fig, axes = plt.subplots(8, 8, figsize=(6, 6))
        pairs, cmap = zip(axes.ravel(), rows[0]), "gray"
    else:  # digits: dark ink on white
        fig, axes = plt.subplots(len(rows), 8, figsize=(8, 1.2 * len(rows)))
        pairs, cmap = (p for a, r in zip(axes, rows) for p in zip(a, r)), "gray_r"
    for ax, img in pairs:
        ax.imshow(img.reshape(8, 8), cmap=cmap)
        ax.axis("off")
    fig.suptitle(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def demo_gaussian(out, random_state=0):
    """Digits as real values: a Gaussian-Bernoulli RBM against probabilistic PCA."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from sklearn_rbm import GaussianBernoulliRBM

    _section("GaussianBernoulliRBM: grey-level digits as real values")
    X = load_digits().data
    X_tr, X_te = train_test_split(X, test_size=0.3, random_state=0)
    # pixels that are (nearly) constant get arbitrarily sharp densities: drop them
    keep = (X_tr > 0).mean(axis=0) >= 0.05
    scaler = StandardScaler().fit(X_tr[:, keep])
    Z_tr, Z_te = scaler.transform(X_tr[:, keep]), scaler.transform(X_te[:, keep])
    t0 = time.perf_counter()
    gb = GaussianBernoulliRBM(
        100,
        learning_rate=2e-3,
        batch_size=20,
        max_iter=150,
        random_state=random_state,
    ).fit(Z_tr)
    fit_time = time.perf_counter() - t0
    ais = gb.log_partition("ais", n_betas=2000, n_runs=50, random_state=0)
    ll = float(np.mean(gb.score_samples(Z_te)))
    print(
        f"{Z_tr.shape[1]} standardised pixels, 100 hidden units ({fit_time:.1f}s); "
        f"log Z by AIS +- {ais.std_err:.3f}"
    )
    print(f"held-out log-likelihood: Gaussian-Bernoulli RBM {ll:.2f} nats/image")
    for q in (16, Z_tr.shape[1] - 1):
        pca = PCA(q).fit(Z_tr)
        print(
            f"                         probabilistic PCA ({q:2d}) {pca.score(Z_te):.2f}"
        )
    print(f"median learned sigma {np.median(gb.sigma_):.2f} (data: 1)")

    plt = _pyplot()
    if plt is None:
        return []
    samples = gb.sample(8, n_steps=1000, random_state=0, return_mean=True)

    def to_pixels(Z):
        img = np.tile(X_tr.mean(axis=0), (len(Z), 1))
        img[:, keep] = scaler.inverse_transform(Z)
        return np.clip(img, 0, 16)

    return [
        _images(
            plt,
            [to_pixels(Z_te[:8]), to_pixels(samples)],
            "top: held-out digits, bottom: Gaussian-Bernoulli RBM samples",
            out / "gaussian_samples.png",
        )
    ]


def _rmse(pred, truth):
    return float(np.sqrt(np.mean((np.asarray(pred) - truth) ** 2)))


def demo_recommender(out, random_state=0):
    """Synthetic ratings: held-out RMSE, top-5 lists, fold-in, learning curve."""
    from sklearn_rbm import CategoricalRBMRecommender
    from sklearn_rbm.datasets import make_ratings, train_test_split_ratings

    from .baseline import ItemMeanRegressor

    _section("CategoricalRBMRecommender: synthetic ratings (600 users, 300 items)")
    X, y = make_ratings(n_users=600, n_items=300, density=0.08, random_state=0)
    # the last 50 users are kept out of fit entirely, to be folded in later
    new = X[:, 0] >= 550
    X_tr, X_te, y_tr, y_te = train_test_split_ratings(
        X[~new], y[~new], test_size=0.2, random_state=0
    )
    t0 = time.perf_counter()
    rec = CategoricalRBMRecommender(
        50,
        learning_rate=0.3,
        max_iter=30,
        n_iter_no_change=10,
        random_state=random_state,
    ).fit(X_tr, y_tr)
    rmse = _rmse(rec.predict(X_te), y_te)
    item_means = ItemMeanRegressor().fit(X_tr, y_tr)
    base_rmse = _rmse(item_means.predict(X_te), y_te)
    print(
        f"{len(y_tr):,} training / {len(y_te):,} test ratings; "
        f"{rec.n_iter_} epochs in {time.perf_counter() - t0:.1f}s"
    )
    print(f"test RMSE: RBM {rmse:.4f}, item-mean baseline {base_rmse:.4f}")

    user = X_tr[0, 0]
    top, scores = rec.recommend([user], n_items=5)
    print(
        f"top-5 unseen items for user {user} (ranking score): "
        + ", ".join(f"{i} ({s:.2f})" for i, s in zip(top[0], scores[0]))
    )

    # fold-in: users never seen in fit, each known by half of their ratings
    t0 = time.perf_counter()
    pred, truth, base = [], [], []
    for u in np.unique(X[new, 0]):
        its, rs = X[X[:, 0] == u, 1], y[X[:, 0] == u]
        h = len(its) // 2
        pred.append(rec.predict_new_user(its[:h], rs[:h], its[h:]))
        truth.append(rs[h:])
        base.append(item_means.predict(np.c_[np.full(len(its) - h, u), its[h:]]))
    pred, truth, base = map(np.concatenate, (pred, truth, base))
    print(
        f"fold-in of 50 new users from half of their ratings "
        f"({time.perf_counter() - t0:.1f}s): RMSE {_rmse(pred, truth):.4f} on the "
        f"other half (item mean {_rmse(base, truth):.4f})"
    )

    plt = _pyplot()
    if plt is None:
        return []
    curve = -np.asarray(rec.validation_scores_)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, len(curve) + 1), curve, marker="o", ms=3, label="RBM")
    ax.axhline(base_rmse, color="gray", ls="--", label="item mean (test)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation RMSE")
    ax.set_title("CategoricalRBMRecommender learning curve")
    ax.legend()
    fig.tight_layout()
    path = out / "recommender_learning_curve.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return [path]


#: the demo's parts, in order; each takes the output folder and returns figures
PARTS = [demo_bernoulli, demo_gaussian, demo_recommender]


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
