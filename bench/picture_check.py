"""The upload check alone: `inspect_picture` (format, completeness, the reduced decode, the upright
thumbnail and, since issue 14, the quality measures and the perceptual hash) on realistic photos.

    .venv/bin/python bench/picture_check.py [--rounds 30] [--pictures FOLDER]

Prints milliseconds per picture (median and p90 over rounds of 8 distinct 150–200 KB JPEGs).
To compare with another checkout, write the pictures once (--write FOLDER) and run its copy of
this file with PYTHONPATH pointing at it and --pictures FOLDER, alternating runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.images import PictureRules, inspect_picture  # noqa: E402


def pictures(folder: Path | None) -> list[bytes]:
    if folder is not None:
        return [p.read_bytes() for p in sorted(folder.glob("*.jpg"))]
    from bench.common import realistic_jpegs

    return realistic_jpegs(8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pictures", type=Path, help="read the JPEGs from this folder")
    parser.add_argument("--write", type=Path, help="write the JPEGs to this folder and stop")
    args = parser.parse_args()
    photos = pictures(args.pictures)
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for number, data in enumerate(photos):
            (args.write / f"{number}.jpg").write_bytes(data)
        return
    rules = PictureRules(("jpeg", "png"), 204800, 300, 40_000_000, 320)
    for data in photos:  # warm up
        inspect_picture(data, rules)
    samples = []
    for _ in range(args.rounds):
        for data in photos:
            started = time.perf_counter()
            inspect_picture(data, rules)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    print(
        f"inspect_picture: median {statistics.median(samples):.2f} ms, "
        f"p90 {samples[int(0.9 * len(samples))]:.2f} ms over {len(samples)} calls"
    )


if __name__ == "__main__":
    main()
