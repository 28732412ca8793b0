"""Figures of a trained GaussianBernoulliRBM: samples next to real data, filters.

Writes ``gaussian_<dataset>_samples.png`` and ``gaussian_<dataset>_filters.png``
into the folder given on the command line, for scikit-learn's digits (64
standardised pixels) and, when ``mnist.npz`` is found (see
``bench_gaussian.py``), MNIST reduced to 50 standardised PCA dimensions (samples
and filters are mapped back to pixels)::

    python benchmarks/plot_gaussian.py figures/ [--quick] [--no-mnist]

:func:`plot_samples_and_filters` is the reusable part (e.g. for a gallery
example).
"""

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_gaussian import find_mnist

from sklearn_rbm import GaussianBernoulliRBM


def _grid(ax, images, shape, n_cols, title, symmetric=False):
    n = len(images)
    n_rows = int(np.ceil(n / n_cols))
    h, w = shape
    canvas = np.full((n_rows * (h + 1) + 1, n_cols * (w + 1) + 1), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        img = np.asarray(img, dtype=float).reshape(shape)
        if symmetric:  # each filter on its own symmetric scale
            img = img / (np.abs(img).max() + 1e-12)
        canvas[
            1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w
        ] = img
    cmap = plt.get_cmap("RdBu_r" if symmetric else "gray_r").copy()
    cmap.set_bad("white")
    kw = {"vmin": -1, "vmax": 1} if symmetric else {}
    ax.imshow(canvas, cmap=cmap, interpolation="nearest", **kw)
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def plot_samples_and_filters(
    to_pixels, X_real, model, shape, *, n_show=48, n_steps=2000, random_state=0
):
    """Two figures: real images next to model samples, and the filters.

    Parameters
    ----------
    to_pixels : callable
        Maps rows in the model's (standardised) space to pixel rows.
    X_real : ndarray
        Real rows in the model's space (the first ``n_show`` are shown).
    model : GaussianBernoulliRBM
        The fitted RBM.
    shape : tuple
        Image shape, e.g. ``(8, 8)``.
    n_show : int
        Images per panel.
    n_steps : int
        Gibbs steps of each sampling chain (started from the base-rate model).
    random_state : int
        Seed of the chains.

    Returns
    -------
    fig_samples, fig_filters : matplotlib.figure.Figure
    """
    n_cols = 8
    samples = model.sample(
        n_show, n_steps=n_steps, random_state=random_state, return_mean=True
    )
    fig_s, axes = plt.subplots(1, 2, figsize=(9, 4.3))
    _grid(axes[0], to_pixels(X_real[:n_show]), shape, n_cols, "held-out data")
    _grid(
        axes[1],
        to_pixels(samples),
        shape,
        n_cols,
        f"RBM samples (E[v | h] after {n_steps} Gibbs steps)",
    )
    fig_s.tight_layout()

    # filter j: how h_j = 1 moves the mean of p(v | h), in pixels
    W = model.components_
    zero = to_pixels(np.zeros((1, W.shape[1])))
    filters = to_pixels(W) - zero
    order = np.argsort(-np.linalg.norm(W, axis=1))[: min(64, len(W))]
    fig_f, ax = plt.subplots(figsize=(5.5, 5.8))
    _grid(ax, filters[order], shape, 8, "filters (largest norms)", symmetric=True)
    fig_f.tight_layout()
    return fig_s, fig_f


def digits_figures(outdir, quick):
    X = load_digits().data
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    X_train, X_test = X[perm[:1400]], X[perm[1400:]]
    pipe = make_pipeline(
        StandardScaler(),
        GaussianBernoulliRBM(
            n_components=100,
            learning_rate=5e-3,
            max_iter=60 if quick else 300,
            random_state=0,
        ),
    ).fit(X_train)
    scaler, rbm = pipe[0], pipe[-1]
    figs = plot_samples_and_filters(
        lambda Z: np.clip(scaler.inverse_transform(Z), 0, 16),
        scaler.transform(X_test),
        rbm,
        (8, 8),
        n_steps=300 if quick else 2000,
    )
    return _save(figs, outdir, "digits")


def mnist_figures(outdir, quick, path):
    with np.load(path) as data:
        X_train = data["x_train"][: 10000 if quick else None].reshape(-1, 784) / 255.0
        X_test = data["x_test"][:500].reshape(-1, 784) / 255.0
    pca = PCA(50, random_state=0).fit(X_train)
    scaler = StandardScaler().fit(pca.transform(X_train))
    Z_train = scaler.transform(pca.transform(X_train))
    rbm = GaussianBernoulliRBM(
        n_components=100,
        learning_rate=1e-2,
        max_iter=10 if quick else 50,
        random_state=0,
    ).fit(Z_train)

    def to_pixels(Z):
        return np.clip(pca.inverse_transform(scaler.inverse_transform(Z)), 0, 1)

    figs = plot_samples_and_filters(
        to_pixels,
        scaler.transform(pca.transform(X_test)),
        rbm,
        (28, 28),
        n_steps=300 if quick else 2000,
    )
    return _save(figs, outdir, "mnist")


def _save(figs, outdir, name):
    paths = []
    for fig, kind in zip(figs, ("samples", "filters"), strict=True):
        path = Path(outdir) / f"gaussian_{name}_{kind}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", help="folder for the PNG files (created)")
    parser.add_argument("--quick", action="store_true", help="short training")
    parser.add_argument("--no-mnist", action="store_true", help="digits only")
    args = parser.parse_args(argv)
    Path(args.outdir).mkdir(parents=True, exist_ok=True)
    paths = digits_figures(args.outdir, args.quick)
    mnist = None if args.no_mnist else find_mnist()
    if mnist is not None:
        paths += mnist_figures(args.outdir, args.quick, mnist)
    elif not args.no_mnist:
        print("mnist.npz not found: digits figures only")
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
