"""Bad input across commands: one line on stderr, exit 2, never a traceback, inputs never
overwritten (the corpus of ordinary mistakes; each class runs in the fast suite)."""

from __future__ import annotations

import pytest

from bayesmeta.cli import main

GOOD = "study,yi,vi\nA,0.10,0.04\nB,0.30,0.05\nC,-0.20,0.03\n"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", ["pool", "posterior", "sensitivity", "effects"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("study,yi,vi\nA,0.1,0.04,9\nB,0.2,0.05\n", "row 1: 4 fields where the header has 3"),
        ("study,yi,yi,vi\nA,0.1,1,0.04\n", "header names column 'yi' twice"),
        ("study,yi,vi\nA,0.1,0.04\nB,0.2,0.05,1\n", "row 2: 4 fields"),
    ],
)
def test_malformed_csv_is_one_line(command, text, expected, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    extra = ["--measure", "MD"] if command == "effects" else []
    code, out, err = run(capsys, command, path, *extra)
    assert code == 2 and one_line(err) and expected in err and str(path) in err


@pytest.mark.parametrize("command", ["pool", "posterior", "sensitivity"])
def test_folder_as_data_file(command, tmp_path, capsys):
    code, _, err = run(capsys, command, tmp_path)
    assert code == 2 and one_line(err) and "folder" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["posterior", "{data}", "--engine", "pymc", "--seed", "-1"],
        ["sensitivity", "{data}", "--refit", "normal", "--seed", "-5"],
        ["reproduce", "--seed", "-1"],
    ],
)
def test_negative_seed(argv, tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text(GOOD)
    with pytest.raises(SystemExit) as exc:
        main([a.replace("{data}", str(data)) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert one_line(err) and "--seed" in err


def test_input_never_overwritten_by_path_identity(tmp_path, capsys, monkeypatch):
    data = tmp_path / "d.csv"
    data.write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    for target in ("d.csv", "./d.csv", str(data)):
        code, _, err = run(capsys, "sensitivity", "d.csv", "--csv", target)
        assert code == 2 and one_line(err) and "input file" in err
    (tmp_path / "link.csv").symlink_to(data)
    code, _, err = run(capsys, "pool", "d.csv", "--plot", "link.csv")
    assert code == 2 and "never overwritten" in err
    code, _, err = run(capsys, "effects", "d.csv", "--measure", "MD", "--out", "d.csv")
    assert code == 2 and "never overwritten" in err
    assert data.read_text() == GOOD


@pytest.mark.parametrize("option", ["--csv", "--plot"])
def test_output_is_a_folder_or_unwritable(option, tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text(GOOD)
    code, _, err = run(capsys, "sensitivity", data, option, tmp_path)
    assert code == 2 and one_line(err) and "folder" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "sensitivity", data, option, blocker / "out.csv")
    assert code == 2 and one_line(err) and "not a folder" in err


def test_unknown_measure_and_missing_column(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("study,m1i\nA,1\n")
    code, _, err = run(capsys, "pool", data, "--measure", "ABC")
    assert code == 2 and one_line(err) and "valid: MD" in err
    code, _, err = run(capsys, "pool", data, "--measure", "MD", "--columns", "sd1i=nope")
    assert code == 2 and one_line(err) and "'nope'" in err
    code, _, err = run(capsys, "pool", data, "--measure", "MD", "--columns", "sd1i")
    assert code == 2 and one_line(err) and "ROLE=COLUMN" in err


def test_interrupt_exits_130(monkeypatch, capsys):
    import bayesmeta.cli as cli

    def boom(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "datasets", boom)
    code, out, err = run(capsys, "datasets")
    assert code == 130 and err == "bayesmeta datasets: interrupted\n"


def test_name_with_newline_is_escaped(capsys):
    code, _, err = run(capsys, "pool", "no\nsuch")
    assert code == 2 and one_line(err) and "no\\nsuch" in err
