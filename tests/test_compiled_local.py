"""The compiled engine of the local rules (compiled_local_kernels.py) against the numpy reference (local_learners.py):
every rule's parameters after 30 epochs, and a network's run alone = in a batch wider than the lanes."""

import numpy as np
import pytest

import compiled_local_kernels as K
import training_loop as T

SHAPE = T.parse_size("4-2-4")
CASES = [("chl", {}), ("generec", {}), ("generec-mid", {}), ("generec-sym", {}), ("recirculation", {}),
         ("mean-field", {}),
         ("chl", {"update": "batch", "plus_start": "minus", "max_steps": 6}),
         ("generec", {"readout": "during", "bounding": "squash"}),
         ("generec-sym", {"update": "batch", "readout": "during"}),
         ("chl", {"bound": 0.05, "targets": "bounded"}),
         ("generec-mid", {"targets": "bounded", "bounding": "squash"}),
         ("recirculation", {"update": "pattern"}),
         ("mean-field", {"update": "batch"}),
         ("mean-field", {"network": "ahs85", "update": "batch", "max_steps": 6}),
         ("mean-field", {"network": "ahs85"})]
IDS = [f"{rule}-{'-'.join(map(str, s.values()))}".rstrip("-") for rule, s in CASES]


@pytest.mark.parametrize("rule,settings", CASES, ids=IDS)
def test_thirty_epochs_give_the_numpy_references_parameters(rule, settings):
    loop = {"epochs": 30, "early_stop": False}
    results = [T.sweep(rule, range(16), {**settings, "engine": engine}, loop, size=SHAPE)
               for engine in ("numpy", "compiled")]
    reference, compiled = results
    scale = np.abs(reference["params"]).max()
    assert np.abs(compiled["params"] - reference["params"]).max() <= 1e-9 * max(1.0, scale)
    assert np.abs(compiled["hidden"] - reference["hidden"]).max() <= 1e-9
    assert np.array_equal(compiled["solve_epoch"], reference["solve_epoch"])


@pytest.mark.parametrize("rule,settings", CASES, ids=IDS)
def test_a_network_runs_the_same_alone_and_in_a_batch_wider_than_the_lanes(rule, settings):
    settings = {**settings, "engine": "compiled"}
    loop = {"epochs": 12, "patience": 3, "max_restarts": 2, "criterion": "sse"}
    seeds = list(range(K.LANES + 5))                   # a second group of lanes, and lanes that take a second network
    batch = T.sweep(rule, seeds, settings, loop, size=SHAPE)
    assert sum(len(r) for r in batch.restart_epochs) > 0
    for seed in (0, K.LANES - 1, K.LANES + 4):
        alone = T.sweep(rule, [seed], settings, loop, size=SHAPE)
        assert np.array_equal(alone["params"][0], batch["params"][seed])
        assert alone["epochs"][0] == batch["epochs"][seed]
        assert alone.restart_epochs[0] == batch.restart_epochs[seed]
