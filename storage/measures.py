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
from typing import cast

from PIL import Image, ImageMath

from models.enums import QualityWarning

# The grey picture every measure is taken on: this many pixels square, box-averaged.
MEASURE_SIDE = 256
# Grey levels from here up count as blown out (near white).
NEAR_WHITE = 250
# The difference hash's grid: 17×16 grey cells give 16×16 left-right comparisons, of which
# every other row and column (64) are kept. Finer than the classic 9×8, it tells two photos
# of the same kind of document apart while re-encoding or resizing moves few bits (see
# tests/README.md for the distances measured).
_HASH_GRID = (17, 16)


@dataclass(frozen=True)
class Measures:
    sharpness: float  # variance of the Laplacian of the grey picture
    brightness: float  # mean grey level, 0..255
    glare: float  # share of near-white pixels, 0..1
    phash: int  # 64-bit perceptual hash, unsigned


@dataclass(frozen=True)
class QualityThresholds:
    """When a measure is worth a warning. The defaults were chosen on the labelled set's tuning
    seeds (`python -m tests.helpers.quality_figures`) and rounded towards fewer false alarms;
    tests/README.md gives their precision and recall. Settings: QUALITY_BLURRY_BELOW, …"""

    blurry_below: float = 900.0  # sharpness under this: blurred (judged only when the light is fine)
    dark_below: float = 100.0  # brightness under this ...
    dark_detail_below: float = 550.0  # ... with sharpness under this: too dark (not a crisp dark card)
    bright_above: float = 225.0  # brightness over this ...
    scan_sharpness: float = 4000.0  # ... with sharpness under this: washed out (not a crisp scan)
    glare_above: float = 0.015  # share of near-white over this ...
    glare_page_share: float = 0.3  # ... and under this: a reflection (more is the white page)


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
    grey = upright.convert("L")
    square = grey.resize((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.BOX)
    histogram = square.histogram()
    count = MEASURE_SIDE * MEASURE_SIDE
    return Measures(
        sharpness=_laplacian_variance(square),
        brightness=sum(level * n for level, n in enumerate(histogram)) / count,
        glare=sum(histogram[NEAR_WHITE:]) / count,
        phash=_difference_hash(grey),
    )


def _laplacian_variance(grey: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian over the inner pixels, in signed integers."""
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
    mean, mean_square = (_mean(image) for image in (laplacian, squared))
    return max(mean_square - mean * mean, 0.0)


def _mean(image: Image.Image | object) -> float:
    """The mean of a one-band float picture: a box resize to one pixel, summed in C."""
    assert isinstance(image, Image.Image)
    return cast(float, image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)))


def _difference_hash(grey: Image.Image) -> int:
    width, height = _HASH_GRID
    # Cell means in floating point: 8-bit means make near-equal neighbours tie, and a tie
    # flips with any re-encoding.
    cells = cast(
        "tuple[float, ...]",
        grey.convert("F").resize(_HASH_GRID, Image.Resampling.BOX).get_flattened_data(),
    )
    value = 0
    for row in range(0, height, 2):
        line = cells[row * width : (row + 1) * width]
        for column in range(0, width - 1, 2):
            value = (value << 1) | (line[column + 1] > line[column])
    return value


def hash_distance(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return (a ^ b).bit_count()
