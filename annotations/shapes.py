"""Strict checking of annotation shapes: normalised [0,1] coordinates of the stored image.

Pure data work; every refusal is a DomainError naming the shape and field, e.g.
“shapes[2].points[5][0]: 1.3 is outside 0–1”.
"""

import json
import math

from core.errors import DomainError

MAX_SHAPES = 100
MAX_POLYGON_POINTS = 500
# Shapes smaller than this (in normalised units) are slips of the pointer, not objects.
MIN_EXTENT = 1e-4
MIN_POLYGON_AREA = 1e-8

FIELDS = {
    "rect": ("x", "y", "width", "height"),
    "ellipse": ("cx", "cy", "rx", "ry"),
    "polygon": ("points",),
}
OPTIONAL_FIELDS = {"refinements", "original"}
# `original`: the shape as an ImageMonkey-compatible (/v1) client sent it — pixels, its own keys —
# kept verbatim beside the geometry so that client reads back exactly what it sent. Nothing of
# the site reads it (exports, pages and coverage use the geometry); datasets.v1.shapes gives it
# back only while it still describes the geometry beside it. A plain JSON object, size-limited
# (a polygon of MAX_POLYGON_POINTS points in pixels fits).
MAX_ORIGINAL_BYTES = 32_000


def without_original(shape: dict) -> dict:
    """The shape as the site describes it (for exports): without a /v1 client's own copy."""
    return {key: value for key, value in shape.items() if key != "original"}


def _fail(where: str, message: str) -> DomainError:
    return DomainError(f"{where}: {message}", code="invalid_shape")


def _coordinate(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, "must be a number")
    if not math.isfinite(value):
        raise _fail(where, "must be a finite number (no NaN or Infinity)")
    if not 0 <= value <= 1:
        raise _fail(where, f"{value:g} is outside 0–1 (coordinates are fractions of the image)")
    return float(value)


def _polygon_area(points: list[tuple[float, float]]) -> float:
    return abs(
        sum(
            x1 * y2 - x2 * y1
            for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True)
        )
        / 2
    )


def _refinements(value, where: str, allowed: dict[str, list[str]]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object of refinement name to value")
    cleaned = {}
    for name, chosen in value.items():
        if name not in allowed:
            raise _fail(f"{where}.{str(name)[:40]}", "is not a refinement in the catalog")
        if chosen not in allowed[name]:
            raise _fail(f"{where}.{name}", f"{str(chosen)[:40]!r} is not one of its values")
        cleaned[name] = chosen
    return cleaned


def _original(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object (the shape as a /v1 client sent it)")
    try:
        size = len(json.dumps(value, allow_nan=False, separators=(",", ":")))
    except (TypeError, ValueError):
        raise _fail(where, "must be plain JSON") from None
    if size > MAX_ORIGINAL_BYTES:
        raise _fail(where, f"at most {MAX_ORIGINAL_BYTES} bytes, not {size}")
    return value


def shape_clean(raw, where: str, refinements: dict[str, list[str]]) -> dict:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise _fail(f"{where}.type", f"{str(kind)[:20]!r} is not one of rect, ellipse, polygon")
    expected = set(FIELDS[kind])
    unknown = set(raw) - expected - OPTIONAL_FIELDS - {"type"}
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(sorted(map(str, unknown)))[:80]}")
    missing = expected - set(raw)
    if missing:
        raise _fail(where, f"missing {', '.join(sorted(missing))}")
    shape: dict = {"type": kind}
    if kind == "rect":
        x, y = _coordinate(raw["x"], f"{where}.x"), _coordinate(raw["y"], f"{where}.y")
        width = _coordinate(raw["width"], f"{where}.width")
        height = _coordinate(raw["height"], f"{where}.height")
        if x + width > 1 + 1e-9 or y + height > 1 + 1e-9:
            raise _fail(where, "the rectangle reaches outside the image")
        if width < MIN_EXTENT or height < MIN_EXTENT:
            raise _fail(where, "the rectangle has no area")
        shape.update(x=x, y=y, width=width, height=height)
    elif kind == "ellipse":
        cx, cy = _coordinate(raw["cx"], f"{where}.cx"), _coordinate(raw["cy"], f"{where}.cy")
        rx, ry = _coordinate(raw["rx"], f"{where}.rx"), _coordinate(raw["ry"], f"{where}.ry")
        if rx < MIN_EXTENT or ry < MIN_EXTENT:
            raise _fail(where, "the ellipse has no area")
        if cx - rx < -1e-9 or cx + rx > 1 + 1e-9 or cy - ry < -1e-9 or cy + ry > 1 + 1e-9:
            raise _fail(where, "the ellipse reaches outside the image")
        shape.update(cx=cx, cy=cy, rx=rx, ry=ry)
    else:
        points = raw["points"]
        if not isinstance(points, list):
            raise _fail(f"{where}.points", "must be a list of [x, y] pairs")
        if len(points) < 3:
            raise _fail(f"{where}.points", f"a polygon needs at least 3 points, not {len(points)}")
        if len(points) > MAX_POLYGON_POINTS:
            raise _fail(
                f"{where}.points",
                f"at most {MAX_POLYGON_POINTS} points per polygon, not {len(points)}",
            )
        cleaned = []
        for index, point in enumerate(points):
            if not isinstance(point, list | tuple) or len(point) != 2:
                raise _fail(f"{where}.points[{index}]", "must be an [x, y] pair")
            cleaned.append(
                (
                    _coordinate(point[0], f"{where}.points[{index}][0]"),
                    _coordinate(point[1], f"{where}.points[{index}][1]"),
                )
            )
        if len(set(cleaned)) < 3 or _polygon_area(cleaned) < MIN_POLYGON_AREA:
            raise _fail(f"{where}.points", "the polygon is degenerate (no area)")
        shape["points"] = [list(point) for point in cleaned]
    if "refinements" in raw:
        shape["refinements"] = _refinements(raw["refinements"], f"{where}.refinements", refinements)
    if "original" in raw:
        shape["original"] = _original(raw["original"], f"{where}.original")
    return shape


def shapes_clean(raw, *, refinements: dict[str, list[str]]) -> list[dict]:
    """Checked and normalised shapes; `refinements` maps refinement names to allowed values."""
    if not isinstance(raw, list):
        raise DomainError("shapes must be a list.", code="invalid_shape")
    if not raw:
        raise DomainError(
            "Draw at least one shape (or use “nothing to annotate”).", code="invalid_shape"
        )
    if len(raw) > MAX_SHAPES:
        raise DomainError(
            f"At most {MAX_SHAPES} shapes per annotation, not {len(raw)}.", code="invalid_shape"
        )
    return [shape_clean(item, f"shapes[{index}]", refinements) for index, item in enumerate(raw)]


def shape_bounds(shape: dict) -> tuple[float, float, float, float]:
    """The (left, top, right, bottom) box around a clean shape, in [0,1] coordinates."""
    if shape["type"] == "rect":
        x, y = shape["x"], shape["y"]
        return x, y, x + shape["width"], y + shape["height"]
    if shape["type"] == "ellipse":
        cx, cy, rx, ry = shape["cx"], shape["cy"], shape["rx"], shape["ry"]
        return cx - rx, cy - ry, cx + rx, cy + ry
    xs = [point[0] for point in shape["points"]]
    ys = [point[1] for point in shape["points"]]
    return min(xs), min(ys), max(xs), max(ys)


def shape_area(shape: dict) -> float:
    """The area of a clean shape as a share of the image (normalised units)."""
    if shape["type"] == "rect":
        return shape["width"] * shape["height"]
    if shape["type"] == "ellipse":
        return math.pi * shape["rx"] * shape["ry"]
    return _polygon_area(shape["points"])


def shapes_coverage(shapes: list[dict]) -> float:
    """The share of the image the shapes cover, at most 1.0.

    Overlapping shapes are not subtracted (the exact union of ellipses and polygons would need
    a geometry library), so with overlaps this is an upper bound; the cap keeps it a share.
    """
    return min(1.0, sum(shape_area(shape) for shape in shapes))
