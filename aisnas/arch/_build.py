"""Build the torch model that an `ArchSpec` describes.

The model is a flat list of units so that its weight layers appear in exactly the
order of `ArchSpec.layers()`. Inside a unit the children are registered as conv, bn,
activation: the analog noise injector relies on "the BN right after a conv" to find the
analog MAC output (after BN, which hardware folds into the weights, and before the
nonlinearity).
"""

from __future__ import annotations

import torch
from torch import nn

from aisnas.arch._spec import ArchSpec, LayerInfo
from aisnas.quant import ADCQuantizer, attach_weight_quantization

__all__ = ["AISNet", "build_model"]


def _activation(name: str) -> nn.Module:
    return nn.Softplus() if name == "softplus" else nn.ReLU(inplace=False)


def _channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    # After a grouped conv each output group saw one input group only; interleaving the
    # groups lets the next grouped conv mix information across all of them (ShuffleNet).
    n, c, h, w = x.shape
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        # Shuffle in the NHWC storage order so the result stays channels_last: the
        # NCHW formula's reshape would return an NCHW copy, and the BN, activation and
        # conv after it would then convert layouts or take slow paths (measured: BN
        # backward alone 3x slower per step for vgg13_fanin2 on CPU).
        nhwc = x.permute(0, 2, 3, 1).reshape(n, h, w, groups, c // groups).transpose(3, 4)
        return nhwc.reshape(n, h, w, c).permute(0, 3, 1, 2)
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ConvUnit(nn.Module):
    """conv -> BN -> (+ residual) -> activation -> (channel shuffle)."""

    def __init__(self, layer: LayerInfo, activation: str, shuffle: bool):
        super().__init__()
        pad = layer.kernel // 2
        self.conv = nn.Conv2d(
            layer.in_channels, layer.out_channels, layer.kernel, padding=pad, groups=layer.groups, bias=False
        )
        self.bn = nn.BatchNorm2d(layer.out_channels)
        self.act = _activation(activation)
        self.skip = layer.skip
        self.shuffle_groups = layer.groups if shuffle and 1 < layer.groups < layer.in_channels else 1

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        y = self.bn(self.conv(x))
        if residual is not None:
            y = y + residual
        y = self.act(y)
        if self.shuffle_groups > 1:
            y = _channel_shuffle(y, self.shuffle_groups)
        return y


class SeparableUnit(nn.Module):
    """Depthwise kxk unit then pointwise 1x1 unit; the residual spans both."""

    def __init__(self, dw: LayerInfo, pw: LayerInfo, activation: str):
        super().__init__()
        self.dw = ConvUnit(dw, activation, shuffle=False)
        self.pw = ConvUnit(pw, activation, shuffle=False)
        self.skip = pw.skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x), residual=x if self.skip else None)


class _Plain(nn.Module):
    def __init__(self, unit: ConvUnit):
        super().__init__()
        self.unit = unit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unit(x, residual=x if self.unit.skip else None)


class AISNet(nn.Module):
    """The network of an `ArchSpec`; `aisnas_in_sensor_layers` marks the analog part."""

    def __init__(self, spec: ArchSpec):
        super().__init__()
        self.spec = spec
        self.aisnas_in_sensor_layers = spec.in_sensor_layers
        layers = spec.layers()
        convs = [layer for layer in layers if layer.kind != "linear"]
        body: list[nn.Module] = []
        hw = spec.input_size
        i = 0
        while i < len(convs):
            layer = convs[i]
            if layer.in_hw[0] != hw:  # a new stage at a lower resolution
                if layer.in_hw[0] == 1 and hw > 1:
                    body.append(nn.AdaptiveAvgPool2d(1))
                elif spec.downsample == "maxpool":
                    body.append(nn.MaxPool2d(2))
                else:
                    body.append(nn.AvgPool2d(2))
                hw = layer.in_hw[0]
            if layer.kind == "dwconv":
                body.append(SeparableUnit(layer, convs[i + 1], spec.activation))
                step = 2
            else:
                body.append(_Plain(ConvUnit(layer, spec.activation, shuffle=True)))
                step = 1
            i += step
            if spec.adc_bits and i - step < spec.in_sensor_layers <= i:
                # The analog/digital boundary: what leaves the sensor is digitized. A
                # boundary inside a separable unit is moved to the unit's end.
                body.append(ADCQuantizer(spec.adc_bits))
        self.body = nn.Sequential(*body)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(convs[-1].out_channels, spec.num_classes)
        bits = {
            unit_conv: layer.weight_bits
            for unit_conv, layer in zip(self.convs(), convs)
            if layer.weight_bits is not None
        }
        if bits:
            attach_weight_quantization(bits)

    def convs(self) -> list[nn.Conv2d]:
        """Conv modules in execution order (matches `spec.layers()` without the fc)."""
        return [m for m in self.body.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.body(x)), 1))


def build_model(spec: ArchSpec) -> AISNet:
    """The untrained torch model for `spec` (seed torch before calling for determinism)."""
    return AISNet(spec)
