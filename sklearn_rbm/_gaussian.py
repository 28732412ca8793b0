"""Legacy import path (0.1.0.dev0) of :class:`GaussianBernoulliRBM` in saved
models."""

from .estimators.gaussian import GaussianBernoulliRBM

__all__ = ["GaussianBernoulliRBM"]
