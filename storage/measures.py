"""What the upload gate measures on a picture, from the decode the checks already made.

Sharpness, brightness and glare say whether a photo is likely to be returned (blurred, too
dark, washed out, a reflection); the perceptual hash recognises the same picture again after
it was re-encoded, resized or turned. All of it runs on the upright, reduced decode that the
thumbnail comes from, in Pillow's C code: about 2 ms a picture, no second decode.

The candidate page computes the same three measures in the browser (client/js/quality.js)
and applies the same rule (`quality_warnings`) with the thresholds the service publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from models.enums import QualityWarning

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported where a picture is measured, not at import (see storage/images.py).

# The grey picture every measure is taken on: this many pixels square, box-averaged.
MEASURE_SIDE = 256
# Grey levels from here up count as blown out (near white).
NEAR_WHITE = 250
# Sharpness is read in 8×8 tiles of the Laplacian (31 pixels square, of its 254), over the 8
# most detailed.
_TILES, _TILE_SIDE, _DETAILED_TILES = 8, 31, 8
# The difference hash: a 25×25 grid of grey cell means; at 8×8 sample cells (every third row and
# column from the second) whether the next cell is brighter: the right neighbour in even sample
# columns, the one below in odd ones. 64 bits, finer than the classic 9×8, so two photos of the
# same kind of document (whose layouts agree at 9×8) stay apart, while re-encoding or resizing
# the same picture moves a few bits (tests/README.md has the distances measured).
_HASH_SIDE = 25
_HASH_SAMPLES = range(1, 24, 3)


@dataclass(frozen=True)
class Measures:
    sharpness: float  # variance of the Laplacian of the grey picture, in its most detailed tiles
    brightness: float  # mean grey level, 0..255
    glare: float  # share of near-white pixels, 0..1
    phash: int  # 64-bit perceptual hash, unsigned


@dataclass(frozen=True)
class QualityThresholds:
    """When a measure is worth a warning. The defaults were chosen on the labelled set's tuning
    seeds (`python -m tests.helpers.quality_figures`) and rounded; the two over-exposure cuts by
    hand, in the middle of the gaps to the photocopies and the white scans that must not warn.
    tests/README.md gives their precision and recall on other seeds. Settings: QUALITY_*."""

    blurry_below: float = 3100.0  # sharpness under this: blurred (judged only when the light is fine)
    dark_below: float = 85.0  # brightness under this ...
    dark_detail_below: float = 1650.0  # ... with sharpness under this: too dark (not a crisp dark card)
    bright_above: float = 224.0  # brightness over this ...
    scan_sharpness: float = 11750.0  # ... with sharpness under this: washed out (not a crisp scan)
    glare_above: float = 0.007  # share of near-white over this ...
    glare_page_share: float = 0.2  # ... and under this: a reflection (more is the white page)


def quality_warnings(measures: Measures, limits: QualityThresholds) -> list[QualityWarning]:
    """What looks wrong, in the order the page names it (模糊／过暗／过亮／有反光)."""
    # Light scales the Laplacian: a dark or bright picture counts only when it also lacks
    # detail (a crisp dark card or a crisp scan is fine), and blur is judged only on a picture
    # that is properly exposed and free of a reflection, which hides detail too.
    dark = measures.brightness < limits.dark_below
    bright = measures.brightness > limits.bright_above
    too_dark = dark and measures.sharpness < limits.dark_detail_below
    washed_out = bright and measures.sharpness < limits.scan_sharpness
    glare = limits.glare_above < measures.glare < limits.glare_page_share
    blurry = not (dark or bright or glare) and measures.sharpness < limits.blurry_below
    flags = {
        QualityWarning.BLURRY: blurry,
        QualityWarning.TOO_DARK: too_dark,
        QualityWarning.OVEREXPOSED: washed_out,
        QualityWarning.GLARE: glare,
    }
    return [warning for warning, raised in flags.items() if raised]


def measure(upright: Image.Image) -> Measures:
    """Measure an upright RGB or grey picture of any size."""
    from PIL import Image

    grey = upright.convert("L")
    square = grey.resize((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.BOX)
    histogram = square.histogram()
    count = MEASURE_SIDE * MEASURE_SIDE
    return Measures(
        sharpness=_sharpness(square),
        brightness=sum(level * n for level, n in enumerate(histogram)) / count,
        glare=sum(histogram[NEAR_WHITE:]) / count,
        phash=_difference_hash(grey),
    )


def _sharpness(grey: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian (in signed arithmetic) in each of 8×8 tiles, over
    the eight most detailed tiles: the document's own detail, wherever it lies in the frame.

    Over the whole frame, a sharp card photographed at arm's length (much table, little text)
    reads as blurred as a blurred page of dense text; the most detailed tiles do not (tests/README.md).
    """
    from PIL import ImageMath

    w, h = grey.size
    shifted = {
        "centre": grey.crop((1, 1, w - 1, h - 1)),
        "left": grey.crop((0, 1, w - 2, h - 1)),
        "right": grey.crop((2, 1, w, h - 1)),
        "up": grey.crop((1, 0, w - 1, h - 2)),
        "down": grey.crop((1, 2, w - 1, h)),
    }
    # ImageMath works on 32-bit images, so the Laplacian keeps its sign (an 8-bit filter clips).
    laplacian = ImageMath.lambda_eval(
        lambda v: v["float"](v["left"] + v["right"] + v["up"] + v["down"] - v["centre"] * 4),
        **shifted,
    )
    squared = ImageMath.lambda_eval(lambda v: v["x"] * v["x"], x=laplacian)
    means, mean_squares = (_tile_means(image) for image in (laplacian, squared))
    variances = sorted(
        (max(s - m * m, 0.0) for m, s in zip(means, mean_squares, strict=True)), reverse=True
    )
    return sum(variances[:_DETAILED_TILES]) / _DETAILED_TILES


def _tile_means(image: Image.Image | object) -> tuple[float, ...]:
    """The means of a one-band float picture's 8×8 tiles of 31×31 pixels (a box resize, in C)."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    side = _TILES * _TILE_SIDE
    tiles = image.crop((0, 0, side, side)).resize((_TILES, _TILES), Image.Resampling.BOX)
    return cast("tuple[float, ...]", tiles.get_flattened_data())


def _difference_hash(grey: Image.Image) -> int:
    from PIL import Image

    side = _HASH_SIDE
    # Cell means in floating point: 8-bit means make near-equal neighbours tie, and a tie
    # flips with any re-encoding.
    cells = cast(
        "tuple[float, ...]",
        grey.convert("F").resize((side, side), Image.Resampling.BOX).get_flattened_data(),
    )
    value = 0
    for row in _HASH_SAMPLES:
        for number, column in enumerate(_HASH_SAMPLES):
            here = row * side + column
            neighbour = here + 1 if number % 2 == 0 else here + side
            value = (value << 1) | (cells[neighbour] > cells[here])
    return value


def hash_distance(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return (a ^ b).bit_count()
