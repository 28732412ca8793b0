"""The README's ```python examples run as written (issue 15: every number
and timing in the README is reproduced by its snippet)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    text = README.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


BLOCKS = _python_blocks()


def test_readme_has_python_examples():
    # the extraction itself must not silently find nothing
    assert len(BLOCKS) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    """Each block runs on its own, in a fresh namespace, as a user pastes it."""
    code = compile(BLOCKS[index], f"README.md, python block {index + 1}", "exec")
    exec(code, {"__name__": f"readme_block_{index + 1}"})
