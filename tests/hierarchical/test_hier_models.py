"""Model graphs: variables, dims/coords, prior and likelihood wiring (no sampling).

Prior wiring is checked against the SciPy densities of :mod:`bayesmeta.priors` (which are
themselves checked against R bayesmeta 3.4 in tests/test_priors.py); the likelihood against
``scipy.stats.norm``; the pre/post variance against :func:`bayesmeta.effects.mean_change`
(metafor ``escalc("MC")``). Tolerance 1e-6 on log densities (PyMC evaluates some constants
such as log 2 in float32, an error of ~1e-8); 1e-12 relative on deterministic values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hier_data import morris, schools, toy
from scipy import stats

from bayesmeta.effects import mean_change
from bayesmeta.errors import InputError
from bayesmeta.hierarchical import MetaData, build_model, model_spec
from bayesmeta.hierarchical.extra_priors import parse_nu, parse_r
from bayesmeta.priors import parse_prior

pm = pytest.importorskip("pymc")

PRIORS = {"mu_prior": "normal(0, 5)", "tau_prior": "halfcauchy(5)"}


def spec(model: str = "normal", **kw):
    return model_spec(model, **(PRIORS | kw))


def values_fn(model, outs):
    """Compiled function of model quantities given the value variables (a point dict)."""
    single = not isinstance(outs, list)
    graphs = model.replace_rvs_by_values([outs] if single else outs)
    return model.compile_fn(
        graphs[0] if single else graphs, inputs=model.value_vars, on_unused_input="ignore"
    )


def logp_of(model, names, point):
    """log density of the named variables at ``point`` (values on the natural scale)."""
    ip = model.initial_point()
    values = {}
    for rv in model.free_RVs:
        vname = model.rvs_to_values[rv].name
        if rv.name in point:
            tr = model.rvs_to_transforms.get(rv)
            x = np.asarray(point[rv.name], float)
            values[vname] = tr.forward(x, *rv.owner.inputs).eval() if tr is not None else x
        else:
            values[vname] = ip[vname]
    fn = model.compile_logp(vars=[model[n] for n in names], jacobian=False, sum=True)
    return float(fn(values))


# ----------------------------------------------------------------------- structure


@pytest.mark.parametrize(
    ("model", "kw", "free", "determ"),
    [
        ("normal", {}, {"mu", "tau", "z", "z_new"}, {"theta", "theta_new"}),
        ("normal", {"centred": True}, {"mu", "tau", "theta", "z_new"}, {"theta_new"}),
        (
            "subgroup",
            {},
            {"mu_subgroup", "tau", "z", "z_new"},
            {"mu", "mu_contrast", "theta", "theta_new"},
        ),
        (
            "subgroup",
            {"subgroup_means": "pooled", "tau_by_subgroup": True},
            {"mu", "sigma_subgroup", "eta_subgroup", "tau", "z", "z_new"},
            {"mu_subgroup", "mu_contrast", "theta", "theta_new"},
        ),
        (
            "nested",
            {},
            {"mu", "tau", "tau_arm", "z_cluster", "z", "z_new"},
            {"u", "theta", "tau_total", "rho", "theta_new"},
        ),
        (
            "nested",
            {"subgroups": True, "centred": True},
            {"mu_subgroup", "tau", "tau_arm", "u", "theta", "z_new"},
            {"mu", "mu_contrast", "tau_total", "rho", "theta_new"},
        ),
        ("student_t", {}, {"mu", "tau", "nu", "z", "z_new"}, {"theta", "theta_new"}),
        ("student_t", {"nu": 4}, {"mu", "tau", "z", "z_new"}, {"theta", "theta_new"}),
        ("regression", {}, {"mu", "beta", "tau", "z", "z_new"}, {"theta", "theta_new"}),
        (
            "regression",
            {"center_covariates": False},
            {"intercept", "beta", "tau", "z", "z_new"},
            {"mu", "theta", "theta_new"},
        ),
    ],
)
def test_variables_of_each_model(model, kw, free, determ):
    m = build_model(spec(model, **kw), toy())
    assert {v.name for v in m.free_RVs} == free
    assert {v.name for v in m.deterministics} == determ
    assert [v.name for v in m.observed_RVs] == ["y_obs"]


def test_dims_and_coords_follow_the_data():
    data = toy(6)
    m = build_model(spec("nested", subgroups=True), data)
    assert list(m.coords["study"]) == [f"s{i}" for i in range(6)]
    assert list(m.coords["subgroup"]) == ["MSC", "BM-MNC", "BM-HSC"]  # first appearance
    assert list(m.coords["contrast"]) == ["MSC - BM-MNC", "MSC - BM-HSC", "BM-MNC - BM-HSC"]
    assert list(m.coords["cluster"]) == ["t0", "t1", "t2"]
    d = m.named_vars_to_dims
    assert d["theta"] == ("study",) and d["y_obs"] == ("study",)
    assert d["mu_subgroup"] == ("subgroup",) and d["mu_contrast"] == ("contrast",)
    assert d["u"] == ("cluster",) and d["theta_new"] == ("subgroup",)
    r = build_model(spec("regression"), data)
    assert list(r.coords["covariate"]) == ["dose"]
    assert r.named_vars_to_dims["X"] == ("study", "covariate")


def test_one_subgroup_has_no_contrasts():
    data = MetaData.from_arrays([0.1, 0.2], [0.1, 0.1], subgroup=["a", "a"])
    m = build_model(spec("subgroup"), data)
    assert "contrast" not in m.coords and "mu_contrast" not in m.named_vars


# ----------------------------------------------------------------------- prior wiring


@pytest.mark.parametrize(
    "tau_prior",
    [
        "halfnormal(0.5)",
        "halfcauchy(5)",
        "halft(3, 1)",
        "lognormal(-1, 0.8)",
        "exponential(2)",
        "uniform(0, 4)",
    ],
)
def test_tau_prior_density_is_the_parsed_prior(tau_prior):
    m = build_model(spec(tau_prior=tau_prior), schools())
    for tau in (0.3, 1.7):
        expect = float(parse_prior(tau_prior, "tau").logpdf(tau))
        assert logp_of(m, ["tau"], {"tau": tau}) == pytest.approx(expect, abs=1e-6)


def test_every_hyperprior_is_wired_to_its_text():
    data = toy()
    cases = [
        (spec("subgroup"), "mu_subgroup", [0.2, -1.0, 3.0], parse_prior("normal(0, 5)", "mu")),
        (
            spec("subgroup", subgroup_means="pooled", sigma_prior="halfnormal(0.7)"),
            "sigma_subgroup",
            0.4,
            parse_prior("halfnormal(0.7)", "tau"),
        ),
        (
            spec("nested", tau_arm_prior="exponential(3)"),
            "tau_arm",
            0.25,
            parse_prior("exponential(3)", "tau"),
        ),
        (
            spec("regression", beta_prior="normal(1, 2)"),
            "beta",
            [0.5],
            parse_prior("normal(1, 2)", "mu"),
        ),
        (
            spec("regression", center_covariates=False),
            "intercept",
            0.8,
            parse_prior("normal(0, 5)", "mu"),
        ),
        (spec("student_t", nu="gamma(2, 0.1)"), "nu", 7.0, parse_nu("gamma(2, 0.1)")),
        (spec("student_t", nu="exponential(0.1)"), "nu", 7.0, parse_nu("exponential(0.1)")),
    ]
    for s, name, value, prior in cases:
        m = build_model(s, data)
        expect = float(np.sum(prior.logpdf(np.asarray(value))))
        assert logp_of(m, [name], {name: value}) == pytest.approx(expect, abs=1e-6), name


@pytest.mark.parametrize("scale", ["r", "(r+1)/2"])
def test_r_prior_density(scale):
    m = build_model(spec("prepost", r="beta(3, 2)", r_scale=scale), morris())
    prior = parse_r("beta(3, 2)", scale)
    name = "r" if scale == "r" else "r01"
    x = 0.6
    expect = stats.beta(3, 2).logpdf(x)
    assert logp_of(m, [name], {name: x}) == pytest.approx(expect, abs=1e-6)
    # on the (r+1)/2 scale the density of r carries the Jacobian 1/2
    r = x if scale == "r" else 2 * x - 1
    assert float(prior.logpdf(r)) == pytest.approx(expect - (scale != "r") * np.log(2), 1e-12)


def test_jeffreys_prior_binds_the_standard_errors():
    data = schools()
    m = build_model(spec(tau_prior="jeffreys"), data)
    assert [p.name for p in m.potentials] == ["tau_prior"]
    fn = values_fn(m, m.potentials[0])
    ip = m.initial_point()
    ip["tau_log__"] = np.log(3.0)
    expect = float(parse_prior("jeffreys", "tau").bind(data.sei).logpdf(3.0))
    assert float(fn(ip)) == pytest.approx(expect, abs=1e-6)


# ----------------------------------------------------------------------- likelihood


def test_likelihood_is_normal_with_known_standard_errors():
    data = schools()
    m = build_model(spec(centred=True), data)
    theta = np.linspace(-3, 9, data.k)
    expect = stats.norm.logpdf(data.yi, theta, data.sei).sum()
    assert logp_of(m, ["y_obs"], {"theta": theta}) == pytest.approx(expect, abs=1e-6)


@pytest.mark.parametrize("r", [-0.4, 0.0, 0.47, 0.9])
def test_prepost_standard_error_matches_mean_change(r):
    """se_i(r) = sqrt((sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post) / n) = sqrt(vi of escalc MC)."""
    data = morris()
    m = build_model(spec("prepost", r="beta(2, 2)", r_scale="(r+1)/2"), data)
    fn = values_fn(m, m["se"])
    ip = m.initial_point()
    ip["r01_logodds__"] = np.log((r + 1) / 2) - np.log(1 - (r + 1) / 2)
    es = mean_change(np.zeros(data.k), data.sd_pre, data.yi, data.sd_post, data.n, r)
    np.testing.assert_allclose(fn(ip), np.sqrt(es.vi), rtol=1e-12)
    np.testing.assert_allclose(es.yi, data.yi, rtol=1e-12)


def test_prepost_with_fixed_r_is_a_known_variance_model():
    data = morris()
    m = build_model(spec("prepost", r=0.5), data)
    assert "r" not in m.named_vars and "se" not in m.named_vars
    es = mean_change(np.zeros(data.k), data.sd_pre, data.yi, data.sd_post, data.n, 0.5)
    np.testing.assert_allclose(m["sei"].get_value(), np.sqrt(es.vi), rtol=1e-12)


# ----------------------------------------------------------------------- parameterisations


@pytest.mark.parametrize("model", ["normal", "student_t"])
def test_centred_and_non_centred_are_the_same_model(model):
    """p(theta | mu, tau) = p_z((theta - mu) / tau) / tau^k: densities differ by k log tau."""
    data = schools()
    kw = {"nu": 5.0} if model == "student_t" else {}
    cen = build_model(spec(model, centred=True, **kw), data)
    non = build_model(spec(model, **kw), data)
    mu, tau = 2.0, 3.5
    theta = np.linspace(-4, 12, data.k)
    names = ["mu", "tau", "y_obs"]
    lc = logp_of(cen, [*names, "theta"], {"mu": mu, "tau": tau, "theta": theta})
    ln = logp_of(non, [*names, "z"], {"mu": mu, "tau": tau, "z": (theta - mu) / tau})
    assert lc == pytest.approx(ln - data.k * np.log(tau), abs=1e-9)


@pytest.mark.parametrize(
    ("model", "kw"),
    [
        ("normal", {}),
        ("normal", {"centred": True}),
        ("subgroup", {}),
        ("nested", {}),
        ("student_t", {"nu": 4.0}),
        ("regression", {"beta_prior": "normal(0, 1)"}),
        ("prepost", {"r": 0.5}),
        ("prepost", {"r": "beta(2, 2)", "r_scale": "(r+1)/2"}),
    ],
)
def test_standardised_form_has_the_same_posterior(model, kw):
    """The form the sampler compiles, y/s ~ N(theta/s, 1), has the log density of the model
    plus sum log s (a constant: `logp_offset`) and the same gradient, at random points of
    every value variable (1e-10); with r a parameter the two models are the same."""
    from bayesmeta.hierarchical.models import data_values, logp_offset

    data = morris() if model == "prepost" else toy(k=6, seed=4)
    sp = spec(model, **kw)
    built, std = build_model(sp, data), build_model(sp, data, standardised=True)
    offset = logp_offset(data_values(sp, data))
    expect = 0.0 if isinstance(kw.get("r"), str) else -np.log(data_values(sp, data)["sei"]).sum()
    assert offset == pytest.approx(expect, rel=1e-12)
    assert expect != 0.0 or model == "prepost"
    fast = {"mode": "FAST_COMPILE"}
    fns = [(m.compile_logp(**fast), m.compile_dlogp(**fast)) for m in (built, std)]
    rng = np.random.default_rng(11)
    for _ in range(5):
        point = {k: rng.normal(size=np.shape(v)) for k, v in built.initial_point().items()}
        (lp_b, dlp_b), (lp_s, dlp_s) = [(f(point), g(point)) for f, g in fns]
        assert float(lp_s) + offset == pytest.approx(float(lp_b), rel=1e-10)
        np.testing.assert_allclose(dlp_s, dlp_b, rtol=1e-10, atol=1e-10)


def test_deterministics_follow_their_formulas():
    data = toy()
    m = build_model(spec("nested", subgroups=True), data)
    outs = ["mu", "theta", "theta_new", "tau_total", "rho", "mu_contrast"]
    fn = values_fn(m, [m[n] for n in outs])
    rng = np.random.default_rng(1)
    ip = {k: rng.normal(size=np.shape(v)) for k, v in m.initial_point().items()}
    mu, theta, new, tau_total, rho, contrast = fn(ip)
    mu_g = ip["mu_subgroup"]
    tau, tau_arm = np.exp(ip["tau_log__"]), np.exp(ip["tau_arm_log__"])
    levels, g = data.subgroups
    _, c = data.clusters
    w = np.bincount(g) / data.k
    assert mu == pytest.approx(np.sum(w * mu_g), abs=1e-12)
    u = tau * ip["z_cluster"]
    np.testing.assert_allclose(theta, mu_g[g] + u[c] + tau_arm * ip["z"], atol=1e-12)
    assert tau_total == pytest.approx(np.hypot(tau, tau_arm), abs=1e-12)
    assert rho == pytest.approx(tau**2 / (tau**2 + tau_arm**2), abs=1e-12)
    np.testing.assert_allclose(new, mu_g + tau_total * ip["z_new"], atol=1e-12)
    np.testing.assert_allclose(
        contrast, [mu_g[0] - mu_g[1], mu_g[0] - mu_g[2], mu_g[1] - mu_g[2]], atol=1e-12
    )


def test_regression_mean_is_at_the_covariate_mean():
    data = toy()
    for centred_x in (True, False):
        m = build_model(spec("regression", center_covariates=centred_x), data)
        fn = values_fn(m, [m["theta"], m["mu"]])
        ip = {k: np.full(np.shape(v), 0.3) for k, v in m.initial_point().items()}
        ip["z"] = np.zeros(data.k)
        theta, mu = fn(ip)
        x = data.X[:, 0]
        # with z = 0, theta is the linear predictor; at x = mean(x) it equals mu
        slope = np.polyfit(x, theta, 1)[0]
        assert slope == pytest.approx(0.3, abs=1e-10)
        assert np.polyval(np.polyfit(x, theta, 1), x.mean()) == pytest.approx(mu, abs=1e-10)


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"model": "probit"}, "unknown model"),
        ({"model": "regression", "subgroups": True}, "do not combine"),
        ({"model": "normal", "tau_by_subgroup": True}, "needs subgroup terms"),
        ({"model": "prepost", "tau_prior": "jeffreys"}, "jeffreys"),
        ({"model": "subgroup", "subgroup_means": "random"}, "subgroup_means"),
        ({"model": "student_t", "nu": -1}, "nu"),
        ({"model": "student_t", "nu": "gamma(0, 1)"}, "> 0"),
        ({"model": "prepost", "r": 1.0}, "(-1, 1)"),
        ({"model": "prepost", "r": "uniform(0, 1)"}, "beta(a, b)"),
        ({"model": "normal", "tau_prior": "normal(0, 1)"}, "invalid tau prior"),
    ],
)
def test_bad_specs_raise_input_error(kw, message):
    model = kw.pop("model")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec(model, **kw)


def test_data_that_cannot_feed_the_model():
    plain = MetaData.from_arrays([0.1, 0.3, 0.2], [0.1, 0.2, 0.1])
    with pytest.raises(InputError, match="subgroup column"):
        build_model(spec("subgroup"), plain)
    with pytest.raises(InputError, match="cluster"):
        build_model(spec("nested"), plain)
    with pytest.raises(InputError, match="at least one covariate"):
        build_model(spec("regression"), plain)
    with pytest.raises(InputError, match="m_pre"):
        build_model(spec("prepost"), plain)
    with pytest.raises(InputError, match="standard errors"):
        build_model(spec("normal"), morris())
    from bayesmeta.studies import StudyTable

    frame = pd.DataFrame(
        {
            "study": ["a", "b", "c"],
            "yi": [0.1, 0.2, 0.3],
            "vi": [0.1] * 3,
            "x": [1.0, 1.0, 1.0],
            "x2": [1.0, 2.0, 3.0],
            "x3": [2.0, 4.0, 6.0],
        }
    )
    const = MetaData.from_table(StudyTable.from_frame(frame, covariates=["x"]))
    with pytest.raises(InputError, match="constant") as err:
        build_model(spec("regression"), const)
    assert err.value.column == "x"
    collinear = MetaData.from_table(StudyTable.from_frame(frame, covariates=["x2", "x3"]))
    with pytest.raises(InputError, match="collinear"):
        build_model(spec("regression"), collinear)
