"""Predictions for unknown ids: empirical means and rating distributions.

A pair whose user or item was not seen in fit is predicted by the item's
statistics if the item is known, else the user's, else the global ones.
"""

import numpy as np

from .cache import serving_cache

#: sums of ratings below this magnitude cannot overflow
_SAFE_SUM = float(np.finfo(np.float64).max) / 4


def _safe(top, n):
    """Whether sums of ``n + 5`` values of magnitude ``top`` are finite
    (``popular_scores`` adds 5 pseudo-ratings)."""
    return top * (n + 5) < _SAFE_SUM


def fallback_stats(ucode, icode, r, n_users, n_items):
    """Sums, counts and means of the training ratings per user and item.

    Means are finite for any finite ratings: when the sums could overflow
    (ratings near the float64 limit), they are taken of the ratings divided
    by the largest magnitude (the stored sums are then clipped to the
    float64 range; :func:`popular_scores` does not read them).
    """
    top = float(np.max(np.abs(r))) if len(r) else 0.0
    if not _safe(top, len(r)):
        return _scaled_stats(ucode, icode, r / top, top, n_users, n_items)
    out = {"global_mean_": float(np.mean(r))}
    out["_user_sum"] = np.bincount(ucode, weights=r, minlength=n_users)
    out["_user_cnt"] = np.bincount(ucode, minlength=n_users).astype(np.float64)
    out["_item_sum"] = np.bincount(icode, weights=r, minlength=n_items)
    out["_item_cnt"] = np.bincount(icode, minlength=n_items).astype(np.float64)
    g = out["global_mean_"]
    with np.errstate(invalid="ignore", divide="ignore"):
        um = np.where(out["_user_cnt"] > 0, out["_user_sum"] / out["_user_cnt"], g)
        im = np.where(out["_item_cnt"] > 0, out["_item_sum"] / out["_item_cnt"], g)
    out["user_means_"] = um
    out["item_means_"] = im
    return out


def _scaled_stats(ucode, icode, s, top, n_users, n_items):
    """:func:`fallback_stats` of the ratings ``top * s``, ``|s| <= 1``."""
    g = float(np.mean(s))
    out = {"global_mean_": top * g}
    big = np.finfo(np.float64).max
    for who, code, n in (("user", ucode, n_users), ("item", icode, n_items)):
        sums = np.bincount(code, weights=s, minlength=n)
        cnt = np.bincount(code, minlength=n).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            means = np.where(cnt > 0, sums / cnt, g)
            out[f"_{who}_sum"] = np.clip(sums * top, -big, big)
        out[f"_{who}_cnt"] = cnt
        out[f"{who}_means_"] = np.clip(means, -1.0, 1.0) * top
    return out


def fallback_mean(model, ucode, icode):
    """Mean training rating of the item, else of the user, else global."""
    out = np.full(len(ucode), model.global_mean_)
    has_u = ucode >= 0
    out[has_u] = model.user_means_[ucode[has_u]]
    has_i = icode >= 0
    out[has_i] = model.item_means_[icode[has_i]]
    return out


def history_mean(model, ratings):
    """The mean of a new user's history ratings (validated, finite), as
    ``user_means_`` is a training user's; the global mean for no history."""
    r = np.asarray(ratings, dtype=np.float64).ravel()
    if not len(r):
        return model.global_mean_
    top = float(np.max(np.abs(r)))
    if _safe(top, len(r)):  # as fallback_stats: scaled only when sums overflow
        return float(np.mean(r))
    return top * float(np.mean(r / top))


def fallback_proba(model, ucode, icode):
    """Smoothed empirical rating distribution of the item, else of the
    user, else of all ratings."""
    dist = class_dists(model)
    out = np.empty((len(ucode), len(model.classes_)))
    out[:] = dist["global"]
    has_u = ucode >= 0
    out[has_u] = dist["user"][ucode[has_u]]
    has_i = icode >= 0
    out[has_i] = dist["item"][icode[has_i]]
    return out


def class_dists(model):
    """Rating distributions of all ratings, each user and each item, with
    one pseudo-rating of the global distribution (cached)."""
    cache = serving_cache(model)
    if cache.dists is None:
        K = len(model.classes_)
        ucode, icode, kk = model._store.user_item_codes(model._orientation)
        glob = np.bincount(kk, minlength=K) + 1.0
        glob /= glob.sum()

        def per(code, n):
            c = np.zeros((n, K))
            np.add.at(c, (code, kk), 1)
            c += glob
            return c / c.sum(axis=1, keepdims=True)

        cache.dists = {
            "global": glob,
            "user": per(ucode, len(model._users.ids)),
            "item": per(icode, len(model._items.ids)),
        }
    return cache.dists


def popular_scores(model):
    """Scores of every item for a user unknown to the model: its mean
    training rating shrunk towards the global mean (5 pseudo-ratings)."""
    cnt, g, means = model._item_cnt, model.global_mean_, model.item_means_
    top = max(abs(g), float(np.max(np.abs(means))) if len(means) else 0.0)
    if _safe(top, float(np.max(cnt)) if len(cnt) else 0.0):
        return (model._item_sum + 5 * g) / (cnt + 5)
    # huge ratings: the same weighted mean, without the sums
    w = cnt / (cnt + 5)
    scores = means * w + g * (1 - w)
    return np.clip(scores, model.classes_[0], model.classes_[-1])
