"""The `aisnas` command: a thin layer over the library.

Each subcommand lives in its own module `aisnas/cli/cmd_<name>.py` exposing
`register(subparsers)`, which adds a parser whose `func(args) -> int` calls into the
library. Modules are discovered, so adding a command touches no shared file.
Bad input (`AisnasError`) prints one line and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from aisnas import __version__
from aisnas.errors import AisnasError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aisnas",
        description="Hardware-aware neural architecture search for analog in-sensor CNNs.",
    )
    parser.add_argument("--version", action="version", version=f"aisnas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from aisnas.runtime import tune_allocator

    tune_allocator()
    try:
        return int(args.func(args) or 0)
    except AisnasError as e:
        print(f"aisnas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aisnas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `aisnas ppa ... | head`: the reader left; say nothing more. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
