r"""
=============================================
Binarised digits and their base-rate model
=============================================

A placeholder example that proves the gallery pipeline works: it uses only
NumPy, Matplotlib and scikit-learn's bundled 8x8 digits (no download), and will
be replaced by an example that trains :class:`sklearn_rbm.BernoulliRBM` and
shows its filters.

It shows the data a Bernoulli RBM is trained on and the *base-rate model*
from which annealed importance sampling starts (see :ref:`partition`): the
product of independent Bernoulli pixels whose
probabilities are the (smoothed) training-set pixel means,

.. math::

   p_A(\mathbf v) &= \prod_i \bar p_i^{\,v_i} (1 - \bar p_i)^{1 - v_i}
   = \frac{e^{\mathbf b_A^\top \mathbf v}}{Z_A}, \\
   \log Z_A &= \sum_i \log\bigl(1 + e^{b_{A,i}}\bigr),
   \qquad b_{A,i} = \log\frac{\bar p_i}{1 - \bar p_i}.
"""

# sphinx_gallery_thumbnail_number = 2

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

# %%
# Binarise the digits
# -------------------
# Pixels take values 0..16; threshold them at half intensity.

X, y = load_digits(return_X_y=True)
V = (X / 16.0 > 0.5).astype(np.float64)
n_samples, n_features = V.shape
print(f"{n_samples} binary images with {n_features} pixels each")

fig, axes = plt.subplots(2, 10, figsize=(8, 2), layout="constrained")
for digit, ax_pair in enumerate(axes.T):
    ax_pair[0].imshow(X[y == digit][0].reshape(8, 8), cmap="gray_r")
    ax_pair[1].imshow(V[y == digit][0].reshape(8, 8), cmap="gray_r")
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Grey-level digits (top) and their binarised versions (bottom)")
plt.show()

# %%
# The base-rate model
# -------------------
# Pixel means are smoothed towards 1/2 so that pixels that are always off
# (the image borders) get a finite logit.

alpha = 1.0  # pseudo-counts
p_bar = (V.sum(axis=0) + alpha) / (n_samples + 2 * alpha)
b_a = np.log(p_bar) - np.log1p(-p_bar)
log_z_a = np.logaddexp(0.0, b_a).sum()

# Average log-likelihood of the data under the base-rate model, in nats.
mean_ll = (V @ b_a).mean() - log_z_a
print(f"log Z_A = {log_z_a:.3f} nats")
print(f"mean log-likelihood under the base-rate model = {mean_ll:.3f} nats")

rng = np.random.default_rng(0)
samples = (rng.random((10, n_features)) < p_bar).astype(np.float64)

fig = plt.figure(figsize=(8, 3.6), layout="constrained")
grid = fig.add_gridspec(2, 10, height_ratios=[3, 1])
ax = fig.add_subplot(grid[0, :3])
im = ax.imshow(p_bar.reshape(8, 8), cmap="viridis", vmin=0, vmax=1)
ax.set_title(r"pixel means $\bar p_i$")
ax.set_axis_off()
fig.colorbar(im, ax=ax, fraction=0.046)
ax = fig.add_subplot(grid[0, 4:7])
im = ax.imshow(b_a.reshape(8, 8), cmap="RdBu_r")
ax.set_title(r"base-rate biases $b_{A,i}$")
ax.set_axis_off()
fig.colorbar(im, ax=ax, fraction=0.046)
for k in range(10):
    ax = fig.add_subplot(grid[1, k])
    ax.imshow(samples[k].reshape(8, 8), cmap="gray_r")
    ax.set_axis_off()
fig.suptitle("Base-rate model: parameters (top) and independent samples (bottom)")
plt.show()
