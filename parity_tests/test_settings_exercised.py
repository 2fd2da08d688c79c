"""Every setting of every scratch class is exercised away from its default by some entry.

A setting that every entry leaves at its default is compared with torch only at that
default: a cosine schedule that ignores ``eta_min`` passed everything while every entry
used ``eta_min=0``.  This test lists the constructor parameters of every class in every
``scratch`` module (pkgutil: new modules and classes are picked up), builds the scratch
side of every registry entry that ``make parity`` runs (construction only -- no entry is
run), records each constructor call's arguments, and fails on any parameter with a
default that no entry ever sets to another value.
"""

import importlib
import inspect
import pkgutil
import sys
from collections import defaultdict

import numpy as np
import pytest

import scratch
from parity.engine.layer_pair import LayerPair
from parity.engine.optim_pair import OptimizerPair
from parity.engine.probes import ConventionGap, SameResults
from parity.engine.registry import load_all
from parity.experiments.training import prepare
from parity.pairs.applications import ApplicationRun
from parity.pairs.training import TrainingRun

# Parameters that are not behaviour, each with the reason.  Keep it short: a behaviour
# setting belongs in the registry, with its torch twin configured to match.
EXEMPT = {
    "rng": "the random source of the initial weights; the rule is checked per layer "
           "(test_model_init.py) and by the initializer entries",
    "params": "None means 'draw them by the model's rule' (test_model_init.py); every entry "
              "passes its own",
    "dropout_masks": "where masks come from (None: the book's random draw); entries inject "
                     "replayed masks so both sides drop the same units",
    "mask_source": "as dropout_masks, for one Dropout layer",
    "weight_init_std": "used only when params is None (every entry passes params): the "
                       "init rule, at default and other values, is test_model_init.py's",
    "chunk": "a speed knob: the batch in blocks; blocks of 1, 3, 7 images are proven equal "
             "to the default in test_conv.py",
}


def scratch_classes():
    """{class: [names of its own __init__'s parameters that have a default]}."""
    found = {}
    for info in pkgutil.iter_modules(scratch.__path__):
        module = importlib.import_module(f"scratch.{info.name}")
        for cls in vars(module).values():
            if (inspect.isclass(cls) and cls.__module__ == module.__name__
                    and "__init__" in vars(cls)):
                found[cls] = [p.name for p in inspect.signature(cls.__init__).parameters.values()
                              if p.default is not inspect.Parameter.empty]
    return found


def owner(cls, name):
    """The class in ``cls``'s MRO whose own __init__ declares parameter ``name``."""
    for base in cls.__mro__:
        init = vars(base).get("__init__")
        if init and name in inspect.signature(init).parameters:
            return base
    return None


def differs(value, default):
    if value is default:
        return False
    try:
        return bool(np.any(value != default)) if np.ndim(value) or np.ndim(default) else (
            value != default or type(value) is not type(default))
    except (TypeError, ValueError):
        return True


class Recorder:
    """Wraps every scratch class's __init__; records the outermost call per object.

    Only the outermost call counts: a subclass that passes its own default on to its
    parent (TwoLayerNet's weight_init_std=0.01 to MultiLayerNet, whose default is 'relu')
    does not exercise the parent's setting.  Arguments gathered by ``**kwargs`` count for
    the ancestor that declares them (SGD(decay_keys=...) sets Optimizer's decay_keys).
    """

    def __init__(self, classes):
        self.classes, self.varied, self.built = classes, defaultdict(set), set()
        self._inside = set()

    def install(self, monkeypatch):
        for cls in self.classes:
            monkeypatch.setattr(cls, "__init__", self._wrap(cls, vars(cls)["__init__"]))

    def _wrap(self, cls, init):
        signature = inspect.signature(init)

        def recording_init(obj, *args, **kwargs):
            if id(obj) in self._inside:  # a super().__init__ call
                return init(obj, *args, **kwargs)
            self._inside.add(id(obj))
            try:
                self.record(type(obj), cls, signature, obj, args, kwargs)
                return init(obj, *args, **kwargs)
            finally:
                self._inside.discard(id(obj))

        recording_init.__signature__ = signature
        return recording_init

    def record_module_level(self, modules):
        """Objects the entries' modules built at import, before the recorder was installed
        (e.g. a game's settings as a module constant): their constructor arguments, as
        kept on the object under the same names (dataclasses keep them all)."""
        for module in modules:
            for obj in list(vars(module).values()):
                cls = type(obj)
                if cls in self.classes:
                    signature = inspect.signature(vars(cls)["__init__"])
                    kept = {name: getattr(obj, name) for name in signature.parameters
                            if name != "self" and hasattr(obj, name)}
                    self.record(cls, cls, signature, obj, (), kept)

    def record(self, built, cls, signature, obj, args, kwargs):
        self.built.add(built)
        bound = signature.bind(obj, *args, **kwargs).arguments
        for name, value in bound.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                for key, val in value.items():
                    base = owner(cls, key)
                    if base and differs(val, inspect.signature(
                            vars(base)["__init__"]).parameters[key].default):
                        self.varied[base].add(key)
            elif signature.parameters[name].default is inspect.Parameter.empty:
                continue  # required: no default to leave
            elif differs(value, signature.parameters[name].default):
                self.varied[cls].add(name)


def build_scratch_side(entry):
    """Construct what ``entry``'s scratch side constructs when it runs, and nothing more."""
    if isinstance(entry, LayerPair):
        entry.scratch(entry._params(np.random.default_rng(0), "float64"))
    elif isinstance(entry, OptimizerPair):
        for trajectory in entry.trajectories:
            opt = entry.scratch(entry.lr * trajectory.lr_scale, trajectory.weight_decay)
            if trajectory.schedule.scratch:
                trajectory.schedule.scratch(opt)
    elif isinstance(entry, TrainingRun):
        prepare(entry.model, entry.optimizer, entry.dtypes[0])
    elif isinstance(entry, ApplicationRun):
        entry.run("float64")  # its networks are built inside the run (3 quick steps)
    elif isinstance(entry, (ConventionGap, SameResults)):
        pass  # it reruns two registered entries' scratch sides: built there
    else:  # the other kinds (perceptron, augmentation, MNIST, notes, published weights,
        # initializers) construct only scratch classes without settings, or none
        return type(entry).__name__
    return None


@pytest.fixture(scope="module")
def exercised():
    classes = scratch_classes()
    recorder = Recorder(classes)
    with pytest.MonkeyPatch.context() as mp:
        recorder.install(mp)
        others = {build_scratch_side(e) for e in load_all() if not getattr(e, "slow", False)}
    recorder.record_module_level(m for name, m in list(sys.modules.items())
                                 if name.startswith("parity.") and m is not None)
    return classes, recorder, others - {None}


# The entry kinds that build_scratch_side does not construct: each builds no scratch class
# that has a setting (checked below, so a new setting there fails this test).
UNBUILT_KINDS = {"AugmentPair", "InitPair", "MnistLoaders", "NotesSimpleCNN",
                 "NotesSigmoidSnippet", "PerceptronLearning", "BookWeights"}


def test_every_entry_kind_is_built_or_known(exercised):
    _, _, others = exercised
    assert others <= UNBUILT_KINDS, f"teach build_scratch_side to build {others - UNBUILT_KINDS}"


def test_every_scratch_setting_is_exercised_at_a_non_default_value(exercised):
    classes, recorder, _ = exercised
    never_built = sorted(c.__name__ for c, names in classes.items()
                         if c not in recorder.built and set(names) - set(EXEMPT)
                         and not any(issubclass(b, c) for b in recorder.built))
    assert not never_built, f"never constructed by any entry: {never_built}"
    missing = {f"{c.__module__}.{c.__name__}": sorted(set(names) - recorder.varied[c]
                                                        - set(EXEMPT))
               for c, names in classes.items()}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"settings only ever at their default: {missing}"


def test_the_recorder_sees_a_setting_left_at_its_default(monkeypatch):
    """The recorder bites: a cosine entry with eta_min at its default leaves it unexercised,
    and a subclass passing its own default to its parent does not count for the parent."""
    import scratch.models as SM
    import scratch.optimizers as SO
    import scratch.schedules as SS

    classes = scratch_classes()
    recorder = Recorder(classes)
    recorder.install(monkeypatch)
    opt = SO.SGD(0.1, decay_keys=("W1",))
    SS.CosineAnnealing(opt, 25)
    SS.LinearWarmup(opt, 5, start_factor=0.1)  # passed, but equal to the default
    SM.TwoLayerNet(4, 3, 2, rng=np.random.default_rng(0))
    assert "eta_min" not in recorder.varied[SS.CosineAnnealing]
    assert "start_factor" not in recorder.varied[SS.LinearWarmup]
    assert recorder.varied[SO.Optimizer] == {"decay_keys"}
    assert recorder.varied[SM.TwoLayerNet] == {"input_size", "hidden_size", "output_size",
                                               "rng"}
    assert "weight_init_std" not in recorder.varied[SM.MultiLayerNet]
    SS.CosineAnnealing(opt, 25, eta_min=0.01)
    assert "eta_min" in recorder.varied[SS.CosineAnnealing]


def test_a_cosine_schedule_that_ignores_eta_min_is_caught(monkeypatch):
    """The issue's example: caught by the eta_min entry (``python -m parity -k eta_min``)."""
    import math

    import scratch.schedules as SS
    from parity.engine.runner import run_entries

    def ignoring_eta_min(self, t):
        return self.base_lr * (1 + math.cos(math.pi * t / self.t_max)) / 2

    honest, _ = run_entries(select="eta_min")
    assert honest and all(c.passed for c in honest)
    monkeypatch.setattr(SS.CosineAnnealing, "lr_at", ignoring_eta_min)
    checks, _ = run_entries(select="eta_min")
    assert {c.quantity for c in checks if not c.passed} >= {"lr", "step25/W1"}
