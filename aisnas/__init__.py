"""aisnas: hardware-aware neural architecture search for analog in-sensor CNNs.

The data flows study file -> search space -> architecture -> model -> training ->
evaluation (clean, noisy, quantized) -> PPA -> Optuna trial -> report; each step is a
subpackage with a small public interface, and the CLI (`aisnas.cli`) is a thin layer
over them.
"""

__version__ = "0.1.0"

from aisnas.errors import AisnasError

__all__ = ["AisnasError", "__version__"]
