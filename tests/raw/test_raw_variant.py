"""Variant parsing, ordering rules and the ISP-stage mapping."""

import pytest

from aisnas.errors import AisnasError
from aisnas.raw import ISP_STAGES, PAPER_VARIANTS, STAGE_CODES, Variant, isp_stages, parse_variant


@pytest.mark.parametrize("name", PAPER_VARIANTS)
def test_paper_variants_parse_to_their_canonical_name(name):
    v = parse_variant(name)
    assert v.name == name
    assert parse_variant(v.name) == v


def test_identity_has_no_codes_and_spelling_is_normalised():
    assert parse_variant("N/A").codes == ()
    assert parse_variant("n/a").name == "N/A"
    assert parse_variant(" u + m + rm ").codes == ("U", "M", "RM")
    v = parse_variant("C+S")
    assert parse_variant(v) is v


@pytest.mark.parametrize("text", ["C+X", "Q", "C++M", "", "RGB"])
def test_unknown_code_is_one_line_listing_the_codes(text):
    with pytest.raises(AisnasError) as err:
        parse_variant(text)
    msg = str(err.value)
    assert "\n" not in msg
    assert "unknown stage code" in msg
    for code in STAGE_CODES:
        assert code in msg


@pytest.mark.parametrize(
    "text, reason",
    [
        ("RC", "C must come before it"),
        ("M+RC", "after M"),
        ("RM", "M must come before it"),
        ("RM+M", "M must come before it"),
        ("C+S+RC", "S came between"),
        ("M+C", "after M"),
        ("M+S", "after M"),
        ("S+C", "only U may come before"),
        ("C+U", "must come first"),
        ("C+C", "appears twice"),
        ("N/A+C", "cannot be combined"),
    ],
)
def test_nonsense_orderings_are_rejected_with_a_reason(text, reason):
    with pytest.raises(AisnasError, match=reason) as err:
        parse_variant(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text", ["C+M+RM+RC", "U+C+S+M+RM", "S", "U+C+RC", "U+S+M+RM"])
def test_meaningful_orderings_are_accepted(text):
    assert parse_variant(text).name == text


def test_variant_validates_when_built_directly():
    with pytest.raises(AisnasError):
        Variant(("RC",))
    with pytest.raises(AisnasError):
        Variant(["C"])


@pytest.mark.parametrize(
    "name, stages",
    [
        ("N/A", ("demosaic", "color", "tone")),
        ("C", ("demosaic",)),
        ("C+RC", ("demosaic", "color", "tone")),
        ("C+S", ("demosaic", "sqrt")),
        ("M", ("color", "tone")),
        ("M+RM", ("demosaic", "color", "tone")),
        ("U", ("demosaic", "color", "tone", "bin2x2")),
        ("U+M", ("color", "tone", "bin2x2")),
        ("U+M+RM", ("demosaic", "color", "tone", "bin2x2")),
        ("C+M", ()),
        ("C+M+RM+RC", ("demosaic", "color", "tone")),
    ],
)
def test_isp_stages_mapping(name, stages):
    assert isp_stages(name) == stages
    assert set(stages) <= set(ISP_STAGES)
