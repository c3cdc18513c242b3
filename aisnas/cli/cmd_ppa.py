"""`aisnas ppa`: the analytical PPA of one architecture on one hardware profile."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aisnas.errors import AisnasError


def _is_file(arch: str) -> bool:
    # The same rule resolve_arch uses: a .toml path, an existing file, or an export dir.
    p = Path(arch)
    return p.suffix == ".toml" or p.is_file() or (p.is_dir() and (p / "arch.toml").is_file())


def run(args: argparse.Namespace) -> int:
    from aisnas.arch import resolve_arch
    from aisnas.ppa import estimate_ppa, format_table, load_profile

    if _is_file(args.arch):
        if args.width is not None:
            raise AisnasError(f"--width applies to preset architectures, not to the file {args.arch!r}")
        spec = resolve_arch(args.arch)
    else:
        spec = resolve_arch(args.arch, width=1.0 if args.width is None else args.width)
    profile = load_profile(args.hardware)
    stages = tuple(s for s in (args.isp or "").split(",") if s)
    result = estimate_ppa(spec, profile, in_sensor_layers=args.in_sensor_layers, isp_stages=stages)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(format_table(result))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ppa",
        help="energy, area, ADC conversions, storage and latency of an architecture",
        description=(
            "Analytical PPA of an architecture on a hardware profile: a per-layer table "
            "(counts, where each layer runs, energy and area by component) and totals."
        ),
    )
    p.add_argument("--arch", required=True, metavar="NAME|FILE", help="preset name (e.g. vgg13, cnn3) or arch.toml")
    p.add_argument("--width", type=float, default=None, help="channel width multiplier for presets (default 1.0)")
    p.add_argument(
        "--hardware", default="p2m", metavar="PROFILE",
        help="built-in profile (p2m, scamp5, conventional) or a profile .toml file (default p2m)",
    )
    p.add_argument(
        "--in-sensor-layers", type=int, default=None, metavar="N",
        help="conv layers run in the sensor (default: the architecture's own setting)",
    )
    p.add_argument("--isp", default="", metavar="STAGES", help="comma-separated ISP stages to charge, e.g. demosaic,color")
    p.add_argument("--json", action="store_true", help="print JSON (keys: layers, frame, totals) instead of tables")
    p.set_defaults(func=run)
