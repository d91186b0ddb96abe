"""Pictures made in the tests: photo-like JPEGs and PNGs, and the bad-file corpus."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter


def photo(
    width: int = 1200,
    height: int = 900,
    quality: int = 70,
    orientation: int | None = None,
    seed: int = 1,
    fmt: str = "JPEG",
) -> bytes:
    """A noisy, photo-like picture, so JPEG sizes are realistic."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width // 8, height // 8))
    image.putdata(
        [
            (rng.randrange(60, 200), rng.randrange(60, 200), rng.randrange(60, 200))
            for _ in range((width // 8) * (height // 8))
        ]
    )
    image = image.resize((width, height), Image.Resampling.BICUBIC).filter(ImageFilter.SMOOTH)
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 10, height // 10, width // 3, height // 2), outline="black", width=8)
    out = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        if orientation is not None:
            exif[0x0112] = orientation
        image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


def small_jpeg(seed: int = 1) -> bytes:
    """A valid picture well under 200 KB, for tests that only need an upload to succeed."""
    return photo(640, 480, quality=60, seed=seed)


def sized_jpeg(target_bytes: int) -> bytes:
    """A JPEG whose size is just over target_bytes."""
    quality = 95
    size = 1600
    while True:
        data = photo(size, size * 3 // 4, quality=quality, seed=size)
        if len(data) > target_bytes:
            return data
        size += 400


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), "red").save(out, "GIF")
    return out.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()
