"""
=====================================================
RBM features for digit classification in a pipeline
=====================================================

A :class:`~sklearn_rbm.BernoulliRBM` learns binary features without labels;
a logistic regression on those features classifies digits better than one on
the raw pixels. This is the classic scikit-learn example, on the same
"nudged" digits: the 1,797 8x8 digits of :func:`sklearn.datasets.load_digits`
plus copies shifted by one pixel in each of the four directions
(:func:`sklearn_rbm.datasets.load_nudged_digits`, 8,985 images in [0, 1]).

The RBM and the classifier are steps of one
:class:`~sklearn.pipeline.Pipeline`, so a
:class:`~sklearn.model_selection.GridSearchCV` tunes the RBM's
hyperparameters by cross-validated accuracy like any other step's.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_rbm import BernoulliRBM
from sklearn_rbm.datasets import load_nudged_digits

# the raw-pixel logistic regression stops at max_iter before full
# convergence: fine here
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_nudged_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
print(f"{len(X_train)} training and {len(X_test)} test images")

# %%
# Baseline: logistic regression on the raw pixels
# ------------------------------------------------

raw = LogisticRegression(C=100.0, max_iter=300).fit(X_train, y_train)
raw_accuracy = raw.score(X_test, y_test)
print(f"raw pixels: test accuracy {raw_accuracy:.3f}")

# %%
# RBM features, with the number of hidden units chosen by grid search
# -------------------------------------------------------------------
# The settings are those of the scikit-learn example (minibatches of 10,
# learning rate 0.06, 10 epochs; a weakly regularised classifier); the other
# parameters keep their feature-learning defaults (plain SGD, no centering).
# The grid is kept tiny: two sizes of the hidden layer, two folds.

pipe = Pipeline(
    [
        (
            "rbm",
            BernoulliRBM(
                batch_size=10,
                learning_rate=0.06,
                max_iter=10,
                random_state=0,
            ),
        ),
        ("logistic", LogisticRegression(solver="newton-cg", C=6000.0)),
    ]
)
search = GridSearchCV(pipe, {"rbm__n_components": [50, 100]}, cv=2)
search.fit(X_train, y_train)
for n, score in zip(
    search.cv_results_["param_rbm__n_components"],
    search.cv_results_["mean_test_score"],
):
    print(f"{n:4d} hidden units: cross-validated accuracy {score:.3f}")
rbm_accuracy = search.score(X_test, y_test)
print(f"best {search.best_params_}: test accuracy {rbm_accuracy:.3f}")

# %%
# The RBM features beat the raw pixels by about 10 points of accuracy.
# The learned filters (rows of ``components_``) are stroke detectors:

rbm = search.best_estimator_.named_steps["rbm"]
fig, axes = plt.subplots(5, 10, figsize=(8, 4.4), layout="constrained")
for ax, w in zip(axes.ravel(), rbm.components_):
    ax.imshow(
        w.reshape(8, 8), cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max()
    )
    ax.set_axis_off()
fig.suptitle(
    f"First 50 filters; accuracy {raw_accuracy:.3f} (pixels) -> "
    f"{rbm_accuracy:.3f} (RBM features)"
)
plt.show()
