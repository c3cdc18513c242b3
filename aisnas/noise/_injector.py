"""`NoiseInjector`: a context manager that makes a model behave like one analog chip.

Activation kinds (additive, correlated, multiplicative) install a forward hook on
every site that adds a fresh draw on each forward pass; weight kinds (weight, drift)
perturb the sites' conv weights once per simulated chip and put the exact original
bits back on exit. All randomness comes from generators owned by the injector and
seeded from one integer, one generator per device, so a (spec, seed) pair always
reproduces the same noise and nothing else in the process draws from it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aisnas.errors import AisnasError
from aisnas.noise import _draw
from aisnas.noise._calibrate import site_rms
from aisnas.noise._sites import Site, resolve_sites
from aisnas.noise._spec import NoiseSpec

__all__ = ["NoiseInjector"]

_WEIGHT_KINDS = ("weight", "drift")
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class NoiseInjector:
    """Inject `spec`'s non-ideality into `model` while the context is active.

        with NoiseInjector(model, NoiseSpec("additive", 0.1), seed=0, calibration=xb):
            logits = model(x)

    Randomness: pass `seed` (an int) or `generator` (a torch.Generator on the
    activations' device), not both. With a seed, each `__enter__` starts from fresh
    generators seeded with it, so the same seed gives the same noise every time; with
    neither, a non-deterministic seed is drawn once and kept in `.seed` for the record.

    Relative mode (additive and correlated): the noise std is sigma times the site's
    clean output RMS. In eval mode that RMS comes from `calibration`, a batch of
    inputs run once, clean and in eval mode, on `__enter__`; it is required for
    relative noise with sigma > 0 in eval mode. In training mode each forward uses the
    current batch's own RMS, detached, so a network cannot raise its SNR by growing
    its weights or BN gammas.

    Weight kinds perturb weights in place: compute gradients inside the context if you
    like (noise-aware training), but step the optimizer after leaving it. An in-place
    change made inside the context would be overwritten on exit, so it raises instead.

    Several noise levels in one forward (activation kinds, eval, no grad): pass
    `sigmas=(s_1, ..., s_K)` (they replace `spec.sigma`) and feed K stacked copies of
    a batch, `x.repeat(K, 1, 1, 1)`. Copy k gets level s_k times the same standard
    draw at every site, so copy k's output is what `sigma=s_k` with the same seed
    gives on the single batch, and the draws cost one noisy pass instead of K.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: NoiseSpec,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        calibration: torch.Tensor | None = None,
        sigmas: tuple[float, ...] | None = None,
    ):
        if not isinstance(spec, NoiseSpec):
            raise AisnasError(f"spec: got {type(spec).__name__}, expected an aisnas.noise.NoiseSpec")
        if generator is not None and seed is not None:
            raise AisnasError("seed/generator: pass one of them, not both")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise AisnasError(f"generator: got {type(generator).__name__}, expected a torch.Generator")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise AisnasError(f"seed: got {seed!r}, expected an integer")
        if calibration is not None and not isinstance(calibration, torch.Tensor):
            raise AisnasError(f"calibration: got {type(calibration).__name__}, expected a tensor of inputs")
        if sigmas is not None:
            sigmas = self._check_sigmas(spec, sigmas)
        self._levels: tuple[float, ...] = sigmas or (spec.sigma,)
        self._stacked = sigmas is not None
        self._model = model
        self._spec = spec
        self._sites: list[Site] = resolve_sites(model, spec.sites)  # fail early on bad scope
        self._user_generator = generator
        if generator is None and seed is None:
            seed = torch.Generator().seed()  # OS entropy, not the global torch RNG
        self._seed = seed
        self._calibration = calibration
        self._rms: dict[str, float] = {}
        self._generators: dict[torch.device, torch.Generator] = {}
        self._taps = _draw.gaussian_taps(spec.correlation_length) if spec.kind == "correlated" else None
        self._bands: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._handles: list = []
        self._saved: list[tuple[torch.Tensor, torch.Tensor]] = []  # (live weight, clean copy)
        self._noisy: list[tuple[int, torch.Tensor]] = []  # (version, copy) right after the draw
        self._eval_scale: list[tuple[float, ...] | None] = []  # per site: one scale per level
        self._active = False

    # ---- read-only record -------------------------------------------------------

    @property
    def spec(self) -> NoiseSpec:
        return self._spec

    @property
    def seed(self) -> int | None:
        """The seed every draw derives from; None when a generator was passed."""
        return self._seed

    @property
    def site_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._sites)

    @property
    def site_rms(self) -> dict[str, float]:
        """Clean calibration RMS per site (empty until a calibrated context is entered)."""
        return dict(self._rms)

    @property
    def active(self) -> bool:
        return self._active

    # ---- context ----------------------------------------------------------------

    def __enter__(self) -> NoiseInjector:
        if self._active:
            raise AisnasError("NoiseInjector: already active; enter a context only once at a time")
        self._generators = {}
        if self._user_generator is not None:
            self._generators[self._user_generator.device] = self._user_generator
        spec = self._spec
        if (self._stacked or not spec.is_identity) and self._sites:
            if spec.kind in _WEIGHT_KINDS:
                self._save_weights()
                try:
                    self._perturb_weights()
                except BaseException:  # e.g. a generator on the wrong device
                    self._restore_weights()
                    raise
            else:
                self._prepare_scales()
                self._handles = [
                    s.module.register_forward_hook(self._make_hook(i, s.name)) for i, s in enumerate(self._sites)
                ]
        self._active = True
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        touched = self._touched_weights()
        self._restore_weights()
        self._active = False
        if touched and exc_type is None:
            raise AisnasError(
                f"weights of {len(touched)} conv layer(s) were changed in place inside a {self._spec.kind}-noise "
                "context and have been reset to their clean values; step the optimizer after the with block"
            )

    def redraw(self) -> None:
        """Simulate a new chip: a fresh weight/drift draw from the continuing stream.

        Activation noise is drawn fresh on every forward pass already, so for those
        kinds this does nothing.
        """
        if not self._active:
            raise AisnasError("redraw: the NoiseInjector is not active; call it inside its with block")
        if not self._saved:
            return
        touched = self._touched_weights()
        if touched:
            raise AisnasError(
                f"redraw: weights of {len(touched)} conv layer(s) were changed in place inside the context"
            )
        self._restore_weights(keep=True)
        self._perturb_weights()

    @staticmethod
    def _check_sigmas(spec: NoiseSpec, sigmas) -> tuple[float, ...]:
        if spec.kind in _WEIGHT_KINDS:
            raise AisnasError(f"sigmas: stacked noise levels are for activation noise, not {spec.kind!r}")
        try:
            levels = tuple(float(v) for v in sigmas)
        except (TypeError, ValueError):
            raise AisnasError(f"sigmas: got {sigmas!r}, expected a sequence of numbers > 0") from None
        if not levels or not all(math.isfinite(v) and v > 0 for v in levels) or any(
                isinstance(v, bool) for v in sigmas):
            raise AisnasError(f"sigmas: got {sigmas!r}, expected one or more finite numbers > 0")
        return levels

    # ---- weight kinds -----------------------------------------------------------

    def _save_weights(self) -> None:
        saved, seen = [], set()
        for s in self._sites:
            w = s.conv.weight
            if not isinstance(w, nn.Parameter):
                # e.g. torch.nn.utils.parametrize: the tensor is recomputed each forward,
                # so an in-place perturbation would not stick.
                raise AisnasError(f"{s.name}: conv weight is not a plain Parameter; weight noise cannot perturb it")
            if id(w) not in seen:  # a conv shared by two sites is one set of devices
                seen.add(id(w))
                saved.append((w, w.detach().clone()))
        self._saved = saved

    @torch.no_grad()
    def _perturb_weights(self) -> None:
        spec = self._spec
        for w, _ in self._saved:
            g = self._generator(w.device)
            if spec.kind == "weight":
                _draw.program_weight(w, spec.sigma, g)
            else:
                _draw.drift_weight(w, spec.sigma, spec.drift_nu, spec.drift_time_s, spec.drift_t0_s, g)
        # Autograd's version counter moves on every in-place write (optimizer.step()
        # included); the noisy copy tells a real change from a nested injector that
        # wrote back exactly these values on its own exit.
        self._noisy = [(w._version, w.detach().clone()) for w, _ in self._saved]

    def _touched_weights(self) -> list[torch.Tensor]:
        return [
            w
            for (w, _), (version, noisy) in zip(self._saved, self._noisy)
            if w._version != version and not torch.equal(w, noisy)
        ]

    @torch.no_grad()
    def _restore_weights(self, keep: bool = False) -> None:
        for w, clean in self._saved:
            w.copy_(clean)  # same dtype and shape: bit-exact
        if not keep:
            self._saved = []
            self._noisy = []

    # ---- activation kinds -------------------------------------------------------

    def _prepare_scales(self) -> None:
        """Per-site eval-mode noise std, fixed for the whole context."""
        spec = self._spec
        levels = self._levels
        self._eval_scale = [levels] * len(self._sites)
        if not (spec.uses_mode and spec.mode == "relative"):
            return
        if self._calibration is None:
            if not self._model.training:
                raise AisnasError(
                    f"calibration: relative {spec.kind} noise in eval mode is a fraction of each site's clean "
                    "output RMS; pass calibration=<batch of inputs> or use mode='absolute'"
                )
            self._eval_scale = [None] * len(self._sites)
            return
        self._rms = site_rms(self._model, self._calibration, self._sites)
        self._eval_scale = [
            tuple(v * self._rms[s.name] for v in levels) if s.name in self._rms else None for s in self._sites
        ]

    def _generator(self, device: torch.device) -> torch.Generator:
        g = self._generators.get(device)
        if g is not None:
            return g
        user = self._user_generator
        if user is not None:
            # A generator made with device="cuda" may carry no index; accept it for the
            # current device rather than failing on the spelling.
            if user.device.type == device.type and user.device.index in (None, device.index):
                self._generators[device] = user
                return user
            raise AisnasError(f"generator: it is on {user.device} but the tensors are on {device}; create it there")
        g = torch.Generator(device=device)
        g.manual_seed(self._seed)
        self._generators[device] = g
        return g

    def _smoothing(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (y.device, y.dtype, y.shape[-2], y.shape[-1])
        bands = self._bands.get(key)
        if bands is None:
            bands = self._bands[key] = _draw.smoothing_bands(self._taps, key[2], key[3], y.device, y.dtype)
        return bands

    def _make_hook(self, index: int, name: str):
        spec = self._spec
        sigma = spec.sigma
        relative = spec.uses_mode and spec.mode == "relative"
        kind = spec.kind
        model = self._model
        generators = self._generators
        eval_scale = self._eval_scale
        stacked = self._stacked
        k = len(self._levels)

        # Everything above is bound once; the hook does a few dict lookups and the
        # tensor ops, with no per-element Python and no host sync.
        def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
            if stacked:
                return stacked_hook(out)
            if relative and model.training:
                # The batch's own RMS, detached: noise follows the signal's scale but
                # gives the network no gradient towards a larger signal.
                low = out.dtype in _LOW_PRECISION
                norm = torch.linalg.vector_norm(out.detach(), dtype=torch.float32 if low else None)
                s = norm * (sigma / math.sqrt(out.numel()))
            else:
                s = site_scales()[0]
            g = generators.get(out.device) or self._generator(out.device)
            if kind == "additive":
                return _draw.additive(out, s, g)
            if kind == "multiplicative":
                return _draw.multiplicative(out, s, g)
            return _draw.correlated(out, s, self._smoothing(out), g)

        def site_scales() -> tuple[float, ...]:
            scales = eval_scale[index]
            if scales is None:
                raise AisnasError(
                    f"calibration: site {name!r} has no clean RMS for eval-mode relative noise; "
                    "pass calibration=<batch of inputs> that runs through it"
                )
            return scales

        def stacked_hook(out: torch.Tensor) -> torch.Tensor:
            if model.training or out.requires_grad:
                raise AisnasError("sigmas: stacked noise levels are for evaluation; use model.eval() and "
                                  "torch.no_grad() or torch.inference_mode()")
            if out.shape[0] % k:
                raise AisnasError(f"sigmas: batch of {out.shape[0]} is not {k} stacked copies (x.repeat({k}, ...))")
            scales = site_scales()
            first = out[: out.shape[0] // k]
            g = generators.get(out.device) or self._generator(out.device)
            if kind == "correlated":
                eps = _draw.unit_field(first, self._smoothing(first), g)
            else:
                eps = _draw.standard_normal_like(first, g)
            return _draw.add_stacked(kind, out, scales, eps)

        return hook
