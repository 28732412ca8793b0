"""
=========================================
Filters and samples of a Bernoulli RBM
=========================================

A :class:`~sklearn_rbm.BernoulliRBM` is a generative model: besides its
features it can produce new images by block-Gibbs sampling. This example
trains one on binarised digits and shows its filters (the rows of
``components_``, one per hidden unit) and samples drawn with
:meth:`~sklearn_rbm.BernoulliRBM.sample`.

By default it uses scikit-learn's bundled 8x8 digits. With
``SKLEARN_RBM_GALLERY_REAL_DATA=1`` and MNIST in
``$SKLEARN_RBM_DATA/mnist/mnist.npz`` it uses 10,000 MNIST images instead.
"""

# sphinx_gallery_thumbnail_number = 2

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_rbm import BernoulliRBM

mnist = Path(os.environ.get("SKLEARN_RBM_DATA", "."), "mnist", "mnist.npz")
if os.environ.get("SKLEARN_RBM_GALLERY_REAL_DATA") == "1" and mnist.is_file():
    with np.load(mnist) as data:
        X = data["x_train"][:10000].reshape(-1, 784) / 255.0
    shape, n_hidden, max_iter = (28, 28), 100, 10
else:
    X = load_digits().data / 16.0
    shape, n_hidden, max_iter = (8, 8), 64, 100
X = (X > 0.5).astype(np.float64)
print(f"{X.shape[0]} binary images of {shape[0]}x{shape[1]} pixels")

# %%
# Training
# --------
# Persistent contrastive divergence (the default) with a learning rate that
# decays linearly to zero, which gives better samples than a constant one.

rbm = BernoulliRBM(
    n_hidden,
    learning_rate=0.02,
    batch_size=20,
    max_iter=max_iter,
    learning_rate_schedule="linear",
    momentum=0.9,
    centering=True,
    random_state=0,
).fit(X)
print(f"trained {rbm.n_iter_} epochs")

# %%
# Filters
# -------
# Each filter is drawn on its own symmetric colour scale: red pixels switch
# the hidden unit on, blue ones off.

fig, axes = plt.subplots(8, 8, figsize=(6, 6.3), layout="constrained")
for ax, w in zip(axes.ravel(), rbm.components_):
    m = np.abs(w).max()
    ax.imshow(w.reshape(shape), cmap="RdBu_r", vmin=-m, vmax=m)
    ax.set_axis_off()
fig.suptitle("BernoulliRBM filters")
plt.show()

# %%
# Samples
# -------
# Independent chains started from the base-rate model run for an increasing
# number of Gibbs steps; we show the visible probabilities of the last step
# (``return_mean=True``), which are less noisy than binary samples.

steps = [1, 10, 100, 1000]
fig, axes = plt.subplots(len(steps) + 1, 10, figsize=(8, 5), layout="constrained")
for ax, img in zip(axes[0], X[np.random.default_rng(0).choice(len(X), 10)]):
    ax.imshow(img.reshape(shape), cmap="gray_r")
axes[0, 0].set_title("data", loc="left", fontsize=9)
for row, n_steps in zip(axes[1:], steps):
    samples = rbm.sample(10, n_steps=n_steps, random_state=0, return_mean=True)
    for ax, img in zip(row, samples):
        ax.imshow(img.reshape(shape), cmap="gray_r", vmin=0, vmax=1)
    row[0].set_title(f"{n_steps} Gibbs steps", loc="left", fontsize=9)
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Training images (top) and RBM samples")
plt.show()
