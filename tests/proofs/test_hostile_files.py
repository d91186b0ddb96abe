"""Hostile files: each is refused with a typed code or stored safely, under a key we chose."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from models import Attachment, MaterialCategory
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import make_candidate
from tests.helpers.pictures import photo, small_jpeg
from tests.helpers.raw import STORED_KEY, TIMEOUT
from tests.helpers.service import Service

# --- the corpus ----------------------------------------------------------------------------


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def plain_png(side: int = 400) -> bytes:
    """A document-like PNG: a few strokes on white, a couple of KB."""
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((side // 8, side // 8, side * 3 // 4, side // 2), outline="black", width=6)
    draw.text((side // 6, side * 2 // 3), "ID 110101", fill="blue")
    return _save(image, "PNG")


def _png_with_chunk(kind: bytes, data: bytes) -> bytes:
    """A small valid PNG with one extra chunk inserted before its image data."""
    png = plain_png()
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return png[:ihdr_end] + _png_chunk(kind, data) + png[ihdr_end:]


def _zip() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


HTML = b"<html><script>alert(document.cookie)</script></html>"


def cmyk_jpeg() -> bytes:
    return _save(Image.open(io.BytesIO(photo(500, 400, seed=5))).convert("CMYK"), "JPEG", quality=70)


def png16() -> bytes:
    image = Image.new("I;16", (400, 300))
    image.putdata([(x * 163) % 65536 for x in range(400 * 300)])
    return _save(image, "PNG")


def rgba16_png() -> bytes:
    """16 bits per channel with alpha, written by hand (Pillow cannot write it)."""
    width, height = 320, 320
    row = b"\x00" + b"\x12\x34\x56\x78\x9a\xbc\xff\xff" * width
    raw = zlib.compress(row * height)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", raw)
        + _png_chunk(b"IEND", b"")
    )


def animated_png() -> bytes:
    frames = [Image.new("RGB", (400, 400), color) for color in ("red", "green", "blue")]
    return _save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (400, 400))
    image.putpalette([i % 256 for i in range(768)])
    return _save(image, "PNG", transparency=0)


def grayscale_jpeg() -> bytes:
    return _save(Image.open(io.BytesIO(photo(500, 400, seed=7))).convert("L"), "JPEG")


def progressive_jpeg() -> bytes:
    return _save(Image.open(io.BytesIO(photo(500, 400, seed=8))), "JPEG", progressive=True)


def zlib_bomb_text_png() -> bytes:
    """A zTXt chunk that inflates to 64 MiB from about 64 KB."""
    return _png_with_chunk(b"zTXt", b"bomb\x00\x00" + zlib.compress(b"\x00" * (64 << 20), 9))


def huge_icc_png() -> bytes:
    """An iCCP profile that inflates to 64 MiB."""
    return _png_with_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * (64 << 20), 9))


def jpeg_with_big_comment(size: int) -> bytes:
    jpeg = small_jpeg(21)
    segments = []
    remaining = size
    while remaining > 0:  # a COM segment holds at most 65533 bytes
        chunk = min(remaining, 65533)
        segments.append(b"\xff\xfe" + struct.pack(">H", chunk + 2) + b"c" * chunk)
        remaining -= chunk
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


RefusedCase = tuple[Callable[[], bytes], str, set[str]]

# name -> (bytes, filename, codes it may be refused with)
REFUSED: dict[str, RefusedCase] = {
    "JPEG + HTML appended": (lambda: small_jpeg(30) + HTML, "a.jpg", {"NOT_AN_IMAGE"}),
    "JPEG + ZIP appended": (lambda: small_jpeg(31) + _zip(), "a.jpg", {"NOT_AN_IMAGE"}),
    "PNG + HTML appended": (lambda: plain_png() + HTML, "a.png", {"NOT_AN_IMAGE"}),
    "PNG + ZIP appended": (lambda: plain_png() + _zip(), "a.png", {"NOT_AN_IMAGE"}),
    "HTML before a JPEG": (lambda: HTML + small_jpeg(32), "a.jpg", {"NOT_AN_IMAGE"}),
    "HTML named .jpg": (lambda: HTML, "photo.jpg", {"NOT_AN_IMAGE"}),
    "ZIP named .jpg": (_zip, "photo.jpg", {"NOT_AN_IMAGE"}),
    "GIF named .jpg": (
        lambda: _save(Image.new("RGB", (400, 400), "red"), "GIF"), "photo.jpg", {"UNSUPPORTED_FORMAT"}
    ),
    "WebP named .png": (
        lambda: _save(Image.new("RGB", (400, 400), "red"), "WEBP"), "photo.png", {"UNSUPPORTED_FORMAT"}
    ),
    "BMP named .jpg": (
        lambda: _save(Image.new("RGB", (200, 200), "red"), "BMP"), "photo.jpg", {"UNSUPPORTED_FORMAT"}
    ),
    "TIFF named .jpg": (
        lambda: _save(Image.new("RGB", (200, 200), "red"), "TIFF"), "photo.jpg", {"UNSUPPORTED_FORMAT"}
    ),
    "SVG named .png": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "photo.png", {"NOT_AN_IMAGE"},
    ),
    "PDF named .jpg": (lambda: b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n", "a.jpg", {"NOT_AN_IMAGE"}),
    "empty file": (lambda: b"", "a.jpg", {"NOT_AN_IMAGE"}),
    "JPEG signature only": (lambda: b"\xff\xd8\xff", "a.jpg", {"NOT_AN_IMAGE"}),
    "truncated JPEG": (lambda: truncated(small_jpeg(33)), "a.jpg", {"NOT_AN_IMAGE"}),
    "truncated PNG": (lambda: truncated(photo(320, 320, fmt="PNG")), "a.png", {"NOT_AN_IMAGE"}),
    "animated PNG": (animated_png, "a.png", {"UNSUPPORTED_FORMAT"}),
    "PNG with a 64 MiB zTXt bomb": (zlib_bomb_text_png, "a.png", {"NOT_AN_IMAGE", "FILE_TOO_LARGE"}),
    "PNG with a 64 MiB iCCP bomb": (huge_icc_png, "a.png", {"NOT_AN_IMAGE", "FILE_TOO_LARGE"}),
    "PNG with 900 KB of tEXt (over maxBytes)": (
        lambda: _png_with_chunk(b"tEXt", b"k\x00" + b"v" * 900_000), "a.png", {"FILE_TOO_LARGE"}
    ),
    "JPEG with 900 KB of comments (over maxBytes)": (
        lambda: jpeg_with_big_comment(900_000), "a.jpg", {"FILE_TOO_LARGE"}
    ),
    "PNG with a corrupt chunk CRC": (
        lambda: _png_with_chunk(b"tEXt", b"k\x00v")[:-20] + b"\x00" * 4 + plain_png()[-16:],
        "a.png", {"NOT_AN_IMAGE"},
    ),
    "tiny JPEG (1x1)": (
        lambda: _save(Image.new("RGB", (1, 1)), "JPEG"), "a.jpg", {"IMAGE_TOO_SMALL"}
    ),
    "far past the pixel limit (20000x20000 PNG)": (
        lambda: _save(Image.new("1", (20000, 20000)), "PNG", optimize=True),
        "a.png", {"FILE_TOO_LARGE"},
    ),
}


async def _upload(
    client: GraphQLClient, category: MaterialCategory, data: bytes, filename: str,
    content_type: str = "image/jpeg",
) -> dict[str, Any]:
    result = await client.upload(
        op.UPLOAD, {"categoryId": str(category.id)}, {"file": FilePart(filename, data, content_type)}
    )
    assert result.status_code == 200, result.errors
    return result.payload("uploadAttachment")


@pytest.mark.parametrize("case", list(REFUSED))
async def test_hostile_file_is_refused_with_its_code_and_nothing_is_stored(
    service: Service, categories: dict[str, MaterialCategory], case: str
) -> None:
    make, filename, codes = REFUSED[case]
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    payload = await _upload(client, categories["EDU"], make(), filename)
    assert payload["attachment"] is None
    assert {e["code"] for e in payload["errors"]} <= codes, payload["errors"]
    assert payload["errors"]
    with service.db():
        assert await Attachment.filter(candidate_id=row.id).count() == 0
    keys = [item.key async for item in service.services.store.scan()]
    assert not [k for k in keys if k.startswith((f"pictures/{row.id}/", f"thumbnails/{row.id}/"))]
    await client.aclose()


# name -> (bytes, filename, expected content type)
STORED: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "CMYK JPEG": (cmyk_jpeg, "a.jpg", "image/jpeg"),
    "16-bit grey PNG": (png16, "a.png", "image/png"),
    "16-bit RGBA PNG": (rgba16_png, "a.png", "image/png"),
    "palette PNG with transparency": (palette_png_with_transparency, "a.png", "image/png"),
    "grey JPEG": (grayscale_jpeg, "a.jpg", "image/jpeg"),
    "progressive JPEG": (progressive_jpeg, "a.jpg", "image/jpeg"),
    "PNG named .jpg": (plain_png, "photo.jpg", "image/png"),
    "JPEG named .png": (lambda: small_jpeg(40), "photo.png", "image/jpeg"),
    "JPEG named .html": (lambda: small_jpeg(41), "index.html", "image/jpeg"),
    "JPEG with zero padding": (lambda: small_jpeg(42) + b"\x00" * 64, "a.jpg", "image/jpeg"),
    "PNG with 150 KB of tEXt (under maxBytes)": (
        lambda: _png_with_chunk(b"tEXt", b"Comment\x00" + b"<script>" * 19_000), "a.png", "image/png"
    ),
    "JPEG with 150 KB of comments (under maxBytes)": (
        lambda: jpeg_with_big_comment(150_000), "a.jpg", "image/jpeg"
    ),
}

HOSTILE_NAMES = {
    "path separators": "../../../etc/passwd.jpg",
    "windows separators": "..\\..\\windows\\system32\\a.jpg",
    "absolute path": "/var/lib/exam-review/files/pictures/1/x.jpg",
    "NUL byte": "photo\x00.php.jpg",
    "1000 characters": "照" * 1000 + ".jpg",
    "control characters": "a\r\nContent-Type: text/html\r\n.jpg",
    "quotes": 'a"; name="map.jpg',
    "empty": "",
    "dots only": "..",
    "unicode direction override": "gpj.\u202eexe.jpg",
}


async def _check_stored(
    service: Service, client: GraphQLClient, candidate_id: int, payload: dict[str, object],
    data: bytes, content_type: str,
) -> None:
    attachment = payload["attachment"]
    assert isinstance(attachment, dict), payload
    assert attachment["contentType"] == content_type
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    with service.db():
        row = await Attachment.get(id=attachment["id"])
    for key in (row.storage_key, row.thumbnail_key):
        assert STORED_KEY.match(key), key
        assert key.split("/")[1] == str(candidate_id)
        assert str(row.id) in key
    assert row.storage_key.endswith(".png" if content_type == "image/png" else ".jpg")
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        original = await http.get(str(attachment["url"]))
        thumbnail = await http.get(str(attachment["thumbnailUrl"]))
    # The bytes as uploaded, served as an image that browsers must not sniff.
    assert original.content == data
    assert original.headers["content-type"].startswith(content_type)
    assert original.headers["x-content-type-options"] == "nosniff"
    assert "filename" not in original.headers.get("content-disposition", "")
    # The thumbnail is a plain upright JPEG without metadata.
    preview = Image.open(io.BytesIO(thumbnail.content))
    assert preview.format == "JPEG" and preview.mode in ("RGB", "L")
    assert not preview.getexif() and "icc_profile" not in preview.info
    assert "comment" not in preview.info
    assert max(preview.size) <= service.settings.thumbnail_side


@pytest.mark.parametrize("case", list(STORED))
async def test_unusual_but_valid_picture_is_stored_safely(
    service: Service, categories: dict[str, MaterialCategory], case: str
) -> None:
    make, filename, content_type = STORED[case]
    data = make()
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    payload = await _upload(client, categories["EDU"], data, filename)
    assert payload["errors"] == [], payload
    await _check_stored(service, client, row.id, payload, data, content_type)
    await client.aclose()


@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
async def test_hostile_filename_never_reaches_the_stored_key(
    service: Service, categories: dict[str, MaterialCategory], case: str
) -> None:
    data = small_jpeg(50)
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    try:
        result = await client.upload(
            op.UPLOAD, {"categoryId": str(categories["EDU"].id)},
            {"file": FilePart(HOSTILE_NAMES[case], data, "text/html")},
        )
    except httpx.LocalProtocolError:
        pytest.skip("the HTTP client itself refuses to send this filename")
    # Whatever the name, the answer is a stored picture or a 4xx, and never a 500.
    assert result.status_code < 500
    if result.status_code == 200 and result.data and result.data["uploadAttachment"]["attachment"]:
        await _check_stored(
            service, client, row.id, result.data["uploadAttachment"], data, "image/jpeg"
        )
    else:
        assert 400 <= result.status_code < 500 or result.payload("uploadAttachment")["errors"]
    await client.aclose()


@pytest.mark.parametrize("orientation", range(1, 9))
async def test_exif_orientation_gives_upright_size_and_thumbnail(
    service: Service, categories: dict[str, MaterialCategory], orientation: int
) -> None:
    data = photo(640, 400, quality=60, orientation=orientation, seed=orientation)
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    payload = await _upload(client, categories["EDU"], data, "a.jpg")
    assert payload["errors"] == []
    attachment = payload["attachment"]
    assert isinstance(attachment, dict)
    upright = (400, 640) if orientation >= 5 else (640, 400)
    assert (attachment["width"], attachment["height"]) == upright
    await _check_stored(service, client, row.id, payload, data, "image/jpeg")
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        thumbnail = Image.open(io.BytesIO((await http.get(str(attachment["thumbnailUrl"]))).content))
    assert (thumbnail.width > thumbnail.height) == (upright[0] > upright[1])
    await client.aclose()


async def test_dimensions_at_the_pixel_limit_pass_and_one_more_row_is_refused(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    limit = service.settings.max_image_pixels
    width = 8000
    height = limit // width
    at_limit = _save(Image.new("1", (width, height)), "PNG", optimize=True)
    over = _save(Image.new("1", (width, height + 1)), "PNG", optimize=True)
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    refused = await _upload(client, categories["EDU"], over, "a.png")
    assert [e["code"] for e in refused["errors"]] == ["FILE_TOO_LARGE"]
    accepted = await _upload(client, categories["EDU"], at_limit, "a.png")
    assert accepted["errors"] == [], accepted
    assert (accepted["attachment"]["width"], accepted["attachment"]["height"]) == (width, height)
    await client.aclose()
