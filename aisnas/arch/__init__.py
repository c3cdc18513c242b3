"""Architectures: frozen descriptions, exact counts, a registry of presets, the builder."""

from aisnas.arch._build import AISNet, build_model
from aisnas.arch._io import arch_from_dict, load_arch, save_arch
from aisnas.arch._presets import create_arch, list_archs, register_arch
from aisnas.arch._spec import FAN_IN_GROUPS, ArchSpec, LayerInfo, StageSpec, layer_totals

__all__ = [
    "AISNet",
    "ArchSpec",
    "FAN_IN_GROUPS",
    "LayerInfo",
    "StageSpec",
    "arch_from_dict",
    "build_model",
    "create_arch",
    "layer_totals",
    "list_archs",
    "load_arch",
    "register_arch",
    "resolve_arch",
    "save_arch",
]


def resolve_arch(name_or_path: str, **overrides) -> ArchSpec:
    """A preset name, an `arch.toml` file, or a directory holding one (an export)."""
    from pathlib import Path

    p = Path(name_or_path)
    if p.is_dir() and (p / "arch.toml").is_file():
        p = p / "arch.toml"
    if p.suffix == ".toml" or p.is_file():
        if overrides:
            import dataclasses

            return dataclasses.replace(load_arch(p), **overrides)
        return load_arch(p)
    return create_arch(name_or_path, **overrides)
