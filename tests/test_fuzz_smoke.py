"""A few seconds of ``benchmarks/fuzz.py`` with its seeded random mutator
(no atheris needed): the CLI's ratings reader, ``persistence.load`` and
serving on tampered skops files. Each run is a child process, so that an
interpreter crash fails the test instead of ending the suite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FUZZ = REPO / "benchmarks" / "fuzz.py"


def _fuzz(target, runs, tmp_path, seed=0):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, str(FUZZ), "--target", target, "--mutator", "random"]
        + ["--runs", str(runs), "--seed", str(seed), "--crashes", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert res.returncode == 0, f"status {res.returncode}\n{res.stderr[-3000:]}"
    (stats,) = tmp_path.glob(f"stats-{target}-*.json")
    return json.loads(stats.read_text())


def _findings(stats, tmp_path):
    """Each finding with the traceback saved for it."""
    return {
        sig: (tmp_path / info["input"]).with_suffix(".txt").read_text()[-1500:]
        for sig, info in stats["findings"].items()
    }


def test_fuzz_reader(tmp_path):
    stats = _fuzz("reader", 3000, tmp_path)
    assert stats["execs"] >= 3000
    assert stats["findings"] == {}, _findings(stats, tmp_path)
    # the mutations reach both ends: parsed files and the reader's errors
    assert stats["outcomes"]["parsed"] > 100
    assert stats["outcomes"]["CLIError"] > 100


# Tampered skops files: loading validates the model's state and reports a
# file skops cannot parse as a ValueError (issue 16, item 1), so mutated
# files end in a documented error or in a working model, never elsewhere.
def test_fuzz_load(tmp_path):
    pytest.importorskip("skops")
    stats = _fuzz("load", 300, tmp_path)
    assert stats["outcomes"].get("loaded", 0) > 10
    assert stats["findings"] == {}, _findings(stats, tmp_path)


def test_fuzz_predict(tmp_path):
    pytest.importorskip("skops")
    stats = _fuzz("predict", 200, tmp_path)
    assert stats["outcomes"].get("served", 0) > 10
    assert stats["findings"] == {}, _findings(stats, tmp_path)
