"""storage/images.py: the checks a picture passes before anything is stored, and its thumbnail.

The bad-file corpus of issue 2 is generated here; tests/resolvers/test_upload.py sends the same
files through the real service.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from storage.images import Picture, PictureRefused, PictureRules, inspect_picture, sniff_format
from tests.helpers.pictures import (
    CAP,
    apng,
    bomb,
    encoded,
    gif,
    good_jpeg,
    good_png,
    jpeg_of_size,
    jpeg_with_html,
    over_cap_jpeg,
    photo,
    png_with_bad_crc,
    png_with_cut_pixels,
    png_with_zip,
    small_bmp,
    text_named_jpg,
    tiny_jpeg,
    truncated_jpeg,
    webp,
)

RULES = PictureRules(
    formats=("jpeg", "png"), max_bytes=CAP, min_side=300, max_pixels=40_000_000, thumbnail_side=320
)


# ---- sniff_format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (good_jpeg, "jpeg"),
        (good_png, "png"),
        (gif, "GIF"),
        (webp, "WebP"),
        (small_bmp, "BMP"),
        (lambda: encoded(Image.new("RGB", (8, 8)), "TIFF"), "TIFF"),
        (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (lambda: b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "AVIF"),
        (text_named_jpg, None),
        (lambda: b"", None),
        (lambda: b"\xff\xd8", None),  # too short to be a JPEG
    ],
)
def test_sniff_format_reads_the_bytes(make: object, expected: str | None) -> None:
    assert callable(make)
    assert sniff_format(make()) == expected


# ---- inspect_picture: refusals -------------------------------------------------------------------


def refusal(data: bytes, rules: PictureRules = RULES) -> PictureRefused:
    with pytest.raises(PictureRefused) as caught:
        inspect_picture(data, rules)
    assert caught.value.message and caught.value.message == str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (text_named_jpg, "NOT_AN_IMAGE"),
        (lambda: b"", "NOT_AN_IMAGE"),
        (truncated_jpeg, "NOT_AN_IMAGE"),
        (jpeg_with_html, "NOT_AN_IMAGE"),
        (png_with_zip, "NOT_AN_IMAGE"),
        (lambda: good_png()[:-20], "NOT_AN_IMAGE"),  # PNG cut before IEND
        (png_with_cut_pixels, "NOT_AN_IMAGE"),
        (png_with_bad_crc, "NOT_AN_IMAGE"),
        (gif, "UNSUPPORTED_FORMAT"),
        (webp, "UNSUPPORTED_FORMAT"),
        (small_bmp, "UNSUPPORTED_FORMAT"),
        (apng, "UNSUPPORTED_FORMAT"),
        (over_cap_jpeg, "FILE_TOO_LARGE"),
        (bomb, "FILE_TOO_LARGE"),
        (tiny_jpeg, "IMAGE_TOO_SMALL"),
    ],
)
def test_refused_with_the_right_code(make: object, code: str) -> None:
    assert callable(make)
    assert refusal(make()).code == code


def test_refusal_messages_are_chinese_and_name_the_problem() -> None:
    assert "GIF" in refusal(gif()).message
    assert "动画" in refusal(apng()).message
    assert "200 KB" in refusal(over_cap_jpeg()).message
    assert "200×200" in refusal(tiny_jpeg()).message
    assert "空" in refusal(b"").message
    assert "不完整" in refusal(truncated_jpeg()).message
    assert "其他数据" in refusal(jpeg_with_html()).message
    assert "像素" in refusal(bomb()).message


def test_corpus_files_are_what_they_claim() -> None:
    assert len(over_cap_jpeg()) == 201 * 1024 > CAP
    assert len(bomb()) < CAP  # refused for its pixels, not its size
    with Image.open(io.BytesIO(over_cap_jpeg())) as image:
        image.load()
        assert image.size == (1200, 900)
    assert len(small_bmp()) < CAP  # refused for its format, not its size


def test_cap_is_inclusive_and_per_rules() -> None:
    assert inspect_picture(jpeg_of_size(CAP), RULES).byte_size == CAP
    assert refusal(jpeg_of_size(CAP + 1)).code == "FILE_TOO_LARGE"
    roomy = PictureRules(("jpeg", "png"), 300 * 1024, 300, 40_000_000, 320)
    assert inspect_picture(over_cap_jpeg(), roomy).byte_size == 201 * 1024


def test_too_many_pixels_below_pillows_own_limit() -> None:
    strict = PictureRules(("jpeg", "png"), CAP, 300, 1_000_000, 320)
    refused = refusal(photo(1200, 900, seed=3), strict)
    assert refused.code == "FILE_TOO_LARGE" and "1200×900" in refused.message


def test_format_not_allowed_by_the_category() -> None:
    jpeg_only = PictureRules(("jpeg",), CAP, 300, 40_000_000, 320)
    assert refusal(good_png(), jpeg_only).code == "UNSUPPORTED_FORMAT"
    png_only = PictureRules(("png",), CAP, 300, 40_000_000, 320)
    assert refusal(good_jpeg(), png_only).code == "UNSUPPORTED_FORMAT"
    assert inspect_picture(good_jpeg(), jpeg_only).format == "jpeg"


def test_min_side_counts_the_short_side() -> None:
    assert refusal(photo(1200, 296, seed=4)).code == "IMAGE_TOO_SMALL"
    assert inspect_picture(photo(1200, 304, seed=4), RULES).height == 304


# ---- inspect_picture: accepted pictures -----------------------------------------------------------


def thumbnail_of(picture: Picture) -> Image.Image:
    image = Image.open(io.BytesIO(picture.thumbnail))
    image.load()
    assert image.format == "JPEG"
    assert not image.getexif()
    assert max(image.size) <= RULES.thumbnail_side
    return image


def test_jpeg_accepted_with_its_evidence() -> None:
    data = good_jpeg()
    picture = inspect_picture(data, RULES)
    assert (picture.format, picture.content_type) == ("jpeg", "image/jpeg")
    assert (picture.width, picture.height, picture.orientation) == (640, 480, 1)
    assert picture.byte_size == len(data)
    assert picture.sha256 == hashlib.sha256(data).hexdigest()
    assert thumbnail_of(picture).size == (320, 240)


def test_trailing_zero_padding_is_tolerated() -> None:
    assert inspect_picture(good_jpeg() + b"\x00" * 64, RULES).format == "jpeg"


@pytest.mark.parametrize(
    ("image", "size"),
    [
        (Image.new("CMYK", (400, 300), (10, 200, 30, 40)), (400, 300)),
        (Image.new("I;16", (400, 300), 40000), (400, 300)),
        (Image.new("RGBA", (400, 300), (200, 10, 10, 128)), (400, 300)),
        (Image.new("LA", (300, 400), (128, 200)), (300, 400)),
        (Image.new("P", (400, 300), 7), (400, 300)),
        (Image.new("1", (400, 300), 1), (400, 300)),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "rgba-png", "la-png", "palette-png", "1-bit-png"],
)
def test_unusual_modes_are_accepted_with_an_rgb_thumbnail(
    image: Image.Image, size: tuple[int, int]
) -> None:
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    data = encoded(image, fmt)
    picture = inspect_picture(data, RULES)
    assert picture.format == fmt.lower() and (picture.width, picture.height) == size
    assert thumbnail_of(picture).mode in ("RGB", "L")


def test_rgba_thumbnail_is_flattened_on_white() -> None:
    data = encoded(Image.new("RGBA", (400, 400), (0, 0, 0, 0)), "PNG")
    pixel = thumbnail_of(inspect_picture(data, RULES)).convert("RGB").getpixel((100, 100))
    assert isinstance(pixel, tuple) and min(pixel) > 240


def test_png_text_metadata_is_not_in_the_thumbnail() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret GPS 36.6,117.0")
    with Image.open(io.BytesIO(good_png())) as image:
        data = encoded(image, "PNG", pnginfo=info)
    assert b"secret" in data
    picture = inspect_picture(data, RULES)
    assert b"secret" not in picture.thumbnail
    assert thumbnail_of(picture).info.get("Comment") is None


# EXIF orientation: the stored pixels are the upright picture transformed by the inverse of what
# the tag says, so applying the tag gives the upright picture back.
_STORE_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_with_marker() -> Image.Image:
    """A portrait 600×900 picture, grey, with a red block in its top-left corner."""
    image = Image.new("RGB", (600, 900), (128, 128, 128))
    image.paste((220, 20, 20), (0, 0, 200, 200))
    return image


def oriented_jpeg(orientation: int) -> bytes:
    transform = _STORE_AS[orientation]
    upright = upright_with_marker()
    stored = upright if transform is None else upright.transpose(transform)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(stored, "JPEG", quality=90, exif=exif.tobytes())


def is_red(pixel: object) -> bool:
    assert isinstance(pixel, tuple)
    red, green, blue = pixel[:3]
    return red > 180 and green < 80 and blue < 80


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_size_and_thumbnail(orientation: int) -> None:
    data = oriented_jpeg(orientation)
    with Image.open(io.BytesIO(data)) as raw:
        stored_size = raw.size
    assert stored_size == ((600, 900) if orientation < 5 else (900, 600))

    picture = inspect_picture(data, RULES)
    assert picture.orientation == orientation
    assert (picture.width, picture.height) == (600, 900)  # as the person sees it
    assert picture.byte_size == len(data)
    assert picture.sha256 == hashlib.sha256(data).hexdigest()

    thumb = thumbnail_of(picture).convert("RGB")
    width, height = thumb.size
    assert width < height and (width, height) == (213, 320)
    corners = {
        "top-left": (5, 5),
        "top-right": (width - 6, 5),
        "bottom-left": (5, height - 6),
        "bottom-right": (width - 6, height - 6),
    }
    red = [name for name, xy in corners.items() if is_red(thumb.getpixel(xy))]
    assert red == ["top-left"]


def test_out_of_range_orientation_counts_as_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 9
    data = encoded(upright_with_marker(), "JPEG", exif=exif.tobytes())
    picture = inspect_picture(data, RULES)
    assert (picture.orientation, picture.width, picture.height) == (1, 600, 900)
