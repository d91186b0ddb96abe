"""Photo-like pictures of exam documents, made deterministically from a seed.

The labelled set for the quality thresholds (tests/storage/test_quality.py) and the look-alike
tests are built from these: an identity card, a diploma and a certificate page, each with its
own text, portrait and lighting per seed, photographed on a table (tilt, uneven light, lens
softness, sensor noise, JPEG); and the pictures that are fine but unusual (a dark card, a
mostly white scan). Glyphs are strokes, not a font, so the pictures are the same on every
machine.
"""

from __future__ import annotations

import functools
import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

PHOTO_SIZE = (1024, 768)  # what the page sends after shrinking a phone photo under 200 KB
Colour = tuple[int, int, int]


def _glyph(draw: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, size: int, ink: Colour) -> None:
    """A made-up character: a few strokes in a square cell, like a Chinese glyph from afar."""
    width = max(1, size // 9)
    for _ in range(rng.randint(3, 7)):
        kind = rng.random()
        if kind < 0.4:  # horizontal
            y0 = y + rng.randint(1, size - 2)
            x0 = x + rng.randint(0, size // 3)
            draw.line((x0, y0, x0 + rng.randint(size // 3, size - 1 - (x0 - x)), y0), ink, width)
        elif kind < 0.8:  # vertical
            x0 = x + rng.randint(1, size - 2)
            y0 = y + rng.randint(0, size // 3)
            draw.line((x0, y0, x0, y0 + rng.randint(size // 3, size - 1 - (y0 - y))), ink, width)
        else:  # a sweep
            draw.line(
                (x + rng.randint(0, size // 2), y + rng.randint(0, size // 2),
                 x + rng.randint(size // 2, size - 1), y + rng.randint(size // 2, size - 1)),
                ink, width,
            )


def _text(
    draw: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, size: int, count: int, ink: Colour
) -> None:
    for i in range(count):
        _glyph(draw, rng, x + i * (size + size // 5), y, size, ink)


def _digits(draw: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, size: int, count: int, ink: Colour) -> None:
    """Narrow digit-like shapes (an ID number)."""
    w = size * 3 // 5
    for i in range(count):
        left = x + i * (w + size // 6)
        segments = rng.sample(range(7), rng.randint(3, 6))
        for s in segments:
            box = {
                0: (left, y, left + w, y), 1: (left, y + size // 2, left + w, y + size // 2),
                2: (left, y + size, left + w, y + size), 3: (left, y, left, y + size // 2),
                4: (left + w, y, left + w, y + size // 2), 5: (left, y + size // 2, left, y + size),
                6: (left + w, y + size // 2, left + w, y + size),
            }[s]
            draw.line(box, ink, max(1, size // 8))


def _portrait(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A head-and-shoulders photo: backdrop, shirt, face and hair, all varying with the seed."""
    w, h = size
    backdrop = rng.choice([(235, 238, 242), (70, 120, 200), (200, 40, 40), (250, 250, 250)])
    image = Image.new("RGB", size, backdrop)
    draw = ImageDraw.Draw(image)
    shirt = tuple(rng.randrange(20, 230) for _ in range(3))
    draw.ellipse((w * -0.1, h * 0.7, w * 1.1, h * 1.4), fill=shirt)
    skin = (rng.randrange(190, 240), rng.randrange(150, 200), rng.randrange(120, 170))
    face_w = w * rng.uniform(0.42, 0.55)
    cx, cy = w * rng.uniform(0.45, 0.55), h * rng.uniform(0.42, 0.5)
    draw.rectangle((cx - face_w * 0.18, cy + h * 0.12, cx + face_w * 0.18, cy + h * 0.32), fill=skin)
    draw.ellipse((cx - face_w / 2, cy - face_w * 0.65, cx + face_w / 2, cy + face_w * 0.65), fill=skin)
    hair = tuple(rng.randrange(10, 70) for _ in range(3))
    top = cy - face_w * 0.7
    draw.chord((cx - face_w * 0.56, top, cx + face_w * 0.56, top + face_w * rng.uniform(0.6, 0.9)), 180, 360, fill=hair)
    for side in (-1, 1):
        ex = cx + side * face_w * rng.uniform(0.17, 0.22)
        ey = cy - face_w * rng.uniform(0.05, 0.12)
        draw.ellipse((ex - 5, ey - 3, ex + 5, ey + 3), fill=(30, 25, 20))
    draw.line((cx - face_w * 0.15, cy + face_w * 0.32, cx + face_w * 0.15, cy + face_w * 0.32), (150, 70, 70), 3)
    return image.filter(ImageFilter.GaussianBlur(1))


def id_card(seed: int) -> Image.Image:
    """The photo side of a resident identity card: pale patterned ground, fields, portrait, number."""
    rng = random.Random(seed)
    card = Image.new("RGB", (856, 540), (226 + rng.randrange(-6, 6), 232, 236))
    draw = ImageDraw.Draw(card)
    for i in range(0, 856, 12):  # the guilloche-like background pattern
        draw.arc((i - 300, 120, i + 300, 700), 200, 340, fill=(200, 214, 226), width=1)
    ink = (25, 25, 30)
    label = (60, 90, 140)
    rows = [(60, 2, rng.randint(2, 3)), (125, 2, 1), (125, 2, 0), (190, 2, 0), (255, 2, rng.randint(8, 11)), (300, 0, rng.randint(6, 11))]
    for y, labels, values in rows:
        _text(draw, rng, 50, y, 26, labels, label)
        _text(draw, rng, 130, y, 30, values, ink)
    _text(draw, rng, 290, 125, 26, 2, label)
    _text(draw, rng, 360, 125, 30, 1, ink)
    _digits(draw, rng, 60, 250 - 60, 30, 8, ink)
    _text(draw, rng, 50, 440, 26, 6, label)
    _digits(draw, rng, 260, 440, 36, 18, ink)
    card.paste(_portrait(rng, (230, 290)), (590, 90))
    return _rounded(card, 32)


def diploma(seed: int) -> Image.Image:
    """A diploma page: cream paper, red frame, title, photo, body text and a red seal."""
    rng = random.Random(seed)
    page = Image.new("RGB", (1100, 780), (247, 242, 228))
    draw = ImageDraw.Draw(page)
    red = (178, 34, 34)
    draw.rectangle((20, 20, 1079, 759), outline=red, width=10)
    draw.rectangle((40, 40, 1059, 739), outline=red, width=2)
    _text(draw, rng, 380, 70, 64, 4, red)
    page.paste(_portrait(rng, (150, 200)), (90, 190))
    ink = (30, 30, 30)
    for line in range(6):
        _text(draw, rng, 290, 200 + line * 58, 34, rng.randint(10, 20), ink)
    _text(draw, rng, 620, 580, 30, 8, ink)
    _digits(draw, rng, 620, 630, 30, 10, ink)
    cx, cy = rng.randint(700, 820), rng.randint(520, 600)
    draw.ellipse((cx - 95, cy - 95, cx + 95, cy + 95), outline=(205, 40, 40), width=9)
    draw.regular_polygon((cx, cy, 30), 5, fill=(205, 40, 40))
    _text(draw, rng, cx - 70, cy - 70, 22, 6, (205, 40, 40))
    return page


def certificate(seed: int) -> Image.Image:
    """An inside page of a certificate booklet: a table of fields with a photo and a stamp."""
    rng = random.Random(seed)
    page = Image.new("RGB", (1000, 720), (244, 246, 240))
    draw = ImageDraw.Draw(page)
    line = (90, 110, 90)
    for y in range(80, 660, 72):
        draw.line((60, y, 940, y), line, 2)
    for x in (60, 240, 700, 940):
        draw.line((x, 80, x, 656), line, 2)
    ink = (20, 20, 25)
    _text(draw, rng, 330, 24, 40, 6, (40, 60, 40))
    for row in range(8):
        _text(draw, rng, 80, 98 + row * 72, 30, rng.randint(2, 4), (60, 80, 60))
        _text(draw, rng, 260, 98 + row * 72, 30, rng.randint(3, 12), ink)
    page.paste(_portrait(rng, (200, 270)), (720, 110))
    cx, cy = rng.randint(450, 650), rng.randint(520, 600)
    draw.ellipse((cx - 80, cy - 80, cx + 80, cy + 80), outline=(200, 40, 50), width=8)
    return page


def dark_card(seed: int) -> Image.Image:
    """A card with a dark ground (like a bank or social security card): light text, a chip."""
    rng = random.Random(seed)
    ground = rng.choice([(18, 28, 60), (25, 25, 28), (40, 18, 50), (12, 45, 40)])
    card = Image.new("RGB", (856, 540), ground)
    draw = ImageDraw.Draw(card)
    for i in range(0, 856, 40):
        draw.line((i, 0, i + 300, 540), tuple(min(255, c + 12) for c in ground), 6)
    light = (235, 235, 225)
    gold = (212, 175, 90)
    draw.rounded_rectangle((80, 190, 190, 270), 12, fill=gold)
    _text(draw, rng, 80, 60, 44, rng.randint(4, 7), light)
    _digits(draw, rng, 80, 330, 48, 16, light)
    _text(draw, rng, 80, 430, 30, rng.randint(3, 5), light)
    _digits(draw, rng, 500, 430, 30, 5, light)
    card.paste(_portrait(rng, (150, 190)), (660, 60))
    return _rounded(card, 32)


def _rounded(card: Image.Image, radius: int) -> Image.Image:
    """A card with round corners: RGBA, transparent outside."""
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, card.width - 1, card.height - 1), radius, fill=255)
    rgba = card.convert("RGBA")
    rgba.putalpha(mask)
    return rgba


DOCUMENTS: dict[str, Callable[[int], Image.Image]] = {
    "id_card": id_card,
    "diploma": diploma,
    "certificate": certificate,
}


@dataclass(frozen=True)
class Shot:
    """How a document is photographed; every field has a plausible default drawn from the seed."""

    exposure: float = 1.0  # multiplies the light: < 1 darker, > 1 washed out
    blur: float = 0.0  # Gaussian radius of a missed focus or a shaken hand, in photo pixels
    highlight: float = 0.0  # radius of a specular reflection as a share of the width (0: none)
    noise: float = 3.0  # sensor noise, grey levels


def _table(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    base = rng.choice([(150, 110, 75), (190, 185, 175), (110, 105, 100), (215, 205, 185)])
    small = (size[0] // 16, size[1] // 16)
    grain = Image.frombytes("L", small, rng.randbytes(small[0] * small[1]))
    grain = grain.resize(size, Image.Resampling.BICUBIC)
    table = Image.new("RGB", size, base)
    return Image.blend(table, Image.merge("RGB", (grain, grain, grain)), 0.15)


def _light(rng: random.Random, size: tuple[int, int], exposure: float) -> Image.Image:
    """Uneven light: brighter towards a random side, darker in the corners (scale 128 = 1.0)."""
    w, h = size
    small = Image.new("L", (32, 24))
    angle = rng.uniform(0, 2 * math.pi)
    # A phone exposes for the scene: paper lands around 190-235, rarely burnt out.
    strength = rng.uniform(0.05, 0.15)
    level = rng.uniform(0.78, 0.95) * exposure
    values = []
    for y in range(24):
        for x in range(32):
            u, v = x / 31 - 0.5, y / 23 - 0.5
            gradient = 1 + strength * (u * math.cos(angle) + v * math.sin(angle)) * 2
            vignette = 1 - 0.35 * (u * u + v * v)
            values.append(max(0, min(255, round(128 * level * gradient * vignette))))
    small.putdata(values)
    return small.resize((w, h), Image.Resampling.BICUBIC)


def _expose(image: Image.Image, light: Image.Image) -> Image.Image:
    """Multiply by the light field (128 = unchanged), clipping what goes past white."""
    # ImageChops.multiply divides by 255: scale the field so 128 means x1 and up to x2 is kept.
    lit = ImageChops.multiply(image, Image.merge("RGB", (light, light, light)))
    return ImageChops.add(lit, lit)  # x2 with clipping, so 128 -> x1.0, 255 -> x2.0


def scene(document: Image.Image, seed: int, size: tuple[int, int] = PHOTO_SIZE) -> Image.Image:
    """The document lying on a table, as the lens sees it (tilted, a little soft), before light."""
    rng = random.Random(seed * 7919 + 17)
    w, h = size
    table = _table(rng, size)
    # Held by hand: the document fills 55-95 % of the width, tilted up to 8 degrees, off centre.
    scale = rng.uniform(0.55, 0.95) * w / document.width
    doc = document.convert("RGBA").resize(
        (round(document.width * scale), round(document.height * scale)), Image.Resampling.LANCZOS
    )
    doc = doc.rotate(rng.uniform(-8, 8), Image.Resampling.BILINEAR, expand=True)
    x = (w - doc.width) // 2 + rng.randint(-w // 10, w // 10)
    y = (h - doc.height) // 2 + rng.randint(-h // 10, h // 10)
    table.paste(doc, (x, y), doc)
    return table.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.7)))  # no lens is perfect


def shoot(view: Image.Image, seed: int, shot: Shot = Shot()) -> bytes:
    """Expose a scene: focus, light, reflection, sensor noise, then the phone's JPEG."""
    rng = random.Random(seed * 104729 + 3)
    if shot.blur:
        view = view.filter(ImageFilter.GaussianBlur(shot.blur))
    view = _expose(view, _light(rng, view.size, shot.exposure))
    if shot.highlight:
        view = _with_highlight(view, rng, shot.highlight)
    view = _with_noise(view, rng, shot.noise)
    return _jpeg(view, rng.randint(78, 88))


def photograph(
    document: Image.Image, seed: int, shot: Shot = Shot(), size: tuple[int, int] = PHOTO_SIZE
) -> bytes:
    """The document on a table, photographed by a phone: JPEG bytes."""
    return shoot(scene(document, seed, size), seed, shot)


def _with_highlight(scene: Image.Image, rng: random.Random, radius: float) -> Image.Image:
    """A specular reflection: a bright, soft-edged ellipse that burns out what is under it."""
    w, h = scene.size
    mask = Image.new("L", scene.size, 0)
    rx, ry = radius * w, radius * w * rng.uniform(0.5, 0.9)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    ImageDraw.Draw(mask).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(rx / 3))
    white = Image.new("RGB", scene.size, (255, 255, 255))
    boosted = ImageChops.add(scene, Image.merge("RGB", (mask, mask, mask)))
    return Image.composite(white, boosted, mask.point(lambda v: 255 if v > 150 else v))


def _with_noise(scene: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    if sigma <= 0:
        return scene
    # Uniform noise with the given standard deviation, from seeded bytes (Pillow's own
    # effect_noise draws from C's rand(), which no seed here controls).
    w, h = scene.size
    spread = sigma * math.sqrt(3) / 127.5
    layer = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point(
        lambda v: round(128 + (v - 127.5) * spread)
    )
    return ImageChops.add(scene, Image.merge("RGB", (layer, layer, layer)), scale=1.0, offset=-128)


def white_scan(seed: int, size: tuple[int, int] = (868, 1228)) -> bytes:
    """A page from a scanning app: pure white paper, crisp black text, nothing around it."""
    rng = random.Random(seed)
    page = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(page)
    ink = (15, 15, 15)
    _text(draw, rng, size[0] // 2 - 160, 80, 44, rng.randint(4, 7), ink)
    y = 200
    while y < size[1] - 200:
        indent = 60 + (40 if rng.random() < 0.2 else 0)
        _text(draw, rng, indent, y, 24, rng.randint(12, 28), ink)
        y += rng.choice([40, 40, 40, 80])
    if rng.random() < 0.5:
        cx, cy = rng.randint(500, 700), size[1] - 180
        draw.ellipse((cx - 80, cy - 80, cx + 80, cy + 80), outline=(220, 40, 40), width=6)
    page = page.filter(ImageFilter.GaussianBlur(0.5))
    return _jpeg(_with_noise(page, rng, 1.0), rng.randint(80, 90))


def dark_card_photo(seed: int) -> bytes:
    """A dark card photographed well: it fills most of the frame, properly exposed."""
    return photograph(dark_card(seed), seed)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def reencoded(data: bytes, quality: int) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return _jpeg(image, quality)


def resized(data: bytes, share: float, quality: int = 85) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        size = (round(image.width * share), round(image.height * share))
        return _jpeg(image.resize(size, Image.Resampling.LANCZOS), quality)


# The inverse of each EXIF orientation: what a camera stores so that the tag turns it back.
_STORED_AS = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_90,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_270,),
}


def turned(data: bytes, orientation: int, quality: int = 88) -> bytes:
    """The same upright picture stored sideways (or mirrored) with the EXIF tag that rights it."""
    with Image.open(io.BytesIO(data)) as image:
        stored = image.convert("RGB")
        for step in _STORED_AS[orientation]:
            stored = stored.transpose(step)
        exif = Image.Exif()
        exif[0x0112] = orientation
        out = io.BytesIO()
        stored.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(out.getvalue())))
    assert upright.size == Image.open(io.BytesIO(data)).size
    return out.getvalue()


def card_copy_scan(seed: int, size: tuple[int, int] = (868, 1228)) -> bytes:
    """A photocopy of an identity card scanned on an A4 page: two small grey cards, white around."""
    rng = random.Random(seed)
    page = Image.new("RGB", size, (255, 255, 255))
    for row, card in enumerate((id_card(seed), dark_card(seed + 1))):
        grey = ImageOps.autocontrast(card.convert("L")).convert("RGB")
        width = size[0] * 55 // 100
        grey = grey.resize((width, width * card.height // card.width), Image.Resampling.LANCZOS)
        mask = card.getchannel("A").resize(grey.size)
        page.paste(grey, ((size[0] - width) // 2 + rng.randint(-20, 20), 140 + row * (grey.height + 80)), mask)
    return _jpeg(_with_noise(page.filter(ImageFilter.GaussianBlur(0.5)), rng, 1.0), rng.randint(80, 90))


# ---- the labelled set: what each picture should warn about ------------------------------------

BLUR_RADII = (2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Labelled:
    name: str
    data: bytes
    warnings: frozenset[str]  # QualityWarning names a good check raises for it


def labelled_set(seeds: range) -> list[Labelled]:
    """Per seed and kind of document: a sharp photo, the same blurred at each radius, darkened,
    over-exposed and with a reflection; per seed, the fine-but-unusual pictures that must not
    warn (a dark card, a white text scan, a card photocopy on a white page)."""
    found: list[Labelled] = []
    for seed in seeds:
        for number, (kind, make) in enumerate(DOCUMENTS.items()):
            shot_seed = seed * 31 + number
            rng = random.Random(shot_seed)
            size = PHOTO_SIZE if (seed + number) % 2 else (1280, 960)
            view = scene(make(seed), shot_seed, size)
            name = f"{kind}-{seed}"
            found.append(Labelled(f"{name} sharp", shoot(view, shot_seed), frozenset()))
            for radius in BLUR_RADII:
                found.append(Labelled(
                    f"{name} blur{radius}", shoot(view, shot_seed, Shot(blur=radius)), frozenset({"BLURRY"})
                ))
            dark = Shot(exposure=rng.uniform(0.2, 0.4), noise=5.0)
            found.append(Labelled(f"{name} dark x{dark.exposure:.2f}", shoot(view, shot_seed, dark), frozenset({"TOO_DARK"})))
            over = Shot(exposure=rng.uniform(1.8, 2.6))
            found.append(Labelled(f"{name} over x{over.exposure:.2f}", shoot(view, shot_seed, over), frozenset({"OVEREXPOSED"})))
            glare = Shot(highlight=rng.uniform(0.06, 0.14))
            found.append(Labelled(f"{name} glare r{glare.highlight:.2f}", shoot(view, shot_seed, glare), frozenset({"GLARE"})))
        found.append(Labelled(f"dark_card-{seed}", dark_card_photo(seed), frozenset()))
        found.append(Labelled(f"white_scan-{seed}", white_scan(seed), frozenset()))
        found.append(Labelled(f"card_copy-{seed}", card_copy_scan(seed), frozenset()))
    return found


@functools.cache
def document_photo(seed: int, kind: str = "id_card", retake: int = 0, blur: float = 0.0) -> bytes:
    """A photo of one document (`seed` picks its text and portrait) under 200 KB; `retake`
    photographs the same document again (other framing and light), `blur` out of focus."""
    return photograph(DOCUMENTS[kind](seed), seed + 1000 * retake, Shot(blur=blur))
