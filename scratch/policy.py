"""Policy gradient (REINFORCE with a baseline), the learning rule under AlphaGo's policy
network -- the study notes' "applications" chapter, on a game small enough to read.

The game: a corridor of ``length`` cells; the agent starts in the middle and steps
left (action 0) or right (action 1).  Reaching the right end pays +1, the left end -1,
both end the episode; every other step costs ``step_cost`` (so a straight walk right
earns the most), and after ``max_steps`` steps the episode ends.  Deterministic: the only
randomness is the policy's own choice.

The policy: one-hot cell -> Affine -> Tanh -> Affine -> softmax over the two actions.
REINFORCE (Williams 1992): raise log pi(a_t | s_t) in proportion to how much better
than usual the return G_t after it was:
    loss = -mean_t (G_t - b) log pi(a_t | s_t),   b = the mean return of the batch,
a baseline that leaves the expected gradient unchanged and lowers its variance.
"""

from dataclasses import dataclass

import numpy as np

from scratch.functions import log_softmax, softmax
from scratch.layers import Affine, Layer, Tanh


@dataclass(frozen=True)
class Corridor:
    length: int = 7
    max_steps: int = 12
    step_cost: float = 0.0

    @property
    def start(self):
        return self.length // 2

    def step(self, cell, action):
        """(next cell, reward, done)."""
        cell = cell + (1 if action == 1 else -1)
        if cell == self.length - 1:
            return cell, 1.0, True
        if cell == 0:
            return cell, -1.0, True
        return cell, -self.step_cost, False

    def one_hot(self, cells):
        return np.eye(self.length)[np.asarray(cells)]


@dataclass
class Episodes:
    """A batch of recorded episodes, flattened over time steps."""

    states: np.ndarray  # (steps,) cell before each action
    actions: np.ndarray  # (steps,) the action taken
    rewards: np.ndarray  # (steps,) the reward that action earned
    ends: np.ndarray  # (steps,) True at the last step of an episode
    episode_returns: np.ndarray  # (episodes,) undiscounted total reward


def play(game, policy_probs, uniforms):
    """Play ``len(uniforms)`` episodes; action = 1 when u > pi(left | s), u drawn in advance
    (``uniforms``: (episodes, max_steps)), so the same numbers replay the same choices.
    ``policy_probs(one_hot_states) -> (n, 2)`` probabilities."""
    states, actions, rewards, ends, totals = [], [], [], [], []
    for u in uniforms:
        cell, total = game.start, 0.0
        for t in range(game.max_steps):
            p_left = policy_probs(game.one_hot([cell]))[0, 0]
            action = int(u[t] > p_left)
            states.append(cell)
            actions.append(action)
            cell, reward, done = game.step(cell, action)
            rewards.append(reward)
            total += reward
            ends.append(done or t == game.max_steps - 1)
            if done:
                break
        totals.append(total)
    return Episodes(np.array(states), np.array(actions), np.array(rewards), np.array(ends),
                    np.array(totals))


def discounted_returns(rewards, ends, gamma):
    """G_t = r_t + gamma r_{t+1} + ... up to the end of t's episode (back to front)."""
    returns = np.zeros(len(rewards))
    g = 0.0
    for i in reversed(range(len(rewards))):
        g = rewards[i] + (0.0 if ends[i] else gamma * g)
        returns[i] = g
    return returns


def advantages(returns):
    """G_t minus the baseline, the batch's mean return."""
    return returns - returns.mean()


class ReinforceLoss(Layer):
    """-mean(advantage * log softmax(logits)[action]) over the recorded steps.
    Backward: (softmax - onehot(action)) * advantage / steps -- cross-entropy's gradient,
    each step weighted by its advantage."""

    def forward(self, logits, actions, advantages):
        self.y = softmax(logits)
        self.actions = actions
        self.advantages = advantages.astype(logits.dtype)
        picked = log_softmax(logits)[np.arange(len(actions)), actions]
        return -np.sum(self.advantages * picked) / logits.dtype.type(len(actions))

    def backward(self, dout=1):
        d = self.y.copy()
        d[np.arange(len(self.actions)), self.actions] -= 1
        return d * (self.advantages[:, None] * (dout / d.dtype.type(len(self.actions))))


class PolicyNetwork:
    def __init__(self, params):
        self.params = params
        self.layers = {"1": Affine(params["W1"], params["b1"]), "": Tanh(),
                       "2": Affine(params["W2"], params["b2"])}
        self.loss_layer = ReinforceLoss()
        self.grads = {}

    def logits(self, states):
        x = states
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def probs(self, states):
        return softmax(self.logits(states))

    def loss(self, states, actions, advantages):
        return self.loss_layer.forward(self.logits(states), actions, advantages)

    def backward(self, dout=1):
        d = self.loss_layer.backward(dout)
        for layer in reversed(self.layers.values()):
            d = layer.backward(d)
        self.grads = {k + i: g for i, layer in self.layers.items() for k, g in layer.grads.items()}

