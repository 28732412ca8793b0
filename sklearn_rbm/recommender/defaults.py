"""The data-dependent ("auto") defaults of the recommender.

``fine_tune_iter="auto"`` is 10 epochs of fine-tuning with
``prediction="mean_field"`` and none with ``prediction="exact"`` (fine-tuning
trains the mean-field predictor).

``n_components``, ``batch_size``, ``weight_decay`` and
``fine_tune_learning_rate`` default to ``"auto"``: a value computed at fit
from the number of training ratings ``n`` (all of those passed to ``fit``,
before the early-stopping split) and the number of cases (items with
``orientation="item"``). Each rule is the power law through the two settings
chosen on validation splits of the training data of MovieLens 100K (80,000
ratings per ``u*.base``) and MovieLens 1M (900,188 ratings in the training
part of the benchmark's 90/10 split), ``benchmarks/tune_recommender.py``:

=========================== ============== =============== ================
parameter                   at 80,000      at 900,000      power of ``n``
=========================== ============== =============== ================
``n_components``            100            150             0.168
``batch_size``              100            200             0.286
``weight_decay``            0.003          0.001           -0.453
``fine_tune_learning_rate`` 3e-3           1.5e-3          -0.286
=========================== ============== =============== ================

``n_components`` and ``batch_size`` are rounded to integers (``n_components``
at least 10), the two rates to two significant digits; ``batch_size`` is at
most ``ceil(n_cases / 16)`` so that an epoch has at least about 16 minibatch
updates (both MovieLens settings have 16 to 19), which matters on small data
sets. Outside the anchors the rules extrapolate (the 4,800 training
ratings of a held-out fifth of ``make_ratings(300, 200)``, 199 items: 62
hidden units, batches of 13 items, weight decay 0.011, fine-tuning rate
0.0067).
"""

import math

AUTO = "auto"

#: number of training ratings of the two validated settings
ANCHORS = (80_000, 900_000)
#: parameter: (value at ANCHORS[0], value at ANCHORS[1])
RULES = {
    "n_components": (100, 150),
    "batch_size": (100, 200),
    "weight_decay": (0.003, 0.001),
    "fine_tune_learning_rate": (3e-3, 1.5e-3),
}
#: fine_tune_iter="auto" with prediction="mean_field" (both MovieLens recipes)
FINE_TUNE_ITER = 10
#: at least this many minibatches per epoch (batch_size is capped)
MIN_BATCHES = 16


def power_law(name, n_ratings):
    """The value of the rule ``name`` at ``n_ratings`` ratings (unrounded)."""
    (n0, n1), (v0, v1) = ANCHORS, RULES[name]
    power = math.log(v1 / v0) / math.log(n1 / n0)
    return v0 * (max(n_ratings, 1) / n0) ** power


def _two_digits(x):
    return float(f"{x:.2g}")


def fine_tune_epochs(params):
    """``fine_tune_iter``: ``"auto"`` is 10 epochs with the mean-field
    predictor (the one fine-tuning trains), 0 with ``prediction="exact"``."""
    value = params["fine_tune_iter"]
    if value == AUTO:
        return FINE_TUNE_ITER if params.get("prediction") == "mean_field" else 0
    return value


def resolve(params, n_ratings, n_cases):
    """``params`` (a ``get_params()`` dict) with its ``"auto"`` values
    replaced by those for ``n_ratings`` ratings over ``n_cases`` cases."""
    out = dict(params)
    if "fine_tune_iter" in out:
        out["fine_tune_iter"] = fine_tune_epochs(out)
    if out.get("n_components") == AUTO:
        out["n_components"] = max(10, round(power_law("n_components", n_ratings)))
    if out.get("batch_size") == AUTO:
        cap = max(1, math.ceil(n_cases / MIN_BATCHES))
        out["batch_size"] = min(cap, max(1, round(power_law("batch_size", n_ratings))))
    for name in ("weight_decay", "fine_tune_learning_rate"):
        if out.get(name) == AUTO:
            out[name] = _two_digits(power_law(name, n_ratings))
    return out
