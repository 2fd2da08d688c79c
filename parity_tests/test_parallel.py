"""scratch.parallel: the batch split over threads that DeepConvNet's step runs in."""

import threading

import numpy as np
import pytest
import threadpoolctl

import scratch.models as SM
from scratch import parallel


@pytest.mark.parametrize("n,workers", [(1, 2), (2, 2), (5, 2), (7, 3), (100, 2), (3, 8)])
def test_parts_cover_the_range_once_in_order_and_nearly_even(n, workers):
    got = parallel.parts(n, workers)
    assert len(got) == min(n, workers)
    assert [i for first, end in got for i in range(first, end)] == list(range(n))
    sizes = [end - first for first, end in got]
    assert max(sizes) - min(sizes) <= 1


def test_map_parts_runs_the_items_at_once_each_with_one_blas_thread():
    together = threading.Barrier(2, timeout=10)  # broken unless both items run at once
    blas = []

    def work(item):
        together.wait()
        blas.append(parallel.blas_threads())
        return item * 10

    with threadpoolctl.threadpool_limits(2):
        assert parallel.map_parts(work, [1, 2]) == [10, 20]  # in the items' order
        assert parallel.blas_threads() == 2  # restored
    assert blas == [1, 1]


def test_batch_threads_takes_the_blas_thread_count_and_gives_it_back():
    with threadpoolctl.threadpool_limits(2):
        assert parallel.workers() == 1
        with parallel.batch_threads():
            assert (parallel.workers(), parallel.blas_threads()) == (2, 1)
            with parallel.batch_threads():  # nested: the outer one holds
                assert (parallel.workers(), parallel.blas_threads()) == (2, 1)
            assert parallel.workers() == 2
        assert (parallel.workers(), parallel.blas_threads()) == (1, 2)
    with threadpoolctl.threadpool_limits(1), parallel.batch_threads():
        assert parallel.workers() == 1  # one thread: nothing to split


def test_a_buffer_is_this_threads_own_and_kept_between_calls():
    a = parallel.buffer("test", (3, 4), np.float32)
    a[0, 0] = 7
    assert parallel.buffer("test", (3, 4), np.float32) is a
    assert parallel.buffer("test", (3, 4), np.float64) is not a  # dtype is part of the name
    other = parallel.map_parts(lambda _: parallel.buffer("test", (3, 4), np.float32), [0, 1])
    assert all(b is not a and not b.any() for b in other)  # other threads: their own zeros


def test_deep_convnet_gives_the_same_step_split_or_not():
    """DeepConvNet splits its batch (split_batches): forward and gradients equal the
    unsplit net's to float64 rounding, at 2 threads."""
    def step(split):
        net = SM.DeepConvNet(rng=np.random.default_rng(0), dropout_ratio=0.0)
        net.split_batches = split
        rng = np.random.default_rng(1)
        x, t = rng.random((8, 1, 28, 28)), rng.integers(0, 10, 8)
        for layer in net.layers.values():
            if hasattr(layer, "chunk"):
                layer.chunk = 1  # 8 blocks: every thread gets some
        with threadpoolctl.threadpool_limits(2):
            return net.loss(x, t, train_flg=True), net.gradient(x, t)

    (loss, grads), (loss_split, grads_split) = step(False), step(True)
    assert loss_split == pytest.approx(loss, rel=1e-12)
    for key, g in grads.items():
        np.testing.assert_allclose(grads_split[key], g, rtol=1e-10, atol=1e-12, err_msg=key)
