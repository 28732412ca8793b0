"""
==================================================
Tuning the recommender with a grid search
==================================================

:class:`~sklearn_rbm.CategoricalRBMRecommender` is a scikit-learn regressor
on ``(user, item)`` pairs, so the model-selection tools work as they are:
here :class:`~sklearn.model_selection.GridSearchCV` with
``scoring="neg_root_mean_squared_error"`` picks the number of hidden units
and the learning rate by 3-fold cross-validated RMSE on synthetic ratings.

Folds of a :class:`~sklearn.model_selection.KFold` split ratings, not users:
a user's other ratings are in the training folds, and ids the model has not
seen fall back to item or global means.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.datasets import make_ratings, train_test_split_ratings

X, y = make_ratings(n_users=600, n_items=300, density=0.08, random_state=0)
X_train, X_test, y_train, y_test = train_test_split_ratings(
    X, y, test_size=0.2, random_state=0
)
print(f"{len(y_train):,} training and {len(y_test):,} test ratings")

# %%
# The search
# ----------
# Early stopping is switched off so that every candidate trains the same
# number of epochs.

search = GridSearchCV(
    CategoricalRBMRecommender(max_iter=30, early_stopping=False, random_state=0),
    {"n_components": [20, 50], "learning_rate": [0.1, 0.3]},
    scoring="neg_root_mean_squared_error",
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)

results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_n_components", columns="param_learning_rate", values="mean_test_score"
)
print("cross-validated RMSE:")
print((-table).round(4))
print(f"best: {search.best_params_}, RMSE {-search.best_score_:.4f}")

# %%
# The refitted best model on the test ratings. Its RMSE is lower than the
# cross-validated one because it is trained on all the training ratings, not
# two thirds of them: these models improve quickly with more ratings per item.

test_rmse = np.sqrt(np.mean((search.predict(X_test) - y_test) ** 2))
print(f"test RMSE of the best model: {test_rmse:.4f}")

fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
for n, row in (-table).iterrows():
    ax.plot(row.index.astype(float), row.to_numpy(), "o-", label=f"{n} hidden units")
ax.set_xscale("log")
ax.set_xlabel("learning rate")
ax.set_ylabel("cross-validated RMSE")
ax.set_title("GridSearchCV over the recommender")
ax.legend()
plt.show()
