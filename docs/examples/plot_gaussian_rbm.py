"""
=================================================
Gaussian-Bernoulli RBM on real-valued data
=================================================

:class:`~sklearn_rbm.GaussianBernoulliRBM` models real-valued features with
Gaussian visible units whose standard deviations ``sigma_`` are learned. It
expects features on a common scale, so it goes behind a
:class:`~sklearn.preprocessing.StandardScaler`.

We fit it to the grey levels (0..16) of scikit-learn's 8x8 digits, compare its
held-out log-likelihood with probabilistic PCA (:meth:`sklearn.decomposition.PCA.score`,
a Gaussian density) and show samples next to real digits.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_rbm import GaussianBernoulliRBM

X = load_digits().data
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)

# %%
# Preprocessing
# -------------
# Pixels that are zero in almost every image (the borders) have a (nearly)
# constant value, on which any density model can put arbitrarily sharp peaks:
# keep the pixels that are non-zero in at least 5% of the training images,
# then standardise them.

keep = (X_train > 0).mean(axis=0) >= 0.05
scaler = StandardScaler().fit(X_train[:, keep])
Z_train = scaler.transform(X_train[:, keep])
Z_test = scaler.transform(X_test[:, keep])
print(f"{keep.sum()} of 64 pixels kept")

# %%
# Training and held-out log-likelihood
# ------------------------------------
# 100 hidden units is too many for the exact log-partition function, so it is
# estimated by annealed importance sampling (with its standard error).

rbm = GaussianBernoulliRBM(
    100, learning_rate=2e-3, batch_size=20, max_iter=150, random_state=0
).fit(Z_train)
ais = rbm.log_partition("ais", n_betas=2000, n_runs=50, random_state=0)
print(f"log Z = {ais.log_z:.2f} +- {ais.std_err:.3f} (AIS)")
print(f"median learned sigma: {np.median(rbm.sigma_):.2f} (the data's is 1)")
print(f"held-out log-likelihood, RBM: {rbm.score_samples(Z_test).mean():.2f} nats")
for q in (16, Z_train.shape[1] - 1):
    pca = PCA(q).fit(Z_train)
    print(f"held-out log-likelihood, PPCA({q}): {pca.score(Z_test):.2f} nats")

# %%
# With 49 components probabilistic PCA is a full-covariance Gaussian: the RBM,
# a mixture of :math:`2^{100}` Gaussians with shared diagonal covariance,
# beats it.
#
# Samples next to data
# --------------------
# Chains of 1,000 Gibbs steps; we show ``E[v | h]`` of the last step, mapped
# back to grey levels (the dropped border pixels are set to their mean).


def to_pixels(Z):
    img = np.tile(X_train.mean(axis=0), (len(Z), 1))
    img[:, keep] = scaler.inverse_transform(Z)
    return np.clip(img, 0, 16)


samples = rbm.sample(24, n_steps=1000, random_state=0, return_mean=True)
fig, axes = plt.subplots(6, 8, figsize=(7, 5.6), layout="constrained")
for ax, img in zip(axes[:3].ravel(), to_pixels(Z_test[:24])):
    ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
for ax, img in zip(axes[3:].ravel(), to_pixels(samples)):
    ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Held-out digits (top three rows) and RBM samples (bottom three)")
plt.show()
