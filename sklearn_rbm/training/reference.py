"""The readable CD update that the fused one (``cd.py``) is tested against.

The statistics of each phase (:func:`~sklearn_rbm.engine.statistics.phase_stats`),
their difference with the centring corrections
(:func:`~sklearn_rbm.engine.statistics.gradient`), then the optimiser's step:
the same random draws as :meth:`~.cd.DenseCD.update`, the same result up to
rounding.
"""

from ..engine.gibbs import DenseChain, gibbs_chain, hidden_proba
from ..engine.statistics import centred_decay, gradient, phase_stats


def cd_update_reference(phase, state, v, lr, momentum, cd_steps):
    """One CD-k / PCD-k update of ``state`` by ``phase`` (a ``DenseCD``)."""
    family, settings, p = phase.family, phase.settings, state.params
    rng = state.rng
    ph_pos = hidden_proba(family, v, p)
    h0 = phase.negative_start(state, ph_pos, v.shape[0])
    chain = DenseChain(family, p)
    v_neg, ph_neg, h_new = gibbs_chain(chain, h0, cd_steps, rng)
    pos = phase_stats(family, v, ph_pos, p)
    neg = phase_stats(family, v_neg, ph_neg, p)
    g = gradient(family, p, pos, neg, state.offsets)
    opt = phase.optimizer
    centred_decay(g, p["W"], state.offsets, opt.weight_decay, opt.lr_scale)
    if state.offsets is not None:
        mu, lam = state.offsets
        nu = settings.offset_rate
        mu += nu * (pos["s"] - mu)
        lam += nu * (pos["c"] - lam)
    if settings.persistent:
        state.chains = h_new
    phase.optimizer.step(p, state.opt, g, lr, momentum)
    state.n_updates += 1
    family.constrain(p)
