"""The process setting that makes large encoders fast (process_tuning.py) changes no number, and chunks shrink as
the encoder grows."""
import numpy as np

import backprop_learner as BL
import process_tuning as PT
import training_loop as T


def test_one_blas_thread_changes_no_number_and_gives_the_thread_count_back():
    learner = BL.Backprop(T.parse_size("256-8-256"), loss="atanh", optimizer="quickprop", criterion="fahlman",
                          activation="symmetric")
    settings = {"lr": np.full(2, 0.5), "momentum": np.full(2, 0.9), "init_scale": np.full(2, 0.7)}
    threads = PT._openblas_threads()
    before = threads[0]() if threads else None
    as_built = T.fit(learner, [0, 1], settings, 3, criterion="fahlman")["params"]
    with PT.one_blas_thread():
        assert threads is None or threads[0]() == 1
        one_thread = T.fit(learner, [0, 1], settings, 3, criterion="fahlman")["params"]
    assert np.array_equal(as_built, one_thread)
    assert threads is None or threads[0]() == before


def test_a_chunk_holds_fewer_networks_as_the_encoder_grows():
    sizes = ("4-2-4", "8-3-8", "16-4-16", "64-6-64", "256-8-256")
    assert [T.networks_per_chunk(T.parse_size(s)) for s in sizes] == [256, 256, 64, 4, 1]


BIG = {"optimizer": "quickprop", "lr": 1.0, "split_epsilon": True}


def big_runs(seeds, epochs=4):
    result = T.sweep("backprop", seeds, BIG, {"epochs": epochs, "early_stop": False, "criterion": "fahlman"},
                     size="256-8-256")
    return result.columns["params"]


def test_a_chunk_of_big_networks_trains_each_as_if_alone(monkeypatch):
    alone = np.concatenate([big_runs([seed]) for seed in (4, 5, 6)])
    assert np.array_equal(big_runs([4, 5, 6]), alone)                    # one network per chunk at 256-8-256
    monkeypatch.setattr(T, "CHUNK_OUTPUTS", 2 * 256 ** 2)                 # two per chunk: chunks of 2 and 1
    assert T.networks_per_chunk(T.parse_size("256-8-256")) == 2
    assert np.array_equal(big_runs([4, 5, 6]), alone)


def test_chunks_at_64_6_64_change_no_epoch_as_networks_finish_and_leave():
    # 4 networks per chunk; networks solve at different epochs, so the chunks are rebuilt as they leave
    seeds = list(range(6))                                                 # chunks of 4 and 2
    loop = {"epochs": 300, "criterion": "fahlman"}
    batch = T.sweep("backprop", seeds, BIG, loop, size="64-6-64")
    assert T.networks_per_chunk(T.parse_size("64-6-64")) == 4 and len(set(batch.columns["epochs"].tolist())) > 2
    for i, seed in enumerate(seeds):
        alone = T.sweep("backprop", [seed], BIG, loop, size="64-6-64")
        assert alone.columns["epochs"][0] == batch.columns["epochs"][i]
        assert np.array_equal(alone.columns["params"][0], batch.columns["params"][i])

