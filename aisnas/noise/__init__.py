"""Analog non-ideality injection for any torch CNN (GUIDE.md section 3).

Noise enters at each convolution's analog MAC output: after the BN that hardware
folds into the conv, before the nonlinearity (`find_noise_sites`). A `NoiseSpec`
says what kind and how much; a `NoiseInjector` applies it to a model inside a `with`
block and leaves the model untouched afterwards.

    spec = NoiseSpec(kind="additive", sigma=0.1)           # relative to clean RMS
    with NoiseInjector(model.eval(), spec, seed=r, calibration=x_cal):
        acc = evaluate(model)
    record["noise"] = spec.describe()

Defaults: mode="relative" (sigma is a fraction of each site's clean output RMS, so
noise cannot be dodged by rescaling), sites="all".
"""

from aisnas.noise._calibrate import calibrate_rms
from aisnas.noise._injector import NoiseInjector
from aisnas.noise._sites import find_noise_sites
from aisnas.noise._spec import NOISE_KINDS, NOISE_MODES, NOISE_SCOPES, NoiseSpec, NoiseSpecError

__all__ = [
    "NOISE_KINDS",
    "NOISE_MODES",
    "NOISE_SCOPES",
    "NoiseInjector",
    "NoiseSpec",
    "NoiseSpecError",
    "calibrate_rms",
    "find_noise_sites",
]
