"""Calibration: perceptual-hash distances of real edited copies against those of distinct photos.

Every image goes through the production ingest (``donations.ingest.image_process`` with the
settings' parameters, exactly as ``donations.services.image_donate`` calls it), so the hashes
are the ones the near-duplicate flag compares. All pictures are real photographs bundled inside
scikit-image's wheel (``skimage.data``); nothing is downloaded.

* Originals: the 18 bundled photographs plus non-overlapping tiles cut from the larger ones (to
  get more distinct images than 18; a tile is never paired with the photo it was cut from, and
  nearly flat tiles such as the black corners of the retina scan are dropped). Each is donated
  as a JPEG at quality 90; each transformation below is donated as a separate upload and its
  Hamming distance to the original is a true positive if it is within the threshold.
* Distinct pairs: every pair of originals (false positive if within the threshold), reported for
  the photographs alone and with the tiles; plus, as hard negatives, the 100 aligned 25 x 25 px
  face crops of ``skimage.data.lfw_subset`` (same pose and framing, different photos).

It prints, for each threshold 0..16, the share of copies caught per transformation and the share
of distinct pairs flagged, what the band lookup costs, and the figures at the configured
``NEAR_DUPLICATE_MAX_DISTANCE`` (or ``--threshold``). A calibration, not a test: exit code 0.

Run from the repository root::

    .venv/bin/python bench/near_duplicates.py [--threshold N] [--no-tiles]
"""

import argparse
import io
import itertools
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance
from scipy.stats import beta

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_THRESHOLD = 16
UPLOAD_QUALITY = 90
# The real photographs in scikit-image's wheel (skimage/data/*.png|jpg); the other bundled
# images are drawings, masks or synthetic, and the rest of skimage.data needs a download.
PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "stereo_motorcycle",  # the left view only: the right one is a near-duplicate of it
    "text",
)
# Tiles are at least this many pixels on each side, at most a 3 x 3 grid per photo.
TILE_MIN_SIDE = 240
TILE_MAX_GRID = 3
# Below this grey-level standard deviation a tile is flat: nothing a person would donate.
TILE_MIN_STDDEV = 12.0
# The first 100 images of lfw_subset are faces; the other 100 are random (possibly
# overlapping) patches, so they are not used.
FACES = 100
# The database layout: four 16-bit bands of the 64-bit hash (see donations/querysets.py).
BANDS, BAND_BITS = 4, 16
LIBRARY_SIZE = 1_000_000


@dataclass(frozen=True)
class Original:
    name: str
    parent: str
    pixels: Image.Image


@dataclass(frozen=True)
class Transformation:
    name: str
    apply: Callable[[Image.Image], Image.Image]
    quality: int = UPLOAD_QUALITY


def environment_isolate(data_dir: Path) -> None:
    """Point the settings at a throw-away data directory; must run before ``django.setup()``."""
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagemonkey_site.settings"
    for name in ("REDIS_URL", "S3_BUCKET", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def resized(factor: float) -> Callable[[Image.Image], Image.Image]:
    def apply(image: Image.Image) -> Image.Image:
        size = (round(image.width * factor), round(image.height * factor))
        return image.resize(size, Image.Resampling.LANCZOS)

    return apply


def scaled(factor: float) -> Callable[[Image.Image], Image.Image]:
    """Every level multiplied (Pillow's ImageEnhance.Brightness); highlights clip."""
    return lambda image: ImageEnhance.Brightness(image).enhance(factor)


def offset(share: float) -> Callable[[Image.Image], Image.Image]:
    """Every level shifted by a share of the full range, as an editor's brightness slider does."""
    levels = round(255 * share)
    lut = [min(255, max(0, level + levels)) for level in range(256)]
    return lambda image: image.point(lut * len(image.getbands()))


def cropped(share: float, *, edges: str = "ltrb") -> Callable[[Image.Image], Image.Image]:
    """A share of the width/height cut off each named edge (l, t, r, b)."""

    def apply(image: Image.Image) -> Image.Image:
        dx, dy = round(image.width * share), round(image.height * share)
        return image.crop(
            (
                dx if "l" in edges else 0,
                dy if "t" in edges else 0,
                image.width - (dx if "r" in edges else 0),
                image.height - (dy if "b" in edges else 0),
            )
        )

    return apply


def unchanged(image: Image.Image) -> Image.Image:
    return image


def chained(*steps: Callable[[Image.Image], Image.Image]) -> Callable[[Image.Image], Image.Image]:
    def apply(image: Image.Image) -> Image.Image:
        for step in steps:
            image = step(image)
        return image

    return apply


TRANSFORMATIONS = (
    Transformation("resize 50%", resized(0.5)),
    Transformation("resize 67%", resized(0.67)),
    Transformation("resize 75%", resized(0.75)),
    Transformation("resize 200%", resized(2.0)),
    Transformation("re-compress JPEG q75", unchanged, quality=75),
    Transformation("re-compress JPEG q60", unchanged, quality=60),
    Transformation("brightness x1.1", scaled(1.1)),
    Transformation("brightness x0.9", scaled(0.9)),
    Transformation("brightness +10% (offset)", offset(0.1)),
    Transformation("brightness -10% (offset)", offset(-0.1)),
    Transformation("crop 2% off each edge", cropped(0.02)),
    Transformation("crop 5% off each edge", cropped(0.05)),
    Transformation("crop 5% off right+bottom", cropped(0.05, edges="rb")),
    Transformation("resize 50% + q75", resized(0.5), quality=75),
    Transformation("x1.1 + resize 75%", chained(scaled(1.1), resized(0.75))),
    Transformation("crop 2% + -10% + q75", chained(cropped(0.02), offset(-0.1)), quality=75),
)
ALL = "all transformations"


def photos_load() -> list[Original]:
    from skimage import data

    photos = []
    for name in PHOTOS:
        pixels = getattr(data, name)()
        if isinstance(pixels, tuple):
            pixels = pixels[0]
        photos.append(Original(name=name, parent=name, pixels=Image.fromarray(pixels)))
    return photos


def tiles_cut(photo: Original) -> list[Original]:
    """Non-overlapping tiles of a photo, flat ones dropped; none if it is too small for two."""
    width, height = photo.pixels.size
    columns = min(TILE_MAX_GRID, width // TILE_MIN_SIDE)
    rows = min(TILE_MAX_GRID, height // TILE_MIN_SIDE)
    if columns * rows < 2:
        return []
    tile_w, tile_h = width // columns, height // rows
    tiles = []
    for row, column in itertools.product(range(rows), range(columns)):
        box = (column * tile_w, row * tile_h, (column + 1) * tile_w, (row + 1) * tile_h)
        pixels = photo.pixels.crop(box)
        if np.asarray(pixels.convert("L"), dtype=np.float32).std() >= TILE_MIN_STDDEV:
            tiles.append(Original(f"{photo.name}[{row},{column}]", photo.name, pixels))
    return tiles


def faces_load() -> list[Image.Image]:
    from skimage import data

    return [
        Image.fromarray(np.round(face * 255).astype(np.uint8)) for face in data.lfw_subset()[:FACES]
    ]


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def phash_of_upload(data: bytes) -> str:
    """The perceptual hash exactly as a donation computes it."""
    from django.conf import settings

    from donations.ingest import image_process

    return image_process(
        data=data,
        max_bytes=settings.DONATION_MAX_BYTES,
        max_pixels=settings.DONATION_MAX_PIXELS,
        jpeg_quality=settings.DONATION_JPEG_QUALITY,
        thumbnail_sizes=settings.DONATION_THUMBNAIL_SIZES,
    ).phash


def upper_bound_95(hits: int, trials: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate."""
    return 1.0 if hits >= trials else float(beta.ppf(0.95, hits + 1, trials - hits))


def within(distances: list[int], threshold: int) -> int:
    return sum(distance <= threshold for distance in distances)


def rate(distances: list[int], threshold: int) -> str:
    hits = within(distances, threshold)
    return (
        f"{hits:>3}/{len(distances)} = {100 * hits / len(distances):5.1f}% "
        f"(95% upper {100 * upper_bound_95(hits, len(distances)):4.2f}%)"
    )


def candidate_share(phashes: list[str], radius: int) -> float:
    """Share of pairs that the band lookup returns: some band within `radius` bits."""
    from donations.ingest import phash_bands

    split = [phash_bands(phash) for phash in phashes]
    returned = sum(
        any((x ^ y).bit_count() <= radius for x, y in zip(a, b, strict=True))
        for a, b in itertools.combinations(split, 2)
    )
    return returned / math.comb(len(split), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threshold", type=int, help="threshold to report (default: the settings' value)"
    )
    parser.add_argument("--no-tiles", action="store_true", help="whole photographs only")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-"))
    try:
        environment_isolate(data_dir)
        report(threshold=args.threshold, tiles=not args.no_tiles)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def report(*, threshold: int | None, tiles: bool) -> None:
    import django

    django.setup()

    import skimage
    from django.conf import settings

    from donations.ingest import phash_distance

    configured = settings.NEAR_DUPLICATE_MAX_DISTANCE
    threshold = configured if threshold is None else threshold
    photos = photos_load()
    cut = [tile for photo in photos for tile in tiles_cut(photo)] if tiles else []
    originals = photos + cut
    tiles_text = f" + {len(cut)} non-overlapping tiles cut from them" if tiles else ""
    print(
        f"Photographs bundled in scikit-image {skimage.__version__}'s wheel: {len(photos)} photos"
        f"{tiles_text}; {FACES} aligned face crops (lfw_subset) as hard negatives."
    )
    print(
        f"Each donated as JPEG q{UPLOAD_QUALITY} through image_process (stored at "
        f"q{settings.DONATION_JPEG_QUALITY}, previews {settings.DONATION_THUMBNAIL_SIZES}, "
        "phash of the smallest preview).",
        flush=True,
    )

    hashes = {item.name: phash_of_upload(jpeg(item.pixels, UPLOAD_QUALITY)) for item in originals}
    copies: dict[str, list[int]] = {
        transformation.name: [
            phash_distance(
                hashes[item.name],
                phash_of_upload(jpeg(transformation.apply(item.pixels), transformation.quality)),
            )
            for item in originals
        ]
        for transformation in TRANSFORMATIONS
    }
    copies[ALL] = [distance for distances in copies.values() for distance in distances]

    pairs = [
        (a, b, phash_distance(hashes[a.name], hashes[b.name]))
        for a, b in itertools.combinations(originals, 2)
        # A tile overlaps the photo it was cut from, so that pair is not distinct.
        if a.name != b.parent and b.name != a.parent
    ]
    face_hashes = [phash_of_upload(jpeg(face, UPLOAD_QUALITY)) for face in faces_load()]
    negatives = {
        "photos": [d for a, b, d in pairs if a.name == a.parent and b.name == b.parent],
        **({"photos + tiles": [d for _, _, d in pairs]} if tiles else {}),
        "aligned faces": [phash_distance(a, b) for a, b in itertools.combinations(face_hashes, 2)],
    }

    thresholds = range(MAX_THRESHOLD + 1)
    print()
    print(f"True positives: % of the {len(originals)} copies within the threshold")
    print(f"{'transformation':<26}" + "".join(f"{t:>5}" for t in thresholds))
    for name, distances in copies.items():
        print(
            f"{name:<26}"
            + "".join(f"{100 * within(distances, t) / len(distances):>5.0f}" for t in thresholds)
        )

    print()
    print("False positives: distinct pairs within the threshold")
    print(f"{'t':>3} {'TPR all':>8}  " + "".join(f"{kind:<36}" for kind in negatives))
    for t in thresholds:
        tpr = 100 * within(copies[ALL], t) / len(copies[ALL])
        print(f"{t:>3} {tpr:>7.1f}%  " + "".join(f"{rate(ds, t):<36}" for ds in negatives.values()))

    print()
    print("Farthest copy per transformation:")
    for transformation in TRANSFORMATIONS:
        distances = copies[transformation.name]
        worst = max(range(len(distances)), key=distances.__getitem__)
        print(f"  {transformation.name:<26} {distances[worst]:>3}  {originals[worst].name}")
    print("Closest distinct pairs (photos + tiles):")
    for a, b, distance in sorted(pairs, key=lambda pair: pair[2])[:5]:
        print(f"  {distance:>3}  {a.name} / {b.name}")
    for kind, distances in negatives.items():
        print(
            f"Distinct-pair distances, {kind}: mean {np.mean(distances):.1f}, "
            f"sd {np.std(distances):.1f}, min {min(distances)}"
        )

    print()
    print(
        "Band lookup (4 x 16-bit bands; a pair within t bits has a band within t // 4 bits): "
        f"rows returned at {LIBRARY_SIZE:,} images"
    )
    print(
        f"{'thresholds':>10} {'radius':>6} {'IN values':>9} {'if uniform':>11} "
        f"{'as photos+tiles':>16} {'as all incl. faces':>19}"
    )
    photo_hashes = list(hashes.values())
    for radius in range(4):
        neighbours = sum(math.comb(BAND_BITS, k) for k in range(radius + 1))
        uniform = 1 - (1 - neighbours / 2**BAND_BITS) ** BANDS
        print(
            f"{f'{BANDS * radius}-{BANDS * radius + BANDS - 1}':>10} {radius:>6} "
            f"{BANDS * neighbours:>9} {uniform * LIBRARY_SIZE:>11,.0f} "
            f"{candidate_share(photo_hashes, radius) * LIBRARY_SIZE:>16,.0f} "
            f"{candidate_share(photo_hashes + face_hashes, radius) * LIBRARY_SIZE:>19,.0f}"
            + ("   <- this threshold" if radius == threshold // BANDS else "")
        )

    print()
    print(f"At threshold {threshold} (NEAR_DUPLICATE_MAX_DISTANCE is {configured}):")
    for name, distances in copies.items():
        caught = within(distances, threshold)
        print(
            f"  caught {name:<26} {caught:>4}/{len(distances)} = "
            f"{100 * caught / len(distances):5.1f}%"
        )
    for kind, distances in negatives.items():
        print(f"  false positives, {kind:<15} {rate(distances, threshold)}")


if __name__ == "__main__":
    main()
