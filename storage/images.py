"""The checks a picture passes before anything is stored, and its upright thumbnail.

Everything here is synchronous and CPU-bound; callers run it in a worker thread
(Pillow releases the GIL while decoding, so threads really do run in parallel).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.enums import ErrorCode, QualityWarning
from storage.measures import (
    MEASURE_SIDE,
    Measures,
    QualityThresholds,
    measure,
    quality_warnings,
)

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported by the first picture checked, not at import: a start of the service
# (which needs none of it before an upload) is ~20 ms shorter.

# Signatures of image formats we can name but do not accept (identified before decoding).
_OTHER_FORMATS: tuple[tuple[bytes, int, str], ...] = (
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"8BPS", 0, "PSD"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"\xff\x0a", 0, "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", 0, "JPEG XL"),
)
_ISO_BRANDS = {
    b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"heim": "HEIC", b"heis": "HEIC",
    b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF", b"avis": "AVIF",
}
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


class PictureRefused(Exception):
    """A picture that fails a check; `message` is for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PictureRules:
    formats: tuple[str, ...]
    max_bytes: int
    min_side: int
    max_pixels: int
    thumbnail_side: int
    quality: QualityThresholds = field(default_factory=QualityThresholds)


@dataclass(frozen=True)
class Picture:
    format: str
    content_type: str
    byte_size: int
    width: int
    height: int
    orientation: int
    sha256: str
    thumbnail: bytes
    measures: Measures  # taken on the upright picture, from the thumbnail's decode
    warnings: list[QualityWarning]


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} 字节"


def _too_many_pixels(rules: PictureRules, width: int = 0, height: int = 0) -> str:
    size = f"（{width}×{height}）" if width else ""
    limit = rules.max_pixels // 1_000_000
    return f"图片像素尺寸过大{size}，请缩小到 {limit} 百万像素以内再上传。"


def sniff_format(data: bytes) -> str | None:
    """'jpeg', 'png', another format's display name, or None when nothing matches."""
    if data.startswith(_JPEG_SIGNATURE):
        return "jpeg"
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_BRANDS:
        return _ISO_BRANDS[data[8:12]]
    for signature, offset, name in _OTHER_FORMATS:
        if data[offset : offset + len(signature)] == signature:
            return name
    return None


def _jpeg_end(data: bytes) -> int | None:
    """Offset just past the EOI marker, walking segments and entropy-coded data."""
    pos, size = 2, len(data)
    while pos + 2 <= size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if pos + 4 > size:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 2 + length
        if marker == 0xDA:  # start of scan: skip entropy-coded data to the next real marker
            # bytes.find jumps between 0xFF bytes in C; a byte-by-byte loop costs ~20 ms a photo.
            while (pos := data.find(b"\xff", pos, size - 1)) != -1:
                if data[pos + 1] != 0 and not 0xD0 <= data[pos + 1] <= 0xD7:
                    break
                pos += 1
            else:
                return None
    return None


def _png_end(data: bytes) -> int | None:
    pos, size = len(_PNG_SIGNATURE), len(data)
    while pos + 12 <= size:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return None


def _check_nothing_after_end(data: bytes, kind: str) -> None:
    end = _jpeg_end(data) if kind == "jpeg" else _png_end(data)
    if end is None or end > len(data):
        raise PictureRefused(ErrorCode.NOT_AN_IMAGE, "图片文件不完整（可能只上传了一部分），请重新选择图片。")
    # Some cameras pad with zero bytes; anything else after the image is another file riding along.
    if data[end:].strip(b"\x00"):
        raise PictureRefused(
            ErrorCode.NOT_AN_IMAGE, "图片文件末尾附带了其他数据，不能作为图片接收。请用相册或截图重新导出后上传。"
        )


def inspect_picture(data: bytes, rules: PictureRules) -> Picture:
    """Check a candidate's file from its bytes and make its thumbnail, or raise PictureRefused."""
    if not data:
        raise PictureRefused(ErrorCode.NOT_AN_IMAGE, "文件是空的，请重新选择图片。")
    if len(data) > rules.max_bytes:
        raise PictureRefused(
            ErrorCode.FILE_TOO_LARGE,
            f"文件大小为 {_kb(len(data))}，超过了 {_kb(rules.max_bytes)} 的上限，请压缩后再上传。",
        )
    kind = sniff_format(data)
    allowed = "、".join("jpg" if f == "jpeg" else f for f in rules.formats)
    if kind is None:
        raise PictureRefused(ErrorCode.NOT_AN_IMAGE, f"文件不是图片，请上传 {allowed} 格式的照片。")
    if kind not in CONTENT_TYPES or kind not in rules.formats:
        label = "PNG" if kind == "png" else "JPG" if kind == "jpeg" else kind
        raise PictureRefused(
            ErrorCode.UNSUPPORTED_FORMAT, f"不支持 {label} 格式，请上传 {allowed} 格式的照片。"
        )
    _check_nothing_after_end(data, kind)

    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
    except Image.DecompressionBombError as exc:
        raise PictureRefused(ErrorCode.FILE_TOO_LARGE, _too_many_pixels(rules)) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise PictureRefused(ErrorCode.NOT_AN_IMAGE, "无法识别这张图片，文件可能已损坏。") from exc
    with image:
        # The limit comes with the rules and is checked on the header, before anything is
        # decoded; Pillow's own MAX_IMAGE_PIXELS is process-wide state and stays untouched.
        stored_w, stored_h = image.size
        if stored_w * stored_h > rules.max_pixels:
            raise PictureRefused(ErrorCode.FILE_TOO_LARGE, _too_many_pixels(rules, stored_w, stored_h))
        if getattr(image, "n_frames", 1) > 1:
            raise PictureRefused(ErrorCode.UNSUPPORTED_FORMAT, "不支持动画图片，请上传一张静态照片。")
        try:
            exif = image.getexif()  # for PNG this decodes the pixels (eXIf may follow them)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PictureRefused(ErrorCode.NOT_AN_IMAGE, "图片文件不完整或已损坏，请重新选择图片。") from exc
        orientation = exif.get(0x0112, 1)
        if not isinstance(orientation, int) or orientation not in range(1, 9):
            orientation = 1
        width, height = (stored_h, stored_w) if orientation >= 5 else (stored_w, stored_h)
        if min(width, height) < rules.min_side:
            raise PictureRefused(
                ErrorCode.IMAGE_TOO_SMALL,
                f"图片太小（{width}×{height}），短边至少需要 {rules.min_side} 像素，请拍摄更清晰的照片。",
            )
        thumbnail, measures = _thumbnail(image, kind, rules.thumbnail_side)

    return Picture(
        format=kind,
        content_type=CONTENT_TYPES[kind],
        byte_size=len(data),
        width=width,
        height=height,
        orientation=orientation,
        sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=thumbnail,
        measures=measures,
        warnings=quality_warnings(measures, rules.quality),
    )


def _thumbnail(image: Image.Image, kind: str, side: int) -> tuple[bytes, Measures]:
    """Decode the whole picture (a reduced decode for JPEG) once: an upright JPEG preview, and
    the measures taken on the same upright pixels."""
    from PIL import Image, ImageOps

    try:
        if kind == "jpeg":
            # The smallest DCT-scaled decode (1/2, 1/4, 1/8) that still fills the thumbnail's
            # longer side and leaves the measures their square: asking for (side, side) would
            # decode a 4:3 photo at twice that scale, four times the pixels to thumbnail.
            w, h = image.size
            longer = max(w, h)
            image.draft(
                "RGB",
                (max(-(-side * w // longer), MEASURE_SIDE), max(-(-side * h // longer), MEASURE_SIDE)),
            )
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PictureRefused(ErrorCode.NOT_AN_IMAGE, "图片文件不完整或已损坏，请重新选择图片。") from exc
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "L"):
        rgba = upright.convert("RGBA")
        upright = Image.new("RGB", rgba.size, "white")
        upright.paste(rgba, mask=rgba.getchannel("A"))
    measures = measure(upright)
    upright.thumbnail((side, side))
    upright.info.clear()  # no metadata rides along into what examiners see
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue(), measures
