"""The shipped metrics of the review-shaped coverage study (models/simulate_review_trust.csv)
are what a fresh simulation gives: same fingerprint as the study `interval_trust` runs, and
every number equal to 1e-12 relative (the replicates are seeded, so the file is a cache of a
deterministic computation, not a result to trust by itself)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesmeta._paths import models_dir
from bayesmeta.review.trust import SHIPPED, interval_trust, trust_study, write_trust_table


def test_shipped_metrics_equal_a_fresh_simulation(tmp_path):
    shipped = models_dir() / SHIPPED
    first = shipped.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# fingerprint: {trust_study().fingerprint()}"
    fresh = pd.read_csv(write_trust_table(tmp_path / "fresh.csv"), comment="#")
    old = pd.read_csv(shipped, comment="#")
    assert list(fresh.columns) == list(old.columns) and len(fresh) == len(old)
    num = fresh.select_dtypes("number").columns
    np.testing.assert_allclose(fresh[num].to_numpy(float), old[num].to_numpy(float),
                               rtol=1e-12, atol=1e-15)  # fmt: skip
    text = fresh.columns.difference(num)
    assert (fresh[text].astype(str) == old[text].astype(str)).all().all()


def test_interval_trust_reads_the_shipped_metrics(tmp_path):
    out = interval_trust(tmp_path)
    sim = tmp_path / "simulation"
    assert (sim / "metrics.csv").exists() and (sim / "coverage_vs_k.png").exists()
    assert not (sim / "chunks").exists()  # nothing was simulated
    assert len(out) == 16 * 4 * 4
