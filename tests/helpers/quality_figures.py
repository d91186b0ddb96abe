"""Precision and recall of the quality warnings on the labelled set, and how the thresholds were
chosen.

`python -m tests.helpers.quality_figures` measures the tuning seeds and the held-out seeds
through the real upload check (`inspect_picture`), picks each threshold on the tuning seeds
(the best F1, then the middle of the widest gap), and prints both sets' figures as the
markdown table in tests/README.md. tests/storage/test_measures.py checks the held-out
figures with the service's default thresholds.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace

from core.settings import Settings
from models.enums import QualityWarning
from storage.images import PictureRules, inspect_picture
from storage.measures import Measures, QualityThresholds, quality_warnings
from tests.helpers.documents import Labelled, labelled_set

TUNING_SEEDS = range(1, 13)
# The fine-but-unusual pictures: they must not warn at all.
UNUSUAL = ("dark_card", "white_scan", "card_copy")
HELD_OUT_SEEDS = range(101, 105)


def thresholds(settings: Settings | None = None) -> QualityThresholds:
    settings = settings or Settings()
    return settings.quality_thresholds()


def rules(limits: QualityThresholds) -> PictureRules:
    # Generous size limits: the labelled photos are judged on their looks, not their bytes.
    return PictureRules(
        formats=("jpeg", "png"), max_bytes=10 * 1024 * 1024, min_side=300,
        max_pixels=40_000_000, thumbnail_side=320, quality=limits,
    )


@dataclass(frozen=True)
class Measured:
    name: str
    expected: frozenset[str]
    measures: Measures


def measured(items: Iterable[Labelled], limits: QualityThresholds) -> list[Measured]:
    return [
        Measured(item.name, item.warnings, inspect_picture(item.data, rules(limits)).measures)
        for item in items
    ]


@dataclass(frozen=True)
class Figures:
    warning: QualityWarning
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        raised = self.true_positives + self.false_positives
        return self.true_positives / raised if raised else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def f_half(self) -> float:
        """F0.5: precision weighs double, as a false warning costs a candidate a needless retake."""
        total = 0.25 * self.precision + self.recall
        return 1.25 * self.precision * self.recall / total if total else 0.0


def figures(pictures: list[Measured], limits: QualityThresholds) -> dict[QualityWarning, Figures]:
    counts = {w: [0, 0, 0] for w in QualityWarning}
    for picture in pictures:
        raised = set(quality_warnings(picture.measures, limits))
        for warning in QualityWarning:
            wanted = warning.value in picture.expected
            if warning in raised and wanted:
                counts[warning][0] += 1
            elif warning in raised:
                counts[warning][1] += 1
            elif wanted:
                counts[warning][2] += 1
    return {w: Figures(w, *c) for w, c in counts.items()}


def false_alarms(pictures: list[Measured], limits: QualityThresholds) -> list[str]:
    """Pictures that must not warn (nothing expected) but do."""
    return [
        f"{p.name}: {[w.value for w in quality_warnings(p.measures, limits)]}"
        for p in pictures
        if not p.expected and quality_warnings(p.measures, limits)
    ]


# ---- choosing the thresholds ------------------------------------------------------------------

# Which warning each threshold serves, and which measure it cuts.
_SERVES: dict[str, tuple[QualityWarning, Callable[[Measures], float], bool]] = {
    "dark_below": (QualityWarning.TOO_DARK, lambda m: m.brightness, False),
    "dark_detail_below": (QualityWarning.TOO_DARK, lambda m: m.sharpness, True),
    "bright_above": (QualityWarning.OVEREXPOSED, lambda m: m.brightness, False),
    "scan_sharpness": (QualityWarning.OVEREXPOSED, lambda m: m.sharpness, True),
    "glare_above": (QualityWarning.GLARE, lambda m: m.glare, False),
    "glare_page_share": (QualityWarning.GLARE, lambda m: m.glare, False),
    "blurry_below": (QualityWarning.BLURRY, lambda m: m.sharpness, True),
}


def _middle(low: float, high: float, logarithmic: bool) -> float:
    if logarithmic and low > 0:
        return math.sqrt(low * high)
    return (low + high) / 2


def tune(pictures: list[Measured], start: QualityThresholds) -> QualityThresholds:
    """Each threshold in turn (twice over, as they interact): the cut that leaves the fewest
    fine-but-unusual pictures warned about, then the best mean F0.5 over the four warnings, then
    of its own warning, and among equally good cuts the middle of the widest gap."""
    limits = start
    unusual = [p for p in pictures if p.name.startswith(UNUSUAL)]
    for _ in range(2):
        for name, (warning, value_of, logarithmic) in _SERVES.items():
            values = sorted({value_of(p.measures) for p in pictures})
            cuts = [_middle(a, b, logarithmic) for a, b in itertools.pairwise(values)]
            scored = []
            for low, cut, high in zip(values, cuts, values[1:], strict=False):
                trial = replace(limits, **{name: cut})
                alarms = len(false_alarms(unusual, trial))
                gap = math.log(high / low) if logarithmic and low > 0 else high - low
                # Every warning's F0.5: the thresholds interact (blur is not judged in the dark).
                per_warning = figures(pictures, trial)
                overall = sum(f.f_half for f in per_warning.values()) / len(per_warning)
                scored.append((-alarms, round(overall, 6), round(per_warning[warning].f_half, 6), gap, cut))
            if scored:
                limits = replace(limits, **{name: max(scored)[-1]})
    return limits


def table(rows: dict[str, dict[QualityWarning, Figures]]) -> str:
    lines = ["| set | warning | precision | recall | TP / FP / FN |", "|---|---|---|---|---|"]
    for label, per_warning in rows.items():
        for warning, f in per_warning.items():
            lines.append(
                f"| {label} | {warning.value} | {f.precision:.2f} | {f.recall:.2f} | "
                f"{f.true_positives} / {f.false_positives} / {f.false_negatives} |"
            )
    return "\n".join(lines)


def main() -> None:
    defaults = thresholds()
    tuning = measured(labelled_set(TUNING_SEEDS), defaults)
    held_out = measured(labelled_set(HELD_OUT_SEEDS), defaults)
    for picture in sorted(tuning + held_out, key=lambda p: (sorted(p.expected), p.measures.sharpness)):
        m = picture.measures
        print(
            f"{picture.name:30s} {','.join(sorted(picture.expected)) or '-':12s} "
            f"sharpness={m.sharpness:8.1f} brightness={m.brightness:6.1f} glare={m.glare:.3f}",
            file=sys.stderr,
        )
    chosen = tune(tuning, defaults)
    print("chosen on the tuning seeds (defaults: these to two significant digits):", file=sys.stderr)
    for f in fields(chosen):
        print(f"  {f.name} = {getattr(chosen, f.name):.4g}", file=sys.stderr)
    print(table({
        "tuning (defaults)": figures(tuning, defaults),
        "held out (defaults)": figures(held_out, defaults),
        "tuning (chosen now)": figures(tuning, chosen),
        "held out (chosen now)": figures(held_out, chosen),
    }))
    for picture in tuning + held_out:
        raised = {w.value for w in quality_warnings(picture.measures, defaults)}
        if raised != picture.expected:
            print(f"wrong: {picture.name} expected {sorted(picture.expected)} raised {sorted(raised)}", file=sys.stderr)


if __name__ == "__main__":
    main()
