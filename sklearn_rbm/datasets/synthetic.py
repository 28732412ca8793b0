"""Synthetic explicit ratings with a planted low-rank structure."""

import math
import numbers

import numpy as np
from scipy.special import ndtr
from sklearn.utils import check_random_state

__all__ = ["make_ratings"]


def _check_int(value, name, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")
    return int(value)


def _check_real(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return value


def make_ratings(
    n_users=200,
    n_items=100,
    *,
    density=0.1,
    n_factors=3,
    rating_scale=(1, 5),
    rating_step=1,
    noise=0.5,
    choice_strength=0.0,
    random_state=None,
    return_truth=False,
):
    """Generate explicit ratings with a planted low-rank structure.

    Each user ``u`` and item ``i`` has a bias and ``n_factors`` latent
    factors. The noise-free score is::

        s[u, i] = mu + b_user[u] + b_item[i] + user_factors[u] @ item_factors[i]

    An observed rating is ``s + e`` with Gaussian noise ``e`` of standard
    deviation ``noise``, rounded to the nearest point of the rating grid
    ``low, low + rating_step, ..., high`` (values outside are clipped to the
    ends). With ``R = high - low``, the global mean is ``low + 0.6 R``, the
    biases have standard deviation ``0.1 R`` and the factor term ``0.2 R``.

    Which pairs are rated is not uniform: every user has an activity and every
    item a popularity (both log-normal), and more active users and more
    popular items have more ratings. With ``choice_strength > 0`` a choice
    model also decides *which* items a user rates: the propensity of a pair
    is ``activity[u] * popularity[i] * exp(choice_strength * t[u, i])``, where
    ``t`` is the factor term ``user_factors @ item_factors.T`` standardised
    to unit variance (users rate the items that suit their taste, as
    people do), so the rated items themselves carry the users' taste.
    Every user has at least two ratings and every item at least one (as far
    as ``n_items`` allows), so the number of ratings can exceed
    ``density * n_users * n_items`` when that is small.
    No (user, item) pair is rated twice.

    Parameters
    ----------
    n_users : int, default=200
        Number of users (ids ``0 .. n_users - 1``).

    n_items : int, default=100
        Number of items (ids ``0 .. n_items - 1``).

    density : float, default=0.1
        Fraction of the ``n_users * n_items`` pairs that are rated, in (0, 1].

    n_factors : int, default=3
        Rank of the interaction term (0 gives a biases-only model).

    rating_scale : tuple of (float, float), default=(1, 5)
        Lowest and highest rating.

    rating_step : float, default=1
        Spacing of the rating grid, for example 0.5 for half stars. It must
        divide ``high - low``.

    noise : float, default=0.5
        Standard deviation of the Gaussian noise added to the score, in rating
        units, before rounding. 0 gives deterministic ratings.

    choice_strength : float, default=0.0
        Weight of the user's taste in which items get rated (see above);
        0 (the default) makes the choice depend on activity and popularity
        only.

    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    return_truth : bool, default=False
        If True, also return a dict describing the generating model.

    Returns
    -------
    X : ndarray of shape (n_ratings, 2), dtype int64
        User and item ids, sorted by user then item.

    y : ndarray of shape (n_ratings,), dtype float64
        Ratings, on the rating grid.

    truth : dict
        Only when ``return_truth=True``. Keys: ``"expected_ratings"``, the
        dense (n_users, n_items) float64 matrix of the expected observed
        rating ``E[rating | u, i]`` (rounding, clipping and noise included;
        the best possible predictor in squared error); ``"scores"``, the
        continuous noise-free scores ``s``; ``"user_factors"``,
        ``"item_factors"``, ``"user_biases"``, ``"item_biases"`` and
        ``"global_mean"``.

    Examples
    --------
    >>> from sklearn_rbm.datasets import make_ratings
    >>> X, y = make_ratings(n_users=50, n_items=20, random_state=0)
    >>> X.shape[1], X.dtype, y.dtype
    (2, dtype('int64'), dtype('float64'))
    >>> sorted(set(y.tolist())) == [1.0, 2.0, 3.0, 4.0, 5.0]
    True
    """
    n_users = _check_int(n_users, "n_users", 1)
    n_items = _check_int(n_items, "n_items", 1)
    n_factors = _check_int(n_factors, "n_factors", 0)
    density = _check_real(density, "density")
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}.")
    try:
        low, high = rating_scale
    except (TypeError, ValueError):
        raise ValueError(
            f"rating_scale must be a pair (low, high), got {rating_scale!r}."
        ) from None
    low = _check_real(low, "rating_scale[0]")
    high = _check_real(high, "rating_scale[1]")
    if not low < high:
        raise ValueError(f"rating_scale must have low < high, got {rating_scale!r}.")
    step = _check_real(rating_step, "rating_step")
    if step <= 0:
        raise ValueError(f"rating_step must be > 0, got {rating_step}.")
    n_steps = round((high - low) / step)
    if n_steps < 1 or abs(n_steps * step - (high - low)) > 1e-9 * max(1.0, high - low):
        raise ValueError(
            f"rating_step={rating_step} must divide the range of "
            f"rating_scale={rating_scale!r} into a whole number of steps."
        )
    noise = _check_real(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}.")
    choice_strength = _check_real(choice_strength, "choice_strength")
    if not 0 <= choice_strength < np.inf:
        raise ValueError(
            f"choice_strength must be finite and >= 0, got {choice_strength}."
        )
    if not isinstance(return_truth, bool | np.bool_):
        raise ValueError(f"return_truth must be a bool, got {return_truth!r}.")
    rng = check_random_state(random_state)

    # Planted model.
    span = high - low
    mu = low + 0.6 * span
    user_biases = rng.normal(0.0, 0.1 * span, size=n_users)
    item_biases = rng.normal(0.0, 0.1 * span, size=n_items)
    factor_scale = math.sqrt(0.2 * span / math.sqrt(n_factors)) if n_factors else 0.0
    user_factors = rng.normal(0.0, factor_scale, size=(n_users, n_factors))
    item_factors = rng.normal(0.0, factor_scale, size=(n_items, n_factors))
    scores = mu + user_biases[:, None] + item_biases[None, :]
    scores += user_factors @ item_factors.T

    # Which pairs are rated: an exponential race weighted by activity times
    # popularity (weighted sampling without replacement).
    activity = np.exp(rng.normal(0.0, 0.8, size=n_users))
    popularity = np.exp(rng.normal(0.0, 1.0, size=n_items))
    keys = rng.standard_exponential((n_users, n_items))
    keys /= activity[:, None] * popularity[None, :]
    if choice_strength > 0 and n_factors:
        taste = user_factors @ item_factors.T
        sd = taste.std()
        if sd > 0:
            keys *= np.exp(np.clip(-choice_strength * (taste / sd), -700, 700))
    forced = np.zeros((n_users, n_items), dtype=bool)
    per_user = min(2, n_items)
    first = np.argpartition(keys, per_user - 1, axis=1)[:, :per_user]
    forced[np.arange(n_users)[:, None], first] = True
    forced[np.argmin(keys, axis=0), np.arange(n_items)] = True
    keys[forced] = -1.0
    n_cells = n_users * n_items
    n_ratings = max(round(density * n_cells), int(forced.sum()))
    flat = keys.ravel()
    chosen = (
        np.argpartition(flat, n_ratings - 1)[:n_ratings]
        if n_ratings < n_cells
        else np.arange(n_cells)
    )
    chosen.sort()
    users, items = np.divmod(chosen, n_items)

    # Observed ratings: noisy score rounded to the grid.
    observed = scores[users, items] + noise * rng.standard_normal(chosen.size)
    level = np.clip(np.rint((observed - low) / step), 0, n_steps)
    y = np.round(low + level * step, 12)
    X = np.column_stack([users, items]).astype(np.int64)
    if not return_truth:
        return X, y

    # E[level] = sum_k P(level > k), level > k iff s + e > low + (k + 1/2) step.
    expected_level = np.zeros_like(scores)
    for k in range(n_steps):
        threshold = low + (k + 0.5) * step
        if noise > 0:
            expected_level += ndtr((scores - threshold) / noise)
        else:
            expected_level += scores > threshold
    truth = {
        "expected_ratings": low + step * expected_level,
        "scores": scores,
        "user_factors": user_factors,
        "item_factors": item_factors,
        "user_biases": user_biases,
        "item_biases": item_biases,
        "global_mean": mu,
    }
    return X, y, truth
