"""scikit-learn's digits with copies nudged by one pixel."""

import numpy as np

__all__ = ["load_nudged_digits"]


def load_nudged_digits(*, scale=True):
    """scikit-learn's digits, plus copies shifted by one pixel in 4 directions.

    The data of scikit-learn's "Restricted Boltzmann Machine features for
    digit classification" example: 5 x 1,797 = 8,985 images of 8 x 8 pixels.
    The shifts make raw pixels a poor linear representation, which RBM
    features repair.

    Parameters
    ----------
    scale : bool, default=True
        Scale pixel values from [0, 16] to [0, 1].

    Returns
    -------
    X : ndarray of shape (8985, 64)
        Images, the originals first, then the shifted copies.
    y : ndarray of shape (8985,)
        Digit labels.

    Examples
    --------
    >>> from sklearn_rbm.datasets import load_nudged_digits
    >>> X, y = load_nudged_digits()
    >>> X.shape, float(X.max())
    ((8985, 64), 1.0)
    """
    from scipy.ndimage import shift
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    imgs = X.reshape(-1, 8, 8) / (16.0 if scale else 1.0)
    moved = [imgs] + [
        shift(imgs, (0, dy, dx), order=0, mode="constant")
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
    ]
    return np.concatenate(moved).reshape(-1, 64), np.tile(y, 5)
