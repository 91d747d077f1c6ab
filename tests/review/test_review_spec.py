"""The spec models/zhang2020.toml: its contents against the review; every validation error."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from bayesmeta import datasets
from bayesmeta._paths import models_dir
from bayesmeta.errors import InputError
from bayesmeta.review.spec import load_spec, p_interval, parse_spec

SPEC_PATH = models_dir() / "zhang2020.toml"
SEED_TEXT = Path(__file__).resolve().parents[2].parent / "shared/seeds/000_c7582bb08ed231c9.txt"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture
def raw():
    return tomllib.loads(SPEC_PATH.read_text())


def test_shipped_spec_has_the_18_published_rows(spec):
    assert len(spec.analyses) == 18
    assert spec.groups() == [
        ("T1DM", "c_peptide"),
        ("T1DM", "hba1c"),
        ("T2DM", "c_peptide"),
        ("T2DM", "hba1c"),
        ("T2DM", "insulin_dose"),
        ("T2DM", "fpg"),
    ]
    assert sum(a.published.model == "single" for a in spec.analyses) == 2


@pytest.mark.parametrize("source", ["shared", "shipped"])
def test_published_numbers_equal_the_csv(spec, source):
    """Every published number in the spec equals shared/published/zhang2020_pooled.csv and the
    shipped copy data/zhang2020_pooled.csv (exact); the shared one is skipped in a lone clone."""
    if source == "shared":
        path = SEED_TEXT.parents[1] / "published/zhang2020_pooled.csv"
        if not path.exists():
            pytest.skip(f"{path} not available (a clone without ../shared)")
    else:
        path = datasets.path("zhang2020_pooled")
    shared = pd.read_csv(path, dtype=str)
    assert len(shared) == 18
    for row in shared.to_dict("records"):
        a = next(
            x
            for x in spec.analyses
            if (x.disease, x.outcome, x.subgroup)
            == (row["disease"], row["outcome"], row["subgroup"])
        )
        p = a.published
        assert (p.k, p.n) == (int(row["k"]), int(row["n_treated"]))
        assert (p.md, p.ci_low, p.ci_high) == (
            float(row["md"]),
            float(row["ci_low"]),
            float(row["ci_high"]),
        )
        assert p.model == row["model"]
        assert (p.heterogeneity_p or "nan") == str(row["heterogeneity_p"])
        assert ";".join(map(str, a.refs)) == row["refs"]


def test_arms_equal_the_data_helpers_arm_table(spec):
    arms = datasets.load("zhang2020_arms")
    for a in spec.analyses:
        sel = arms[
            (arms.disease == a.disease)
            & (arms.outcome == a.outcome)
            & (arms.subgroup == a.subgroup)
        ]
        assert sorted(sel["arm"]) == sorted(a.arms), a.key


def test_references_match_table1(spec):
    t1 = datasets.load("zhang2020_table1")
    for ref, r in spec.references.items():
        rows = t1[t1["ref"] == ref]
        assert sorted(rows["cell_type"]) == sorted(r.arms)
        assert set(rows["author_year"]) == {r.study}


def _norm(text: str) -> str:
    text = text.replace("$", "")
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s+([);,])", r"\1", text)


def test_quotes_and_timepoints_are_in_the_review_text(spec):
    if not SEED_TEXT.exists():
        pytest.skip(f"{SEED_TEXT} not available (a clone without ../shared)")
    text = _norm(SEED_TEXT.read_text())
    for a in spec.analyses:
        for part in a.quote.split(" ... "):
            assert _norm(part) in text, (a.key, part)
        if a.timepoint_text:
            assert a.timepoint_text in text
    for f in spec.figures.values():
        assert _norm(f.caption_model) in text
        assert f.caption_timepoint in text


def test_p_interval_of_printed_p_values():
    assert p_interval("0.13") == pytest.approx((0.125, 0.135))
    assert p_interval("0.08") == pytest.approx((0.075, 0.085))
    assert p_interval("<0.001") == (0.0, 0.001)
    assert p_interval("0.5") == pytest.approx((0.45, 0.55))


def test_effect_priors_match_their_stated_rationale(spec):
    """sceptical: P(benefit >= D) = 5 %; enthusiastic: centred on D, P(no benefit) = 5 % (1e-4)."""
    for d, o in spec.groups():
        big_d = spec.reference_difference(d, o)
        sign = spec.outcomes[o].sign
        m, s = spec.effect_prior("sceptical", d, o)
        assert m == 0.0
        assert stats.norm.sf(big_d, 0, s) == pytest.approx(0.05, abs=1e-4)
        m, s = spec.effect_prior("enthusiastic", d, o)
        assert m == pytest.approx(sign * big_d)
        p_no_benefit = stats.norm.cdf(0, m, s) if sign > 0 else stats.norm.sf(0, m, s)
        assert p_no_benefit == pytest.approx(0.05, abs=1e-4)
        assert spec.effect_prior("vague", d, o)[1] == pytest.approx(100 * big_d)
    assert spec.mu_prior_text("T2DM", "hba1c") == "normal(0, 87)"
    assert spec.tau_prior_text("T2DM", "insulin_dose") == "halfnormal(35.76)"


def test_benefit_directions(spec):
    assert spec.outcomes["c_peptide"].sign == 1
    for o in ("hba1c", "fpg", "insulin_dose"):
        assert spec.outcomes[o].sign == -1


def test_no_mcid_without_a_source(spec):
    for o in spec.outcomes.values():
        for s in (o.mcid, o.typical_sd, o.typical_change_sd):
            assert s is None or (s.source.strip() and s.value > 0)


# ----------------------------------------------------------------------------- validation errors


def _err(raw: dict) -> str:
    with pytest.raises(InputError) as info:
        parse_spec(raw, "models/x.toml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("models/x.toml: key '")
    return msg


def test_unknown_top_level_key(raw):
    raw["extra"] = 1
    assert "key 'extra': unknown key 'extra'" in _err(raw)


def test_unknown_key_in_an_analysis(raw):
    raw["analyses"][3]["colour"] = "red"
    assert "key 'analyses[3].colour': unknown key" in _err(raw)


def test_unknown_outcome(raw):
    raw["analyses"][3]["outcome"] = "hba1"
    msg = _err(raw)
    assert "analyses[3].outcome" in msg and "unknown outcome 'hba1'" in msg


def test_unknown_subgroup(raw):
    raw["analyses"][1]["subgroup"] = "iPSC"
    assert "unknown subgroup 'iPSC'" in _err(raw)


def test_unknown_disease(raw):
    raw["analyses"][0]["disease"] = "T3DM"
    assert "analyses[0].disease" in _err(raw)


def test_unknown_reference(raw):
    raw["analyses"][2]["arms"] = ["99-MSC"]
    msg = _err(raw)
    assert "analyses[2].arms" in msg and "unknown reference 99" in msg


def test_arm_that_the_reference_does_not_have(raw):
    raw["analyses"][2]["arms"] = ["27-BM-HSC"]
    assert "reference 27 has no BM-HSC arm" in _err(raw)


def test_arm_outside_its_subgroup(raw):
    raw["analyses"][1]["arms"][0] = "27-MSC"
    assert "is not a BM-HSC arm" in _err(raw)


def test_md_outside_its_ci(raw):
    raw["analyses"][0]["published"]["md"] = 0.9
    assert "does not contain md = 0.9" in _err(raw)


def test_k_disagrees_with_the_arms(raw):
    raw["analyses"][0]["published"]["k"] = 7
    assert "k = 7 but the analysis lists 6 trials" in _err(raw)


def test_single_model_needs_k_1(raw):
    raw["analyses"][0]["published"]["model"] = "single"
    assert "'single' with k = 6" in _err(raw)


def test_missing_heterogeneity_p(raw):
    del raw["analyses"][0]["published"]["heterogeneity_p"]
    assert "heterogeneity_p': missing" in _err(raw)


def test_bad_heterogeneity_p(raw):
    raw["analyses"][0]["published"]["heterogeneity_p"] = "often"
    assert "not a p value" in _err(raw)


def test_duplicate_analysis(raw):
    raw["analyses"].append(copy.deepcopy(raw["analyses"][1]))
    assert "duplicate analysis T1DM/c_peptide/BM-HSC" in _err(raw)


def test_overall_arms_must_be_the_union_of_subgroups(raw):
    raw["analyses"][0]["arms"] = raw["analyses"][0]["arms"][:-1]
    raw["analyses"][0]["published"]["k"] = 5
    assert "overall arms differ from the union" in _err(raw)


def test_missing_prior_set(raw):
    del raw["priors"]["effect"]["sceptical"]
    assert "priors.effect.sceptical': missing required prior set" in _err(raw)


def test_prior_sd_must_be_positive(raw):
    raw["priors"]["effect"]["vague"]["sd"] = 0
    assert "priors.effect.vague.sd': must be > 0" in _err(raw)


def test_mcid_needs_a_source(raw):
    raw["outcomes"]["hba1c"]["mcid"] = {"value": 0.5, "unit": "percentage points", "source": ""}
    assert "outcomes.hba1c.mcid.source': must not be empty" in _err(raw)


def test_mcid_with_source_is_accepted(raw):
    raw["outcomes"]["hba1c"]["mcid"] = {"value": 0.5, "unit": "pp", "source": "a test source"}
    assert parse_spec(raw).outcomes["hba1c"].mcid.value == 0.5


def test_wrong_type(raw):
    raw["analyses"][0]["published"]["n"] = "many"
    assert "published.n': must be an integer" in _err(raw)


def test_unknown_cell_type_of_a_reference(raw):
    raw["references"]["27"]["arms"] = ["ESC"]
    assert "references.27.arms': unknown cell type 'ESC'" in _err(raw)


def test_bad_correlation(raw):
    raw["study_level"]["r"] = 1.5
    assert "a correlation must be in [-1, 1]" in _err(raw)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="spec file not found"):
        load_spec(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[review\n")
    with pytest.raises(InputError, match=r"bad\.toml: not valid TOML"):
        load_spec(bad)
    text = SPEC_PATH.read_text().replace(
        'outcome = "fpg"\nsubgroup = "MSC"', 'outcome = "fgp"\nsubgroup = "MSC"'
    )
    typo = tmp_path / "typo.toml"
    typo.write_text(text)
    with pytest.raises(InputError) as info:
        load_spec(typo)
    assert str(info.value).startswith(f"{typo}: key 'analyses[16].outcome': unknown outcome 'fgp'")


def _spec_copy(tmp_path, **review):
    """The shipped spec with [review] keys replaced (strings), written into tmp_path."""
    import re

    from bayesmeta._paths import models_dir

    text = (models_dir() / "zhang2020.toml").read_text(encoding="utf-8")
    for key, value in review.items():
        text = re.sub(rf"(?m)^{key} = .*$", f'{key} = "{value}"', text, count=1)
    path = tmp_path / "copy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_title_name_and_table1_come_from_the_spec(tmp_path):
    """The report's title and name and its Table 1 are what the spec says (Table 1 here a CSV
    beside the spec), not fixed in code."""
    from bayesmeta import datasets
    from bayesmeta.review.reanalysis import reproduce
    from bayesmeta.review.spec import load_spec

    datasets.load("zhang2020_table1").to_csv(tmp_path / "t1.csv", index=False)
    path = _spec_copy(tmp_path, title="Another title", short_name="Other", table1="t1.csv")
    spec = load_spec(path)
    assert (spec.title, spec.short_name) == ("Another title", "Other")
    r = reproduce(tmp_path / "out", spec=path, progress=False, mcmc=False, figures=False,
                  simulation=False)  # fmt: skip
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Another title\n")
    assert (
        "<title>bayesmeta: Other re-analysis</title>"
        in (tmp_path / "out" / "report.html").read_text()
    )
    assert len(r.table1) == 22


def test_cli_reproduce_takes_a_spec_and_refuses_a_bad_one_in_one_line(tmp_path, capsys):
    from bayesmeta.cli import main

    bad = _spec_copy(tmp_path, title="")
    out = tmp_path / "never"
    assert main(["reproduce", str(bad), "--out", str(out), "--no-mcmc"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "review.title" in err and str(bad) in err
    assert not out.exists()
    assert main(["reproduce", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert "spec file not found" in capsys.readouterr().err
