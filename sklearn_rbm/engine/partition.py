"""The log-partition function ``log Z``, shared by every visible family.

* Exact: enumerate the smaller layer. Summing over hidden states uses the
  family's closed-form ``log_normalizer`` (so Gaussian visibles are integrated
  analytically); summing over visible states uses the free energy and needs a
  finite visible space.
* AIS (Salakhutdinov & Murray, 2008): anneal from the base-rate model
  ``theta_A = (W = 0, c = 0, b = b_A, extras_A)``, whose ``log Z`` is known, to
  the model along ``theta_beta = (1 - beta) theta_A + beta theta``: ``W`` and
  ``c`` scaled by beta, ``b`` and the family extras (e.g. Gaussian
  log-variances, from the data's variances) interpolated linearly.
  ``Z_B / Z_A`` is estimated by the mean importance weight; its log is
  reported with a delta-method standard error and the effective sample
  size of the importance weights.
  ``log`` of an unbiased estimate of ``Z`` is biased *down* (Jensen), so AIS
  tends to under-estimate ``log Z`` and over-estimate log-likelihoods only
  when the runs are too few or too short.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp

from . import _xp
from .gibbs import DenseChain, free_energy, gibbs_chain, hidden_field, visible_field
from .numerics import softplus

#: largest layer enumerated by ``method="exact"`` (``auto`` switches to AIS above)
MAX_EXACT_UNITS = 20

#: default tolerance (nats) of the AIS check: see
#: :func:`~sklearn_rbm.engine.ais_check.check_ais`
CHECK_TOL = 1.0


@dataclass(frozen=True)
class LogPartition:
    """An estimate of ``log Z``.

    Attributes
    ----------
    log_z : float
        The estimate, in nats.
    std_err : float
        Standard error of ``log_z`` (0 for the exact value). For AIS this is
        the delta-method error ``std(w) / (mean(w) sqrt(n_runs))``. It can
        never exceed 1 nat: when a few runs carry all the weight it is
        meaningless, which ``ess`` shows.
    method : {"exact", "ais"}
        How it was computed.
    n_betas, n_runs : int or None
        AIS settings (None for the exact value).
    log_z_base : float or None
        ``log Z`` of the AIS base-rate model.
    schedule : {"fixed", "adaptive"} or None
        AIS temperature schedule (None for the exact value).
    log_z_check, std_err_check : float or None
        The check: a second, independent AIS estimate started from another
        base model (the model's own visible biases instead of the data's
        base rates), and its standard error; None when not run.
    ess : float or None
        Effective sample size of the AIS importance weights,
        ``(sum w)**2 / sum w**2``, between 1 and ``n_runs`` (None for the
        exact value). Well under ``n_runs`` means a few runs decide the
        estimate.
    log_z_bound : float or None
        Proven lower bound on ``log Z`` from the check's mode search
        (:func:`~sklearn_rbm.engine.ais_check.mode_lower_bound`); None when
        the check did not run.
    log_z_ais : float or None
        The first AIS run's own estimate when the check replaced ``log_z``
        by a larger value (the check's estimate or the bound, more than
        ``check_tol`` above it: AIS underestimates ``log Z``, so the larger
        is the better one); None otherwise. ``std_err`` is then the check's
        (the first run's when the bound replaced it), and ``ess``,
        ``n_betas`` and ``log_z_base`` stay those of the first run.
    """

    log_z: float
    std_err: float
    method: str
    n_betas: int | None = None
    n_runs: int | None = None
    log_z_base: float | None = None
    schedule: str | None = None
    log_z_check: float | None = None
    std_err_check: float | None = None
    # (fields added later default to None: estimates pickled before them
    # read the class attribute)
    ess: float | None = None
    log_z_bound: float | None = None
    log_z_ais: float | None = None

    def __float__(self):
        return float(self.log_z)

    @property
    def disagreement(self):
        """``|log_z - log_z_check|`` in nats (with the first run's own
        estimate, ``log_z_ais``, when the check replaced ``log_z``), or None
        without a check."""
        if self.log_z_check is None:
            return None
        first = self.log_z if self.log_z_ais is None else self.log_z_ais
        return abs(first - self.log_z_check)


def _as64(params):
    return {
        k: np.asarray(v, dtype=np.float64)
        if _xp.is_numpy(v)
        else _xp.get_xp(v).astype(v, _xp.get_xp(v).float64)
        for k, v in params.items()
    }


def _logsumexp(x):
    """log-sum-exp of all of ``x`` as a Python float (scipy's on numpy)."""
    return float(logsumexp(x) if _xp.is_numpy(x) else _xp.logsumexp(x))


def log_partition_exact(family, params, *, max_units=MAX_EXACT_UNITS, chunk=4096):
    """Exact ``log Z`` by enumerating the smaller enumerable layer (float64)."""
    p = _as64(params)
    n_hidden, n_visible = p["W"].shape
    vis_bits = family.visible_state_bits(n_visible)
    # a finite number of bits means an enumerable visible space
    enumerate_visible = vis_bits < n_hidden and vis_bits <= max_units
    if not enumerate_visible and n_hidden > max_units:
        if np.isfinite(vis_bits):
            layer = "the smaller layer, which must have"
        else:  # continuous visible units: only the hidden layer is summed over
            layer = (
                "the hidden layer (the visible units are continuous), which must have"
            )
        raise ValueError(
            f"Exact log Z enumerates {layer} at most 2**{max_units} states "
            f"(n_components={n_hidden}, n_features={n_visible}). Use "
            f"method='ais'."
        )
    parts = []
    if enumerate_visible:
        # chunk by chunk, like the hidden states below: all 2**20 states of 20
        # features at once would take 168 MB (more for categorical units)
        for v in family.visible_state_chunks(n_visible, np.float64, chunk):
            v = _xp.like(v, p["W"])
            parts.append(_logsumexp(-free_energy(family, v, p)))
    else:
        for h in _hidden_chunks(n_hidden, chunk):
            h = _xp.like(h, p["W"])
            terms = h @ p["c"] + family.log_normalizer_of_hidden(h @ p["W"], p)
            parts.append(_logsumexp(terms))
    return LogPartition(log_z=float(logsumexp(parts)), std_err=0.0, method="exact")


def _hidden_chunks(n_hidden, chunk):
    codes = np.arange(2**n_hidden, dtype=np.int64)
    bits = np.arange(n_hidden, dtype=np.int64)
    for start in range(0, codes.shape[0], chunk):
        yield ((codes[start : start + chunk, None] >> bits) & 1).astype(np.float64)


def model_stats_exact(family, params, *, max_units=MAX_EXACT_UNITS, chunk=4096):
    """Exact model expectations of the sufficient statistics (float64).

    The negative phase of the exact log-likelihood gradient, by enumerating
    the ``2**n_hidden`` hidden states with weights ``p(h)`` and taking the
    expectation over ``v ~ p(v | h)`` in closed form
    (:meth:`VisibleFamily.expected_bias_stats`; ``s(v)`` is linear in ``v``).
    Returns the dict of :func:`~sklearn_rbm.engine.statistics.phase_stats`, to
    pass as ``neg`` to :func:`~sklearn_rbm.engine.statistics.gradient`.
    """
    p = _as64(params)
    n_hidden = p["W"].shape[0]
    if n_hidden > max_units:
        raise ValueError(
            f"Exact model statistics enumerate 2**n_hidden states; n_hidden="
            f"{n_hidden} > {max_units}."
        )
    logits = np.concatenate(
        [
            h @ p["c"] + family.log_normalizer_of_hidden(h @ p["W"], p)
            for h in _hidden_chunks(n_hidden, chunk)
        ]
    )
    weights = np.exp(logits - logsumexp(logits))
    stats = {}
    for i, h in enumerate(_hidden_chunks(n_hidden, chunk)):
        w = weights[i * chunk : i * chunk + h.shape[0]]
        field = visible_field(h, p)
        s = family.scale(family.mean(field, p), p)
        part = {"W": (h * w[:, None]).T @ s, "c": w @ h, "s": w @ s}
        part.update(family.expected_bias_stats(field, h, p, w))
        for name, val in part.items():
            stats[name] = stats[name] + val if name in stats else val
    return stats


def ais_betas(n_betas):
    """Inverse temperatures in the proportions of Salakhutdinov & Murray (2008).

    Their 14,500-step schedule spends 500 steps on [0, 0.5), 4,000 on
    [0.5, 0.9) and 10,000 on [0.9, 1]; other lengths keep those proportions.
    """
    n1 = max(int(round(n_betas * 500 / 14500)), 1)
    n2 = max(int(round(n_betas * 4000 / 14500)), 1)
    n3 = max(n_betas - n1 - n2, 2)
    return np.concatenate(
        [
            np.linspace(0.0, 0.5, n1, endpoint=False),
            np.linspace(0.5, 0.9, n2, endpoint=False),
            np.linspace(0.9, 1.0, n3),
        ]
    )


class _AnnealingPath:
    """The geometric path from the base-rate model (``beta = 0``) to the model.

    ``theta_beta = (1 - beta) theta_A + beta theta_B`` interpolates every
    parameter linearly; ``W`` and ``c`` are zero in the base model, so the
    hidden field at ``beta`` is ``beta * (c + W s_beta(v))`` with the model's
    ``W`` and ``c``, and the visible field ``b_beta + (beta h) W``: no scaled
    copy of ``W`` is ever made. Sampling runs in the model's dtype; the
    unnormalised log-probabilities (summed over thousands of steps by AIS and
    RAISE) in float64.
    """

    def __init__(self, family, params, base):
        self.family = family
        self.params = params
        self.dtype = params["W"].dtype
        xp = _xp.get_xp(params["W"])
        p_a = {
            name: _xp.like(base.get(name, val), params["W"])
            for name, val in params.items()
        }
        p_a["W"] = xp.zeros_like(params["W"])
        p_a["c"] = xp.zeros_like(params["c"])
        self.p_a = p_a
        n_hidden = params["W"].shape[0]
        #: log Z of the base model: its hidden units are independent fair coins
        self.log_z_a = float(n_hidden * np.log(2.0)) + float(
            family.log_normalizer(p_a["b"][None, :], p_a)[0]
        )
        # parameters besides W and c that move along the path
        self.moving = [
            name
            for name in params
            if name not in ("W", "c") and not _equal(p_a[name], params[name])
        ]
        # if s(v) does not move, u = c + W s(v) is the same at every beta
        self.fixed_scale = not (
            family.scale_depends_on_params
            and set(self.moving) & set(family.extra_params)
        )
        # float64 copies for log_f, which needs no W (the hidden field
        # comes in as ``u``): no float64 copy of the largest parameter
        self.p64 = _as64({k: v for k, v in params.items() if k != "W"})
        self.a64 = _as64({k: v for k, v in p_a.items() if k != "W"})

    def mixed(self, beta, p, a):
        """Model's W and c; the moving parameters at ``beta``."""
        q = dict(p)
        for name in self.moving:
            q[name] = (1 - beta) * a[name] + beta * p[name]
        return q

    def u_of(self, v, beta):
        """``c + W s_beta(v)`` (the hidden field at ``beta = 1``)."""
        p = self.params
        return hidden_field(
            self.family, v, p if self.fixed_scale else self.mixed(beta, p, self.p_a)
        )

    def log_f(self, v, u, beta):
        """-F_beta(v) in float64, with u = c + W s_beta(v)."""
        q = self.mixed(beta, self.p64, self.a64)
        f64 = _xp.float64_dtype(u)
        xp = _xp.get_xp(u)
        u64 = xp.astype(u, f64) * beta
        energy = self.family.visible_energy(xp.astype(v, f64), q)
        return -energy + _xp.sum_rows(softplus(u64))

    def base_sample(self, n, rng):
        b = _xp.broadcast_rows(self.p_a["b"], n)
        return self.family.sample(b, self.p_a, rng)

    def visible_log(self, v64, beta):
        """The visible term ``-E_beta(v, 0)`` of float64 states ``v64``."""
        return -self.family.visible_energy(v64, self.mixed(beta, self.p64, self.a64))

    def log_joint(self, v, h, u, beta):
        """-E_beta(v, h) in float64, with u = c + W s_beta(v): the visible
        term of :meth:`log_f` plus ``beta h . u`` (summing ``h`` out of it
        gives :meth:`log_f`)."""
        f64 = _xp.float64_dtype(u)
        xp = _xp.get_xp(u)
        coupling = _xp.sum_rows(xp.astype(h, f64) * xp.astype(u, f64))
        return self.visible_log(xp.astype(v, f64), beta) + beta * coupling

    def transition(self, v, u, beta, rng, *, return_hidden=False):
        """One Gibbs sweep v -> h -> v leaving ``p_beta(v)`` invariant (and,
        as every such sweep, reversible with respect to it): ``h`` from the
        tempered field ``beta u``, then one step of :func:`gibbs_chain` on
        the tempered model (``(beta h) @ W`` is the visible field of ``beta W``).
        ``beta`` may be a numpy column, one inverse temperature per row (the
        replicas of parallel tempering, ``engine/tempering.py``). With
        ``return_hidden``, also the hidden state that drew the new ``v``."""
        if isinstance(beta, np.ndarray) and beta.ndim:
            bt = np.asarray(beta, dtype=self.dtype)
        else:
            bt = _xp.scalar(beta, self.params["W"])
        q = self.mixed(beta, self.params, self.p_a)
        chain = DenseChain(self.family, q, hidden_scale=bt)
        h = chain.sample_hidden(_expit_scaled(u, bt), rng)
        v = gibbs_chain(chain, h, 1, rng, last="visible")[0]
        # (v, h) is a draw of the joint p_beta(v, h) when v was one of p_beta(v)
        return (v, h) if return_hidden else v


def _ais_log_weights(path, betas, n_runs, rng, *, step_std=False):
    """Log importance weights of ``n_runs`` AIS runs along ``betas``.

    With ``step_std``, also the standard deviation (over the runs) of each
    step's log-weight increment: the pilot of :func:`adaptive_betas`.
    """
    betas = _xp.scalars(betas, path.params["W"])  # Python floats off numpy
    v = path.base_sample(n_runs, rng)
    log_w = 0.0  # an array of the model's namespace after the first step
    stds = np.empty(len(betas) - 1) if step_std else None
    u = path.u_of(v, betas[0])
    prev = path.log_f(v, u, betas[0])
    for k, beta in enumerate(betas[1:]):
        if not path.fixed_scale:
            u = path.u_of(v, beta)
        step = path.log_f(v, u, beta) - prev
        log_w += step
        if step_std:
            stds[k] = np.std(step) if _xp.is_numpy(step) else _xp_std(step)
        v = path.transition(v, u, beta, rng)
        u = path.u_of(v, beta)
        prev = path.log_f(v, u, beta)
    # the weights on the host, in float64
    return np.zeros(n_runs, dtype=np.float64) + _xp.to_numpy(log_w), stds


def _xp_std(x):
    """Population standard deviation of a non-numpy array, a Python float."""
    return float(_xp.get_xp(x).std(x))


def adaptive_betas(path, n_betas, rng, *, n_pilot_runs=20):
    """Inverse temperatures of equal log-weight spread per step.

    A pilot AIS run (``max(n_betas // 10, 50)`` temperatures of
    :func:`ais_betas`, ``n_pilot_runs`` runs) measures the standard
    deviation ``s_k`` of each step's log-weight increment. For small steps
    ``s_k ~ g(beta) d beta`` with ``g(beta)`` the standard deviation of
    ``d log f_beta / d beta`` (the *thermodynamic length* element), so the
    cumulative sum of ``s_k`` is the length travelled. The ``n_betas``
    temperatures are placed at equal increments of that length: every step
    then has about the same log-weight variance, ``(L / n_betas)**2``, and
    temperatures crowd where the distributions change fastest.
    """
    pilot = ais_betas(max(n_betas // 10, 50))
    _, stds = _ais_log_weights(path, pilot, n_pilot_runs, rng, step_std=True)
    # a floor keeps the length strictly increasing where a step has no spread
    stds = stds + 1e-3 * max(float(np.mean(stds)), 1e-12)
    length = np.concatenate([[0.0], np.cumsum(stds)])
    betas = np.interp(np.linspace(0.0, length[-1], n_betas), length, pilot)
    betas[0], betas[-1] = 0.0, 1.0
    return betas


def log_partition_ais(
    family, params, base, *, n_betas=14500, n_runs=100, schedule="fixed", rng
):
    """AIS estimate of ``log Z`` from the base-rate model ``base``.

    ``base`` holds the base model's visible biases ``b`` and any family extras
    (for Gaussian units, ``log_var``); missing extras are taken from the model.
    See :class:`_AnnealingPath` for the path. The estimate of ``Z`` is
    unbiased, so that of ``log Z`` is low on average (Jensen): likelihoods
    computed from it are optimistic until the schedule is long enough.
    ``schedule`` is ``"fixed"`` (:func:`ais_betas`) or ``"adaptive"``
    (:func:`adaptive_betas`, whose pilot run is drawn from ``rng`` first).
    """
    path = _AnnealingPath(family, params, base)
    if schedule == "adaptive":
        betas = adaptive_betas(path, n_betas, rng)
    else:
        betas = ais_betas(n_betas)
    log_w, _ = _ais_log_weights(path, betas, n_runs, rng)
    m = np.max(log_w)
    w = np.exp(log_w - m)
    log_ratio = m + np.log(np.mean(w))
    std_err = float(np.std(w) / (np.mean(w) * np.sqrt(n_runs)))
    return LogPartition(
        log_z=float(path.log_z_a + log_ratio),
        std_err=std_err,
        method="ais",
        n_betas=int(len(betas)),  # ais_betas keeps at least 4
        n_runs=int(n_runs),
        log_z_base=float(path.log_z_a),
        schedule=schedule,
        ess=float(np.sum(w) ** 2 / np.sum(w * w)),
    )


def log_likelihood_raise(family, params, base, V, *, n_betas=2000, n_runs=1, rng):
    """RAISE estimates of ``log p(v)`` for each row of ``V`` (float64 array).

    Reverse AIS (Burda, Grosse & Salakhutdinov 2015): a chain starts at the
    data point and anneals *down* to the base model, ``v_{k-1} ~ T_k(. |
    v_k)``; then ``p_0(v_0) prod_k f_k(v_k) / f_k(v_{k-1})`` is an unbiased
    estimate of ``q(v)``, the likelihood of the "RAISE model" (base sample,
    then the forward transitions). Averaged over ``n_runs`` chains per row
    and logged, it is low on average, and ``q`` itself tends to fall short of
    the RBM on data the RBM fits: a conservative estimate, to set beside the
    optimistic AIS one; where both agree, the likelihood is known.
    """
    path = _AnnealingPath(family, params, base)
    betas = _xp.scalars(ais_betas(n_betas), params["W"])
    n = V.shape[0]
    v = _xp.repeat_rows(_xp.like(V, params["W"]), n_runs)
    log_w = 0.0
    u = path.u_of(v, betas[-1])
    for beta in betas[:0:-1]:  # k = K .. 1
        if not path.fixed_scale:
            u = path.u_of(v, beta)
        log_w += path.log_f(v, u, beta)
        v = path.transition(v, u, beta, rng)
        u = path.u_of(v, beta)
        log_w -= path.log_f(v, u, beta)
    if not path.fixed_scale:
        u = path.u_of(v, betas[0])
    log_w += path.log_f(v, u, betas[0]) - path.log_z_a
    xp = _xp.get_xp(log_w)
    log_w = xp.reshape(log_w, (n, n_runs))
    m = xp.max(log_w, axis=1, keepdims=True)
    return xp.reshape(
        m + xp.log(xp.mean(xp.exp(log_w - m), axis=1, keepdims=True)), (-1,)
    )


def _expit_scaled(u, beta):
    x = beta * u
    if not _xp.is_numpy(x):
        return _xp.expit(x)
    return expit(x, out=x)


def _equal(a, b):
    """Same values (numpy's ``array_equal`` for arrays of one shape)."""
    if _xp.is_numpy(a):
        return np.array_equal(a, b)
    return a.shape == b.shape and bool(_xp.get_xp(a).all(a == b))


def log_partition(
    family,
    params,
    base,
    *,
    method="auto",
    n_betas=14500,
    n_runs=100,
    schedule="fixed",
    check=True,
    check_tol=CHECK_TOL,
    rng,
):
    """Dispatch to the exact or AIS estimator (``auto``: exact when cheap).

    An AIS estimate is checked against a second one (:func:`check_ais`)
    unless ``check`` is False.
    """
    n_hidden, n_visible = params["W"].shape
    n_small = min(n_hidden, family.visible_state_bits(n_visible))
    if method == "auto":
        method = "exact" if n_small <= MAX_EXACT_UNITS else "ais"
    if method == "exact":
        return log_partition_exact(family, params)
    est = log_partition_ais(
        family,
        params,
        base,
        n_betas=n_betas,
        n_runs=n_runs,
        schedule=schedule,
        rng=rng,
    )
    if check:
        # the check runs this module's AIS again: imported here, not at the top
        from .ais_check import check_ais

        est = check_ais(est, family, params, tol=check_tol, rng=rng)
    return est


__all__ = [
    "CHECK_TOL",
    "LogPartition",
    "adaptive_betas",
    "log_likelihood_raise",
    "log_partition",
    "model_stats_exact",
    "MAX_EXACT_UNITS",
]
