"""The frozen description of one analog non-ideality (`NoiseSpec`).

A spec is a value, not a behaviour: `NoiseInjector` reads it, and `describe()` is
stored next to every result so a number can always be traced back to the exact noise
that produced it (GUIDE.md section 3: "record the mode with every result").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from aisnas.errors import AisnasError

__all__ = ["NOISE_KINDS", "NOISE_MODES", "NOISE_SCOPES", "NoiseSpec", "NoiseSpecError"]

# Activation kinds perturb each site's output on every forward pass; weight kinds
# perturb the conv weights once per simulated chip.
NOISE_KINDS = ("additive", "correlated", "multiplicative", "weight", "drift")
NOISE_MODES = ("relative", "absolute")
NOISE_SCOPES = ("all", "in_sensor")

# Kinds whose sigma is measured against the site's clean output RMS in relative mode.
# Multiplicative noise y*(1 + sigma*eps) is already relative to each element's own
# value, and weight/drift noise have their own references, so "mode" does not apply.
_MODE_KINDS = ("additive", "correlated")

_SIGMA_MEANING = {
    "additive": {
        "relative": "std of i.i.d. Gaussian noise as a fraction of the site's clean output RMS",
        "absolute": "std of i.i.d. Gaussian noise in output units",
    },
    "correlated": {
        "relative": "per-element std of a spatially smoothed Gaussian field as a fraction "
        "of the site's clean output RMS",
        "absolute": "per-element std of a spatially smoothed Gaussian field in output units",
    },
    "multiplicative": "y * (1 + sigma * eps): std relative to each element's own value (mode ignored)",
    "weight": "W + sigma * max|W| * eps per conv layer, drawn once per chip (mode ignored)",
    "drift": "relative std of the drift exponent across devices: nu_i ~ N(drift_nu, (sigma * drift_nu)^2), "
    "clipped at 0 (mode ignored)",
}


class NoiseSpecError(AisnasError, ValueError):
    """A bad `NoiseSpec` field.

    Both an `AisnasError` (so the CLI prints one line) and a `ValueError` (so
    `aisnas.configs.from_dict` prefixes the file and table it came from).
    """


def _number(name: str, value: object) -> float:
    # bool is an int subclass; `sigma = true` in a study file is a mistake, not 1.0.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NoiseSpecError(f"{name}: got {value!r}, expected a finite number")
    return float(value)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed or not isinstance(value, str):
        raise NoiseSpecError(f"{name}: {value!r} is not one of {', '.join(repr(a) for a in allowed)}")


@dataclass(frozen=True)
class NoiseSpec:
    """One analog non-ideality and its magnitude.

    kind: one of NOISE_KINDS.
      additive        y + s*eps, eps ~ N(0, 1) i.i.d. per element.
      correlated      y + s*f, f a white Gaussian field smoothed per channel by a
                      Gaussian kernel of std `correlation_length` pixels and scaled
                      to unit per-element variance.
      multiplicative  y * (1 + sigma*eps); inherently relative, `mode` is ignored.
      weight          W + sigma*max|W|*eps on each site's conv weight, one draw per
                      simulated chip; relative to max|W| by definition, `mode` ignored.
      drift           PCM conductance drift W * (t/t0)^(-nu_i) (IBM aihwkit
                      PCMLikeNoiseModel); sigma is the relative spread of nu_i across
                      devices, nu_i ~ N(drift_nu, (sigma*drift_nu)^2) clipped at 0,
                      so sigma = 0 is pure deterministic drift (not "no noise").
    sigma: magnitude, >= 0. For additive/correlated s = sigma * (site's clean output
      RMS) in "relative" mode (the default) and s = sigma in "absolute" mode.
    sites: "all" conv outputs, or "in_sensor" for the first
      `model.aisnas_in_sensor_layers` sites only.
    drift_time_s: time since programming t (s), >= drift_t0_s. aihwkit's
      `t_inference` counts from t0, so aihwkit t_inference = drift_time_s - drift_t0_s.
    drift_t0_s, drift_nu: aihwkit PCMLikeNoiseModel's t_0 = 20 s and its mean drift
      exponent at high conductance (mu_drift clamped to >= 0.049, i.e. about 0.05).
    """

    kind: str = "additive"
    sigma: float = 0.0
    mode: str = "relative"
    correlation_length: float = 2.0
    drift_time_s: float = 3600.0
    drift_t0_s: float = 20.0
    drift_nu: float = 0.05
    sites: str = "all"

    def __post_init__(self) -> None:
        _choice("kind", self.kind, NOISE_KINDS)
        _choice("mode", self.mode, NOISE_MODES)
        _choice("sites", self.sites, NOISE_SCOPES)
        # Normalize ints to floats so describe() and equality do not depend on how a
        # number was typed in a study file (frozen: go through object.__setattr__).
        for name in ("sigma", "correlation_length", "drift_time_s", "drift_t0_s", "drift_nu"):
            object.__setattr__(self, name, _number(name, getattr(self, name)))
        if self.sigma < 0:
            raise NoiseSpecError(f"sigma: got {self.sigma!r}, must be >= 0")
        if self.correlation_length <= 0:
            raise NoiseSpecError(f"correlation_length: got {self.correlation_length!r}, must be > 0 pixels")
        if self.drift_t0_s <= 0:
            raise NoiseSpecError(f"drift_t0_s: got {self.drift_t0_s!r}, must be > 0 seconds")
        if self.drift_nu < 0:
            raise NoiseSpecError(f"drift_nu: got {self.drift_nu!r}, must be >= 0")
        # The power law is fitted for t >= t0 only (aihwkit applies no drift before t0).
        if self.drift_time_s < self.drift_t0_s:
            raise NoiseSpecError(
                f"drift_time_s: got {self.drift_time_s!r}, must be >= drift_t0_s ({self.drift_t0_s!r})"
            )

    @property
    def uses_mode(self) -> bool:
        """Whether `mode` changes anything for this kind (additive and correlated only)."""
        return self.kind in _MODE_KINDS

    @property
    def is_identity(self) -> bool:
        """Whether this spec leaves every output bit-identical to the clean model."""
        if self.kind == "drift":
            # sigma is the spread of nu here (relative to drift_nu); the drift itself
            # vanishes only at t = t0 or with a zero mean exponent.
            return self.drift_time_s == self.drift_t0_s or self.drift_nu == 0.0
        return self.sigma == 0.0

    def describe(self) -> dict:
        """A JSON-friendly record of every field plus what sigma means for this kind."""
        record = dataclasses.asdict(self)
        meaning = _SIGMA_MEANING[self.kind]
        record["sigma_meaning"] = meaning[self.mode] if isinstance(meaning, dict) else meaning
        return record
