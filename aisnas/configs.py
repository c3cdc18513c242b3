"""Frozen, typed configs built from TOML tables, with unknown keys rejected.

`from_dict(MyConfig, table, source="studies/x.toml")` checks every key against the
dataclass fields and every value against the field's type, and raises one
`AisnasError` naming the file, the dotted key and what is allowed. Supported field
types: bool, int, float, str, Literal[...], tuple[T, ...], Optional[T], nested frozen
dataclasses, and dict[str, T].
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from aisnas.errors import AisnasError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")

__all__ = ["from_dict", "load_toml", "to_dict"]


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a syntax error names the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise AisnasError(f"{path}: file not found")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise AisnasError(f"{path}: malformed TOML: {e}") from None
    except UnicodeDecodeError:
        raise AisnasError(f"{path}: not a UTF-8 text file") from None


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return f"a table of {_type_name(typing.get_args(tp)[1])}"
    if tp is type(None):
        return "nothing"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, where: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    bad = AisnasError(f"{source}: key '{where}': got {value!r}, expected {_type_name(tp)}")
    if tp is Any:
        return value
    if origin is Literal:
        if value in typing.get_args(tp) and type(value) in {type(a) for a in typing.get_args(tp)}:
            return value
        raise bad
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where, source)
            except AisnasError:
                continue
        raise bad
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        (item,) = typing.get_args(tp)[:1]
        return tuple(_convert(item, v, f"{where}[{i}]", source) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        vt = typing.get_args(tp)[1]
        return {str(k): _convert(vt, v, f"{where}.{k}", source) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise bad
        return from_dict(tp, value, source=source, prefix=f"{where}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    raise TypeError(f"unsupported config field type {tp!r}")  # a bug in a config class


def from_dict(cls: type[T], data: dict[str, Any], *, source: str = "<config>", prefix: str = "") -> T:
    """Build the frozen dataclass `cls` from `data`, rejecting unknown keys.

    After construction the dataclass's own `__post_init__` may raise `ValueError`
    for out-of-range values; that is turned into an `AisnasError` naming the source.
    """
    if not isinstance(data, dict):
        raise AisnasError(f"{source}: '{prefix.rstrip('.') or '<top>'}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise AisnasError(
            f"{source}: unknown key '{prefix}{unknown[0]}'; allowed keys: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], prefix + name, source)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise AisnasError(f"{source}: missing key '{prefix}{name}' ({_type_name(hints[name])})")
    try:
        return cls(**kwargs)
    except ValueError as e:
        raise AisnasError(f"{source}: {prefix}{e}") from None


def to_dict(obj: Any) -> Any:
    """A JSON/TOML-friendly copy of a config (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
