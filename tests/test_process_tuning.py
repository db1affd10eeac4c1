"""The process settings that make large encoders fast (process_tuning.py) change no number, and chunks shrink as
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
    assert PT.keep_freed_memory() in (True, False)


def test_a_chunk_holds_fewer_networks_as_the_encoder_grows():
    sizes = ("4-2-4", "8-3-8", "16-4-16", "64-6-64", "256-8-256")
    assert [T.networks_per_chunk(T.parse_size(s)) for s in sizes] == [256, 256, 64, 4, 1]
