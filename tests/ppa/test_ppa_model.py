"""The PPA model against hand-computed values and the physics it must respect."""

import dataclasses
import math

import pytest
import tomli_w

from aisnas.arch import ArchSpec, StageSpec, create_arch, list_archs
from aisnas.errors import AisnasError
from aisnas.ppa import (
    PPA_METRICS,
    constraint_values,
    estimate_ppa,
    list_profiles,
    load_profile,
    metric_values,
    node_factor,
)

DIGITAL = ("digital_mac", "digital_memory")

# Round numbers so every figure below can be checked by hand.
TOY_PROFILE = {
    "name": "toy", "description": "round numbers", "technology_nm": 100.0, "sources": ["test"],
    "sensor": {"pixel_pitch_um": 10.0, "pixel_readout_pj": 2.0, "exposure_us": 50.0},
    "analog": {"op_pj": 0.01, "weight_bits_per_op": 2, "default_weight_bits": 8, "ops_per_cycle": 16,
               "clock_mhz": 1.0, "source_nm": 100.0},
    "routing": {"wire_cap_ff_per_mm": 1000.0, "swing_v": 1.0, "wire_pitch_um": 1.0, "hold_cap_ff": 100.0,
                "hold_area_um2": 10.0},
    "storage": {"replication": "per_pixel", "area_um2_per_bit": 1.0, "streamed": False, "dac_fj_per_step": 1.0},
    "adc": {"fom_fj_per_step": 100.0, "floor_pj": 1.0, "default_bits": 8, "architecture": "single_slope",
            "clock_mhz": 16.0, "count": 4, "area_um2": 100.0},
    "digital": {"technology_nm": 45.0, "reference_nm": 45.0, "int8_mult_pj": 0.2, "int32_add_pj": 0.1,
                "fp32_mult_pj": 3.7, "fp32_add_pj": 0.9, "sram_read_32b_pj": 5.0, "dram_read_32b_pj": 640.0,
                "int8_mult_area_um2": 282.0, "int32_add_area_um2": 137.0, "fp32_mult_area_um2": 7700.0,
                "fp32_add_area_um2": 4184.0, "sram_area_um2_per_bit": 0.346, "sram_kib": 1.0,
                "activation_bits": 8, "default_weight_bits": 8, "mac_units": 2, "clock_mhz": 1.0},
    "scaling": {"from_nm": 45.0, "to_nm": 20.0, "energy_factor": 0.22, "area_factor": 0.21},
    "link": {"pj_per_bit": 1.0, "gbps": 0.001},
    "isp": {"demosaic": 1.0},
}


@pytest.fixture
def toy_profile(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(tomli_w.dumps(TOY_PROFILE))
    return load_profile(str(path))


def toy_arch(**kw):
    # One 3x3 conv 1 -> 2 channels on a 4x4 single-channel image, 4-bit weights, 4-bit ADC.
    stage = StageSpec(depth=1, channels=2, kernel=3, weight_bits=4)
    kw = {"adc_bits": 4, **kw}
    return ArchSpec(stages=(stage,), input_channels=1, input_size=4, num_classes=2, **kw)


def test_toy_network_energy_latency_area_by_hand(toy_profile):
    r = estimate_ppa(toy_arch(), toy_profile, in_sensor_layers=1)
    conv, fc = r.layers
    assert (conv.macs, conv.params, conv.activations, conv.fan_in) == (16 * 2 * 9, 18, 32, 9)
    e = r.totals["energy_by_component_pj"]
    # Sensing: 4*4*1 photosites x 2 pJ.
    assert e["sensing"] == pytest.approx(16 * 2.0)
    # ADC: the conv's 32 outputs leave the sensor; 100 fJ x 2^4 = 1.6 pJ > 1 pJ floor.
    assert e["adc"] == pytest.approx(32 * 1.6)
    # Link: 32 conversions x 4 bits x 1 pJ/bit.
    assert e["link"] == pytest.approx(32 * 4 * 1.0)
    # Analog MACs: 288 MACs x ceil(4/2) cell ops x 0.01 pJ.
    assert e["analog_mac"] == pytest.approx(288 * 2 * 0.01)
    # Routing: wire 3/2 x 10 um = 0.015 mm x 1000 fF/mm = 15 fF x 1 V^2 = 0.015 pJ per MAC.
    assert e["routing"] == pytest.approx(288 * 0.015)
    # The boundary layer's outputs go to the ADC: nothing held, no skip.
    assert e["hold"] == 0 and e["skip"] == 0
    # fc off-sensor at the default 8 bits: MAC 0.2*8*8/64 + 0.1 = 0.3 pJ, 4 MACs;
    # memory: 4 weights x 8 bits = 1 word, (2 in + 2 out) x 8 bits = 1 word, 5 pJ each.
    assert e["digital_mac"] == pytest.approx(4 * 0.3)
    assert e["digital_memory"] == pytest.approx(5.0 + 5.0)
    expected = 32 + 51.2 + 128 + 5.76 + 4.32 + 1.2 + 10
    assert r.totals["energy_pj"] == pytest.approx(expected)

    lat = r.totals["latency_by_component_us"]
    assert lat["exposure"] == 50
    assert lat["analog"] == pytest.approx(288 * 2 / 16 / 1.0)  # 36 cycles at 1 MHz
    assert lat["adc"] == pytest.approx(32 / 4 * 2**4 / 16.0)  # 8 rounds of a 16-step ramp at 16 MHz
    assert lat["link"] == pytest.approx(128 / 1.0)  # 128 bits at 1 bit/us
    assert lat["digital"] == pytest.approx(math.ceil(4 / 2) / 1.0)
    assert r.totals["latency_us"] == pytest.approx(50 + 36 + 8 + 128 + 2)
    assert r.totals["edp"] == pytest.approx(expected * (50 + 36 + 8 + 128 + 2))

    # Weights per output location (P2M): 18 params x 16 copies x 4 bits.
    assert r.totals["onsensor_weight_bits"] == 18 * 16 * 4
    a = r.totals["area_by_component_mm2"]
    assert a["pixels"] == pytest.approx(16 * 100e-6)
    assert a["adc"] == pytest.approx(4 * 100e-6)
    assert a["weight_storage"] == pytest.approx(1152 * 1.0e-6)
    assert a["routing"] == pytest.approx(16 * 9 * 15.0 * 1.0 * 1e-6)  # locations x fan-in x length x pitch
    assert r.totals["sensor_area_mm2"] == pytest.approx((1600 + 400 + 1152 + 2160) * 1e-6)


def test_toy_isp_stages_cost_per_photosite(toy_profile):
    base = estimate_ppa(toy_arch(), toy_profile, in_sensor_layers=0)
    isp = estimate_ppa(toy_arch(), toy_profile, in_sensor_layers=0, isp_stages=("demosaic",))
    assert isp.totals["energy_pj"] - base.totals["energy_pj"] == pytest.approx(16 * 1.0)
    with pytest.raises(AisnasError, match="demosaic"):
        estimate_ppa(toy_arch(), toy_profile, isp_stages=("tone",))


def test_toy_streamed_broadcast_weights(toy_profile):
    # SCAMP-5-like: one copy of the weights, fetched, sent and converted every frame.
    storage = dataclasses.replace(toy_profile.storage, replication="broadcast", streamed=True)
    prof = dataclasses.replace(toy_profile, storage=storage)
    r = estimate_ppa(toy_arch(), prof, in_sensor_layers=1)
    e = r.totals["energy_by_component_pj"]
    assert r.totals["onsensor_weight_bits"] == 18 * 4
    assert r.totals["dac_conversions"] == 18
    assert e["weight_dac"] == pytest.approx(18 * 1.0e-3 * 2**4)  # 1 fJ/step x 16 steps each
    assert e["weight_fetch"] == pytest.approx(math.ceil(72 / 32) * 5.0 + 72 * 1.0)  # SRAM words + link bits
    assert r.totals["link_bits"] == 32 * 4 + 72


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8, 12])
def test_adc_energy_is_walden_fom_with_a_floor(toy_profile, bits):
    r = estimate_ppa(toy_arch(adc_bits=bits), toy_profile, in_sensor_layers=0)
    per = max(100e-3 * 2**bits, 1.0)
    assert r.totals["adc_pj_per_conversion"] == pytest.approx(per)
    assert r.totals["energy_by_component_pj"]["adc"] == pytest.approx(16 * per)


def test_cnn3_counts_match_fig4():
    r = estimate_ppa(create_arch("cnn3"), "p2m", in_sensor_layers=0)
    keep = {c.name: c for c in r.layers}
    names = ["s1.c2", "s2.c2", "s3.c2"]
    assert [keep[n].macs for n in names] == [2_359_296] * 3
    assert [keep[n].activations for n in names] == [16384, 8192, 4096]
    assert [keep[n].params for n in names] == [2304, 9216, 36864]
    assert [keep[n].bound for n in names] == ["spatial", "channel", "channel"]


@pytest.mark.parametrize("profile", ["p2m", "scamp5"])
def test_adc_conversions_are_the_activations_leaving_the_sensor(profile):
    spec = create_arch("cnn3")
    convs = [layer for layer in spec.layers() if layer.kind != "linear"]
    for depth in range(len(convs) + 1):
        r = estimate_ppa(spec, profile, in_sensor_layers=depth)
        expected = 32 * 32 * 3 if depth == 0 else convs[depth - 1].activations
        assert r.totals["adc_conversions"] == expected
        assert r.totals["energy_by_component_pj"]["adc"] == pytest.approx(expected * r.totals["adc_pj_per_conversion"])


@pytest.mark.parametrize("profile", list_profiles())
def test_total_energy_is_the_sum_of_its_components(profile):
    spec = create_arch("cnn3", skip=True)
    depths = range(7) if load_profile(profile).has_analog else [0]
    for depth in depths:
        r = estimate_ppa(spec, profile, in_sensor_layers=depth, isp_stages=("demosaic", "color"))
        parts = r.totals["energy_by_component_pj"]
        assert r.totals["energy_pj"] == pytest.approx(sum(parts.values()))
        by_layer = sum(c.energy_total_pj for c in r.layers) + sum(r.frame_energy_pj.values())
        assert r.totals["energy_pj"] == pytest.approx(by_layer)
        assert r.totals["edp"] == pytest.approx(r.totals["energy_pj"] * r.totals["latency_us"])
        assert r.totals["latency_us"] == pytest.approx(sum(r.totals["latency_by_component_us"].values()))


@pytest.mark.parametrize("profile", ["p2m", "scamp5"])
def test_moving_a_layer_into_the_sensor_removes_its_digital_energy(profile):
    spec = create_arch("cnn3")
    for depth in range(6):
        before = estimate_ppa(spec, profile, in_sensor_layers=depth)
        after = estimate_ppa(spec, profile, in_sensor_layers=depth + 1)
        moved_before, moved_after = before.layers[depth], after.layers[depth]
        digital_before = sum(moved_before.energy_pj.get(k, 0) for k in DIGITAL)
        assert digital_before > 0 and not moved_before.in_sensor
        assert moved_after.in_sensor and all(moved_after.energy_pj.get(k, 0) == 0 for k in DIGITAL)
        assert moved_after.energy_pj["analog_mac"] > 0
        total = lambda r: sum(r.totals["energy_by_component_pj"][k] for k in DIGITAL)  # noqa: E731
        assert total(after) <= total(before) - digital_before + 1e-6


def test_conventional_baseline_digitizes_every_photosite_and_refuses_analog():
    spec = create_arch("cnn3")
    r = estimate_ppa(spec, "conventional")
    assert r.totals["adc_conversions"] == 32 * 32 * 3
    assert r.totals["onsensor_weight_bits"] == 0 and r.totals["in_sensor_macs"] == 0
    assert not any(c.in_sensor for c in r.layers)
    with pytest.raises(AisnasError, match="no analog compute"):
        estimate_ppa(spec, "conventional", in_sensor_layers=1)


def test_cnn3_p2m_monotonic_in_depth():
    spec = create_arch("cnn3")
    convs = [layer for layer in spec.layers() if layer.kind != "linear"]
    results = [estimate_ppa(spec, "p2m", in_sensor_layers=d) for d in range(len(convs) + 1)]
    bits = [r.totals["onsensor_weight_bits"] for r in results]
    assert bits[0] == 0 and all(b < c for b, c in zip(bits, bits[1:]))
    # Per-pixel replication: each layer adds params x H*W x 8 bits.
    assert bits[1] == 432 * 32 * 32 * 8
    assert [r.totals["adc_conversions"] for r in results[1:]] == [c.activations for c in convs]
    macs = [r.totals["in_sensor_macs"] for r in results]
    assert all(a < b for a, b in zip(macs, macs[1:]))


def test_depth_is_validated():
    spec = create_arch("cnn3")
    for bad in (-1, 7, 99):
        with pytest.raises(AisnasError, match="outside 0..6"):
            estimate_ppa(spec, "p2m", in_sensor_layers=bad)
    # None means the architecture's own setting.
    assert estimate_ppa(create_arch("cnn3", in_sensor_layers=2), "p2m").in_sensor_layers == 2


@pytest.mark.parametrize("profile", list_profiles())
@pytest.mark.parametrize("arch", list_archs())
def test_every_profile_runs_every_arch_at_every_depth(profile, arch):
    spec = create_arch(arch)
    prof = load_profile(profile)
    n_conv = sum(1 for layer in spec.layers() if layer.kind != "linear")
    for depth in range(n_conv + 1) if prof.has_analog else [0]:
        r = estimate_ppa(spec, prof, in_sensor_layers=depth)
        t = r.totals
        assert t["in_sensor_layers"] == depth
        assert all(math.isfinite(t[k]) and t[k] >= 0 for k in PPA_METRICS)
        assert t["energy_pj"] > 0 and t["latency_us"] > 0 and t["sensor_area_mm2"] > 0
        assert sum(c.in_sensor for c in r.layers) == depth


def test_digital_constants_scale_with_the_node(toy_profile):
    s = toy_profile.scaling
    assert node_factor(45, 20, s, "energy") == pytest.approx(0.22)
    assert node_factor(45, 20, s, "area") == pytest.approx(0.21)
    assert node_factor(45, 45, s, "energy") == 1.0
    digital = dataclasses.replace(toy_profile.digital, technology_nm=20.0)
    at20 = estimate_ppa(toy_arch(), dataclasses.replace(toy_profile, digital=digital), in_sensor_layers=1)
    at45 = estimate_ppa(toy_arch(), toy_profile, in_sensor_layers=1)
    e20, e45 = (r.totals["energy_by_component_pj"]["digital_mac"] for r in (at20, at45))
    assert e20 == pytest.approx(0.22 * e45)
    assert at20.totals["digital_area_mm2"] == pytest.approx(0.21 * at45.totals["digital_area_mm2"])


def test_constraint_values_follow_optunas_sign_convention():
    r = estimate_ppa(create_arch("cnn3"), "p2m", in_sensor_layers=1)
    energy = r.totals["energy_pj"]
    c = constraint_values(r, {"energy_pj": energy * 2, "adc_conversions": 1000})
    assert c["energy_pj"] == pytest.approx(-energy)  # within budget: negative
    assert c["adc_conversions"] == 16384 - 1000  # over budget: positive
    assert set(metric_values(r)) == set(PPA_METRICS)
    with pytest.raises(AisnasError, match="allowed: energy_pj"):
        constraint_values(r, {"power_mw": 1.0})
