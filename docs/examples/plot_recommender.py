"""
==========================================================
Recommending with an RBM: learning curve, top-N, fold-in
==========================================================

:class:`~sklearn_rbm.CategoricalRBMRecommender` is a regressor on
``(user, item)`` pairs. This example trains it on synthetic ratings from
:func:`~sklearn_rbm.datasets.make_ratings` (a low-rank model with noise,
ratings 1..5), then

* follows the validation RMSE epoch by epoch (``validation_scores_``),
* compares the test RMSE with the item-mean baseline,
* recommends the top items for a user with
  :meth:`~sklearn_rbm.CategoricalRBMRecommender.recommend`,
* and scores a user who was not in the training data from a few of their
  ratings, without refitting, with
  :meth:`~sklearn_rbm.CategoricalRBMRecommender.predict_new_user`.

With ``SKLEARN_RBM_GALLERY_REAL_DATA=1`` and MovieLens 100K in
``$SKLEARN_RBM_DATA/ml-100k`` it uses MovieLens instead.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.datasets import load_movielens, make_ratings, train_test_split_ratings

ml100k = Path(os.environ.get("SKLEARN_RBM_DATA", "."), "ml-100k")
if os.environ.get("SKLEARN_RBM_GALLERY_REAL_DATA") == "1" and ml100k.is_dir():
    ml = load_movielens(ml100k, as_frame=False)
    X, y, titles = ml.X, ml.y, ml.item_titles
else:
    X, y = make_ratings(n_users=600, n_items=300, density=0.08, random_state=0)
    titles = None
print(f"{len(y):,} ratings by {len(np.unique(X[:, 0]))} users")

# %%
# Hold out some users entirely (for the fold-in below), then split the
# remaining ratings per user into training and test ratings.

new_users = np.unique(X[:, 0])[-50:]
is_new = np.isin(X[:, 0], new_users)
X_train, X_test, y_train, y_test = train_test_split_ratings(
    X[~is_new], y[~is_new], test_size=0.2, random_state=0
)

# %%
# Training with a learning curve
# ------------------------------
# With ``early_stopping=True`` (the default) 5% of the training ratings are
# held out, their RMSE is recorded after every epoch in
# ``validation_scores_`` (negated, as scikit-learn scores are "higher is
# better") and the best epoch's model is kept.

rec = CategoricalRBMRecommender(
    n_components=50,
    learning_rate=0.3,
    max_iter=30,
    fine_tune_iter=0,  # CD only (the defaults add 10 epochs of fine-tuning)
    n_iter_no_change=10,
    random_state=0,
).fit(X_train, y_train)


def rmse(pred, truth):
    return np.sqrt(np.mean((pred - truth) ** 2))


def item_mean(X_fit, y_fit, X_query):
    """The item-mean baseline (the global mean for unknown items)."""
    items, inv = np.unique(X_fit[:, 1], return_inverse=True)
    means = np.bincount(inv, weights=y_fit) / np.bincount(inv)
    pos = np.searchsorted(items, X_query[:, 1]).clip(0, len(items) - 1)
    return np.where(items[pos] == X_query[:, 1], means[pos], y_fit.mean())


test_rmse = rmse(rec.predict(X_test), y_test)
base_rmse = rmse(item_mean(X_train, y_train, X_test), y_test)
print(f"test RMSE {test_rmse:.4f} (item mean: {base_rmse:.4f})")
print(
    f"best validation RMSE {rec.best_validation_rmse_:.4f} after {rec.n_iter_} epochs"
)

curve = -np.asarray(rec.validation_scores_)
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
ax.plot(np.arange(1, len(curve) + 1), curve, "o-", ms=3, label="RBM, validation")
ax.axhline(base_rmse, color="gray", ls="--", label="item mean, test")
ax.axhline(test_rmse, color="C1", ls=":", label="RBM (kept epoch), test")
ax.set_xlabel("epoch")
ax.set_ylabel("RMSE")
ax.set_title("Learning curve of the CategoricalRBMRecommender")
ax.legend()
plt.show()

# %%
# The RMSE stays flat for a few epochs while the weights grow out of their
# small initial values, then drops well below the item-mean baseline.
#
# Discriminative fine-tuning
# --------------------------
# CD trains the RBM as a model of the ratings; ``predict`` then uses one
# deterministic path through it (hidden probabilities, then the softmax over
# ratings). ``fine_tune_iter`` adds epochs that train that path itself on
# the squared error of the training ratings, by backpropagation. Here half
# of the same 30 epochs go to fine-tuning; the curve continues from the CD
# phase, and early stopping keeps the best epoch of either phase.

tuned = CategoricalRBMRecommender(
    n_components=50,
    learning_rate=0.3,
    max_iter=15,
    fine_tune_iter=15,
    fine_tune_learning_rate=3e-3,
    n_iter_no_change=10,
    random_state=0,
).fit(X_train, y_train)
tuned_rmse = rmse(tuned.predict(X_test), y_test)
print(f"test RMSE: CD only {test_rmse:.4f}, 15 CD + 15 fine-tuning {tuned_rmse:.4f}")

tuned_curve = -np.asarray(tuned.validation_scores_)
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
ax.plot(np.arange(1, len(curve) + 1), curve, "o-", ms=3, label="30 CD epochs")
ax.plot(
    np.arange(1, len(tuned_curve) + 1),
    tuned_curve,
    "s-",
    ms=3,
    label="15 CD + 15 fine-tuning epochs",
)
ax.axvline(15.5, color="gray", lw=0.8)
ax.set_xlabel("epoch")
ax.set_ylabel("validation RMSE")
ax.set_title("Fine-tuning the predictor after CD")
ax.legend()
plt.show()

# %%
# Top-N recommendations
# ---------------------
# The items with the best ranking score among those the user has not rated
# in training: what the user will choose and like (the ranking model's
# log-probability, its item-item term and the chance of a liked rating; see
# "How recommend ranks" in the user guide). ``ranking="rating"`` would rank
# by predicted rating instead.

user = X_train[0, 0]
items, scores = rec.recommend([user], n_items=5)
for rank, (item, score) in enumerate(zip(items[0], scores[0]), start=1):
    name = titles.get(item, item) if titles else f"item {item}"
    print(f"{rank}. {name}  (ranking score {score:.2f})")

# %%
# Fold-in of new users
# --------------------
# Each held-out user gives the first half of their ratings; the model
# predicts the other half. No refit is needed.

pred, truth, base = [], [], []
for u in new_users:
    mine = X[:, 0] == u
    its, rs = X[mine, 1], y[mine]
    h = len(its) // 2
    pred.append(rec.predict_new_user(its[:h], rs[:h], its[h:]))
    truth.append(rs[h:])
    base.append(item_mean(X_train, y_train, np.c_[np.full(len(its) - h, u), its[h:]]))
pred, truth, base = map(np.concatenate, (pred, truth, base))
print(
    f"{len(new_users)} new users: RMSE {rmse(pred, truth):.4f} "
    f"(item mean: {rmse(base, truth):.4f})"
)

fig, ax = plt.subplots(figsize=(5, 3.8), layout="constrained")
ax.violinplot([pred[truth == r] for r in np.unique(truth)], positions=np.unique(truth))
ax.plot([1, 5], [1, 5], "k:", lw=1)
ax.set_xlabel("true rating")
ax.set_ylabel("predicted rating (fold-in)")
ax.set_title("Predictions for users unseen in fit")
plt.show()
