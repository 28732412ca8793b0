"""Legacy import path (0.1.0.dev0) of the recommender and the id and rating
tables in saved models."""

from .recommender.estimator import CategoricalRBMRecommender
from .recommender.ids import IdIndex as _IdIndex
from .recommender.store import RatingStore as _Ratings

__all__ = ["CategoricalRBMRecommender", "_IdIndex", "_Ratings"]
