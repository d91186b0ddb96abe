"""storage/measures.py: sharpness, brightness and glare with their warnings, and the perceptual
hash, measured through the real upload check (`inspect_picture`) on photo-like documents.

The labelled set's figures are asserted here with bounds that fail when the measures or the
default thresholds get worse; tests/README.md has the table (`python -m
tests.helpers.quality_figures` prints it).
"""

from __future__ import annotations

import functools
import io
import itertools

import pytest
from PIL import Image, ImageDraw, ImageFilter

from models.enums import QualityWarning
from storage.images import PictureRules, inspect_picture
from storage.measures import MEASURE_SIDE, Measures, QualityThresholds, hash_distance, measure
from tests.helpers import documents
from tests.helpers.quality_figures import HELD_OUT_SEEDS, Measured, figures, measured

DEFAULTS = QualityThresholds()
RULES = PictureRules(("jpeg", "png"), 10 * 1024 * 1024, 300, 40_000_000, 320)
DISTANCE = 6  # the default LOOKALIKE_DISTANCE


def measures_of(data: bytes) -> Measures:
    return inspect_picture(data, RULES).measures


# ---- the three measures, on pictures whose answer is known ------------------------------------


def test_flat_grey_has_no_detail_and_its_own_brightness() -> None:
    m = measure(Image.new("L", (640, 480), 90))
    assert (m.sharpness, m.brightness, m.glare) == (0.0, 90.0, 0.0)


def test_glare_is_the_share_of_near_white() -> None:
    image = Image.new("L", (512, 512), 120)
    ImageDraw.Draw(image).rectangle((0, 0, 511, 127), fill=252)  # a quarter of the picture
    assert measure(image).glare == pytest.approx(0.25, abs=0.01)


def test_sharpness_is_the_laplacian_variance_in_signed_arithmetic() -> None:
    # A checkerboard of single pixels: every inner Laplacian is ±4·(255 − 0) = ±1020, half
    # each sign, so every tile's variance is 1020² (an 8-bit filter would clip it to 255²).
    side = MEASURE_SIDE
    board = Image.new("L", (side, side))
    board.putdata([255 * ((x + y) % 2) for y in range(side) for x in range(side)])
    assert measure(board).sharpness == pytest.approx(1020**2, rel=1e-3)


def test_sharpness_is_read_where_the_detail_is() -> None:
    # A small sharp label in a large flat frame: over the whole frame its Laplacian variance
    # is tiny, in its own tiles it reads sharp; blurred, it does not.
    page = Image.new("L", (1024, 768), 200)
    draw = ImageDraw.Draw(page)
    draw.rectangle((400, 300, 560, 420), fill=255)
    for y in range(310, 410, 6):
        draw.line((410, y, 550, y), fill=20, width=1)
    assert measure(page).sharpness > DEFAULTS.blurry_below
    assert measure(page.filter(ImageFilter.GaussianBlur(3))).sharpness < DEFAULTS.blurry_below / 10


def test_blur_lowers_sharpness_and_light_moves_brightness() -> None:
    view = documents.scene(documents.id_card(3), 3)
    sharp = measures_of(documents.shoot(view, 3))
    blurred = measures_of(documents.shoot(view, 3, documents.Shot(blur=3)))
    dark = measures_of(documents.shoot(view, 3, documents.Shot(exposure=0.3)))
    assert blurred.sharpness < sharp.sharpness / 3
    assert dark.brightness < sharp.brightness / 2


def test_measured_upright_whatever_the_exif_orientation() -> None:
    upright = documents.photograph(documents.certificate(4), 4)
    first = measures_of(upright)
    for orientation in (3, 6, 8):
        turned = measures_of(documents.turned(upright, orientation))
        assert turned.brightness == pytest.approx(first.brightness, abs=1)
        assert turned.sharpness == pytest.approx(first.sharpness, rel=0.15)


# ---- the warnings: the rule, and the labelled set's figures -----------------------------------


@pytest.mark.parametrize(
    ("sharpness", "brightness", "glare", "expected"),
    [
        (6000, 160, 0.0, []),
        (1000, 160, 0.0, [QualityWarning.BLURRY]),
        (800, 40, 0.0, [QualityWarning.TOO_DARK]),  # blur is not judged in the dark
        (4000, 60, 0.0, []),  # a crisp dark card
        (8000, 240, 0.85, [QualityWarning.OVEREXPOSED]),
        (14000, 244, 0.88, []),  # a crisp white scan
        (6000, 170, 0.06, [QualityWarning.GLARE]),
        (1500, 170, 0.06, [QualityWarning.GLARE]),  # the reflection, not blur, hides the detail
        (7500, 220, 0.75, []),  # a photocopy on a white page is not a reflection
    ],
)
def test_warning_rule(sharpness: float, brightness: float, glare: float, expected: list[QualityWarning]) -> None:
    from storage.measures import quality_warnings

    assert quality_warnings(Measures(sharpness, brightness, glare, 0), DEFAULTS) == expected


@functools.cache
def held_out() -> list[Measured]:
    return list(measured(documents.labelled_set(HELD_OUT_SEEDS), DEFAULTS))


# Lower bounds on the held-out seeds (the thresholds were chosen on other seeds). OVEREXPOSED is
# the weak one: a moderately over-exposed photo and a photocopy on a white page look alike to
# these three measures, and the photocopy must not warn.
MIN_PRECISION = 0.95
MIN_RECALL = {
    QualityWarning.BLURRY: 0.9,
    QualityWarning.TOO_DARK: 0.9,
    QualityWarning.OVEREXPOSED: 0.5,
    QualityWarning.GLARE: 0.9,
}


def test_labelled_set_precision_and_recall_per_warning() -> None:
    per_warning = figures(held_out(), DEFAULTS)
    for warning, found in per_warning.items():
        assert found.precision >= MIN_PRECISION, found
        assert found.recall >= MIN_RECALL[warning], found


def test_fine_but_unusual_pictures_never_warn() -> None:
    from storage.measures import quality_warnings

    kinds = ("dark_card", "white_scan", "card_copy")
    unusual = [p for p in held_out() if p.name.startswith(kinds)]
    assert len(unusual) == len(kinds) * len(HELD_OUT_SEEDS)
    assert {p.name: quality_warnings(p.measures, DEFAULTS) for p in unusual} == {p.name: [] for p in unusual}


# ---- the perceptual hash -----------------------------------------------------------------------


@functools.cache
def photo(kind: str, seed: int, retake: int = 0) -> bytes:
    return documents.photograph(documents.DOCUMENTS[kind](seed), seed + 100 * retake)


def test_the_same_picture_stays_within_the_distance() -> None:
    """Re-encoded at another JPEG quality, resized to 80 %, or stored turned with an EXIF tag."""
    for kind, seed in itertools.product(documents.DOCUMENTS, (11, 12)):
        original = photo(kind, seed)
        first = measures_of(original).phash
        variants = [
            documents.reencoded(original, 40),
            documents.reencoded(original, 95),
            documents.resized(original, 0.8),
            documents.resized(original, 0.8, quality=60),
            *(documents.turned(original, o) for o in range(2, 9)),
        ]
        distances = [hash_distance(first, measures_of(v).phash) for v in variants]
        assert max(distances) <= DISTANCE - 2, (kind, distances)  # a margin below the setting


def test_other_photos_of_the_same_kind_of_document_stay_apart() -> None:
    """Same layout, other text, portrait and light; and a retake of the same document."""
    seeds = range(11, 16)
    for kind in documents.DOCUMENTS:
        hashes = {seed: measures_of(photo(kind, seed)).phash for seed in seeds}
        apart = [hash_distance(hashes[a], hashes[b]) for a, b in itertools.combinations(seeds, 2)]
        retakes = [hash_distance(hashes[s], measures_of(photo(kind, s, retake=1)).phash) for s in seeds]
        assert min(apart) > DISTANCE + 2, (kind, apart)
        assert min(retakes) > DISTANCE, (kind, retakes)


def test_hash_is_64_bits_from_the_picture_not_its_file() -> None:
    original = photo("id_card", 11)
    as_png = io.BytesIO()
    Image.open(io.BytesIO(original)).save(as_png, "PNG")
    phash = measures_of(original).phash
    assert 0 <= phash < 1 << 64
    assert hash_distance(phash, measures_of(as_png.getvalue()).phash) <= 2
