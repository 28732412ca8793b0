"""The Getting Started page's code blocks run as written, in order, in one
namespace (a reader pastes them into one session; later blocks use the
names of earlier ones)."""

import re
import textwrap
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "getting_started.rst"


def _python_blocks():
    text = PAGE.read_text(encoding="utf-8")
    found = re.findall(
        r"^\.\. code-block:: python\n\n((?:^(?: {3}.*)?\n)+)", text, flags=re.M
    )
    return [textwrap.dedent(block) for block in found]


BLOCKS = _python_blocks()


def test_getting_started_has_python_examples():
    # the extraction itself must not silently find nothing
    assert len(BLOCKS) >= 4


@pytest.mark.slow
def test_getting_started_runs():
    namespace = {"__name__": "getting_started"}
    for i, block in enumerate(BLOCKS):
        exec(
            compile(block, f"getting_started.rst, python block {i + 1}", "exec"),
            namespace,
        )
    # the log_partition_params block: held-out log-likelihoods, one per fold
    scores = namespace["cross_val_score"](namespace["fast"], namespace["X"], cv=3)
    assert scores.shape == (3,) and (scores < 0).all()


DOCS = PAGE.parent
#: the hand-written pages with interactive (``>>>``) examples
DOCTEST_PAGES = sorted(
    page
    for page in DOCS.rglob("*.rst")
    if not {"_build", "auto_examples", "gen_modules"} & set(page.parts)
    and ">>> " in page.read_text(encoding="utf-8")
)


def test_some_pages_have_interactive_examples():
    assert DOCTEST_PAGES  # the search itself must not silently find nothing


@pytest.mark.parametrize("page", DOCTEST_PAGES, ids=lambda p: p.name)
def test_interactive_examples_of_the_docs_print_what_they_show(page):
    import doctest

    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0 and result.failed == 0, result
