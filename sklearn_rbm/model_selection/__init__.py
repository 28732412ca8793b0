"""Cross-validation for recommenders: :class:`UserHoldoutSplit` holds out a
fraction of each user's ratings (scikit-learn's splitters split rows, not
users' histories)."""

from ._split import UserHoldoutSplit

__all__ = ["UserHoldoutSplit"]
