"""Explaining broken twins to a learner.

When a twin crashes instead of computing, the raw traceback ("'SimpleCNN' object
has no attribute 'fc1'") is where a learner gets stuck.  ``explain_failure``
turns the common cases into what is wrong and what to change.
"""

import difflib
import re

_MISSING = re.compile(r"object has no attribute '(\w+)'")


def explain_failure(module, err):
    """One paragraph a learner can act on, for an exception raised by ``module``'s forward."""
    cls = type(module).__name__
    match = _MISSING.search(str(err))
    if isinstance(err, AttributeError) and match:
        missing = match.group(1)
        defined = {name: type(child).__name__ for name, child in module.named_children()}
        listing = ", ".join(f"self.{n} ({t})" for n, t in defined.items()) or "none"
        close = difflib.get_close_matches(missing, defined, n=1, cutoff=0.4)
        fix = (f"use self.{close[0]} in forward, or rename self.{close[0]} to self.{missing} "
               f"in __init__" if close else f"define self.{missing} in __init__")
        return (f"{cls}.forward uses self.{missing}, but __init__ never defines it. "
                f"Layers defined in __init__: {listing}. Fix: {fix}.")
    return f"{cls}.forward raised {type(err).__name__}: {err}"
