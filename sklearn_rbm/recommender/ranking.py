"""The ranking component of the recommender: a choice model over items.

Which items a user rates (or plays, clicks, buys) is itself a signal, and
the strongest one for top-N lists: the rating model predicts how much a user
would like an item *if* they rated it, not whether they would pick it. The
choice model is an RBM whose binary visible units are "the user chose item
i" (a :class:`~sklearn_rbm.engine.families.Bernoulli` layer over the items,
one case per user) and whose mean-field predictor

.. math:: h = \\sigma(W^\\top v + c), \\qquad
          \\log P(i \\mid v) = \\operatorname{log\\,softmax}_i(W h + b)

is trained as Mult-DAE (Liang et al. 2018) is, with tied weights: a
multinomial likelihood over items of the user's *target* items given their
input vector ``v`` with input dropout, by Adam (``training/optimizers.py``)
through the epoch loop of ``training/loop.py``. The input is every item the
user rated; the target is the items they rated and liked (a rating above the
middle of the rating scale: 4 and 5 on 1..5) for explicit feedback, and
every item they chose for implicit feedback. The score of an item is its
log-probability of being the user's next liked (chosen) item: "what the
user will choose and like".

The ranking score adds to it a lateral (visible-to-visible) term, the
item-item connections of a semi-restricted Boltzmann machine (Osindero &
Hinton 2008): ``weight * (v A)_i``, where ``A`` (zero diagonal)
regresses each item's choice on the user's other choices. ``A`` is the
closed-form ridge solution ``A = I - P diag(1 / diag(P))`` with
``P = (V^T V + diag(lam))^{-1}`` over the ``MAX_LATERAL_ITEMS`` most chosen
items (:func:`fit_lateral`): for explicit feedback Steck's EASE (2019),
``lam = l2``, ``weight = LATERAL_WEIGHT``; for implicit feedback, where the
term carries the ranking, the denoising solution (EDLAE, Steck 2020),
``lam_j = l2 + p / (1 - p) * (V^T V)_jj`` with ``p =
IMPLICIT_LATERAL_DROPOUT``, ``weight = IMPLICIT_LATERAL_WEIGHT`` (see
:func:`lateral_settings`). The two
terms are a product of experts, each fitted on its own: training the hidden
part with the lateral term inside its softmax scored lower on validation.
On the validation splits the sum beat either part alone (MovieLens 1M:
NDCG@10 0.2371 against 0.2227 for the RBM alone and 0.2313 for the lateral
term alone; ``benchmarks/README.md``, "Lateral item-item term").

The settings below were chosen on validation splits of the MovieLens 1M and
100K training data (``benchmarks/tune_ranking.py``; ``benchmarks/README.md``,
"Ranking model (issue 14)").

The parameters are ``W`` of shape ``(n_items, n_components)`` (one row per
item, so that new items in ``partial_fit`` append rows, as the rating
model's variables do), ``b`` ``(n_items,)`` and ``c`` ``(n_components,)``,
held with the Adam state in a
:class:`~sklearn_rbm.training.state.RatingState` (``opt["rank"]``).
Users are inputs, not parameters: a user unseen in fit is scored from a
history without refitting, exactly as a training user is.
"""

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse as sp
from scipy.special import expit, log_softmax, logsumexp

from ..training import checks
from ..training.loop import check_finite, run_epochs, training_errstate
from ..training.optimizers import Adam
from ..training.state import RatingState, Schedule

#: Adam step size of the choice model
LEARNING_RATE = 3e-3
#: L2 coefficient on ``W`` (added to the gradient of the mean log-loss)
WEIGHT_DECAY = 1e-2
#: probability that an input item is kept in training (input dropout)
KEEP = 0.5
#: weight (nats per unit) of the lateral item-item term in the ranking score,
#: and its L2 penalty for ``ranking_lateral_l2="auto"``, explicit feedback
LATERAL_WEIGHT = 5.0
EXPLICIT_LATERAL_L2 = 1000.0
#: implicit feedback, where the lateral term carries the ranking: its L2
#: penalty (``"auto"``), the input dropout of its denoising ridge (EDLAE) and
#: its weight, chosen on four validation splits of the MovieLens 1M training
#: data (``benchmarks/tune_implicit.py splits``)
IMPLICIT_LATERAL_L2 = 500.0
IMPLICIT_LATERAL_DROPOUT = 0.5
IMPLICIT_LATERAL_WEIGHT = 20.0
#: the lateral weights cover at most this many of the most chosen items
#: (memory and the closed-form solve grow as its square and cube)
MAX_LATERAL_ITEMS = 5000
#: row-sparse parameters (one row per item)
ROW_PARAMS = ("W", "b")


def batch_size(n_users):
    """Users per minibatch: at most 500, at least about 13 updates per epoch
    (when there are 32 users per update or more), and batches of even size
    (a tiny last batch makes a full Adam step on a noisy gradient: on the
    MovieLens 1M validation split, batches of 503 users, the last of 4,
    gave NDCG@10 0.2727 against 0.2785 for 500 and 0.2804 for 465)."""
    n_batches = max(-(-n_users // 500), min(13, n_users // 32), 1)
    return -(-n_users // n_batches)


def liked(classes, k):
    """Which ratings (value indices ``k`` into ``classes``) count as liked:
    above the middle of the scale (4 and 5 on 1..5; all of them when there is
    one value, as in implicit feedback)."""
    classes = np.asarray(classes, dtype=np.float64)
    if len(classes) == 1:
        return np.ones(len(k), dtype=bool)
    mid = classes[0] / 2 + classes[-1] / 2
    return classes[k] > mid


def user_item(ucode, icode, n_users, n_items, mask=None, dtype=np.float32):
    """CSR users x items indicator of the pairs (``mask``: those kept)."""
    if mask is not None:
        ucode, icode = ucode[mask], icode[mask]
    m = sp.csr_matrix(
        (np.ones(len(ucode), dtype), (ucode, icode)), shape=(n_users, n_items)
    )
    m.sum_duplicates()
    m.data[:] = 1
    return m


def init_state(n_items, n_components, counts, dtype, rng):
    """A new choice model: small random ``W``, ``b`` the log of the items'
    smoothed target frequencies (the popularity model), ``c = 0``."""
    dt = np.dtype(dtype)
    return RatingState(
        params=_init_params(n_items, n_components, counts, dt, rng), rng=rng
    )


def _init_params(n_items, n_components, counts, dt, rng):
    f = np.asarray(counts, dtype=np.float64) + 1.0
    return {
        "W": rng.normal(0.0, 0.01, size=(n_items, n_components)).astype(dt),
        "b": np.log(f / f.sum()).astype(dt),
        "c": np.zeros(n_components, dt),
    }


def _optimizer():
    return Adam(ROW_PARAMS, {"W": WEIGHT_DECAY})


def hidden(params, V):
    """``p(h | v)`` of the rows of the (sparse) users x items matrix ``V``."""
    W = params["W"]
    a = np.asarray(V.astype(W.dtype, copy=False) @ W) + params["c"]
    return expit(a, out=a)


def logits(params, V):
    """Unnormalised ``log P(i | v)`` for every item, rows of ``V``."""
    return hidden(params, V) @ params["W"].T + params["b"]


def log_proba(params, V):
    """``log P(i | v)`` for every item (a log-softmax over the items)."""
    return log_softmax(logits(params, V), axis=1)


def lateral_settings(l2, implicit):
    """``(l2, dropout, weight)`` of the lateral term for the parameter
    ``ranking_lateral_l2`` (``"auto"`` resolved by the feedback)."""
    auto, dropout, weight = (
        (IMPLICIT_LATERAL_L2, IMPLICIT_LATERAL_DROPOUT, IMPLICIT_LATERAL_WEIGHT)
        if implicit
        else (EXPLICIT_LATERAL_L2, 0.0, LATERAL_WEIGHT)
    )
    return (auto if l2 == "auto" else l2), dropout, weight


def fit_lateral(V, l2, dtype, dropout=0.0, weight=LATERAL_WEIGHT):
    """The lateral item-item weights of the users x items inputs ``V``:
    ``{"items": codes, "weights": A, "n_pairs": V.nnz, "dropout": dropout,
    "weight": weight}``, ``A`` the closed-form ridge solution with zero
    diagonal over the ``MAX_LATERAL_ITEMS`` most chosen items (``codes``,
    sorted): ``A = I - P diag(1 / diag(P))``, ``P = (G + diag(lam))^{-1}``,
    ``G = B^T B``, by a Cholesky factorisation (in float64, in place).
    The ridge is ``lam_j = l2 + dropout / (1 - dropout) * G_jj``: ``dropout
    = 0`` is EASE (Steck 2019), ``dropout > 0`` the zero-diagonal solution of
    the denoising linear autoencoder whose inputs are dropped with that
    probability (EDLAE, Steck 2020), which penalises the weights of often
    chosen items more. ``weight`` multiplies the term in :func:`scores`."""
    counts = V.getnnz(axis=0)
    m = min(V.shape[1], MAX_LATERAL_ITEMS)
    items = np.sort(np.argsort(-counts, kind="stable")[:m]).astype(np.int64)
    B = sp.csr_matrix(V if m == V.shape[1] else V[:, items], dtype=np.float64)
    G = (B.T @ B).toarray(order="F")  # symmetric, in LAPACK's order
    if dropout:
        G[np.diag_indices_from(G)] *= 1.0 / (1.0 - dropout)
    G[np.diag_indices_from(G)] += l2
    potrf, potri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potri"), (G,))
    c, info = potrf(G, lower=False, overwrite_a=True, clean=True)
    if info == 0:
        P, info = potri(c, lower=False, overwrite_c=True)
    if info < 0:  # an argument LAPACK refused: a bug here, not bad data
        raise RuntimeError(f"LAPACK potrf/potri argument {-info} is invalid.")
    if info > 0:
        raise ValueError(
            f"ranking_lateral_l2={l2!r} is too small for these data: the "
            "item-item co-occurrence matrix plus ranking_lateral_l2 on its "
            "diagonal is not numerically positive definite. Use a larger "
            "value, or None for no lateral term."
        )
    _symmetrize_upper(P)
    P /= -np.diag(P).copy()  # column j over -P_jj
    np.fill_diagonal(P, 0.0)
    # C order: sparse @ dense would copy a Fortran-ordered array every call
    A = np.ascontiguousarray(P, dtype=dtype)
    return {
        "items": items,
        "weights": A,
        "n_pairs": int(V.nnz),
        "dropout": float(dropout),
        "weight": float(weight),
    }


def _symmetrize_upper(P, block=512):
    """Copy the upper triangle of the square ``P`` onto its lower triangle,
    in place, by blocks of columns (no full-size temporary)."""
    m = P.shape[0]
    for j0 in range(0, m, block):
        j1 = min(j0 + block, m)
        D = P[j0:j1, j0:j1]
        D[...] = np.triu(D) + np.triu(D, 1).T
        P[j1:, j0:j1] = P[j0:j1, j1:].T


def refresh_lateral(lateral, V, l2, dtype):
    """The lateral weights after a ``partial_fit`` pass: refitted on all the
    inputs ``V`` once they hold twice the pairs the weights were fitted on
    (the cost of the refits stays proportional to one fit on the final
    data), else unchanged."""
    if lateral is None or l2 is None or V.nnz < 2 * lateral["n_pairs"]:
        return lateral
    dropout = lateral.get("dropout", 0.0)
    return fit_lateral(V, l2, dtype, dropout, lateral.get("weight", LATERAL_WEIGHT))


def scores(params, lateral, V):
    """The ranking scores of the rows of ``V``: ``log P(i | v)`` plus
    the lateral term times its weight (``LATERAL_WEIGHT`` in models saved
    before the weight was stored; no term when ``lateral`` is None),
    float64."""
    out = log_proba(params, V).astype(np.float64)
    if lateral is None:
        return out
    items, A = lateral["items"], lateral["weights"]
    weight = lateral.get("weight", LATERAL_WEIGHT)
    if len(items) == out.shape[1]:
        out += weight * np.asarray(V.astype(A.dtype, copy=False) @ A)
    else:
        sub = V[:, items].astype(A.dtype)
        out[:, items] += weight * np.asarray(sub @ A)
    return out


def check_lateral(where, lateral, n_items, dtype):
    """Validate loaded lateral weights; raise ValueError."""
    keys = {"items", "weights", "n_pairs"}
    new = keys | {"dropout", "weight"}  # saved before: the first three only
    if not isinstance(lateral, dict) or set(lateral) not in (keys, new):
        checks.invalid(where, f"must be a dict with the entries {sorted(new)}")
    if set(lateral) == new:
        for name, ok in (
            ("dropout", lambda x: 0 <= x < 1),
            ("weight", lambda x: 0 < x < np.inf),
        ):
            x = lateral[name]
            if type(x) is not float or not ok(x):
                checks.invalid(f"{where}[{name!r}]", "is not a valid float")
    items, A = lateral["items"], lateral["weights"]
    for name, a in (("items", items), ("weights", A)):
        if type(a) is not np.ndarray:
            checks.invalid(f"{where}[{name!r}]", "must be a plain numpy array")
    checks.indices(f"{where}['items']", items, n_items, "items")
    m = len(items)
    if m < 1 or np.any(np.diff(items) <= 0):
        checks.invalid(f"{where}['items']", "must be sorted, distinct, non-empty")
    checks.array(f"{where}['weights']", A, (m, m), contiguous=True)
    if A.dtype != np.dtype(dtype):
        checks.invalid(f"{where}['weights']", f"has dtype {A.dtype}, fitted as {dtype}")
    if np.any(np.diagonal(A) != 0):
        checks.invalid(f"{where}['weights']", "has a non-zero diagonal")
    checks.integer(f"{where}['n_pairs']", lateral["n_pairs"])


def step_fn(state, V, T):
    """The minibatch step ``step(idx, lr, momentum, T)`` over users ``idx``
    (rows of the input matrix ``V`` and of the target matrix ``T``)."""
    opt = _optimizer()
    st = state.opt.setdefault("rank", opt.init(state.params))

    def step(idx, lr, momentum, k):
        p = state.params
        xi = V[idx]  # a new matrix: its data is replaced below
        x = xi if T is V else T[idx]  # only its sparsity pattern is read
        if x.nnz == 0:
            return
        W = p["W"]
        dt = W.dtype
        keep = state.rng.random(xi.nnz) < KEEP
        xi.data = (keep / KEEP).astype(dt)
        h = hidden(p, xi)
        G = h @ W.T + p["b"]
        G -= G.max(axis=1, keepdims=True)
        np.exp(G, out=G)
        G *= (np.diff(x.indptr) / G.sum(axis=1)).astype(dt)[:, None]
        G[np.repeat(np.arange(len(idx)), np.diff(x.indptr)), x.indices] -= 1
        n = np.asarray(len(idx), dt)
        da = (G @ W) * h * (1 - h)
        gW = G.T @ h + np.asarray(xi.T @ da)
        grads = {"W": gW / n, "b": G.sum(axis=0) / n, "c": da.sum(axis=0) / n}
        opt.step(p, st, grads, lr)
        state.n_updates += 1

    return step


def fit_choice(V, T, n_components, n_epochs, dtype, rng, verbose=0, name="ranking"):
    """Train a choice model on inputs ``V`` and targets ``T`` (CSR users x
    items); returns its :class:`RatingState`."""
    counts = np.asarray(T.sum(axis=0)).ravel()
    state = init_state(V.shape[1], n_components, counts, dtype, rng)
    schedule = _schedule(n_epochs)
    state, _ = run_epochs(
        state,
        step_fn(state, V, T),
        V.shape[0],
        schedule,
        batch_size=batch_size(V.shape[0]),
        n_epochs=n_epochs,
        verbose=verbose,
        name=name,
    )
    return state


def _schedule(n_epochs):
    return Schedule(
        learning_rate=LEARNING_RATE,
        momentum_schedule="constant",
        max_iter=max(int(n_epochs), 1),
        learning_rate_name="the ranking model's learning rate",
    )


def continue_choice(old, V, T, users):
    """One pass of the choice model over ``users`` (their complete
    histories); new items (columns beyond the model's) get rows initialised
    as in fit. Returns a new state (``old`` is not changed)."""
    state = old.copy()
    n_old, n_items = state.params["b"].shape[0], V.shape[1]
    if n_items > n_old:
        counts = np.asarray(T.sum(axis=0)).ravel()
        H = state.params["c"].shape[0]
        dt = state.params["W"].dtype
        fresh = _init_params(n_items - n_old, H, counts[n_old:], dt, state.rng)
        # the new items' biases: their smoothed share of all targets, on the
        # scale of the fitted biases (the log-softmax ignores a shift)
        shift = logsumexp(state.params["b"].astype(np.float64))
        f = counts[n_old:] + 1.0
        fresh["b"] = (np.log(f / (counts.sum() + n_items)) + shift).astype(dt)
        for name in ROW_PARAMS:
            state.params[name] = np.concatenate([state.params[name], fresh[name]])
        if "rank" in state.opt:
            _optimizer().grow(state.params, state.opt["rank"], n_items - n_old)
    step = step_fn(state, V, T)
    users = np.asarray(users, dtype=np.int64)
    bs = batch_size(V.shape[0])
    with training_errstate():
        for s in range(0, len(users), bs):
            step(users[s : s + bs], LEARNING_RATE, 0.0, 1)
    check_finite(state, LEARNING_RATE, where="partial_fit pass of the ranking model")
    state.n_epochs += 1
    return state


def check_state(where, state, n_items, dtype):
    """Validate a loaded choice model (shapes, dtype, finite values, its Adam
    state); raise ValueError."""
    if not isinstance(state, RatingState):
        checks.invalid(where, f"must be a RatingState, got {type(state).__name__}")
    p = getattr(state, "params", None)
    if not isinstance(p, dict) or "c" not in p or not isinstance(p["c"], np.ndarray):
        checks.invalid(f"{where}.params", "must hold the arrays W, b and c")
    H = p["c"].shape[0] if p["c"].ndim == 1 else -1
    if H < 1:
        checks.invalid(f"{where}.params['c']", "must be a non-empty vector")
    shapes = {"W": (n_items, H), "b": (n_items,), "c": (H,)}
    checks.train_state(where, state, RatingState, shapes)
    if p["c"].dtype != np.dtype(dtype):
        checks.invalid(
            f"{where}.params", f"have dtype {p['c'].dtype}, fitted as {dtype}"
        )
    if not isinstance(state.opt, dict) or set(state.opt) - {"rank"}:
        checks.invalid(f"{where}.opt", "must be a dict with at most the entry 'rank'")
    if "rank" in state.opt:
        checks.adam_state(f"{where}.opt['rank']", state.opt["rank"], p)
    state.serving = None
