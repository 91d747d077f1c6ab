"""Bad input across commands: one line on stderr, exit 2, never a traceback, inputs never
overwritten (the corpus of ordinary mistakes; each class runs in the fast suite)."""

from __future__ import annotations

from pathlib import Path

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


MAGNITUDES = [
    ("study,yi,vi\nA,0.1,1e300\nB,0.2,0.04\nC,0.3,0.05\n", "row 1, column 'vi': 1e+300"),
    ("study,yi,vi\nA,0.1,0.01\nB,1e300,0.04\nC,0.3,0.05\n", "row 2, column 'yi': 1e+300"),
    ("study,yi,sei\nA,0.1,0.1\nB,0.2,0.2\nC,0.3,1e200\n", "row 3, column 'sei': 1e+200 is"),
    ("study,yi,sei\nA,0.1,1e-200\nB,0.2,0.2\nC,0.3,0.3\n", "row 1, column 'sei': 1e-200"),
]  # fmt: skip


@pytest.mark.parametrize("command", ["pool", "posterior", "sensitivity"])
@pytest.mark.parametrize(("text", "expected"), MAGNITUDES)
def test_numbers_beyond_double_precision_are_one_line(command, text, expected, tmp_path, capsys):
    """Extreme but finite numbers: refused with file, the real row and the column written."""
    path = tmp_path / "extreme.csv"
    path.write_text(text)
    code, out, err = run(capsys, command, path)
    assert code == 2 and one_line(err) and expected in err and str(path) in err


@pytest.mark.parametrize(
    ("option", "prior", "expected"),
    [
        ("--mu-prior", "normal(1e300, 1e300)", "parameters must lie within +-1e+150"),
        ("--tau-prior", "halfnormal(1e-300)", "scale 1e-300 is below 1e-75"),
        ("--tau-prior", "exponential(1e100)", "rate must be <="),
    ],
)
def test_priors_beyond_double_precision_are_one_line(option, prior, expected, tmp_path, capsys):
    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    code, out, err = run(capsys, "posterior", path, option, prior)
    assert code == 2 and one_line(err) and expected in err


def test_tiny_but_resolvable_tau_prior_is_computed(tmp_path, capsys):
    """halfnormal(1e-70) is computed: the posterior of tau is then its prior (median
    0.6745e-70, the half-normal's), since the data cannot tell tau apart from 0."""
    import json

    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    code, out, _ = run(capsys, "posterior", path, "--tau-prior", "halfnormal(1e-70)", "--json")
    tau = json.loads(out)["tau"]
    assert code == 0 and tau["median"] == pytest.approx(0.6744897501960817e-70, rel=1e-6)


SPEC = """[study]
name = "t"
seed = 1
replicates = {reps}
methods = ["FE"]

[[scenarios]]
name = "s"
k = {k}
mu = 0.0
tau = 0.0
se = {{ dist = "uniform", low = 0.1, high = 0.5 }}
"""


@pytest.mark.parametrize(
    ("k", "reps", "expected"),
    [
        (100_000_000, 10, "'scenarios[0].k': must be at most 100,000 (the limit)"),
        (3, 2**63 - 1, "'study.replicates': must be at most 10,000,000 (the limit)"),
        (100_000, 1_000_000, "simulated studies in all"),
    ],
)
def test_absurd_simulation_sizes_are_refused_before_work(k, reps, expected, tmp_path, capsys):
    spec = tmp_path / "big.toml"
    spec.write_text(SPEC.format(k=k, reps=reps))
    code, out, err = run(capsys, "simulate", spec, "--out", tmp_path / "o", "--workers", "0")
    assert code == 2 and one_line(err) and expected in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("content", [b"\xff\xfe[\x00s\x00", bytes(range(256))])
def test_spec_that_is_not_utf8_is_one_line(content, tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_bytes(content)
    code, out, err = run(capsys, "simulate", spec, "--out", tmp_path / "o")
    assert code == 2 and one_line(err) and "spec.toml: not UTF-8 text" in err


def test_output_folder_is_checked_before_work(tmp_path, capsys):
    """A file as --out, and an input inside the folder the command writes, are refused."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.format(k=3, reps=2))
    code, _, err = run(capsys, "simulate", spec, "--out", afile, "--workers", "0")
    assert code == 2 and one_line(err) and "is a file, not a folder" in err
    code, _, err = run(capsys, "reproduce", "--out", afile)
    assert code == 2 and one_line(err) and "is a file, not a folder" in err
    rv = tmp_path / "rv"
    rv.mkdir()
    studies = rv / "study_level.csv"
    studies.write_text("keep me")
    code, _, err = run(capsys, "reproduce", "--out", rv, "--studies", studies)
    assert code == 2 and one_line(err) and "never overwritten" in err
    assert studies.read_text() == "keep me"
    inside = rv / "metrics.csv"
    inside.write_text("keep")
    code, _, err = run(capsys, "simulate", inside, "--out", rv, "--workers", "0")
    assert code == 2 and "never overwritten" in err and inside.read_text() == "keep"


def test_blank_lines_do_not_hide_the_line(tmp_path, capsys):
    """Row numbers count data rows (as pandas and metafor); with blank lines in the file the
    message adds the file line, so the user finds the cell either way."""
    path = tmp_path / "gaps.csv"
    path.write_text("study,yi,vi\nA,0.1,0.04\n\nB,0.2,0.05\n\nC,0.3,-1\n")
    code, _, err = run(capsys, "pool", path)
    assert code == 2 and one_line(err) and "row 3 (line 6), column 'vi': must be > 0" in err
    path.write_text("study,yi,vi\nA,0.1,0.04\n\nB,0.2,0.05,9\n")
    code, _, err = run(capsys, "posterior", path)
    assert code == 2 and "row 2 (line 4): 4 fields where the header has 3" in err
    path.write_text("study,yi,vi\nA,0.1,0.04\nB,0.2,-0.05\n")
    code, _, err = run(capsys, "pool", path)
    assert "row 2, column 'vi'" in err and "(line" not in err


def test_reproduce_studies_with_a_huge_sd_names_its_row(tmp_path, capsys):
    """An SD of 1e300 on data row 30 of --studies: refused before any work, naming that row
    and column (not row 1, not 'the SDs are 0')."""
    import pandas as pd

    template = Path(__file__).resolve().parents[1] / "docs" / "templates"
    t = pd.read_csv(template / "zhang2020_forest_arms_template.csv")
    t["n"], t["m_pre"], t["sd_pre"], t["m_post"], t["sd_post"] = 10, 1.0, 0.5, 1.2, 0.5
    t.loc[29, "sd_pre"] = 1e300
    f = tmp_path / "arms.csv"
    t.to_csv(f, index=False)
    code, _, err = run(capsys, "reproduce", "--studies", f, "--out", tmp_path / "o", "--no-mcmc",
                       "--quiet")  # fmt: skip
    assert code == 2 and one_line(err) and "row 30, column 'sd_pre': 1e+300 is too large" in err
    assert not (tmp_path / "o").exists()  # nothing written for a run that never started
