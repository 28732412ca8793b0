"""The recommender's serving cache: derived values of a fitted model.

Hidden fields of the cases, the users x items indicator, the weights laid
out for scoring, the fallback's rating distributions. Cheap to rebuild, so
never saved; a model changed by ``partial_fit`` starts from an empty cache.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class ServingCache:
    """Typed slots of derived values (None until first use)."""

    #: smoothed rating distributions: {"global", "user", "item"}
    dists: dict | None = None
    #: (hidden fields of all cases, mask of the cases computed so far)
    case_field: tuple | None = None
    #: user orientation: [W | b] as (K * n_items, H + 1) for scoring GEMMs
    item_weights: np.ndarray | None = None
    #: item orientation: [p(h | item), 1] as (n_items, H + 1)
    item_hidden: np.ndarray | None = None
    #: users x items indicator of the training ratings
    user_item: sp.csr_matrix | None = None


def serving_cache(model):
    """The serving cache of a fitted recommender (made on first use)."""
    state = model._state
    if getattr(state, "serving", None) is None:
        state.serving = ServingCache()
    return state.serving
