"""
===============================================================
Sample quality: 1-, 2- and 3-point statistics against the data
===============================================================

A log-likelihood summarises a density model in one number; the moments of
its samples show *where* it matches the data. This example trains a
:class:`~sklearn_rbm.BernoulliRBM` on binarised 8x8 digits, draws samples
with plain Gibbs chains and with parallel tempering
(:meth:`~sklearn_rbm.BernoulliRBM.sample` with ``method="tempering"``), and
compares with the training images:

* **1-point**: the mean of every pixel, :math:`\\langle v_i \\rangle`;
* **2-point**: the connected correlation of every pair,
  :math:`\\langle v_i v_j \\rangle - \\langle v_i \\rangle \\langle v_j \\rangle`;
* **3-point**: the connected third moment of random triplets,
  :math:`\\langle \\delta v_i\\, \\delta v_j\\, \\delta v_k \\rangle` with
  :math:`\\delta v = v - \\langle v \\rangle`.

A perfect model puts every point on the diagonal, up to the sampling noise
of the finite sample sizes (shown by comparing the training images with
held-out ones: the best any model can do). Runs in about 10-20 seconds on
one core (measured on a shared 2-core machine).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_rbm import BernoulliRBM

X = (load_digits().data / 16.0 > 0.5).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
# the density settings (momentum, centering, a linearly decaying step)
rbm = BernoulliRBM(
    64,
    learning_rate=0.01,
    momentum=0.9,
    learning_rate_schedule="linear",
    centering=True,
    max_iter=100,
    random_state=0,
).fit(X_train)
n = X_test.shape[0]
samples = {
    "Gibbs": rbm.sample(n, 1000, random_state=0),
    "tempering": rbm.sample(
        n, 200, method="tempering", n_temperatures=5, random_state=0
    ),
}

# %%
# The three statistics
# --------------------
# Pixels that are (almost) always off in the data carry no information and
# are left out; the triplets are 2,000 random ones among the others.

live = np.flatnonzero(X_train.std(axis=0) > 0.05)
rng = np.random.default_rng(0)
triplets = rng.choice(live, size=(2000, 3))
triplets = triplets[
    (triplets[:, 0] != triplets[:, 1])
    & (triplets[:, 1] != triplets[:, 2])
    & (triplets[:, 0] != triplets[:, 2])
]
pairs = np.triu_indices(live.size, k=1)


def statistics(V):
    V = V[:, live]
    mean = V.mean(axis=0)
    d = V - mean
    cov = (d.T @ d / V.shape[0])[pairs]
    dfull = np.zeros((V.shape[0], X.shape[1]))
    dfull[:, live] = d
    third = np.mean(
        dfull[:, triplets[:, 0]] * dfull[:, triplets[:, 1]] * dfull[:, triplets[:, 2]],
        axis=0,
    )
    return mean, cov, third


data = statistics(X_train)
rows = {"held-out data": statistics(X_test)}
rows.update({name: statistics(V) for name, V in samples.items()})

# %%
# Model against data
# ------------------
# One row per source of samples, one column per statistic; the number in
# each panel is the root-mean-square deviation from the training data.

titles = ["1-point: pixel means", "2-point: correlations", "3-point: triplets"]
fig, axes = plt.subplots(len(rows), 3, figsize=(10, 3.2 * len(rows)))
for r, (name, stats) in enumerate(rows.items()):
    for c in range(3):
        ax = axes[r, c]
        x, y = data[c], stats[c]
        lim = [min(x.min(), y.min()), max(x.max(), y.max())]
        ax.plot(lim, lim, color="0.6", lw=1)
        ax.scatter(x, y, s=4, alpha=0.5)
        rmse = np.sqrt(np.mean((x - y) ** 2))
        ax.set_title(f"{name}: {titles[c]}", fontsize=9)
        ax.text(0.05, 0.9, f"rmse {rmse:.4f}", transform=ax.transAxes, fontsize=8)
        print(f"{name:14s} {titles[c]:24s} rmse {rmse:.4f}")
        if r == len(rows) - 1:
            ax.set_xlabel("training data")
        if c == 0:
            ax.set_ylabel(name)
fig.tight_layout()
plt.show()

# %%
# Reading the panels
# ------------------
# The held-out row is the floor: differences of that size are sampling
# noise. Deviations of the model's samples well above it show statistics the
# model has not learned; on digits the pixel means are matched closely, and
# the pairwise and triplet moments show how far a 64-hidden RBM's samples
# are from the data's higher-order structure.
