"""scratch.parallel and scratch.network's split: the batch in parts over threads, as the
convolutional networks' steps run it."""

import copy
import inspect
import threading

import numpy as np
import pytest
import threadpoolctl

import scratch.layers as SL
import scratch.models as SM
import scratch.network as SN
from parity.engine.probes import SameResults
from parity.engine.registry import find, load_all
from parity.pairs.models import SPLIT_THREADS, split_over
from scratch import parallel
from scratch.checks import CallOrderError, InputError


@pytest.mark.parametrize("n,workers", [(1, 2), (2, 2), (5, 2), (7, 3), (100, 2), (3, 8)])
def test_parts_cover_the_range_once_in_order_and_nearly_even(n, workers):
    got = parallel.parts(n, workers)
    assert len(got) == min(n, workers)
    assert [i for first, end in got for i in range(first, end)] == list(range(n))
    sizes = [end - first for first, end in got]
    assert max(sizes) - min(sizes) <= 1


def test_map_parts_of_one_item_runs_it_here():
    assert parallel.map_parts(lambda item: (item, threading.current_thread()), [5]) == [
        (5, threading.current_thread())]


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


SPLITTING = [cls for _, cls in inspect.getmembers(SM, inspect.isclass)
             if issubclass(cls, SN.Network) and cls.split_batches]


def test_the_convolutional_networks_split_their_batches():
    assert set(SPLITTING) == {SM.SimpleConvNet, SM.LeNet5, SM.DeepConvNet}


@pytest.mark.parametrize("cls", SPLITTING, ids=lambda cls: cls.__name__)
def test_every_splitting_network_has_a_split_variant_held_to_the_unsplit_numbers(cls):
    entries = load_all()
    split = [e for e in entries if e.component == cls.__name__
             and e.variant.endswith(f"split over {SPLIT_THREADS} threads")]
    probes = [e for e in entries if isinstance(e, SameResults) and e.component == cls.__name__
              and e.variant.split(" = ")[0].endswith("threads")]
    assert split and len(probes) == len(split)


def small_deep_convnet():
    return SM.DeepConvNet(rng=np.random.default_rng(0), dropout_ratio=0.0)


def test_deep_convnet_gives_the_same_step_split_or_not():
    """Forward and gradients equal the unsplit net's to float64 rounding, at 2 threads;
    the split ran (each part, with its replicas of the layers, is kept for backward)."""
    def step(split):
        net = small_deep_convnet()
        net.split_batches = split
        rng = np.random.default_rng(1)
        x, t = rng.random((8, 1, 28, 28)), rng.integers(0, 10, 8)
        with threadpoolctl.threadpool_limits(2):
            result = net.loss(x, t, train_flg=True), net.gradient(x, t)
        assert [len(r or ()) for _, r in net._ran][:1] == [2 if split else 0]
        return result

    (loss, grads), (loss_split, grads_split) = step(False), step(True)
    assert loss_split == pytest.approx(loss, rel=1e-12)
    for key, g in grads.items():
        np.testing.assert_allclose(grads_split[key], g, rtol=1e-10, atol=1e-12, err_msg=key)


def tiny_split_network(threads):
    """Affine - ReLU - Dropout - Affine on 3 features, split over ``threads`` threads."""
    rng = np.random.default_rng(6)
    params = {"W1": rng.standard_normal((3, 4)), "b1": np.zeros(4),
              "W2": rng.standard_normal((4, 2)), "b2": np.zeros(2)}
    net = SN.Network(params, SL.SoftmaxWithLoss())
    net.add("Affine1", SM.needs_no_input_grad(SL.Affine(params["W1"], params["b1"])), "1")
    net.add("Relu1", SL.Relu()).add("Dropout1", SL.Dropout(0.5))
    net.add("Affine2", SL.Affine(params["W2"], params["b2"]), "2")
    return split_over(net, threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_per_sample_stages_run_in_parts_one_per_thread(threads):
    """Fast and direct (the 10 s per-function budget of `make mutate` keeps only the
    fastest tests), on any BLAS thread count: ``split_threads`` parts for each run of
    per-sample layers, none for Dropout, none at all with one thread; backward still
    returns no input gradient (the first layer skips it)."""
    net = tiny_split_network(threads)
    rng = np.random.default_rng(5)
    net.loss(rng.random((4, 3)), rng.integers(0, 2, 4), train_flg=True)
    assert [(names, len(r) if r else 0) for names, r in net._ran] == [
        (["Affine1", "Relu1"], threads if threads > 1 else 0), (["Dropout1"], 0),
        (["Affine2"], threads if threads > 1 else 0)]
    assert net.backward() is None
    assert all(net.grads[key].shape == net.params[key].shape for key in net.params)


def test_stages_split_the_per_sample_runs_and_keep_batchnorm_and_dropout_whole():
    net = SM.MultiLayerNet(4, (3, 3), 2, use_batchnorm=True, use_dropout=True,
                           rng=np.random.default_rng(2))
    assert SN.stages(net.layers) == [
        (["Affine1"], True), (["BatchNorm1"], False), (["Activation1"], True),
        (["Dropout1"], False), (["Affine2"], True), (["BatchNorm2"], False),
        (["Activation2"], True), (["Dropout2"], False), (["Affine3"], True)]
    deep = SN.stages(small_deep_convnet().layers)
    assert [per_sample for _, per_sample in deep] == [True, False, True, False]
    assert deep[0][0][0] == "Conv1" and deep[0][0][-1] == "Relu7" and deep[2][0] == ["Affine2"]


def test_each_part_keeps_its_own_gradients(monkeypatch):
    """A replica that shares the layer's grads dict (``copy.copy`` alone): the parts
    overwrite each other's gradients, and the split variant's probe names them."""
    probe = find(SM.SimpleConvNet.__name__, f"small, log_softmax loss, split over {SPLIT_THREADS} "
                 "threads = small, log_softmax loss")
    assert all(c.passed for c in probe.run("float64"))
    monkeypatch.setattr(SN, "replica", copy.copy)
    bad = {c.quantity for c in probe.run("float64") if not c.passed}
    assert {"dW1", "db1", "dW2", "db2", "dW3", "db3"} <= bad


def test_a_refusal_inside_a_part_names_the_layer():
    net = split_over(SM.SimpleConvNet(rng=np.random.default_rng(3)))
    with pytest.raises(InputError, match=f"{SM.SimpleConvNet.__name__} layer 'Conv1'"):
        net.predict(np.zeros((4, 2, 28, 28)))


def test_backward_before_forward_still_says_so():
    net = SM.SimpleConvNet(rng=np.random.default_rng(4))
    with pytest.raises(CallOrderError):
        net.backward(np.zeros((2, 10)))


def test_a_forked_child_makes_its_own_pool():
    """A child forked after a split network ran has the pool objects but not their
    threads; scratch.parallel forgets the pools at fork, so the child's split step
    runs (without that it hangs until the alarm kills it: measured)."""
    import os
    import signal
    import time

    def split_step():  # as the registry's split variants: 2 threads
        net = split_over(SM.SimpleConvNet(rng=np.random.default_rng(0)))
        net.gradient(np.zeros((4, 1, 28, 28)), np.arange(4))

    split_step()
    time.sleep(0.2)  # the pool's threads now wait idle
    pid = os.fork()
    if pid == 0:  # the child: a hang ends at the alarm (SIGALRM's default kills it)
        signal.alarm(20)
        split_step()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_split_variants_leave_finite_differences_to_the_unsplit_pair():
    variant = "small, log_softmax loss"
    unsplit = find(SM.SimpleConvNet.__name__, variant)
    split = find(SM.SimpleConvNet.__name__, f"{variant}, split over {SPLIT_THREADS} threads")
    oracles = [{c.oracle for c in entry.run("float64")} for entry in (unsplit, split)]
    assert oracles == [{"torch", "finite-diff"}, {"torch"}]
