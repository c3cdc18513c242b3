"""Where analog noise enters a model: one site per convolution.

In analog hardware batch norm is folded into the conv weights, so the analog MAC
result is the conv output *after* BN and *before* the nonlinearity (GUIDE.md
section 3). The rule below finds that point in any torch CNN without knowing its
classes: for each `nn.Conv2d`, in module registration order, the site is the next
sibling in its parent's `_modules` if that sibling is an `nn.BatchNorm2d`, else the
conv itself. aisnas's own units (children conv, bn, act) and nasbench-pytorch's
`ConvBnRelu` (Sequential(conv, bn, ReLU)) both follow that layout.

Registration order is assumed to be execution order. That only matters for
`sites="in_sensor"`, which takes the first N sites; it holds for aisnas models and
for nasbench-pytorch's stem conv, but not inside a nasbench `Cell` (vertex ops are
registered before the input projections that run first), so an in-sensor count that
reaches into a Cell counts in registration order.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from aisnas.errors import AisnasError

__all__ = ["find_noise_sites"]

IN_SENSOR_ATTR = "aisnas_in_sensor_layers"


@dataclass(frozen=True)
class Site:
    """One noise site: `module` is hooked, `conv` carries the weights it computes with."""

    name: str  # qualified name of `module` in the model
    module: nn.Module  # the BN following the conv, or the conv itself
    conv: nn.Conv2d


def _walk(parent: nn.Module, prefix: str, seen: set[int], out: list[Site]) -> None:
    children = [(n, c) for n, c in parent._modules.items() if c is not None]
    for i, (name, child) in enumerate(children):
        # A module registered twice (shared) is visited once, as named_modules() does.
        if id(child) in seen:
            continue
        seen.add(id(child))
        qualified = f"{prefix}{name}"
        if isinstance(child, nn.Conv2d):
            nxt = children[i + 1] if i + 1 < len(children) else None
            if nxt is not None and isinstance(nxt[1], nn.BatchNorm2d) and id(nxt[1]) not in seen:
                out.append(Site(f"{prefix}{nxt[0]}", nxt[1], child))
            else:
                out.append(Site(qualified, child, child))
        else:
            _walk(child, f"{qualified}.", seen, out)


def resolve_sites(model: nn.Module, sites: str = "all") -> list[Site]:
    """All noise sites of `model` in registration order, limited by the `sites` scope."""
    if not isinstance(model, nn.Module):
        raise AisnasError(f"model: got {type(model).__name__}, expected a torch.nn.Module")
    if sites not in ("all", "in_sensor"):
        raise AisnasError(f"sites: {sites!r} is not one of 'all', 'in_sensor'")
    found: list[Site] = []
    _walk(model, "", {id(model)}, found)
    if isinstance(model, nn.Conv2d):  # a bare conv is its own (only) site
        found = [Site("", model, model)]
    if sites == "all":
        return found
    n = getattr(model, IN_SENSOR_ATTR, None)
    if n is None:
        raise AisnasError(
            f"sites: 'in_sensor' needs the model attribute {IN_SENSOR_ATTR} (number of conv layers "
            f"run in the sensor); {type(model).__name__} has none"
        )
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(found):
        raise AisnasError(
            f"{IN_SENSOR_ATTR}: got {n!r}, expected an integer from 0 to the model's {len(found)} conv layers"
        )
    return found[:n]


def find_noise_sites(model: nn.Module, sites: str = "all") -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every noise site, in registration order.

    The module is the `nn.BatchNorm2d` right after a conv when there is one, else the
    `nn.Conv2d`; `sites="in_sensor"` keeps only the first
    `model.aisnas_in_sensor_layers` of them.
    """
    return [(s.name, s.module) for s in resolve_sites(model, sites)]
