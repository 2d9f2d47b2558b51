"""The seed convention and experiments over seeds: SeedRuns' summaries against the standard library."""

import statistics

import numpy as np
import pytest

from nine_utils.seeds import SeedRuns, over_seeds


def test_over_seeds_summaries_are_the_sample_statistics():
    values = {0: 1.0, 1: 2.0, 2: 4.0, 3: 7.0}
    runs = over_seeds(lambda s: {"acc": values[s], "twice": 2 * values[s]}, n_seeds=4)
    assert isinstance(runs, SeedRuns) and runs.seeds == (0, 1, 2, 3) and runs.n == 4
    assert runs.by_seed("acc") == [1.0, 2.0, 4.0, 7.0]
    assert runs.mean("acc") == statistics.mean(values.values())
    # the sample standard deviation (ddof=1), not the population one (ddof=0: 2.29 instead of 2.65)
    assert runs.std("acc") == pytest.approx(statistics.stdev(values.values()), rel=1e-12)
    assert runs.std("acc") != pytest.approx(statistics.pstdev(values.values()))
    assert runs.min("acc") == 1.0 and runs.max("twice") == 14.0
    assert runs.holds(lambda r: r["acc"] > 1.5) == 3
    assert runs.format("acc", 2) == f"3.50 ± {statistics.stdev(values.values()):.2f}"
    res = runs.results(["acc"])
    assert res == {"n_seeds": 4, "acc": 3.5, "acc_std": runs.std("acc"), "acc_by_seed": [1.0, 2.0, 4.0, 7.0]}
    assert over_seeds(lambda s: {"acc": 3.0}, n_seeds=1, seed=5).std("acc") == 0.0


def test_over_seeds_refuses_bad_runs():
    with pytest.raises(ValueError, match="n_seeds"):
        over_seeds(lambda s: {"a": 1.0}, n_seeds=0)
    with pytest.raises(ValueError, match="metrics"):
        over_seeds(lambda s: {"a": 1.0} if s == 0 else {"b": 1.0}, n_seeds=2)
    with pytest.raises(ValueError, match="not a number"):
        over_seeds(lambda s: {"a": "high"}, n_seeds=1)
    with pytest.raises(KeyError, match="unknown metric"):
        over_seeds(lambda s: {"a": 1.0}, n_seeds=1).mean("b")
    with pytest.raises(ValueError, match="int first seed"):
        over_seeds(lambda s: {"a": 1.0}, n_seeds=1, seed=np.random.default_rng(0))
