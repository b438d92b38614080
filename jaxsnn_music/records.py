"""Records: what every layer writes next to its numbers.

Two helpers that checkpoints, tuning runs, evaluations, experiments and benchmarks
all need, kept here once, below everything else of the package (this module imports
nothing from it):

- :func:`jsonable`: a result as strict JSON (``w_max = inf`` is a real setting, and
  NumPy hands out its own scalar types);
- :func:`machine`: a description of the machine a number was measured on.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` as strict JSON, recursively.

    NumPy scalars and arrays become Python values and lists, non-finite floats become
    text (``"inf"``, ``"nan"``: a manifest then compares equal after a round trip),
    paths become text, tuples become lists and mapping keys become text. Anything else
    is returned as it is.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def machine() -> dict[str, Any]:
    """The machine a result was measured on: CPU, memory, versions, JAX's devices, the
    package's git commit and the load average (other processes skew every time).

    **Returns:** ``{"platform", "machine" (the architecture), "cpu_model", "cpu_count",
    "memory_gib", "python", "numpy", "jax", "jaxlib", "backend", "devices", "device_kind",
    "gpu", "package", "git_commit", "load_average_at_start"}``.
    """
    import jax
    import jaxlib
    import psutil

    model = platform.processor()
    try:
        model = next((line.split(":", 1)[1].strip() for line in
                      Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), model)
    except OSError:
        pass
    package = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=package, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    devices = jax.devices()
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu_model": model,
            "cpu_count": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "numpy": np.__version__, "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "backend": jax.default_backend(),
            "devices": [str(d) for d in devices], "device_kind": devices[0].device_kind,
            "gpu": any(d.platform == "gpu" for d in devices),
            "package": str(package), "git_commit": commit,
            "load_average_at_start": list(psutil.getloadavg())}
