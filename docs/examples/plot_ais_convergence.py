r"""
=========================================================
Exact, AIS and RAISE log-likelihoods: how they converge
=========================================================

The log-likelihood of an RBM needs its log-partition function
:math:`\log Z`. For a small hidden layer it can be computed exactly by
enumerating the :math:`2^{n_h}` hidden states; for larger models
:meth:`~sklearn_rbm.BernoulliRBM.log_partition` estimates it by annealed
importance sampling (AIS) from a base-rate model through ``n_betas``
intermediate distributions, averaged over ``n_runs`` independent runs, with
a standard error (see :ref:`partition`).

Here a 16-hidden-unit RBM on binarised digits lets us compare AIS against
the exact value as the number of temperatures grows, and against RAISE
(reverse AIS, :meth:`~sklearn_rbm.BernoulliRBM.score_samples_raise`), which
errs the other way.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_rbm import BernoulliRBM

X = (load_digits().data / 16.0 > 0.5).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
rbm = BernoulliRBM(
    16,
    learning_rate=0.02,
    batch_size=20,
    max_iter=100,
    learning_rate_schedule="linear",
    momentum=0.9,
    centering=True,
    random_state=0,
).fit(X_train)

# %%
# The exact value
# ---------------
# 65,536 hidden configurations: a fraction of a second.

exact = rbm.log_partition("exact")
print(f"exact log Z = {exact.log_z:.4f}")
print(f"held-out log-likelihood = {rbm.score(X_test):.3f} nats per image")

# %%
# AIS with more and more temperatures
# -----------------------------------
# Each estimate uses 100 runs. The error bars are the reported standard
# errors (twice them, about a 95% interval). With few temperatures AIS is
# noisy. Its estimate of Z is unbiased, so that of log Z is biased
# downwards on average (Jensen's inequality); the reported standard error
# itself is only reliable once the runs agree, with enough temperatures.

n_betas = [10, 30, 100, 300, 1000, 3000, 10000]
estimates, errors, seconds = [], [], []
for n in n_betas:
    t0 = time.perf_counter()
    # check=False: one AIS run per setting (the default check runs a second
    # one from another base model and warns when they disagree)
    ais = rbm.log_partition("ais", n_betas=n, n_runs=100, check=False, random_state=0)
    seconds.append(time.perf_counter() - t0)
    estimates.append(ais.log_z)
    errors.append(ais.std_err)
    print(
        f"n_betas={n:6d}: log Z = {ais.log_z:.4f} +- {ais.std_err:.4f} "
        f"(error {ais.log_z - exact.log_z:+.4f}, {seconds[-1]:.2f}s)"
    )

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.errorbar(
    n_betas,
    estimates,
    yerr=2 * np.asarray(errors),
    fmt="o-",
    capsize=3,
    label="AIS, 100 runs (+- 2 std. err.)",
)
ax.axhline(exact.log_z, color="k", ls="--", label="exact")
ax.set_xscale("log")
ax.set_xlabel("number of inverse temperatures (n_betas)")
ax.set_ylabel("log Z (nats)")
ax.set_title("AIS estimates of log Z for a 16-hidden-unit RBM")
ax.legend()
plt.show()

# %%
# A few thousand temperatures bring the error below a few hundredths of a
# nat, far below the differences between models one usually compares. The
# cost is linear in ``n_betas * n_runs``; the default, 14,500 temperatures
# and 100 runs, is the setting of Salakhutdinov and Murray (2008).

# %%
# Bracketing the likelihood: AIS and RAISE
# ----------------------------------------
# A log-likelihood from an AIS estimate of log Z is optimistic on average;
# RAISE anneals a chain from each test image *down* to the base model and is
# conservative on average. On large models, where no exact value exists,
# their agreement is evidence, not proof: RAISE follows the same annealing
# path, so a mode that both miss is missed by both, and it is not a strict
# lower bound. Here both are
# compared with the exact held-out log-likelihood on 200 test images (RAISE
# with one chain per image).

sub = X_test[:200]
exact_ll = rbm.score_samples(sub).mean()  # exact log Z is cached
ais_ll, raise_ll = [], []
betas_small = [10, 30, 100, 300, 1000]
for n in betas_small:
    lz = rbm.log_partition(
        "ais", n_betas=n, n_runs=100, check=False, random_state=0
    ).log_z
    ais_ll.append(float(np.mean(-rbm.free_energy(sub)) - lz))
    raise_ll.append(rbm.score_samples_raise(sub, n_betas=n, random_state=0).mean())
    print(f"n_betas={n:5d}: AIS {ais_ll[-1]:.3f}, RAISE {raise_ll[-1]:.3f} nats")
print(f"exact: {exact_ll:.3f} nats")
rbm.log_partition("exact")  # restore the exact value for score_samples

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(betas_small, ais_ll, "o-", label="AIS (optimistic on average)")
ax.plot(betas_small, raise_ll, "s-", label="RAISE (conservative on average)")
ax.axhline(exact_ll, color="k", ls="--", label="exact")
ax.set_xscale("log")
ax.set_xlabel("number of inverse temperatures (n_betas)")
ax.set_ylabel("mean test log-likelihood (nats)")
ax.set_title("Held-out log-likelihood of 200 digits")
ax.legend()
plt.show()
