"""Is an AIS estimate of ``log Z`` to be trusted? The check of
:func:`~sklearn_rbm.engine.partition.log_partition`.

* A second AIS run from another base model (the model's own visible
  biases), whose disagreement with the first shows a schedule too short.
* The effective sample size of the importance weights (``ess``): the
  delta-method standard error means nothing once a few runs carry the
  weight.
* A mode search (:func:`mode_lower_bound`) gives a proven lower bound on
  ``log Z``: ``log f(h) = c.h + log sum_v exp(b.v + v.W'h)``, summed over
  any set of distinct hidden states ``h``, catches modes both runs miss.
"""

import warnings
from dataclasses import replace

import numpy as np

from ..exceptions import UnreliableEstimateWarning
from . import _xp
from .gibbs import free_energy, hidden_field, visible_field
from .numerics import data_moments
from .partition import CHECK_TOL, _as64, _equal, _logsumexp, log_partition_ais

#: the AIS check flags importance weights whose effective sample size is
#: below this fraction of the runs (and below 2 whatever the runs, or half
#: the runs when there are fewer than 4): the delta-method standard error
#: is then meaningless (with one dominant weight it is ``sqrt((n - 1) /
#: n)``, under 1 nat however wrong the estimate)
MIN_ESS_FRACTION = 0.05


def min_ess(n_runs):
    """The effective sample size below which the check warns."""
    return max(MIN_ESS_FRACTION * n_runs, min(2.0, n_runs / 2.0))


def mode_lower_bound(family, params, rng, *, n_starts=32, n_iter=25):
    """A proven lower bound on ``log Z`` from a search for heavy hidden states.

    ``Z = sum_h f(h)`` with ``log f(h) = c.h + log_normalizer(b + h W)`` (the
    visible layer summed or integrated out in closed form), so the
    log-sum-exp of ``log f`` over any set of distinct hidden states bounds
    ``log Z`` from below. The states come from iterated conditional modes
    (``h -> E[s(v) | h] -> 1[hidden field > 0]``) started from all-off,
    all-on and ``n_starts`` random hidden states (a third each with 10%, 50%
    and 90% of the units on); every state visited counts. The bound is only
    as good as the search, but it is never wrong: an AIS estimate below it
    has missed mass that one hidden state alone proves is there.
    """
    p = _as64(params)
    W = p["W"]
    n_hidden = W.shape[0]
    rates = np.repeat([0.1, 0.5, 0.9], -(-n_starts // 3))[:n_starts]
    u = _xp.to_numpy(rng.random((n_starts, n_hidden)))  # a torch rng draws tensors
    starts = np.vstack(
        [
            np.zeros((1, n_hidden)),
            np.ones((1, n_hidden)),
            (u < rates[:, None]).astype(np.float64),
        ]
    )
    h = _xp.like(starts, W)
    seen = []
    for _ in range(n_iter + 1):
        seen.append(_xp.to_numpy(h))
        v = family.mean(visible_field(h, p), p)
        h_new = _xp.get_xp(W).astype(hidden_field(family, v, p) > 0, W.dtype)
        if _equal(h_new, h):
            break
        h = h_new
    states = np.unique(np.vstack(seen), axis=0)
    hs = _xp.like(states, W)
    log_f = hs @ p["c"] + family.log_normalizer_of_hidden(hs @ W, p)
    return _logsumexp(log_f)


def check_ais(est, family, params, *, tol=CHECK_TOL, rng):
    """Add an independent AIS estimate to ``est`` and warn if it is unreliable.

    The second run anneals from a different base model, the model's own
    visible biases (and family extras) with ``W = c = 0``, along a different
    path to the same ``Z``. Both are unbiased for ``Z``, so both log
    estimates are low on average; a schedule too short for the model shows
    as a disagreement, even where each run's standard error is small (their
    weights miss the same rare, heavy runs). A mode search
    (:func:`mode_lower_bound`) adds a proven lower bound.

    Warns with :class:`~sklearn_rbm.exceptions.UnreliableEstimateWarning`
    when ``|log_z - log_z_check| > tol``; when twice either standard error
    (the half-width of a 95% interval) exceeds ``tol``; when either run's
    importance weights have an effective sample size under
    :func:`min_ess` (5% of the runs, at least 2, or half the runs under 4;
    the standard error is then meaningless); or when the lower bound
    exceeds ``log_z`` by more than ``tol``. When the check's estimate or
    the bound lies more than ``tol`` above ``log_z``, the larger of the two
    replaces it (with the check's standard error when that is the one), and
    the first run's value moves to ``log_z_ais``: a log-likelihood
    computed from the returned estimate is then no longer optimistic by the
    mass that run missed. Passing the check does not prove the estimate
    right (both runs and the search can miss the same modes).
    """
    own = {k: v for k, v in params.items() if k not in ("W", "c")}
    alt = log_partition_ais(
        family,
        params,
        own,
        n_betas=est.n_betas,
        n_runs=est.n_runs,
        schedule=est.schedule,
        rng=rng,
    )
    bound = mode_lower_bound(family, params, rng)
    est = replace(
        est, log_z_check=alt.log_z, std_err_check=alt.std_err, log_z_bound=bound
    )
    reasons = []
    if est.disagreement > tol or 2.0 * max(est.std_err, alt.std_err) > tol:
        reasons.append(
            f"from the data's base rates {est.log_z:.3f} (std err "
            f"{est.std_err:.3f}), from the model's own visible biases "
            f"{alt.log_z:.3f} (std err {alt.std_err:.3f}); difference "
            f"{est.disagreement:.3f}"
        )
    least = min_ess(est.n_runs)
    if min(est.ess, alt.ess) < least:
        reasons.append(
            f"the importance weights' effective sample size is "
            f"{est.ess:.2f} and {alt.ess:.2f} of {est.n_runs} runs (under "
            f"{least:g}: a few runs decide the estimate and its standard "
            "error means nothing)"
        )
    if bound > est.log_z + tol:
        reasons.append(
            f"a search for heavy hidden states proves log Z >= {bound:.3f}, "
            f"{bound - est.log_z:.3f} nats above the estimate {est.log_z:.3f}: "
            "the runs missed a mode"
        )
    # evidence of a larger log Z than the first run's, beyond the tolerance:
    # the larger estimate replaces it (AIS is low on average; the bound is
    # proven), and the first run's value is kept in log_z_ais
    best = max(alt.log_z, bound)
    replaced = best > est.log_z + tol
    if replaced:
        std_err = alt.std_err if best == alt.log_z else est.std_err
        est = replace(est, log_z=best, std_err=std_err, log_z_ais=est.log_z)
        reasons.append(
            f"the returned log_z is the larger value, {best:.3f} (the first "
            "run's estimate is in log_z_ais)"
        )
    if reasons:
        warnings.warn(
            UnreliableEstimateWarning(
                f"The AIS estimate of log Z is not reliable to {tol:g} nats: "
                + "; ".join(reasons)
                + ". AIS underestimates log Z on average, so log-likelihoods "
                "computed from a low estimate are optimistic"
                + (
                    " (the larger estimate returned is the better one, but "
                    "the larger of two noisy estimates can also overshoot)"
                    if replaced
                    else ""
                )
                + ". Use more temperatures (n_betas), schedule='adaptive' or "
                "more runs (n_runs)."
            ),
            stacklevel=3,
        )
    return est


def training_bound(family, params, X, weights=None, *, rng, moments=None, adjust=None):
    """Mean log-likelihood of the rows ``X``: an upper bound under the model,
    and the exact values under the independent model and under the model
    training started from.

    The bound is ``mean(-F(v)) - mode_lower_bound``, proven whatever the
    search finds (a lower bound on ``log Z`` bounds the likelihood from
    above). The independent model is the family's base-rate model of the
    data moments ``moments`` (``(n, sums, sums of squares)`` of all the
    training rows, as ``fit`` initialises from them; None: those of ``X``),
    ``W = 0``: independent Bernoulli units at the smoothed base rates, or
    independent Gaussians with the data's means and variances, whose
    ``log Z`` is closed-form. ``adjust`` (the estimator's changes to its
    initial parameters, in place) turns it into the start of training,
    ``W = 0`` standing for the small random initial weights. A fitted model
    whose bound lies below both has got worse than where it started and
    than ignoring every dependency: its training diverged. ``X`` and
    ``params`` are host arrays; ``weights`` (or None) weight the means.

    Returns
    -------
    bound, independent, start : float
        Mean log-likelihoods of the rows of ``X``, in nats.
    """
    p = _as64(params)
    X = np.asarray(X, dtype=np.float64)
    if weights is not None:  # frequencies, as data_moments counts them
        weights = np.asarray(weights, dtype=np.float64)
    if moments is None:
        moments = data_moments(X, weights=weights)
    base = family.base_params(moments, 1, np.float64)

    def independent_ll(q):
        log_z = family.log_normalizer(q["b"][None, :], q)[0]
        return np.average(-family.visible_energy(X, q) - log_z, weights=weights)

    independent = independent_ll(base)
    start = independent
    if adjust is not None:
        adjust(base)
        start = independent_ll(base)
    model_ll = -free_energy(family, X, p) - mode_lower_bound(family, p, rng)
    return (
        float(np.average(model_ll, weights=weights)),
        float(independent),
        float(start),
    )


__all__ = [
    "MIN_ESS_FRACTION",
    "check_ais",
    "min_ess",
    "mode_lower_bound",
    "training_bound",
]
