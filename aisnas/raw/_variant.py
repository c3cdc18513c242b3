"""Pipeline variants: the stage codes, their parsing, and the ISP work each one implies.

A variant is a sequence of stage codes from Horton et al. (Fig. 5) written "U+C+M+RM".
Parsing rejects sequences that would feed a stage data it cannot mean anything on (RC
without C, RM without M, colour stages on a mosaic), so a typo in a study file fails
with one line instead of training a network on garbage for an hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from aisnas.errors import AisnasError

__all__ = ["ISP_STAGES", "PAPER_VARIANTS", "STAGE_CODES", "Variant", "isp_stages", "parse_variant"]

# Horton et al., Fig. 5: N/A none; U 2x bilinear upsampling; C colour transform (dataset
# RGB -> sensor RGB); RC reverse colour transform; S per-channel square root; M Bayer
# mosaic; RM reverse mosaicing (demosaic).
STAGE_CODES = ("N/A", "U", "C", "RC", "S", "M", "RM")

# The ten pipelines the paper trains on (Horton et al., Fig. 5), in its order.
PAPER_VARIANTS = ("N/A", "C", "C+RC", "C+S", "M", "M+RM", "U", "U+M", "U+M+RM", "C+M")

# ISP operations a variant can require from hardware, in this fixed order (not
# execution order): "demosaic" (CFA interpolation), "color" (white balance + colour
# matrix, Ts*Tw in CRIP), "tone" (tone curve), "sqrt" (the S stage), "bin2x2" (a sensor
# with twice the resolution whose 2x2 cells are averaged, which is what U models).
ISP_STAGES = ("demosaic", "color", "tone", "sqrt", "bin2x2")


@dataclass(frozen=True)
class Variant:
    """A validated stage sequence; `codes == ()` is the identity ("N/A")."""

    codes: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.codes, tuple):
            raise AisnasError(f"Variant codes: {self.codes!r} must be a tuple of stage codes")
        _check_order(self.codes)

    @property
    def name(self) -> str:
        """The canonical string: codes joined by "+", or "N/A" for the identity."""
        return "+".join(self.codes) if self.codes else "N/A"

    def __str__(self) -> str:
        return self.name


def parse_variant(text: str | Variant) -> Variant:
    """Parse "U+C+M+RM" (case and spaces around codes ignored); a Variant passes through."""
    if isinstance(text, Variant):
        return text
    if not isinstance(text, str):
        raise AisnasError(f"variant: {text!r} must be a string like 'U+M+RM' or 'N/A'")
    tokens = [t.strip().upper() for t in text.split("+")]
    allowed = ", ".join(STAGE_CODES)
    for token in tokens:
        if token not in STAGE_CODES:
            raise AisnasError(f"variant {text!r}: unknown stage code {token!r}; allowed codes: {allowed}")
    if tokens == ["N/A"]:
        return Variant(())
    if "N/A" in tokens:
        raise AisnasError(f"variant {text!r}: N/A means no stage and cannot be combined with others")
    return Variant(tuple(tokens))


def _check_order(codes: tuple[str, ...]) -> None:
    """Walk the stages, tracking what the data is, and reject meaningless sequences."""
    name = "+".join(codes)
    allowed = ", ".join(STAGE_CODES)
    colour = "dataset"  # dataset RGB -> "sensor" (linear raw RGB) -> "sqrt" (after S)
    mosaicked = False
    for i, code in enumerate(codes):
        if code not in STAGE_CODES or code == "N/A":
            raise AisnasError(f"variant {name!r}: bad stage code {code!r}; allowed codes: {allowed}")
        if code in codes[:i]:
            raise AisnasError(f"variant {name!r}: stage {code} appears twice; each stage may appear once")
        if mosaicked and code != "RM":
            # C, RC and S are defined on full-colour pixels (and the sparse mosaic's
            # halved green would make S inconsistent), so only RM may follow M.
            raise AisnasError(f"variant {name!r}: {code} after M needs full-colour pixels; put it before M or after RM")
        if code == "U" and i != 0:
            raise AisnasError(f"variant {name!r}: U upsamples the dataset image, so it must come first")
        if code == "C":
            if any(c != "U" for c in codes[:i]):
                raise AisnasError(f"variant {name!r}: C converts dataset RGB, so only U may come before it")
            colour = "sensor"
        elif code == "RC":
            if "C" not in codes[:i]:
                raise AisnasError(f"variant {name!r}: RC reverses C, so C must come before it")
            if colour != "sensor":
                raise AisnasError(f"variant {name!r}: RC needs linear sensor RGB, but S came between C and RC")
            colour = "dataset"
        elif code == "S":
            colour = "sqrt"
        elif code == "M":
            mosaicked = True
        elif code == "RM":
            if not mosaicked:
                raise AisnasError(f"variant {name!r}: RM demosaics, so M must come before it")
            mosaicked = False


def isp_stages(variant: str | Variant) -> tuple[str, ...]:
    """The ISP operations hardware must run to hand the network this variant's input.

    The network input of "N/A" is fully processed RGB, so a Bayer sensor's ISP must
    have run all of ("demosaic", "color", "tone"). The mapping, stage by stage:

    - "demosaic" unless the network sees the mosaic (M without a later RM): a sensor
      delivers one colour per pixel, so any full-colour input (N/A, C, C+S, M+RM) needs
      CFA interpolation. C alone still needs it: it models skipping colour and tone,
      while skipping the demosaic is what M models.
    - "color" and "tone" unless C removed them and no RC put them back. (Our RC applies
      the colour matrix, then the tone curve, so both come back together.)
    - "sqrt" when S is present (an extra per-pixel op, e.g. a square-root ADC).
    - "bin2x2" when U is present: U simulates a sensor of twice the resolution whose
      2x2 cells are averaged back to the network's resolution.

    Examples: N/A -> (demosaic, color, tone); M -> (); M+RM -> (demosaic,);
    C -> (demosaic,); C+S -> (demosaic, sqrt); C+M -> (); U+M -> (bin2x2,).
    A PPA model attaches an energy to each name (see ISP_STAGES).
    """
    codes = parse_variant(variant).codes
    mosaic_seen = "M" in codes and "RM" not in codes
    colour_removed = "C" in codes and "RC" not in codes
    needed = {
        "demosaic": not mosaic_seen,
        "color": not colour_removed,
        "tone": not colour_removed,
        "sqrt": "S" in codes,
        "bin2x2": "U" in codes,
    }
    return tuple(stage for stage in ISP_STAGES if needed[stage])
