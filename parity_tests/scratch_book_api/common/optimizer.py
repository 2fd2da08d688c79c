from scratch.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop  # noqa: F401
