"""The categorical RBM recommender (ratings, collaborative filtering)."""

from .estimator import CategoricalRBMRecommender

__all__ = ["CategoricalRBMRecommender"]
