"""The "applications" chapter trained side by side: a ResNet on MNIST, a Transformer
reversing digit sequences, a GAN on MNIST and REINFORCE on a corridor game.

Each run builds the scratch model from seeded weights, copies them into the twin
(``mirror_links``), feeds both sides the same batches, noise, dropout masks and
recorded episodes, and records per step both losses and the largest parameter gap
(relative to the largest parameter).  ``RUNS`` maps a name to its function
``(dtype, steps) -> Outcome``.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

import scratch.gan as SG
import scratch.optimizers as SO
import scratch.policy as SP
import scratch.resnet as SR
import scratch.transformer as ST
import torch_ref.gan as TG
import torch_ref.optimizers as TO
import torch_ref.policy as TP
import torch_ref.resnet as TR
import torch_ref.transformer as TT
from parity.engine.inputs import NP_DTYPE, TORCH_DTYPE, replayed_masks, source
from parity.engine.transfer import (
    Link,
    book_links,
    load_into_torch,
    read_from_torch,
    scratch_attr,
    torch_tensor,
)
from parity.experiments.training import BatchSampler, load_mnist

STEPS = 200

# scratch parameter name (last part) -> the twin's tensor name under the same module path
TORCH_NAMES = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias",
               "W_qkv": "in_proj_weight", "b_qkv": "in_proj_bias",
               "Wo": "out_proj.weight", "bo": "out_proj.bias",
               "Wq": "q_proj.weight", "bq": "q_proj.bias", "Wk": "k_proj.weight",
               "bk": "k_proj.bias", "Wv": "v_proj.weight", "bv": "v_proj.bias"}


def mirror_links(twin, keys):
    """(param links, state links) between a scratch Composite's dotted names and a twin
    whose modules carry the same names ("stage1.conv1.W" <-> "stage1.conv1.weight").

    Matrices of linear maps (nn.Linear, the packed in_proj) are transposed: the book
    stores them (in, out).  Every BatchNorm's running statistics are state.
    """
    params = []
    for key in keys:
        *path, name = key.split(".")
        target = ".".join(path + [TORCH_NAMES[name]])
        *owner, leaf = target.split(".")
        module = twin.get_submodule(".".join(owner))
        linear = (isinstance(module, nn.Linear) and leaf == "weight") or leaf == "in_proj_weight"
        params.append(Link(key, target, "transpose" if linear else "same"))
    state = [Link(f"{name}.{s}", f"{name}.{s}") for name, m in twin.named_modules()
             if hasattr(m, "running_var") for s in ("running_mean", "running_var")]
    return tuple(params), tuple(state)


def cast_params(params, dtype):
    return {k: v.astype(NP_DTYPE[dtype]) for k, v in params.items()}


@dataclass
class Outcome:
    """One run: ``curve`` has step, one loss column pair per loss (``<loss>_scratch``,
    ``<loss>_torch``), ``param_gap`` (max |scratch - torch| over all parameters / the
    largest |parameter|) and seconds per side; ``extra`` holds run-specific results."""

    name: str
    dtype: str
    losses: tuple
    curve: pd.DataFrame
    extra: dict = field(default_factory=dict)


def param_gap(params, twin, links):
    theirs = read_from_torch(twin, links)
    scale = max(float(np.abs(v).max()) for v in theirs.values())
    return max(float(np.abs(params[k] - v).max()) for k, v in theirs.items()) / scale


def side_by_side(name, dtype, steps, losses, scratch_step, torch_step, gap):
    """Run ``scratch_step(k)`` and ``torch_step(k)`` (each -> tuple of losses) for k = 1..steps;
    ``gap()`` -> the relative parameter gap after both stepped."""
    rows = []
    for k in range(1, steps + 1):
        t0 = time.perf_counter()
        ours = scratch_step(k)
        t1 = time.perf_counter()
        theirs = torch_step(k)
        t2 = time.perf_counter()
        row = {"step": k, "param_gap": gap(), "s_scratch": t1 - t0, "s_torch": t2 - t1}
        for loss, a, b in zip(losses, ours, theirs):
            row |= {f"{loss}_scratch": float(a), f"{loss}_torch": float(b)}
        rows.append(row)
    curve = pd.DataFrame(rows)
    return Outcome(name, dtype, losses, curve)


def twin_tensors(twin, links):
    return [torch_tensor(twin, link.torch) for link in links]


def supervised_side_by_side(name, dtype, steps, net, twin, links, optimizers, batch):
    """side_by_side for a net trained on one loss: ``batch(k)`` -> the step's NumPy inputs,
    fed to net.loss(..., train_flg=True) and (as tensors) to the twin in training mode;
    ``optimizers`` (scratch's, torch's) step both."""
    s_opt, t_opt = optimizers

    def scratch_step(k):
        loss = net.loss(*batch(k), train_flg=True)
        net.backward()
        s_opt.update(net.params, net.grads)
        return (loss,)

    def torch_step(k):
        inputs = [torch.from_numpy(a) for a in batch(k)]
        t_opt.zero_grad(set_to_none=True)
        loss = twin(*inputs)
        loss.backward()
        t_opt.step()
        return (loss.item(),)

    twin.train()
    return side_by_side(name, dtype, steps, ("loss",), scratch_step, torch_step,
                        lambda: param_gap(net.params, twin, links))


# ---- ResNet on MNIST -------------------------------------------------------------
RESNET_WIDTHS, RESNET_BATCH, RESNET_LR = (4, 8, 16), 50, 0.1


QUICK_IMAGE, QUICK_BATCH = (1, 12, 12), 8


def training_images(flatten, dtype, quick):
    """MNIST's training set (x, t), or for ``quick`` runs 32 seeded random images in
    [0, 1) with labels (12x12, or 784 values flattened): they need no MNIST files."""
    if not quick:
        return load_mnist(flatten, dtype)[0]
    shape = (784,) if flatten else QUICK_IMAGE
    rng = source("synthetic images", *shape)
    n = 4 * QUICK_BATCH
    return rng.random((n, *shape)).astype(NP_DTYPE[dtype]), rng.integers(0, 10, n)


def resnet_run(dtype, steps=STEPS, seed=0, quick=False):
    """3-stage ResNet, SGD lr 0.1, batch 50 of MNIST training images, both sides
    (``quick``: batches of 8 synthetic 12x12 images)."""
    x, t = training_images(False, dtype, quick)
    params = cast_params(SR.resnet_params(RESNET_WIDTHS, rng=np.random.default_rng(seed)),
                         dtype)
    net = SR.ResNet(params, len(RESNET_WIDTHS))
    twin = TR.ResNet(RESNET_WIDTHS).to(TORCH_DTYPE[dtype])
    links, state = mirror_links(twin, params)
    load_into_torch(twin, params, links)
    optimizers = SO.SGD(lr=RESNET_LR), TO.SGD(twin_tensors(twin, links), lr=RESNET_LR)
    batches = BatchSampler(len(x), QUICK_BATCH if quick else RESNET_BATCH, seed).batches(steps)
    t = t.astype(np.int64)  # torch's cross-entropy takes int64 labels
    out = supervised_side_by_side("ResNet", dtype, steps, net, twin, links, optimizers,
                                  lambda k: (x[batches[k - 1]], t[batches[k - 1]]))
    # running statistics of every BatchNorm, scratch and torch (compared by the registry)
    out.extra["running stats"] = ({l.scratch: np.asarray(scratch_attr(net, l.scratch))
                                   for l in state}, read_from_torch(twin, state))
    return out


# ---- Transformer: reverse digit sequences ------------------------------------------
VOCAB, SEQ_LEN, E, HEADS, FF, SEQ_BATCH, SEQ_DROPOUT, SEQ_LR = 10, 8, 16, 2, 32, 32, 0.1, 0.01


def transformer_params(rng):
    """Embeddings N(0, 1); linear maps N(0, 1/fan_in); LayerNorm gamma 1, beta 0; biases 0."""
    def lin(n_in, n_out):
        return rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)

    return {"embed.W": rng.standard_normal((VOCAB, E)),
            "block.self_attn.W_qkv": lin(E, 3 * E), "block.self_attn.b_qkv": np.zeros(3 * E),
            "block.self_attn.Wo": lin(E, E), "block.self_attn.bo": np.zeros(E),
            "block.norm1.gamma": np.ones(E), "block.norm1.beta": np.zeros(E),
            "block.norm2.gamma": np.ones(E), "block.norm2.beta": np.zeros(E),
            "block.linear1.W": lin(E, FF), "block.linear1.b": np.zeros(FF),
            "block.linear2.W": lin(FF, E), "block.linear2.b": np.zeros(E),
            "head.W": lin(E, VOCAB), "head.b": np.zeros(VOCAB)}


def reverse_batch(step, batch=SEQ_BATCH):
    """Random digit sequences and the same sequences reversed (the target per position)."""
    ids = source("reverse task", step).integers(0, VOCAB, size=(batch, SEQ_LEN))
    return ids, ids[:, ::-1].copy()


def dropout_sources():
    """Each dropout layer's replayed masks (a fresh set per side: both draw the same ones)."""
    return {name: replayed_masks(SEQ_DROPOUT, "reverse task", name)
            for name in ("dropout", "dropout1", "dropout2")}


def transformer_run(dtype, steps=STEPS, seed=0, quick=False):
    """One post-norm encoder block, dropout 0.1 (masks replayed), Adam (torch's) lr 0.01."""
    params = cast_params(transformer_params(source("transformer init", seed)), dtype)
    net = ST.SequenceTransformer(params, HEADS, SEQ_LEN, SEQ_DROPOUT,
                                 mask_sources=dropout_sources(), norm_first=False)
    twin = TT.SequenceTransformer(VOCAB, E, HEADS, FF, SEQ_LEN, SEQ_DROPOUT,
                                  mask_sources=dropout_sources()).to(TORCH_DTYPE[dtype])
    links, _ = mirror_links(twin, params)
    load_into_torch(twin, params, links)
    optimizers = (SO.Adam(lr=SEQ_LR, convention="torch"),
                  TO.Adam(twin_tensors(twin, links), lr=SEQ_LR, convention="torch"))
    out = supervised_side_by_side("Transformer", dtype, steps, net, twin, links, optimizers,
                                  reverse_batch)
    ids, targets = reverse_batch("held out", 256)
    twin.eval()
    with torch.no_grad():
        pred = twin(torch.from_numpy(ids)).argmax(-1).numpy()
    out.extra["token accuracy"] = {"scratch": net.accuracy(ids, targets),
                                   "torch": float(np.mean(pred == targets))}
    return out


# ---- GAN on MNIST --------------------------------------------------------------------
Z, GAN_HIDDEN, GAN_BATCH, GAN_LR, GAN_BETA1 = 16, 64, 64, 1e-3, 0.5
G_SIZES, D_SIZES = (Z, GAN_HIDDEN, 784), (784, GAN_HIDDEN, 1)
SAMPLES = 16  # images in each side's sample grid


def noise(step, which, n=GAN_BATCH):
    return source("GAN noise", step, which).standard_normal((n, Z))


def gan_run(dtype, steps=STEPS, seed=0, quick=False):
    """Alternating D and G steps, two Adam optimizers (torch's, beta1 0.5), batch 64
    (``quick``: batches of 8 synthetic images)."""
    x, _ = training_images(True, dtype, quick)
    batch = QUICK_BATCH if quick else GAN_BATCH
    g_params = cast_params(SG.mlp_params(G_SIZES, source("GAN init G", seed)), dtype)
    d_params = cast_params(SG.mlp_params(D_SIZES, source("GAN init D", seed)), dtype)
    twin = TG.GAN(G_SIZES, D_SIZES).to(TORCH_DTYPE[dtype])
    g_links, _ = book_links(twin.G)
    d_links, _ = book_links(twin.D)
    load_into_torch(twin.G, g_params, g_links)
    load_into_torch(twin.D, d_params, d_links)
    adam = dict(lr=GAN_LR, beta1=GAN_BETA1, convention="torch")
    gan = SG.GAN(g_params, d_params, SO.Adam(**adam), SO.Adam(**adam))
    twin.attach(TO.Adam(twin_tensors(twin.G, g_links), **adam),
                TO.Adam(twin_tensors(twin.D, d_links), **adam))
    batches = BatchSampler(len(x), batch, seed).batches(steps)
    tdtype = TORCH_DTYPE[dtype]

    def z(step, which):
        return noise(step, which, batch).astype(NP_DTYPE[dtype])

    def scratch_step(k):
        return gan.train_step(x[batches[k - 1]], z(k, "D"), z(k, "G"))

    def torch_step(k):
        real = torch.from_numpy(x[batches[k - 1]]).to(tdtype)
        return twin.train_step(real, torch.from_numpy(z(k, "D")), torch.from_numpy(z(k, "G")))

    def gap():
        return max(param_gap(gan.G.params, twin.G, g_links),
                   param_gap(gan.D.params, twin.D, d_links))

    out = side_by_side("GAN", dtype, steps, ("D loss", "G loss"), scratch_step, torch_step, gap)
    fixed = noise("samples", "fixed", SAMPLES).astype(NP_DTYPE[dtype])
    out.extra["samples"] = {"scratch": gan.sample(fixed),
                            "torch": twin.sample(torch.from_numpy(fixed)).numpy()}
    return out


# ---- REINFORCE on the corridor --------------------------------------------------------
GAME = SP.Corridor(length=9, max_steps=20, step_cost=0.05)
POLICY_HIDDEN, EPISODES, POLICY_LR, GAMMA = 16, 8, 0.003, 0.9


def policy_params(rng):
    n = GAME.length
    return {"W1": rng.standard_normal((n, POLICY_HIDDEN)) / np.sqrt(n),
            "b1": np.zeros(POLICY_HIDDEN),
            "W2": rng.standard_normal((POLICY_HIDDEN, 2)) / np.sqrt(POLICY_HIDDEN),
            "b2": np.zeros(2)}


def policy_run(dtype, steps=STEPS, seed=0, quick=False):
    """8 episodes per update, recorded with the scratch policy and replayed on both sides;
    Adam (torch's) lr 0.003.  Also plays torch's own episodes with the same random
    numbers: ``extra["action mismatches"]`` counts steps where its choice differed."""
    params = cast_params(policy_params(source("policy init", seed)), dtype)
    net = SP.PolicyNetwork(params)
    twin = TP.PolicyNetwork(GAME.length, POLICY_HIDDEN).to(TORCH_DTYPE[dtype])
    links, _ = book_links(twin)
    load_into_torch(twin, params, links)
    loss_fn = TP.ReinforceLoss()
    s_opt = SO.Adam(lr=POLICY_LR, convention="torch")
    t_opt = TO.Adam(twin_tensors(twin, links), lr=POLICY_LR, convention="torch")
    cast = NP_DTYPE[dtype]
    recorded, return_curve, mismatches = {}, [], [0]

    def torch_probs(states):
        with torch.no_grad():
            return torch.softmax(twin(torch.from_numpy(states.astype(cast))), -1).numpy()

    def scratch_step(k):
        uniforms = source("policy episodes", k).random((EPISODES, GAME.max_steps))
        episodes = SP.play(GAME, lambda s: net.probs(s.astype(cast)), uniforms)
        own = SP.play(GAME, torch_probs, uniforms)  # torch's choices, same numbers
        same = len(own.actions) == len(episodes.actions) and np.array_equal(
            own.actions, episodes.actions)
        mismatches[0] += 0 if same else 1
        recorded[k] = episodes
        return_curve.append((episodes.episode_returns.mean(), own.episode_returns.mean()))
        returns = SP.discounted_returns(episodes.rewards, episodes.ends, GAMMA)
        loss = net.loss(GAME.one_hot(episodes.states).astype(cast), episodes.actions,
                        SP.advantages(returns).astype(cast))
        net.backward()
        s_opt.update(net.params, net.grads)
        return (loss,)

    def torch_step(k):
        e = recorded[k]
        returns = TP.discounted_returns(torch.from_numpy(e.rewards.astype(cast)), e.ends, GAMMA)
        t_opt.zero_grad(set_to_none=True)
        loss = loss_fn(twin(torch.from_numpy(GAME.one_hot(e.states).astype(cast))),
                       torch.from_numpy(e.actions), TP.advantages(returns))
        loss.backward()
        t_opt.step()
        return (loss.item(),)

    out = side_by_side("Policy gradient", dtype, steps, ("loss",), scratch_step, torch_step,
                       lambda: param_gap(net.params, twin, links))
    out.curve["return_scratch"] = [r[0] for r in return_curve]
    out.curve["return_torch"] = [r[1] for r in return_curve]
    out.extra["batches with different actions"] = mismatches[0]
    return out


# name -> run(dtype, steps, quick=False) -> Outcome; ``quick`` swaps MNIST for synthetic
# images (the Transformer and the policy have no data to load and ignore it)
RUNS: dict[str, Callable] = {"ResNet": resnet_run, "Transformer": transformer_run,
                             "GAN": gan_run, "Policy gradient": policy_run}
MNIST_RUNS = ("ResNet", "GAN")  # the runs that train on MNIST (Skipped without it)
DESCRIPTIONS = {
    "ResNet": f"3 residual stages (widths {RESNET_WIDTHS}), MNIST batch {RESNET_BATCH}, "
              f"SGD lr {RESNET_LR}",
    "Transformer": f"reverse {SEQ_LEN} digits: embedding {E}, {HEADS} heads, ff {FF}, "
                   f"dropout {SEQ_DROPOUT}, Adam lr {SEQ_LR}, batch {SEQ_BATCH}",
    "GAN": f"MLP G {G_SIZES} / D {D_SIZES}, MNIST batch {GAN_BATCH}, two Adam "
           f"(lr {GAN_LR}, beta1 {GAN_BETA1})",
    "Policy gradient": f"REINFORCE + mean baseline, corridor of {GAME.length}, "
                       f"{EPISODES} episodes/update, Adam lr {POLICY_LR}",
}
