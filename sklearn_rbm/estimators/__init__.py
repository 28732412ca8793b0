"""The dense RBM estimators: Bernoulli and Gaussian-Bernoulli."""

from .bernoulli import BernoulliRBM
from .gaussian import GaussianBernoulliRBM

__all__ = ["BernoulliRBM", "GaussianBernoulliRBM"]
