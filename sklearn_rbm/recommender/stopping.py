"""Early stopping of the recommender: patience counted from the first
progress.

An RBM for ratings starts on a plateau: the visible biases give every case
its variable's base rates, and the validation RMSE hardly moves until the
weights have grown (on ``make_ratings(300, 200)`` with 4 minibatches per
epoch, 6 epochs: plain early stopping ended there, with nearly constant
predictions worse than the item means). Here the epochs without progress are
counted only once the validation RMSE has improved by more than ``tol`` on
that of the phase's first epoch; a phase that never makes progress runs all
its epochs. The kept model is still the best epoch seen.
"""

from ..training.loop import EarlyStopping


class PlateauEarlyStopping(EarlyStopping):
    """:class:`~sklearn_rbm.training.loop.EarlyStopping` whose patience
    starts at the first progress of each phase."""

    def __init__(self, tol, n_iter_no_change):
        super().__init__(tol, n_iter_no_change)
        self._first = None

    def reset_patience(self):
        super().reset_patience()
        self._first = None

    def update(self, score, state, epoch):
        stop = super().update(score, state, epoch)
        if self._first is None:
            self._first = score
        if score > self._first + self.tol:
            self._first = -float("inf")  # progress made: patience counts
        elif self._first != -float("inf"):
            self._bad = 0  # still on the plateau
            return False
        return stop
