"""Mutants that survive ``make mutate``, each with its argument (parity.mutation reads this).

Key: mutmut's mutant name.  Value: (kind, one line) where kind is
  "equivalent"  the mutant computes the same thing (it counts out of the score), or
  "missing"     a real bug no check catches yet: the line says which check would.
A survivor missing here is reported as NOT ARGUED.
"""

EQ, MISSING = "equivalent", "missing"

# Arguments shared by several mutants (each still listed by name below).
NEGATIVE_RESHAPE = ("NumPy (2.4) reads any negative size in reshape as 'the rest': "
                    "reshape(n, -2) == reshape(n, -1)")
ASTYPE_COPY = ("copy=False only spares a copy when the dtype already matches; nothing "
               "writes to the result")
NO_GRADS_NAME = ("the key of an activation layer (no parameters) is never read: its grads "
                 "dict is empty, so no gradient name is built from it")
GRADS_BEFORE_BACKWARD = "grads is only read after backward, which replaces the whole dict"
NONE_IS_FALSE = "None is falsy where this flag is read (if/else on it): same branch as False"
LAST_TWO_AXES = "shape[2:] is shape[-2:] for the 4-D (N, C, H, W) arrays these always get"
CHECK_DOUT_NONE = "check_dout raises the same CallOrderError for None as for a missing shape"
DOUT_FAST_PATH = ("only check_dout's fast path (an array's .shape) is skipped: np.shape(dout) "
                  "below gives the same verdict and message")

SURVIVORS = {
    # ---- scratch/checks.py
    "scratch.checks.x_check_dout__mutmut_12": (EQ, DOUT_FAST_PATH),
    "scratch.checks.x_check_dout__mutmut_17": (EQ, DOUT_FAST_PATH),
    "scratch.checks.x_check_dout__mutmut_18": (EQ, DOUT_FAST_PATH),
    "scratch.checks.x_check_dout__mutmut_16": (
        MISSING, "getattr without a default raises AttributeError for a dout with no .shape "
                 "(a list); no check passes a list as dout"),
    "scratch.checks.x_check_labels__mutmut_12": (
        EQ, "'XXiuXX' holds 'i' and 'u' and 'X', which is no NumPy dtype kind"),
    # ---- scratch/functions.py
    "scratch.functions.x_as_target_distribution__mutmut_8": (EQ, ASTYPE_COPY),
    "scratch.functions.x_as_target_distribution__mutmut_10": (EQ, ASTYPE_COPY),
    "scratch.functions.x_as_target_distribution__mutmut_11": (EQ, ASTYPE_COPY),
    "scratch.functions.x_cross_entropy_error__mutmut_13": (EQ, NEGATIVE_RESHAPE),
    "scratch.functions.x_cross_entropy_error__mutmut_22": (EQ, NEGATIVE_RESHAPE),
    # ---- scratch/policy.py
    "scratch.policy.x_discounted_returns__mutmut_4": (
        EQ, "the initial g is multiplied by 0.0: play() ends every recorded batch with an "
            "episode end (done or max_steps)"),
    "scratch.policy.xǁPolicyNetworkǁ__init____mutmut_12": (EQ, NO_GRADS_NAME),
    "scratch.policy.xǁPolicyNetworkǁ__init____mutmut_23": (EQ, GRADS_BEFORE_BACKWARD),
    # ---- scratch/perceptron.py
    "scratch.perceptron.xǁXORǁforward__mutmut_12": (
        EQ, "stacking two (N,) gate outputs on axis +1 or -1 is the same for the documented "
            "batched (N, 2) input"),
    # ---- scratch/gan.py
    "scratch.gan.xǁMLPǁ__init____mutmut_24": (EQ, NO_GRADS_NAME),
    "scratch.gan.xǁMLPǁ__init____mutmut_27": (EQ, NO_GRADS_NAME),
    "scratch.gan.xǁMLPǁ__init____mutmut_28": (EQ, GRADS_BEFORE_BACKWARD),
    # ---- scratch/regularization.py
    "scratch.regularization.xǁWeightDecayǁbackward__mutmut_12": (
        EQ, "np.array's copy defaults to True: the same call"),
    # ---- scratch/augment.py
    "scratch.augment.x__read__mutmut_20": (
        EQ, "a negative row is masked to 0 by `inside`; unclipped it wraps to a valid index "
            "(a rotated grid leaves the image by less than its size)"),
    "scratch.augment.x__read__mutmut_27": (
        EQ, "a negative column is masked to 0 by `inside`; unclipped it wraps to a valid "
            "index (a rotated grid leaves the image by less than its size)"),
    "scratch.augment.x_augment_batch__mutmut_2": (
        EQ, "x.shape[2:] is x.shape[-2:] for the (N, C, H, W) batches augment_batch takes"),
    "scratch.augment.x_shift__mutmut_7": (
        EQ, "x.shape[2:] is x.shape[-2:] for the (N, C, H, W) batches shift takes"),
    "scratch.augment.x_shift__mutmut_3": (
        EQ, "initial only matters for an empty batch, which np.stack in crop refuses "
            "either way"),
    "scratch.augment.x_shift__mutmut_5": (
        EQ, "a zero border of at least 1 instead of 0 when no image moves: the crop takes "
            "the same window"),
    # ---- parity/experiments/augment_plan.py
    "parity.experiments.augment_plan.x_draw_plan__mutmut_41": (
        EQ, "rng.integers(7) is rng.integers(0, 7): same range, same draws"),
    "parity.experiments.augment_plan.x_draw_plan__mutmut_53": (
        EQ, "< 0.5 and <= 0.5 differ only when rng.random() returns exactly 0.5 "
            "(probability 2**-53 per draw)"),
    "parity.experiments.training.x_train_side_by_side__mutmut_36": (
        EQ, "set_to_none only picks how torch clears .grad (None or zeros): the next "
            "backward writes the same gradient either way"),
    "parity.experiments.training.x_train_side_by_side__mutmut_37": (
        EQ, "set_to_none only picks how torch clears .grad (None or zeros): the next "
            "backward writes the same gradient either way"),
    "parity.experiments.training.x_train_side_by_side__mutmut_53": (
        MISSING, "the timing columns (s_scratch) are measured, never checked"),
    "parity.experiments.training.x_train_side_by_side__mutmut_56": (
        MISSING, "the timing columns (s_torch) are measured, never checked"),
    "parity.experiments.training.x_train_side_by_side__mutmut_63": (
        MISSING, "the curve's rel_gap column is reported, no check recomputes it"),
    "parity.engine.inputs.x_labels__mutmut_4": (
        EQ, "rng.integers(n) is rng.integers(0, n): same range, same draws"),
    "parity.engine.inputs.x_source__mutmut_3": (
        MISSING, "a different key separator reseeds every input; both sides get the same "
                 "numbers, so only a check against recorded values would see it"),
    # ---- scratch/optimizers.py
    "scratch.optimizers.xǁRMSpropǁ__init____mutmut_14": (EQ, NONE_IS_FALSE),
    # ---- scratch/layers.py
    "scratch.layers.xǁFlattenǁbackward__mutmut_10": (
        EQ, "check_dout raises the same CallOrderError for None as for a missing shape"),
    "scratch.layers.xǁFlattenǁforward__mutmut_8": (EQ, NEGATIVE_RESHAPE),
    "scratch.layers.xǁBatchNormalizationǁbackward__mutmut_10": (EQ, CHECK_DOUT_NONE),
    "scratch.layers.xǁBatchNormalizationǁ_per_feature__mutmut_5": (EQ, NEGATIVE_RESHAPE),
    "scratch.layers.xǁSoftmaxWithLossǁforward__mutmut_17": (EQ, NEGATIVE_RESHAPE),
    "scratch.layers.xǁSoftmaxWithLossǁforward__mutmut_26": (EQ, NEGATIVE_RESHAPE),
    "scratch.layers.xǁDropoutǁ__init____mutmut_11": (EQ, NONE_IS_FALSE),
    "scratch.layers.xǁDropoutǁ__init____mutmut_32": (
        EQ, "> and >= differ only when rng.random() returns exactly the ratio "
            "(probability 2**-53 per draw)"),
    # ---- scratch/weights.py
    "scratch.weights.x_load_npz__mutmut_2": (
        EQ, "np.load refuses object arrays unless allow_pickle is truthy: None refuses"),
    "scratch.weights.x_load_npz__mutmut_4": (EQ, "np.load's allow_pickle defaults to False"),
    # ---- scratch/conv.py
    "scratch.conv.x_crop__mutmut_2": (EQ, LAST_TWO_AXES),
    "scratch.conv.xǁ_Poolǁtaps__mutmut_10": (EQ, LAST_TWO_AXES),
    "scratch.conv.x_im2col__mutmut_57": (EQ, NEGATIVE_RESHAPE),
    "scratch.conv.xǁConvolutionǁbackward__mutmut_37": (EQ, NEGATIVE_RESHAPE),
    "scratch.conv.xǁConvolutionǁbackward__mutmut_56": (EQ, NEGATIVE_RESHAPE),
    "scratch.conv.xǁConvolutionǁforward__mutmut_23": (EQ, NEGATIVE_RESHAPE),
    "scratch.conv.xǁPoolingǁforward__mutmut_20": (
        EQ, "np.maximum into a new array instead of in place: the same values in `out`"),
    "scratch.conv.xǁPoolingǁforward__mutmut_23": (
        EQ, "np.maximum into a new array instead of in place: the same values in `out`"),
    # ---- scratch/models.py
    "scratch.models.xǁSimpleCNNǁ__init____mutmut_1": (
        EQ, "image_size is the notes' signature and never read: W2's shape fixes the input"),
    "scratch.models.xǁDeepConvNetǁ__init____mutmut_131": (
        EQ, "a pooling's stride defaults to its window: stride None is stride 2 for 2x2"),
    "scratch.models.xǁDeepConvNetǁ__init____mutmut_134": (
        EQ, "a pooling's stride defaults to its window: no stride is stride 2 for 2x2"),
    "scratch.models.xǁDeepConvNetǁ__init____mutmut_71": (
        EQ, "book_init_std lower-cases the rule's name: 'HE' is 'he'"),
    "scratch.models.xǁLeNet5ǁ__init____mutmut_74": (
        EQ, "book_init_std lower-cases the rule's name: 'XAVIER' is 'xavier'"),
    # ---- scratch/resnet.py
    "scratch.resnet.xǁResNetǁ__init____mutmut_4": (EQ, NO_GRADS_NAME),
    # ---- scratch/parallel.py
    **dict.fromkeys([f"scratch.parallel.x_map_parts__mutmut_{n}" for n in (1, 4, 5, 8)], (
        EQ, "one item through the pool, a new pool per call, or a pool allowed more "
            "threads than items: the same results in the same order (only cost differs)")),
    **dict.fromkeys([f"scratch.parallel.x_map_parts__mutmut_{n}" for n in (9, 11, 12, 13)], (
        EQ, "the pool threads' name prefix: nothing reads it")),
    **dict.fromkeys([f"scratch.parallel.x__keep__mutmut_{n}" for n in (2, 6, 7)], (
        EQ, "the name of the thread-local slot the buffers live in: internal, any key works")),
    "scratch.parallel.x__keep__mutmut_19": (
        EQ, "a workspace made with zeros instead of empty: its callers overwrite all of it"),
    **dict.fromkeys([f"scratch.parallel.x_workspace__mutmut_{n}" for n in (8, 14)], (
        EQ, "a workspace made with zeros instead of empty: its callers overwrite all of it")),
    "scratch.parallel.x_blas_threads__mutmut_2": (
        MISSING, "the fallback for a NumPy without OpenBLAS (no controllers): never taken "
                 "here; a check with an empty controller list would catch it"),
    "scratch.parallel.x_blas_threads__mutmut_4": (
        MISSING, "the fallback for a NumPy without OpenBLAS (no controllers): never taken "
                 "here; a check with an empty controller list would catch it"),
    "scratch.parallel.x_blas_threads__mutmut_5": (
        MISSING, "the fallback for a NumPy without OpenBLAS (no controllers): never taken "
                 "here; a check with an empty controller list would catch it"),
    # ---- scratch/transformer.py
    "scratch.transformer.xǁLinearǁbackward__mutmut_12": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁLinearǁbackward__mutmut_19": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁLinearǁbackward__mutmut_33": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.x_erf__mutmut_2": (EQ, "astype(None) is astype(float64)"),
    "scratch.transformer.x_erf__mutmut_4": (EQ, "astype(None) is astype(float64)"),
    "scratch.transformer.xǁMultiHeadAttentionǁbackward__mutmut_17": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁMultiHeadAttentionǁbackward__mutmut_27": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁMultiHeadAttentionǁbackward__mutmut_91": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁMultiHeadAttentionǁbackward__mutmut_97": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁMultiHeadAttentionǁbackward__mutmut_107": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁSequenceTransformerǁloss__mutmut_17": (EQ, NEGATIVE_RESHAPE),
    "scratch.transformer.xǁSequenceTransformerǁloss__mutmut_22": (EQ, NEGATIVE_RESHAPE),
}
