"""The ``.. code-block:: python`` fragments of the documentation pages other
than Getting Started (which ``test_docs_snippets`` runs as a whole) run
against a small setup that defines the names they take from the surrounding
text (``rbm``, ``X``, ``y``, ...), so a renamed method, parameter or
attribute breaks a test instead of the page."""

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

#: what each page's fragments assume exists, as a reader has it at that point
SETUP = {
    "index.rst": "",
    "comparison.rst": "from sklearn_rbm import BernoulliRBM",
    "user_guide/partition.rst": """
from sklearn.datasets import load_digits
from sklearn_rbm import BernoulliRBM
X = (load_digits().data > 7).astype(float)
X_test = X[1000:1030]
# 12 hidden units: method="auto" enumerates (an AIS run of the page's size,
# 20,000 temperatures and twice 100 runs, takes a minute)
rbm = BernoulliRBM(n_components=12, max_iter=3, random_state=0).fit(X[:1000])
""",
    "user_guide/evaluation.rst": """
from sklearn_rbm.datasets import make_ratings
X, y = make_ratings(n_users=60, n_items=40, random_state=0)
""",
    "user_guide/recommender.rst": """
import numpy as np
from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.datasets import make_ratings
X, y = make_ratings(n_users=60, n_items=40, random_state=0)
X = np.column_stack([X[:, 0], np.char.add("m", X[:, 1].astype(str))]).astype(object)
X[:, 0] = X[:, 0].astype(int)
candidates = ["m1", "m2", "m3", "m5", "m8", "m13"]
""",
}


def _fragments(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    found = re.findall(
        r"^\.\. code-block:: python\n\n((?:^(?: {3}.*)?\n)+)", text, flags=re.M
    )
    # interactive (>>>) blocks are doctests, run by test_docs_snippets
    return [textwrap.dedent(b) for b in found if ">>> " not in b]


def test_every_page_with_fragments_has_a_setup():
    pages = {
        str(p.relative_to(DOCS))
        for p in DOCS.rglob("*.rst")
        if not {"_build", "auto_examples", "gen_modules"} & set(p.parts)
        and p.name != "getting_started.rst"
        and _fragments(p.relative_to(DOCS))
    }
    assert pages  # the search itself must find the fragments
    assert pages <= set(SETUP), pages - set(SETUP)


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(SETUP))
def test_documentation_fragments_run(page):
    blocks = _fragments(page)
    assert blocks, page
    namespace = {"__name__": "docs_fragment"}
    exec(compile(SETUP[page], f"setup of {page}", "exec"), namespace)
    for i, block in enumerate(blocks):
        exec(compile(block, f"{page}, python block {i + 1}", "exec"), namespace)
    if page == "user_guide/partition.rst":
        res = namespace["res"]
        assert res.method == "exact" and res.std_err == 0
        assert res.log_z_check is None and res.disagreement is None
        # exact log Z here: RAISE agrees with the exact log-likelihood
        assert abs(namespace["raise_"] - namespace["ais"]) < 0.5
    if page == "user_guide/evaluation.rst":
        results = namespace["results"]
        assert np.all(results["test_ndcg"] >= 0) and np.all(results["test_rmse"] < 0)
