"""The ``sklearn-rbm`` command line: round trip and input errors."""

import csv
import io
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.cli import load_model, main
from sklearn_rbm.datasets import make_ratings

REPO = Path(__file__).resolve().parents[1]
FAST = ["--n-components", "8", "--max-iter", "4", "--random-state", "0"]


@pytest.fixture(scope="module")
def ratings(tmp_path_factory):
    X, y = make_ratings(n_users=40, n_items=25, density=0.3, random_state=0)
    path = tmp_path_factory.mktemp("cli") / "ratings.csv"
    lines = ["user,item,rating"] + [f"{u},{i},{r:g}" for (u, i), r in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path, X, y


def _run(*args, cwd=None):
    """``python -m sklearn_rbm ...`` with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "sklearn_rbm", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def _read_csv(path):
    lines = path.read_text().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def test_fit_predict_recommend_round_trip(ratings, tmp_path, capsys):
    path, X, y = ratings
    model = tmp_path / "model.skops"
    assert main(["fit", str(path), "-o", str(model), *FAST]) == 0
    written = sorted(tmp_path.glob("model.*"))
    assert len(written) == 1  # model.skops, or model.joblib without skops
    model = written[0]

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{u}\t{i}\n" for u, i in X[:7]))
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(pairs), "-o", str(out)]) == 0
    header, rows = _read_csv(out)
    assert header == ["user", "item", "prediction"]
    assert [(int(u), int(i)) for u, i, _ in rows] == [tuple(p) for p in X[:7]]
    preds = np.array([float(p) for _, _, p in rows])
    # the saved model's own predictions, printed to 6 significant digits
    est = load_model(model)
    np.testing.assert_allclose(preds, est.predict(X[:7]), rtol=5e-6, atol=0)

    capsys.readouterr()
    assert main(["recommend", str(model), "--users", "0,1", "3", "-n", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "user,rank,item,score"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 12
    assert [int(r[0]) for r in rows] == [0] * 4 + [1] * 4 + [3] * 4
    assert [int(r[1]) for r in rows] == [1, 2, 3, 4] * 3
    seen0 = set(X[X[:, 0] == 0, 1])
    assert not seen0 & {int(r[2]) for r in rows if r[0] == "0"}  # unseen only
    scores = [float(r[3]) for r in rows[:4]]
    assert scores == sorted(scores, reverse=True)


def test_evaluate_prints_folds_and_baseline(ratings, capsys):
    path, _, _ = ratings
    assert main(["evaluate", str(path), "--cv", "3", *FAST]) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("fold ") for line in out.splitlines()) == 3
    assert "item-mean RMSE" in out
    rmse = float(out.split("\nRMSE")[1].split()[0])
    assert 0.3 < rmse < 2.0


def test_orientation_both_fits_and_evaluates(ratings, tmp_path, capsys):
    path, _, _ = ratings
    args = [*FAST, "--orientation", "both"]
    assert main(["evaluate", str(path), "--cv", "2", *args]) == 0
    assert "RMSE" in capsys.readouterr().out
    out = tmp_path / "both.skops"
    assert main(["fit", str(path), "-o", str(out), *args]) == 0
    assert re.search(r"trained \d+ epochs", capsys.readouterr().err)
    assert load_model(out).orientation == "both"


def test_ratings_of_one_value_get_one_note(tmp_path, capsys):
    """0/1 clicks read as ratings: one note naming --feedback, not the
    library's UserWarning once per fold."""
    path = tmp_path / "clicks.csv"
    rows = [f"{u},{i},1" for u in range(12) for i in range(8) if (u + i) % 3]
    path.write_text("user,item,rating\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["evaluate", str(path), "--cv", "3", *FAST]) == 0
    err = capsys.readouterr().err
    assert err.count("every rating is 1") == 1 and "--feedback implicit" in err
    assert not [w for w in caught if "Every rating" in str(w.message)]


def test_movielens_style_separator(tmp_path):
    path = tmp_path / "ratings.dat"
    X, y = make_ratings(n_users=20, n_items=10, density=0.5, random_state=1)
    path.write_text("".join(f"{u}::{i}::{r:g}::0\n" for (u, i), r in zip(X, y)))
    assert main(["fit", str(path), "-o", str(tmp_path / "m.skops"), *FAST]) == 0


def test_help_through_subprocess():
    res = _run("--help")
    assert res.returncode == 0
    for cmd in ("demo", "fit", "predict", "recommend", "evaluate"):
        assert cmd in res.stdout


@pytest.mark.parametrize("cmd", ["demo", "fit", "predict", "recommend", "evaluate"])
def test_help_for_every_subcommand(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage: sklearn-rbm " + cmd in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, expected",
    [
        ("user,item,rating\n1,2,4\n1,3\n", ["line 3", "columns"]),
        ("1,2,4\n1,3,5,6,7\n", ["line 2", "columns"]),
        ("user,item,rating\n1,2,4\n2,2,5\n\n1,4,abc\n", ["line 5", "'abc'", "number"]),
        ("1,2,4\n1,3,nan\n", ["line 2", "'nan'", "not a finite number"]),
        ("1,2,x\n1,3,4\n", ["line 1", "'x'", "not a number"]),
        ("1,2,4\n1,3,1_0\n", ["line 2", "'1_0'", "not a number"]),
        ("1,2,4\n1,3,1e999\n", ["line 2", "'1e999'", "not a finite number"]),
        ('1,2,4\n1,"3,5\n2,2,4\n', ["line 2", "quoted field"]),
        ("1,2,4\n2,2,5\n1,2,3\n", ["line 3", "duplicate", "line 1"]),
        ("", ["empty"]),
        ("user,item,rating\n", ["empty"]),
    ],
    ids=[
        "short-row",
        "long-row",
        "non-numeric",
        "nan",
        "bad-first-line",
        "underscore",
        "overflow",
        "open-quote",
        "duplicate",
        "empty",
        "header-only",
    ],
)
def test_malformed_ratings(tmp_path, capsys, content, expected):
    path = tmp_path / "ratings.csv"
    path.write_text(content)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.skops"), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    assert err.startswith("sklearn-rbm: error: ratings.csv")
    for word in expected:
        assert word in err
    assert not list(tmp_path.glob("m.*"))


def test_missing_files(tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    for argv in (
        ["fit", str(missing)],
        ["evaluate", str(missing)],
        ["predict", str(tmp_path / "nomodel.skops"), str(missing)],
        ["recommend", str(tmp_path / "nomodel.skops"), "--users", "1"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no such" in err
        assert "Traceback" not in err


def test_bad_model_file_and_option(tmp_path, capsys, ratings):
    bogus = tmp_path / "model.joblib"
    bogus.write_text("not a model")
    assert main(["recommend", str(bogus), "--users", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot load" in err
    path, _, _ = ratings
    assert main(["fit", str(path), "--n-components", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_components" in err


def test_malformed_through_subprocess(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("1,2,4\n1,3,4\n1,4,4\n1,5,4\n1,6,4\n1,7,4\n2,1,abc\n")
    res = _run("fit", str(path), cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr == (
        "sklearn-rbm: error: ratings.csv line 7: rating 'abc' is not a number\n"
    )


def test_users_file_and_model_format_switch(ratings, tmp_path, capsys, monkeypatch):
    import sklearn_rbm.cli.files as cli_io

    # without sklearn_rbm.persistence the model goes to a .joblib file
    real_import = cli_io.importlib.import_module

    def no_persistence(name, *args):
        if name == "sklearn_rbm.persistence":
            raise ImportError(name)
        return real_import(name, *args)

    monkeypatch.setattr(cli_io.importlib, "import_module", no_persistence)
    path, X, _ = ratings
    # a name with another suffix is refused, never silently renamed (the
    # renamed file might hold another model); a bare name gets the suffix
    assert main(["fit", str(path), "-o", str(tmp_path / "m.skops"), *FAST]) == 2
    assert "ending in .joblib" in capsys.readouterr().err
    assert not list(tmp_path.glob("m.*"))
    assert main(["fit", str(path), "-o", str(tmp_path / "m"), *FAST]) == 0
    assert (tmp_path / "m.joblib").is_file()
    err = capsys.readouterr().err
    assert "m.joblib" in err and "--trusted-pickle" in err

    users = tmp_path / "users.txt"
    users.write_text("user\n2\n5\n")
    out = tmp_path / "rec.csv"
    argv = ["recommend", str(tmp_path / "m.joblib"), "--users-file", str(users)]
    # a joblib file is a pickle: loaded only with --trusted-pickle
    assert main([*argv, "-n", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--trusted-pickle" in err
    assert not out.exists()
    assert main([*argv, "-n", "2", "-o", str(out), "--trusted-pickle"]) == 0
    header, rows = _read_csv(out)
    assert header == ["user", "rank", "item", "score"]
    assert [(r[0], r[1]) for r in rows] == [
        ("2", "1"),
        ("2", "2"),
        ("5", "1"),
        ("5", "2"),
    ]


# ------------------------------------------- ids are matched one by one
@pytest.fixture(scope="module")
def model(ratings, tmp_path_factory):
    path, X, y = ratings
    out = tmp_path_factory.mktemp("cli_model") / "model.skops"
    assert main(["fit", str(path), "-o", str(out), *FAST]) == 0
    return sorted(out.parent.glob("model.*"))[0]


def _predict(model, tmp_path, text, *extra):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(text)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(pairs), "-o", str(out), *extra]) == 0
    return _read_csv(out)


def test_predict_looks_up_each_pair_on_its_own(model, ratings, tmp_path, capsys):
    # one id that is not an integer used to send every row to the fallback
    _, X, y = ratings
    (u0, i0), (u1, i1) = X[0], X[5]
    _, clean = _predict(model, tmp_path, f"{u0},{i0}\n{u1},{i1}\n")
    _, rows = _predict(model, tmp_path, f"{u0},{i0}\nabc,{i1}\n1.0,3\n{u1},{i1}\n")
    assert [r[:2] for r in rows] == [
        [str(u0), str(i0)],
        ["abc", str(i1)],
        ["1.0", "3"],
        [str(u1), str(i1)],
    ]
    assert [rows[0], rows[3]] == clean
    # unknown users get the item's mean training rating
    assert float(rows[1][2]) == pytest.approx(y[X[:, 1] == i1].mean(), abs=1e-5)
    # and stderr says so, naming them once each ("1.0" is not the id 1)
    err = capsys.readouterr().err
    assert "2 user id(s) not in the model (abc, 1.0)" in err
    assert "item id(s)" not in err


def _ids(model):
    path = model.parent / "ids.csv"
    path.write_text('0\n"u,0"\n')
    return path


def test_recommend_looks_up_each_user_on_its_own(model, capsys):
    assert main(["recommend", str(model), "--users", "0", "1", "-n", "3"]) == 0
    known = capsys.readouterr().out.splitlines()
    argv = ["recommend", str(model), "--users", "0", "1", "999", "abc", "-n", "3"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[:7] == known
    assert "2 user id(s) not in the model (999, abc) get the fallback" in err
    # an id with a comma is quoted, so that it reads as one id
    assert main(["recommend", str(model), "--users-file", str(_ids(model))]) == 0
    assert '1 user id(s) not in the model ("u,0")' in capsys.readouterr().err
    assert [line.split(",")[0] for line in lines[7:]] == ["999"] * 3 + ["abc"] * 3
    assert [line.split(",")[2:] for line in lines[7:10]] == [
        line.split(",")[2:] for line in lines[10:]
    ]


def test_header_detection_and_option(model, ratings, tmp_path, capsys):
    _, X, _ = ratings
    (u0, i0), (u1, i1) = X[0], X[5]
    body = f"{u0},{i0}\n{u1},{i1}\n"
    _, plain = _predict(model, tmp_path, body)
    capsys.readouterr()
    # any header whose fields are not ids of the model, not only "user,..."
    header, rows = _predict(model, tmp_path, "uid,iid\n" + body)
    assert header == ["user", "item", "prediction"] and rows == plain
    assert "'uid,iid' read as a header" in capsys.readouterr().err
    _, rows = _predict(model, tmp_path, "uid,iid\n" + body, "--no-header")
    assert rows[0][:2] == ["uid", "iid"] and rows[1:] == plain
    _, rows = _predict(model, tmp_path, body, "--header")
    assert rows == plain[1:]
    # a first row with one known id is data
    _, rows = _predict(model, tmp_path, f"abc,{i0}\n" + body)
    assert len(rows) == 3 and rows[0][0] == "abc"
    users = tmp_path / "users.txt"
    users.write_text(f"uid\n{u0}\n")
    argv = ["recommend", str(model), "--users-file", str(users), "-n", "2"]
    assert main(argv) == 0
    assert [r.split(",")[0] for r in capsys.readouterr().out.split()[1:]] == [
        str(u0)
    ] * 2


def test_fit_keeps_int_user_ids_next_to_string_item_ids(tmp_path, capsys):
    X, y = make_ratings(n_users=20, n_items=10, density=0.5, random_state=1)
    path = tmp_path / "ratings.csv"
    path.write_text("".join(f"{u},m{i},{r:g}\n" for (u, i), r in zip(X, y)))
    assert main(["fit", str(path), "-o", str(tmp_path / "m.skops"), *FAST]) == 0
    model = sorted(tmp_path.glob("m.*"))[0]
    capsys.readouterr()
    assert main(["recommend", str(model), "--users", str(X[0, 0]), "-n", "2"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert all(r.split(",")[2].startswith("m") for r in rows)
    est = load_model(model)
    assert est.users_.dtype.kind == "i" and est.items_.dtype.kind == "U"


def test_recommend_output_has_no_padding_rows(model, ratings, capsys):
    # -n above the number of unseen items: only real recommendations, no
    # seen items scored -inf
    path, X, _ = ratings
    n_seen = int(np.sum(X[:, 0] == 0))
    assert main(["recommend", str(model), "--users", "0", "-n", "1000"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == len(np.unique(X[:, 1])) - n_seen
    assert not any("inf" in line for line in lines)


def test_csv_output_quotes_ids_with_commas(tmp_path, capsys):
    import csv

    X, y = make_ratings(n_users=30, n_items=20, density=0.4, random_state=0)
    path = tmp_path / "titles.tsv"
    rows = [f"u{u}\tToy Story, part {i}\t{r:g}" for (u, i), r in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "m.skops"
    assert main(["fit", str(path), "-o", str(out), *FAST]) == 0
    model = sorted(tmp_path.glob("m.*"))[0]
    capsys.readouterr()
    assert main(["recommend", str(model), "--users", "u0", "-n", "2"]) == 0
    parsed = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert {len(r) for r in parsed} == {4}
    assert parsed[1][2].startswith("Toy Story, part ")


def test_utf16_file_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "r.txt"
    path.write_bytes("1,2,3\n2,3,4\n".encode("utf-16"))
    assert main(["fit", str(path), "-o", str(tmp_path / "m.skops")]) == 2
    err = capsys.readouterr().err
    assert "UTF-16" in err and len(err.strip().splitlines()) == 1


def test_too_few_ratings_for_early_stopping_names_the_option(tmp_path, capsys):
    # the estimator's advice names its Python parameter; the CLI names its
    # own option
    path = tmp_path / "two.csv"
    path.write_text("1,1,3\n2,1,4\n")
    assert main(["fit", str(path), "-o", str(tmp_path / "m.skops")]) == 2
    err = capsys.readouterr().err
    assert "--no-early-stopping" in err and "early_stopping=False" not in err


def test_fine_tuning_options_reach_the_model(ratings, tmp_path):
    path, X, _ = ratings
    model = tmp_path / "ft.skops"
    opts = ["--fine-tune-iter", "3", "--fine-tune-learning-rate", "0.002"]
    # without early stopping: the last epoch is kept (with it, the best one,
    # on 15 held-out ratings here possibly a CD epoch)
    opts += ["--no-early-stopping"]
    assert main(["fit", str(path), "-o", str(model), *FAST, *opts]) == 0
    est = load_model(sorted(tmp_path.glob("ft.*"))[0])  # .joblib without skops
    assert (est.fine_tune_iter, est.fine_tune_learning_rate) == (3, 0.002)
    assert est._state.opt["fine_tune"].t > 0  # the fine-tuning steps ran
    assert est.n_iter_ == 4 + 3


# ------------------------------------------------- files: csv, gzip, numbers
def test_version(capsys):
    from sklearn_rbm import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"sklearn-rbm {__version__}\n"
    res = _run("--version")
    assert res.returncode == 0 and res.stdout == f"sklearn-rbm {__version__}\n"


def test_model_option_defaults_are_the_estimator_defaults():
    from sklearn_rbm import CategoricalRBMRecommender
    from sklearn_rbm.cli import build_parser
    from sklearn_rbm.cli.commands import _estimator
    from sklearn_rbm.cli.parser import HYPERPARAMETERS, RANDOM_STATE

    defaults = CategoricalRBMRecommender().get_params()
    for cmd in ("fit", "evaluate"):
        args = build_parser().parse_args([cmd, "ratings.csv"])
        for name, _, _ in HYPERPARAMETERS:
            assert getattr(args, name) == defaults[name], name
        assert args.verbose == defaults["verbose"]
        # the one default of the command line's own: a fixed seed
        assert args.random_state == RANDOM_STATE == 0
        assert _estimator(args).get_params() == {**defaults, "random_state": 0}
    # every option reaches the estimator under its parameter's name
    argv = ["fit", "r.csv", "--rank", "3", "--conditional", "--no-early-stopping"]
    est = _estimator(build_parser().parse_args(argv))
    assert (est.rank, est.conditional, est.early_stopping) == (3, True, False)


def _ratings_text(X, y, sep=",", fmt="{u}{sep}{i}{sep}{r:g}"):
    return "".join(fmt.format(u=u, i=i, r=r, sep=sep) + "\n" for (u, i), r in zip(X, y))


def test_quoted_fields_hold_the_separator(tmp_path):
    from sklearn_rbm.cli.io import read_ratings

    X, y = make_ratings(n_users=10, n_items=6, density=0.5, random_state=0)
    path = tmp_path / "q.csv"
    body = _ratings_text(X, y, fmt='"u {u}","Toy Story, part {i}",{r:g}')
    path.write_text('"user","item","rating"\n' + body)
    Xr, yr = read_ratings(path)
    assert Xr.shape == X.shape and Xr.dtype.kind == "U"
    assert Xr[0].tolist() == [f"u {X[0, 0]}", f"Toy Story, part {X[0, 1]}"]
    np.testing.assert_array_equal(yr, y)
    # a doubled quote in a quoted field is one quote; spaces after a
    # separator are skipped
    path.write_text('1, "say ""hi"", 2", 4\n2,x,3\n')
    Xr, yr = read_ratings(path)
    assert Xr[:, 1].tolist() == ['say "hi", 2', "x"] and yr.tolist() == [4.0, 3.0]


def test_cli_reads_its_own_csv_output(tmp_path, capsys):
    X, y = make_ratings(n_users=30, n_items=20, density=0.4, random_state=0)
    ratings = tmp_path / "titles.tsv"
    ratings.write_text(
        _ratings_text(X, y, "\t", 'u{u}{sep}Film "{i}", part 2{sep}{r:g}')
    )
    assert main(["fit", str(ratings), "-o", str(tmp_path / "m.skops"), *FAST]) == 0
    model = sorted(tmp_path.glob("m.*"))[0]
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f'u{u}\tFilm "{i}", part 2\n' for u, i in X[:5]))
    first, second = tmp_path / "p1.csv", tmp_path / "p2.csv"
    assert main(["predict", str(model), str(pairs), "-o", str(first)]) == 0
    # the output (quoted ids, a header) is a pairs file for predict again
    assert main(["predict", str(model), str(first), "-o", str(second)]) == 0
    assert second.read_text() == first.read_text()
    assert f'"Film ""{X[0, 1]}"", part 2"' in first.read_text()
    # and a ratings file for fit (header user,item,prediction)
    argv = ["fit", str(first), "-o", str(tmp_path / "m2"), "--no-early-stopping"]
    assert main([*argv, *FAST]) == 0
    assert load_model(sorted(tmp_path.glob("m2.*"))[0]).items_.tolist() == sorted(
        f'Film "{i}", part 2' for i in X[:5, 1]
    )
    # recommend's output: its users column is a users file
    recs = tmp_path / "recs.csv"
    assert main(["recommend", str(model), "--users", "u0", "u1", "-o", str(recs)]) == 0
    capsys.readouterr()
    argv = ["recommend", str(model), "--users-file", str(recs), "-n", "1"]
    assert main(argv) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["u0"] * 10 + ["u1"] * 10


def test_gzip_ratings_file(ratings, tmp_path):
    import gzip

    from sklearn_rbm.cli.io import read_ratings

    path, X, y = ratings
    for name in ("ratings.csv.gz", "ratings.bin"):  # known by content
        gz = tmp_path / name
        gz.write_bytes(gzip.compress(path.read_bytes()))
        Xr, yr = read_ratings(gz)
        np.testing.assert_array_equal(Xr, X)
        np.testing.assert_array_equal(yr, y)
    assert main(["fit", str(gz), "-o", str(tmp_path / "m.skops"), *FAST]) == 0
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(path.read_bytes())[:40])
    assert main(["fit", str(broken)]) == 2


def test_double_colon_and_other_separators(tmp_path):
    from sklearn_rbm.cli.io import read_ratings

    X, y = make_ratings(n_users=20, n_items=10, density=0.5, random_state=1)
    texts = {
        "1m.dat": _ratings_text(X, y, "::", "{u}{sep}{i}{sep}{r:g}{sep}97800"),
        "semi.txt": _ratings_text(X, y, ";"),
        "spaces.txt": _ratings_text(X, y, "  ", " {u}{sep}{i} {r:g} "),
        "crlf.csv": _ratings_text(X, y).replace("\n", "\r\n"),
    }
    for name, text in texts.items():
        path = tmp_path / name
        path.write_text("# a comment\n\n" + text, newline="")
        Xr, yr = read_ratings(path)
        np.testing.assert_array_equal(Xr, X, err_msg=name)
        np.testing.assert_array_equal(yr, y, err_msg=name)
    # single colons stay inside an id; a quoted '::' is part of its field
    path = tmp_path / "ids.dat"
    path.write_text('u:1::m:2::4\nu:1::"a::b"::3\n')
    Xr, yr = read_ratings(path)
    assert Xr.tolist() == [["u:1", "m:2"], ["u:1", "a::b"]] and yr.tolist() == [4, 3]
    path.write_text("1::2::4\n1::3\n")
    with pytest.raises(Exception, match="line 2: expected 3 to 4 columns"):
        read_ratings(path)


def test_numbers_are_strict(tmp_path):
    from sklearn_rbm.cli.io import match_ids, read_ratings

    path = tmp_path / "r.csv"
    # '1_0' is no integer (int() would read 10): the user column holds strings
    path.write_text("1_0,1,4\n10,1,5\n+7,2,3\n")
    Xr, _ = read_ratings(path)
    assert Xr[:, 0].tolist() == ["1_0", "10", "+7"]
    path.write_text("10,1,4\n7,1, 5 \n")
    Xr, yr = read_ratings(path)  # spaces around a field are not part of it
    assert Xr.dtype == np.int64 and yr.tolist() == [4.0, 5.0]
    fitted = np.array([7, 10])
    assert match_ids(["7", "1_0", "\u0667", "7.0"], fitted).tolist() == [
        7,
        "1_0",
        "\u0667",
        "7.0",
    ]


def test_evaluate_is_cross_validate(ratings, capsys):
    from sklearn.model_selection import KFold, cross_validate

    from sklearn_rbm import CategoricalRBMRecommender

    path, X, y = ratings
    assert main(["evaluate", str(path), "--cv", "3", *FAST]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"3-fold cross-validation on {len(y):,} ratings"
    folds = KFold(3, shuffle=True, random_state=0)
    est = CategoricalRBMRecommender(n_components=8, max_iter=4, random_state=0)
    res = cross_validate(
        est,
        X,
        y,
        cv=folds,
        scoring=("neg_root_mean_squared_error", "neg_mean_absolute_error"),
    )
    rmse = -res["test_neg_root_mean_squared_error"]
    mae = -res["test_neg_mean_absolute_error"]
    base = []
    for tr, te in folds.split(X):
        means = {i: y[tr][X[tr, 1] == i].mean() for i in np.unique(X[tr, 1])}
        pred = [means.get(i, y[tr].mean()) for i in X[te, 1]]
        base.append(np.sqrt(np.mean((pred - y[te]) ** 2)))
    for k in range(3):
        assert out[k + 1].startswith(
            f"fold {k + 1}/3: RMSE {rmse[k]:.4f}  MAE {mae[k]:.4f}  "
            f"(item-mean RMSE {base[k]:.4f})  "
        )
        assert out[k + 1].endswith("s") and " epochs in " in out[k + 1]
    assert out[4] == f"RMSE            {rmse.mean():.4f} +- {rmse.std():.4f}"
    assert out[5] == f"MAE             {mae.mean():.4f} +- {mae.std():.4f}"
    assert out[6] == f"item-mean RMSE  {np.mean(base):.4f} +- {np.std(base):.4f}"


def test_evaluate_reports_fit_errors_in_one_line(tmp_path, capsys):
    path = tmp_path / "few.csv"
    path.write_text("1,1,3\n2,1,4\n3,1,5\n4,2,2\n")
    assert main(["evaluate", str(path), "--cv", "2", *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--no-early-stopping" in err


def test_quoted_hash_is_data_and_a_hash_id_reads_back(tmp_path, capsys):
    # a comment is a line starting with '#'; a quoted "#u1" is an id, and
    # the CLI's CSV output quotes such an id so that it reads back as data
    from sklearn_rbm.cli.files import write_csv
    from sklearn_rbm.cli.io import read_ratings

    path = tmp_path / "r.csv"
    path.write_text('user,item,rating\n"#u1",10,5\n# a comment\nu2,11,3\n')
    X, y = read_ratings(path)
    assert X[:, 0].tolist() == ["#u1", "u2"] and y.tolist() == [5.0, 3.0]
    out = tmp_path / "out.csv"
    write_csv(out, ["user", "item", "rating"], [("#u1", 10, 5.0), ("u2", 11, 3.0)])
    X2, y2 = read_ratings(out)
    assert X2.tolist() == X.tolist() and y2.tolist() == y.tolist()
    # skipped comment lines are counted in a note: an unquoted id such as
    # pandas writes (#u3) is not lost silently
    capsys.readouterr()
    path.write_text("user,item,rating\n#u3,10,5\n  # indented\nu2,11,3\n")
    X, y = read_ratings(path)
    assert X[:, 0].tolist() == ["u2"]
    assert "skipped 2 comment line(s)" in capsys.readouterr().err


def test_evaluate_refuses_a_threshold_without_ranking_metrics(ratings, capsys):
    """--threshold only picks the relevant items of ranking metrics: with
    rmse / mae alone it was silently ignored."""
    path = ratings[0]
    for metrics in ([], ["--metric", "rmse"], ["--metric", "mae"]):
        argv = ["evaluate", str(path), "--cv", "2", *metrics, "--threshold", "4"]
        assert main([*argv, *FAST]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "rmse and mae score every held-out" in err


def test_evaluate_ranking_metrics_are_cross_validate(ratings, capsys):
    from sklearn.model_selection import cross_validate

    from sklearn_rbm import CategoricalRBMRecommender
    from sklearn_rbm.cli.baseline import PopularityRecommender
    from sklearn_rbm.metrics import make_ranking_scorer
    from sklearn_rbm.model_selection import UserHoldoutSplit

    path, X, y = ratings
    argv = ["evaluate", str(path), "--cv", "2", "--metric", "ndcg@5"]
    argv += ["--metric", "RMSE", "--threshold", "4", *FAST]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"2 splits holding out 0.2 of each user's ratings, on {len(y):,} "
        "ratings; relevant: held-out items rated >= 4"
    )
    cv = UserHoldoutSplit(2, test_size=0.2, random_state=0)
    scoring = {
        "ndcg": make_ranking_scorer("ndcg", k=5, threshold=4),
        "rmse": "neg_root_mean_squared_error",
    }
    est = CategoricalRBMRecommender(n_components=8, max_iter=4, random_state=0)
    res = cross_validate(est, X, y, cv=cv, scoring=scoring)
    pop = cross_validate(PopularityRecommender(), X, y, cv=cv, scoring=scoring["ndcg"])
    for k in range(2):
        assert out[k + 1].startswith(
            f"fold {k + 1}/2: NDCG@5 {res['test_ndcg'][k]:.4f}  "
            f"RMSE {-res['test_rmse'][k]:.4f}  (item-mean RMSE "
        )
        assert f"popularity NDCG@5 {pop['test_score'][k]:.4f})" in out[k + 1]
    assert out[3].split()[:2] == ["NDCG@5", f"{res['test_ndcg'].mean():.4f}"]
    assert out[6].split()[:3] == [
        "popularity",
        "NDCG@5",
        f"{pop['test_score'].mean():.4f}",
    ]


def test_evaluate_one_rating_metric(ratings, capsys):
    path, _, _ = ratings
    assert main(["evaluate", str(path), "--cv", "2", "--metric", "mae", *FAST]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2-fold cross-validation")
    assert out[1].startswith("fold 1/2: MAE ") and "RMSE" not in "".join(out)
    assert out[3].startswith("MAE ")


def test_popularity_baseline_recommends_unseen_popular_items():
    from sklearn_rbm.cli.baseline import PopularityRecommender

    # counts: item 3 (3 ratings), item 2 (2), item 1 (1), item 4 (1)
    X = np.array([[0, 3], [1, 3], [2, 3], [0, 2], [1, 2], [1, 1], [2, 4]])
    pop = PopularityRecommender().fit(X)
    top = pop.recommend(np.array([0, 1, 9]), n_items=2)
    assert top.tolist() == [[1, 4], [4, 3], [3, 2]]  # user 9: unknown


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--metric", "auc@10"], "--metric auc@10: not a metric"),
        (["--metric", "ndcg@0"], "--metric ndcg@0: not a metric"),
        (["--metric", "ndcg@5", "--test-size", "1.5"], "--test-size must be in"),
        # a review: ignored without a ranking metric (plain KFold ran)
        (["--test-size", "0.3"], "--test-size sets the share"),
    ],
)
def test_evaluate_bad_metric_options(ratings, capsys, extra, match):
    path, _, _ = ratings
    assert main(["evaluate", str(path), *extra, *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err


def test_fit_pairs_without_ratings_is_implicit_feedback(ratings, tmp_path, capsys):
    # a user,item file (no rating column) fits a recommender that ranks
    _, X, _ = ratings
    pairs = tmp_path / "plays.csv"
    pairs.write_text("user,item\n" + "".join(f"{u},{i}\n" for u, i in X))
    model = tmp_path / "model.skops"
    assert main(["fit", str(pairs), "-o", str(model), *FAST]) == 0
    assert "implicit feedback" in capsys.readouterr().err
    model = sorted(tmp_path.glob("model.*"))[0]
    est = load_model(model)
    assert est.feedback_ == "implicit"
    assert main(["recommend", str(model), "--users", "0", "-n", "3"]) == 0
    rows = [ln.split(",") for ln in capsys.readouterr().out.splitlines()[1:]]
    top, _ = est.recommend([0], 3)
    assert [int(r[2]) for r in rows] == top[0].tolist()
    assert not set(X[X[:, 0] == 0, 1]) & set(top[0].tolist())
    # predict has no ratings to give: a one-line error
    assert main(["predict", str(model), str(pairs), "-o", str(tmp_path / "p.csv")])
    assert "implicit feedback" in capsys.readouterr().err
    # ratings on some lines only: refused, naming the line
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("0,1,5\n0,2\n")
    assert main(["fit", str(mixed), "-o", str(tmp_path / "m2.skops"), *FAST])
    assert "line 2" in capsys.readouterr().err


def _mean_line(out, label):
    line = next(ln for ln in out.splitlines() if ln.startswith(label + " "))
    return float(line.split()[1])


def test_evaluate_implicit_feedback(ratings, tmp_path, capsys):
    """A user,item file (a pair may repeat) and --feedback implicit on a
    ratings file evaluate the implicit recommender on the same splits as
    cross_validate with UserHoldoutSplit and a ranking scorer (every
    held-out item relevant), the repeated pair counted once."""
    from sklearn.model_selection import cross_validate

    from sklearn_rbm.metrics import make_ranking_scorer
    from sklearn_rbm.model_selection import UserHoldoutSplit

    path, X, _ = ratings
    pairs = tmp_path / "plays.csv"
    rows = [*X.tolist(), X[0].tolist(), X[5].tolist()]  # two repeated plays
    pairs.write_text("user,item\n" + "".join(f"{u},{i}\n" for u, i in rows))
    fast = [*FAST, "--ranking-iter", "3"]
    assert main(["evaluate", str(pairs), "--cv", "3", *fast]) == 0
    out = capsys.readouterr().out
    assert f"on {len(X):,} pairs; relevant: every held-out item" in out
    est = CategoricalRBMRecommender(
        n_components=8, max_iter=4, random_state=0, ranking_iter=3
    )
    cv = UserHoldoutSplit(3, test_size=0.2, random_state=0)
    want = {}
    for metric, label in (("ndcg", "NDCG"), ("precision", "precision")):
        scorer = make_ranking_scorer(metric, 10, threshold=None)
        res = cross_validate(est, X, None, cv=cv, scoring=scorer)
        want[label] = np.mean(res["test_score"])
        assert _mean_line(out, f"{label}@10") == pytest.approx(want[label], abs=6e-5)
    assert "popularity NDCG@10" in out and "3 epochs" in out
    # the ratings file with its rating column ignored: the same pairs
    argv = ["evaluate", str(path), "--cv", "3", "--feedback", "implicit", *fast]
    assert main([*argv, "--metric", "ndcg@10"]) == 0
    cap = capsys.readouterr()
    assert "rating column is ignored" in cap.err
    assert _mean_line(cap.out, "NDCG@10") == pytest.approx(want["NDCG"], abs=6e-5)
    # what implicit feedback cannot give: one-line errors
    for extra, match in (
        (["--metric", "rmse"], "--metric rmse needs ratings"),
        (["--feedback", "explicit"], "--feedback explicit needs ratings"),
    ):
        assert main(["evaluate", str(pairs), *fast, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and match in err
    assert main([*argv, "--threshold", "4"]) == 2
    assert "--threshold needs ratings" in capsys.readouterr().err
    # a pairs file has no ratings to threshold either
    assert main(["evaluate", str(pairs), *fast, "--threshold", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threshold needs ratings" in err
    # fit takes the repeated plays too (counted once: the same model)
    model = tmp_path / "implicit.skops"
    assert main(["fit", str(pairs), "-o", str(model), *fast]) == 0
    got = load_model(sorted(tmp_path.glob("implicit.*"))[0])
    ref = clone(est).fit(X)
    assert np.array_equal(got.recommend([0, 3], 5)[0], ref.recommend([0, 3], 5)[0])


def test_similar_writes_the_similar_items_of_the_model(ratings, tmp_path, capsys):
    path, _, _ = ratings
    model = tmp_path / "sim.skops"
    assert main(["fit", str(path), "-o", str(model), *FAST, "--ranking-iter", "3"]) == 0
    est = load_model(sorted(tmp_path.glob("sim.*"))[0])
    capsys.readouterr()
    model = sorted(tmp_path.glob("sim.*"))[0]
    assert main(["similar", str(model), "--items", "3,0", "7", "-n", "4"]) == 0
    rows = [ln.split(",") for ln in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["item", "rank", "similar_item", "similarity"]
    top, sims = est.similar_items([3, 0, 7], 4)
    assert [int(r[2]) for r in rows[1:]] == top.ravel().tolist()
    # --min-support reaches similar_items (here every item is kept)
    assert main(["similar", str(model), "--items", "3", "--min-support", "1"]) == 0
    kept = [ln.split(",") for ln in capsys.readouterr().out.splitlines()]
    want = est.similar_items([3], 10, min_support=1)[0].ravel().tolist()
    assert [int(r[2]) for r in kept[1:]] == want
    assert main(["similar", str(model), "--items", "3", "--min-support", "0"]) == 2
    assert "--min-support must be at least 1, got 0" in capsys.readouterr().err
    assert main(["similar", str(model), "--items", "3", "--min-support", "1.5"]) == 2
    assert "invalid int value: '1.5'" in capsys.readouterr().err
    assert [r[0] for r in rows[1:]] == ["3"] * 4 + ["0"] * 4 + ["7"] * 4
    np.testing.assert_allclose([float(r[3]) for r in rows[1:]], sims.ravel(), 1e-5)
    # --items-file: one id per line (with a header line), as CSV fields
    ids_file = tmp_path / "items.csv"
    ids_file.write_text("item\n3\n0\n7\n")
    assert main(["similar", str(model), "--items-file", str(ids_file), "-n", "4"]) == 0
    cap = capsys.readouterr()
    assert [int(r.split(",")[2]) for r in cap.out.splitlines()[1:]] == (
        top.ravel().tolist()
    )
    for argv, match in (
        (["--items", "0", "999"], "not in the model: '999'"),
        ([], "no items given: use --items ID [ID ...] or --items-file"),
        (["--items", "0", "-n", "0"], "--n-items must be at least 1"),
    ):
        assert main(["similar", str(model), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and match in err


def test_similar_reads_ids_holding_commas_from_a_file(tmp_path, capsys):
    """An id holding a comma cannot be given with --items (a separator
    there); --items-file reads it as a quoted CSV field, and the output
    quotes it again, so similar's output feeds back in."""
    lines = ["user,item"] + [
        f'{u},"m,{(u * 7 + i) % 12}"' for u in range(30) for i in range(5)
    ]
    plays = tmp_path / "plays.csv"
    plays.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.skops"
    assert main(["fit", str(plays), "-o", str(model), "--ranking-iter", "3"]) == 0
    model = sorted(tmp_path.glob("m.*"))[0]
    ids_file = tmp_path / "ids.csv"
    ids_file.write_text('"m,5"\n"m,11"\n')
    capsys.readouterr()
    argv = ["similar", str(model), "--items-file", str(ids_file), "-n", "2"]
    assert main([*argv, "--no-header"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith('"m,5",1,"m,')
    rows = list(csv.reader(io.StringIO(out)))[1:]
    top, _ = load_model(model).similar_items(["m,5", "m,11"], 2)
    assert [r[0] for r in rows] == ["m,5", "m,5", "m,11", "m,11"]
    assert [r[2] for r in rows] == top.ravel().tolist()


def test_fit_ranking_options_and_feedback_implicit(ratings, tmp_path, capsys):
    path, X, _ = ratings
    model = tmp_path / "m.skops"
    argv = ["fit", str(path), "-o", str(model), *FAST, "--ranking-iter", "3"]
    argv += ["--ranking-like-weight", "0.5", "--ranking-components", "6"]
    assert main(argv) == 0
    est = load_model(sorted(tmp_path.glob("m.*"))[0])
    assert est.ranking_like_weight == 0.5 and est.ranking_iter == 3
    assert est._ranking.params["c"].shape == (6,)
    assert est.ranking_lateral_l2 == "auto" and "_ranking_lateral" in vars(est)
    # --ranking-lateral-l2: a number, or none (no lateral term)
    for value, want in (("none", None), ("25", 25.0), ("AUTO", "auto")):
        out = tmp_path / f"lat-{value}.skops"
        argv = ["fit", str(path), "-o", str(out), *FAST, "--ranking-iter", "2"]
        assert main([*argv, "--ranking-lateral-l2", value]) == 0
        est = load_model(sorted(tmp_path.glob(f"lat-{value}.*"))[0])
        assert est.ranking_lateral_l2 == want
        assert ("_ranking_lateral" in vars(est)) == (want is not None)
    # --feedback implicit on a ratings file: the ratings are ignored
    model2 = tmp_path / "imp.skops"
    argv = ["fit", str(path), "-o", str(model2), *FAST, "--feedback", "implicit"]
    assert main(argv) == 0
    assert "rating column is ignored" in capsys.readouterr().err
    first = load_model(sorted(tmp_path.glob("imp.*"))[0])
    assert first.feedback_ == "implicit"
    # ... so a pair that repeats with another rating is one more play of it
    # (refused as a duplicate rating without --feedback implicit)
    again = tmp_path / "again.csv"
    again.write_text(path.read_text() + f"{X[0, 0]},{X[0, 1]},1\n")
    model3 = tmp_path / "replayed.skops"
    argv = ["fit", str(again), "-o", str(model3), *FAST]
    assert main(argv) == 2
    assert "duplicate rating" in capsys.readouterr().err
    assert main([*argv, "--feedback", "implicit"]) == 0
    est = load_model(sorted(tmp_path.glob("replayed.*"))[0])
    np.testing.assert_array_equal(
        est.recommend([0, 1], 5)[0], first.recommend([0, 1], 5)[0]
    )
