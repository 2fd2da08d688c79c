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
    assert a.dtype == np.float32 and a.shape == (3, 4) and not a.any()  # zeros, as asked
    a[0, 0] = 7
    again = parallel.buffer("test", (3, 4), np.float32)
    assert np.shares_memory(again, a) and again[0, 0] == 7
    assert not np.shares_memory(parallel.buffer("test", (3, 4), np.float64), a)  # dtype
    assert not np.shares_memory(parallel.buffer("test", (4, 3), np.float32), a)  # shape
    other = parallel.map_parts(lambda _: parallel.buffer("test", (3, 4), np.float32), [0, 1])
    assert all(not np.shares_memory(b, a) and not b.any() for b in other)  # own zeros


def test_a_workspace_is_one_array_per_name_grown_to_the_largest_shape():
    small = parallel.workspace("test-ws", (2, 3), np.float32)
    assert small.dtype == np.float32 and small.shape == (2, 3)
    large = parallel.workspace("test-ws", (5, 7), np.float32)  # grown: a new array
    assert not np.shares_memory(small, large)
    again = parallel.workspace("test-ws", (3, 2), np.float32)  # fits: the grown one
    assert np.shares_memory(again, large) and again.shape == (3, 2)
    assert again.flags.c_contiguous  # usable as np.matmul's out=
    assert not np.shares_memory(parallel.workspace("test-other", (3, 2), np.float32), large)


def test_buffer_bytes_counts_what_is_held_once():
    held = parallel.buffer_bytes()
    parallel.buffer("test-held", (5, 5), np.float64)
    assert parallel.buffer_bytes() == held + 200
    parallel.buffer("test-held", (5, 5), np.float64)  # the same one again: nothing new
    parallel.workspace("test-held", (10,), np.float32)
    parallel.workspace("test-held", (20,), np.float32)  # grown: replaces the 40 bytes
    assert parallel.buffer_bytes() == held + 200 + 80


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


def test_a_forked_child_makes_its_own_pool():
    """A child forked after a split convolution ran has the pool objects but not their
    threads; scratch.parallel forgets the pools at fork, so the child's split
    convolution runs (without that it hangs until the alarm kills it: measured)."""
    import os
    import signal
    import time

    from scratch.conv_fast import FastConvolution

    def split_convolution():  # as the registry's threaded variant: 2 threads, 1 image each
        rng = np.random.default_rng(0)
        layer = FastConvolution(rng.standard_normal((4, 3, 3, 3)), np.zeros(4))
        layer.chunk, layer.workers = 1, 2
        layer.backward(rng.standard_normal(layer.forward(rng.standard_normal((6, 3, 8, 8))).shape))

    split_convolution()
    time.sleep(0.2)  # the pool's threads now wait idle
    pid = os.fork()
    if pid == 0:  # the child: a hang ends at the alarm (SIGALRM's default kills it)
        signal.alarm(20)
        split_convolution()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
