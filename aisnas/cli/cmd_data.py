"""`aisnas data`: look at the data a study trains on (`aisnas data preview`)."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("data", help="dataset tools (preview raw-sensor variants)")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True
    pv = dsub.add_parser("preview", help="write a picture grid of test images through input variants",
                         description="Write a PNG grid: one row per image, one column per variant (Fig. 6).")
    pv.add_argument("--variant", action="append", required=True,
                    help="a variant such as U+C+M (repeat the option, or comma-separate, for several)")
    pv.add_argument("--out", required=True, help="PNG file to write")
    pv.add_argument("--data", default=None, help="dataset path (default: $AISNAS_DATA, then the download cache)")
    pv.add_argument("--images", type=int, default=4, help="how many test images (one per class, from the first)")
    pv.add_argument("--scale", type=int, default=4, help="nearest-neighbour upscaling for viewing")
    pv.set_defaults(func=run_preview)


def run_preview(args) -> int:
    from pathlib import Path

    from aisnas.data import load_dataset
    from aisnas.errors import AisnasError
    from aisnas.raw import parse_variant, preview_grid

    variants = [v.strip() for item in args.variant for v in item.split(",") if v.strip()]
    names = [parse_variant(v).name for v in variants]  # bad codes fail before the data loads
    out = Path(args.out)
    if not out.parent.is_dir():
        raise AisnasError(f"--out {out}: directory {out.parent} does not exist")
    if args.images < 1:
        raise AisnasError(f"--images {args.images}: must be >= 1")
    ds = load_dataset(args.data, download=args.data is None, progress=False)
    # One image of each of the first classes, so the grid shows varied colours.
    picks = []
    for c in range(ds.num_classes):
        idx = (ds.y_test == c).nonzero()
        if len(idx):
            picks.append(int(idx[0]))
        if len(picks) == args.images:
            break
    path = preview_grid(ds.x_test[picks].float() / 255.0, names, out, scale=args.scale)
    print(f"wrote {path} ({len(picks)} images x {len(names)} variants)")
    return 0
