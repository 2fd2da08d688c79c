from scratch.functions import (  # noqa: F401
    cross_entropy_error,
    mean_squared_error,
    relu,
    sigmoid,
    softmax,
    step_function,
)
