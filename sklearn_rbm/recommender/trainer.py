"""Training the recommender: the CD and fine-tuning phases, ``fit`` and
``partial_fit``.

A phase ties a :class:`~sklearn_rbm.training.state.Schedule`, an optimiser of
``training/optimizers.py`` and a minibatch step over the rating store:

* :class:`CDPhase`: CD-T on the rated entries (the engine's sparse
  categorical chain), lazy momentum SGD on the touched rows;
* :class:`FineTunePhase`: discriminative fine-tuning of the mean-field
  predictor, lazy Adam on the touched rows.

``fit`` runs the CD phase then the fine-tuning phase through
:func:`~sklearn_rbm.training.loop.run_epochs` (early stopping watches both);
``partial_fit`` grows the model for new users and items in one place
(:func:`grow`) and runs one pass of the model's last phase. A
:class:`Trainer` holds all this, built from the estimator's parameters; the
mixin only checks the input and publishes the result.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Options, StrOptions

from ..engine.families import Categorical
from ..engine.sparse_categorical import cd_statistics, gradients, predictor_gradients
from ..training.loop import (
    check_finite,
    continued_learning_rate,
    run_epochs,
    training_errstate,
)
from ..training.optimizers import Adam, LazyMomentumSGD
from ..training.state import RatingState, Schedule
from .defaults import resolve
from .fallback import fallback_stats
from .serving import expected, predict_proba_codes, rmse
from .stopping import PlateauEarlyStopping
from .store import (
    RatingStore,
)

#: the row-sparse parameters (one row per visible variable)
ROW_PARAMS = ("W3", "A", "b", "D")
#: parameters that fix the shapes of the fitted model: predictions use the
#: fitted values, and partial_fit refuses to continue with other values
STRUCTURAL = ("orientation", "n_components", "rank", "conditional", "dtype")


#: the ``dtype`` parameter: a name, or the numpy type or dtype it names
DTYPE_CONSTRAINT = [
    StrOptions({"float32", "float64"}),
    Options(type, {np.float32, np.float64}),
    Options(np.dtype, {np.dtype(np.float32), np.dtype(np.float64)}),
]


def structural(est, name):
    """The structural parameter ``name`` of ``est`` as the fitted model
    records it (``dtype`` by its name: ``np.float32`` is ``"float32"``)."""
    value = getattr(est, name)
    return np.dtype(value).name if name == "dtype" else value


def _is_int(value):
    """An integer, not a bool (``True`` is an ``Integral``, ``1.5`` would be
    truncated by ``int``)."""
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _cd_schedule_ok(value):
    if _is_int(value):
        return value >= 1
    if isinstance(value, str | bytes | bool | np.bool_):
        return False
    try:
        pairs = [tuple(pair) for pair in value]
    except TypeError:
        return False
    return (
        bool(pairs)
        and all(
            len(pair) == 2
            and _is_int(pair[0])
            and _is_int(pair[1])
            and pair[0] >= 0
            and pair[1] >= 1
            for pair in pairs
        )
        and all(a[0] < b[0] for a, b in zip(pairs, pairs[1:]))
    )


class CDPhase:
    """CD-T on the rated entries with lazy momentum SGD (the paper's
    training, and the pretraining of fine-tuning)."""

    name = "cd"

    def __init__(self, schedule, optimizer, mean_field):
        self.schedule = schedule
        self.optimizer = optimizer
        self.mean_field = mean_field

    def opt_state(self, state):
        if self.name not in state.opt:
            n_rows = state.params["b"].shape[0]
            state.opt[self.name] = self.optimizer.init(state.params, n_rows)
        return state.opt[self.name]

    def bind(self, state, store, n_vars, K):
        """The ``step(idx, lr, momentum, T)`` over cases ``idx``."""
        opt, st = self.optimizer, self.opt_state(state)

        def step(idx, lr, momentum, T):
            batch = store.batch(idx, n_vars, K)
            if len(batch.var) == 0:
                return
            p = state.params
            opt.prepare(p, st, batch.local()[0], lr, momentum)
            ph_pos, k_neg, ph_neg = cd_statistics(
                batch, p, T, state.rng, self.mean_field
            )
            uv, row_g, dense_g = gradients(batch, p, ph_pos, k_neg, ph_neg)
            opt.step(p, st, {**row_g, **dense_g}, lr, momentum, rows=uv)
            state.n_updates += 1

        return step

    def flush(self, state):
        """Apply the pending lazy steps (all parameters current)."""
        if self.name in state.opt:
            self.optimizer.flush(state.params, state.opt[self.name])


class FineTunePhase:
    """Discriminative fine-tuning: Adam descent on the squared error of the
    mean-field prediction, on the touched rows."""

    name = "fine_tune"

    def __init__(self, schedule, optimizer, classes):
        self.schedule = schedule
        self.optimizer = optimizer
        # errors are measured in rating steps (the mean spacing of classes_:
        # 1 for 1..5 stars, 0.5 for half stars), so that alpha and Adam's
        # moments do not depend on the units of the ratings (1e11-sized
        # ratings overflowed Adam's second moment in float32)
        values = np.asarray(classes, dtype=np.float64)
        if len(values) > 1:
            with np.errstate(over="ignore"):
                span = np.ptp(values)
            if not np.isfinite(span):  # ratings near the float64 limit
                values, span = values / 2, values[-1] / 2 - values[0] / 2
            values = values / (span / (len(values) - 1))
        self.values = values

    def start(self, state, cd):
        """CD's pending steps are applied and its momentum dropped (a later
        CD pass in partial_fit starts from rest)."""
        cd.optimizer.reset(state.params, cd.opt_state(state))

    def bind(self, state, store, n_vars, K):
        if self.name not in state.opt:
            state.opt[self.name] = self.optimizer.init(state.params)
        opt, st = self.optimizer, state.opt[self.name]

        def step(idx, lr, momentum, T):
            batch = store.batch(idx, n_vars, K)
            if len(batch.var) == 0:
                return
            _, uv, row_g, dense_g = predictor_gradients(
                batch, state.params, self.values
            )
            opt.step(state.params, st, {**row_g, **dense_g}, lr, rows=uv)
            state.n_updates += 1

        return step


def grow(state, phases, fresh):
    """Append the initial rows ``fresh`` of new variables to the row-sparse
    parameters, and room for them in every phase's optimiser state."""
    n_new = fresh["b"].shape[0]
    for name, val in fresh.items():
        if name in ROW_PARAMS:
            state.params[name] = np.concatenate([state.params[name], val])
    for phase in phases:
        if phase.name in state.opt:
            phase.optimizer.grow(state.params, state.opt[phase.name], n_new)


class Trainer:
    """Trains a recommender from its parameters (``get_params()``): the CD
    and fine-tuning phases, the initial parameters, a fit from scratch
    (:meth:`train_new`) and a pass over new ratings (:meth:`train_more`).
    Nothing is set on the estimator: both return its fitted attributes."""

    def __init__(self, params, name):
        self.__dict__.update(params)
        self.name = name

    def cd_phase(self):
        cd = self.cd_steps
        if not _cd_schedule_ok(cd):
            raise ValueError(
                "cd_steps must be an int >= 1 or a non-empty sequence of "
                "(first_epoch >= 0, T >= 1) pairs of ints, in increasing order "
                f"of first_epoch; got {cd!r}."
            )
        if not isinstance(cd, Integral):
            cd = tuple((int(s), int(k)) for s, k in cd)
        schedule = Schedule(
            learning_rate=float(self.learning_rate),
            momentum=float(self.momentum),
            cd_steps=cd,
            momentum_schedule=self.momentum_schedule,
            learning_rate_schedule=self.learning_rate_schedule,
            max_iter=int(self.max_iter),
        )
        wd = float(self.weight_decay)
        decay = {"W3": wd, "A": wd, "B": wd, "D": wd}
        decay["b"] = float(self.visible_bias_decay)
        optimizer = LazyMomentumSGD(ROW_PARAMS, decay)
        return CDPhase(schedule, optimizer, self.negative_visible == "mean_field")

    def fine_tune_phase(self, n_epochs, n_ratings, classes):
        schedule = Schedule(
            learning_rate=float(self.fine_tune_learning_rate),
            momentum_schedule="constant",
            max_iter=int(n_epochs),
            learning_rate_name="fine_tune_learning_rate",
        )
        # the objective is sum of squared errors + alpha / 2 ||W||^2; a step
        # follows the mean over its minibatch's ratings, so the penalty is
        # divided by the number of training ratings
        alpha = float(self.fine_tune_alpha) / max(n_ratings, 1)
        decay = {"W3": alpha, "A": alpha, "B": alpha, "D": alpha}
        return FineTunePhase(schedule, Adam(ROW_PARAMS, decay), classes)

    def init_params(self, n_vars, K, counts, rng):
        dt = np.dtype(self.dtype)
        H = self.n_components
        b = Categorical(K).base_visible_bias(counts.ravel()).reshape(n_vars, K)
        p = {"b": b.astype(dt), "c": np.zeros(H, dt)}
        if self.rank is None:
            p["W3"] = rng.normal(0.0, 0.01, size=(n_vars, K, H)).astype(dt)
        else:
            # W = A @ B has the same 0.01 scale as a full W; B starts at unit
            # scale so that A (the large factor) learns at a useful rate
            s = 0.01 / np.sqrt(self.rank) * np.sqrt(self.rank)
            p["A"] = rng.normal(0.0, s, size=(n_vars, K, self.rank)).astype(dt)
            p["B"] = rng.normal(0.0, 1.0 / np.sqrt(self.rank), size=(self.rank, H))
            p["B"] = p["B"].astype(dt)
        if self.conditional:
            p["D"] = np.zeros((n_vars, H), dt)
        return p

    def resolve(self, n_ratings, n_cases):
        """Replace the ``"auto"`` parameters by their values for the data
        (``defaults.py``)."""
        self.__dict__.update(resolve(vars(self), n_ratings, n_cases))

    def train_new(self, view, classes, ucode, icode, k, r, rng):
        """Train from scratch; returns the fitted attributes (nothing is set on
        ``self`` until training succeeded)."""
        case, var = view.orient(ucode, icode)
        n_cases, n_vars, K = view.n_cases, view.n_vars, len(classes)
        n = len(r)
        self.resolve(n, n_cases)
        val = np.zeros(n, dtype=bool)
        if self.early_stopping and (self.max_iter > 0 or self.fine_tune_iter > 0):
            n_val = int(round(self.validation_fraction * n))
            if n_val < 1 or n - n_val < 1:
                raise ValueError(
                    f"early_stopping holds out validation_fraction="
                    f"{self.validation_fraction} of the {n} ratings, which leaves "
                    "no validation or no training ratings; add ratings or set "
                    "early_stopping=False."
                )
            val[rng.permutation(n)[:n_val]] = True
        tr = ~val
        if val.any():
            store = RatingStore(case[tr], var[tr], k[tr], n_cases)
        else:  # no copies of the (possibly huge) arrays
            store = RatingStore(case, var, k, n_cases)
        counts = np.bincount(
            store.var.astype(np.int64) * K + store.k, minlength=n_vars * K
        ).reshape(n_vars, K)
        state = RatingState(params=self.init_params(n_vars, K, counts, rng), rng=rng)
        cd = self.cd_phase()
        cd.opt_state(state)
        monitor = stopper = None
        if val.any():
            vc, vv, vy = case[val], var[val], r[val]

            def monitor():
                proba = predict_proba_codes(state.params, store, vc, vv, n_vars, K)
                return -rmse(expected(proba, classes), vy)

            stopper = PlateauEarlyStopping(self.tol, self.n_iter_no_change)
        common = dict(
            batch_size=self.batch_size,
            monitor=monitor,
            early_stopping=stopper,
            verbose=self.verbose,
            score_name="validation RMSE",
            score_sign=-1,
        )
        state, history = run_epochs(
            state,
            cd.bind(state, store, n_vars, K),
            n_cases,
            cd.schedule,
            n_epochs=self.max_iter,
            name=self.name,
            epoch_end=lambda: cd.flush(state),
            **common,
        )
        if self.fine_tune_iter > 0:
            if stopper is not None:
                # the kept CD epoch (momentum included) stays intact while
                # fine-tuning trains a copy; the phase gets its own patience
                state = state.copy()
                stopper.reset_patience()
            ft = self.fine_tune_phase(self.fine_tune_iter, len(store.var), classes)
            ft.start(state, cd)
            lr_factor = state.lr_factor  # where partial_fit's CD continues
            state, more = run_epochs(
                state,
                ft.bind(state, store, n_vars, K),
                n_cases,
                ft.schedule,
                n_epochs=self.fine_tune_iter,
                name=f"{self.name} fine-tuning",
                **common,
            )
            state.lr_factor = lr_factor
            history = history + more
        full = RatingStore(case, var, k, n_cases) if val.any() else store
        out = self.fitted_attrs(state, full, view, classes, ucode, icode, r)
        out["validation_scores_"] = history if monitor is not None else None
        out["best_validation_rmse_"] = (
            -stopper.best_score if stopper is not None and history else None
        )
        return out

    def fitted_attrs(self, state, store, view, classes, ucode, icode, r):
        users, items = view.users, view.items
        out = {
            "_state": state,
            "_store": store,
            "_users": users,
            "_items": items,
            "classes_": classes,
            "users_": users.ids,
            "items_": items.ids,
            "n_iter_": state.n_epochs,
        }
        out.update(fallback_stats(ucode, icode, r, len(users.ids), len(items.ids)))
        return out

    # --------------------------------------------------------- partial_fit
    def train_more(self, model, view, ucode, icode, k, r):
        """One pass over new ratings of the fitted ``model``; returns its new
        fitted attributes."""
        classes = model.classes_
        K = len(classes)
        self.resolve(len(model._store.var) + len(r), view.n_cases)
        self.n_components = model._fit_structure()["n_components"]
        state = model._state.copy()
        state.params = {n: v.copy() for n, v in state.params.items()}
        cd = self.cd_phase()
        ft = self.fine_tune_phase(1, 0, classes)
        cd.flush(state)
        n_cases, n_vars = view.n_cases, view.n_vars
        old_vars = state.params["b"].shape[0]
        if n_vars > old_vars:  # new variables: initialised as in fit
            _, var_new = view.orient(ucode, icode)
            counts = np.zeros((n_vars, K))
            np.add.at(counts, (var_new, k), 1)
            fresh = self.init_params(n_vars - old_vars, K, counts[old_vars:], state.rng)
            grow(state, (cd, ft), fresh)
        n_case, n_var = view.orient(ucode, icode)
        store = model._store.merged(n_case, n_var, k, n_cases, n_vars)
        # one pass over the touched cases
        cases = np.unique(n_case)
        with training_errstate():
            if self.fine_tune_iter > 0:
                # a fine-tuned model continues its last phase: a CD pass
                # would pull it back towards the generative fit (MovieLens
                # 100K u1, a pass over 5% of the ratings: 0.9155 -> 0.9352
                # with CD, 0.9167 fine-tuning alone)
                ft = self.fine_tune_phase(1, len(store.var), classes)
                ft.start(state, cd)
                phase, lr = ft, ft.schedule.learning_rate
            else:
                phase = cd
                lr = continued_learning_rate(state, cd.schedule)
            step = phase.bind(state, store, n_vars, K)
            T = phase.schedule.cd_steps_at(state.n_epochs)
            for s in gen_batches(len(cases), self.batch_size):
                step(cases[s], lr, phase.schedule.momentum, T)
            cd.flush(state)
        check_finite(
            state, lr, where="partial_fit pass", name=phase.schedule.learning_rate_name
        )
        state.n_epochs += 1
        ucodes, icodes, kk = store.user_item_codes(view.orientation)
        values = classes[kk]
        return self.fitted_attrs(state, store, view, classes, ucodes, icodes, values)
