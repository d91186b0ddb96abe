"""Pictures made in the tests: photo-like JPEGs and PNGs, and the bad-file corpus."""

from __future__ import annotations

import functools
import io
import random
import zlib

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


# ---- the bad-file corpus: what candidates (or attackers) send instead of a good photo ----

CAP = 204800

def jpeg_of_size(target: int, seed: int = 1) -> bytes:
    """A valid photo JPEG padded with comment segments to exactly `target` bytes."""
    base = photo(1200, 900, quality=60, seed=seed)
    pad = target - len(base)
    assert pad >= 8, (len(base), target)
    segments = bytearray()
    while pad:
        payload = min(pad - 4, 65533)
        if 0 < pad - 4 - payload < 4:
            payload -= 4  # leave room for one more whole segment
        segments += b"\xff\xfe" + (payload + 2).to_bytes(2, "big") + b"c" * payload
        pad -= payload + 4
    data = base[:2] + bytes(segments) + base[2:]
    assert len(data) == target
    return data


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@functools.cache
def good_jpeg() -> bytes:
    return photo(640, 480, quality=60, seed=11)


@functools.cache
def good_png() -> bytes:
    return photo(400, 320, seed=12, fmt="PNG")


def text_named_jpg() -> bytes:
    return "这不是图片，只是改了扩展名的文本文件。\n".encode() * 20


def truncated_jpeg() -> bytes:
    data = good_jpeg()
    return data[: len(data) // 2]


def jpeg_with_html() -> bytes:
    return good_jpeg() + b"<html><script>alert(document.cookie)</script></html>"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, chunks = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def png_with_cut_pixels() -> bytes:
    """Well framed (every chunk whole, IEND last) but the compressed pixels stop half-way."""
    chunks = png_chunks(good_png())
    pixels = b"".join(body for kind, body in chunks if kind == b"IDAT")
    head = b"".join(png_chunk(k, b) for k, b in chunks if k not in (b"IDAT", b"IEND"))
    return (
        good_png()[:8]
        + head
        + png_chunk(b"IDAT", pixels[: len(pixels) // 2])
        + png_chunk(b"IEND", b"")
    )


def png_with_bad_crc() -> bytes:
    data = bytearray(good_png())
    data[data.index(b"IDAT") + 40] ^= 0xFF
    return bytes(data)


def png_with_zip() -> bytes:
    return good_png() + b"PK\x03\x04" + b"\x00" * 26 + b"payload.txt" + b"PK\x05\x06" + b"\x00" * 18


def webp() -> bytes:
    return encoded(Image.new("RGB", (400, 400), "green"), "WEBP")


def small_bmp() -> bytes:
    """A palette BMP, well under the cap (an RGB one of this size would be refused for size)."""
    return encoded(Image.new("P", (320, 320), 3), "BMP")


@functools.cache
def bomb() -> bytes:
    return png_bomb(20000)


@functools.cache
def over_cap_jpeg() -> bytes:
    return jpeg_of_size(201 * 1024)


def tiny_jpeg() -> bytes:
    return photo(200, 200, seed=13)


def apng() -> bytes:
    frames = [Image.new("RGB", (400, 400), colour) for colour in ("red", "blue", "green")]
    return encoded(frames[0], "PNG", save_all=True, append_images=frames[1:])
