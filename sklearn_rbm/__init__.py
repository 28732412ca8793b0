"""Restricted Boltzmann Machines for scikit-learn.

One engine (visible-unit families, Gibbs chains, training loop, log-partition
estimators) behind thin scikit-learn estimators.
"""

from .engine.partition import LogPartition
from .estimators import BernoulliRBM, GaussianBernoulliRBM
from .recommender import CategoricalRBMRecommender

__version__ = "0.1.0.dev0"

__all__ = [
    "BernoulliRBM",
    "CategoricalRBMRecommender",
    "GaussianBernoulliRBM",
    "LogPartition",
    "__version__",
]
