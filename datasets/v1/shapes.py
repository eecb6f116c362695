"""Annotation shapes in the original's pixel form (reference §5) and the site's normalised form.

The original's clients send shapes in pixels of the stored image: rect `left/top/width/height`,
ellipse `left/top` (the corner of its bounding box) with `rx/ry`, polygon `points: [{x, y}]`, any
of them with `angle` (degrees, clockwise on screen, around `left/top` as fabric.js turns them),
`stroke: {width, color}` and `refinements: [{label_uuid}]`. They expect to read back exactly what
they sent. So a shape keeps two forms side by side:

- the site's geometry (annotations.shapes), which every reader of the site uses: an unrotated
  rect or ellipse as itself, a rotated one (or one reaching outside the image) as the polygon of
  its outline, clipped to the image;
- the shape as the client sent it, verbatim, under `"original"` — given back only while it still
  describes the geometry beside it (a drawing reworked on the site drops it, and a shape drawn
  on the site has none: both are turned into pixels from the geometry).

Refinements live in the site's form only (`{kind: value}`, where the quiz also writes decided
values); `label_uuid` is the value's id from /v1/label/refinements.
"""

from __future__ import annotations

import math
import uuid

from .labels import REFINEMENT_VALUE_NAMESPACE

MESSAGE = "invalid request - annotations invalid"
# The original's decoder: the keys each type accepts (Go structs with DisallowUnknownFields).
WIRE_FIELDS = {
    "rect": {"type", "left", "top", "width", "height", "angle", "stroke", "refinements"},
    "ellipse": {"type", "left", "top", "rx", "ry", "angle", "stroke", "refinements"},
    "polygon": {"type", "left", "top", "points", "angle", "stroke", "refinements"},
}
NUMBER_FIELDS = {"left", "top", "width", "height", "rx", "ry", "angle"}
STROKE_FIELDS = {"width": "number", "color": "string"}
# The original decodes numbers into float32: a larger magnitude fails to decode.
FLOAT32_MAX = 3.4028234663852886e38
# Points of the polygon that stands for a rotated (or clipped) ellipse.
ELLIPSE_OUTLINE_POINTS = 64
# Two geometries are the same drawing within this (normalised units; far below a pixel).
SAME = 1e-9


class ShapeInvalid(Exception):
    """A shape the original's decoder refuses (`reason` is None) or that the site's stricter
    rules refuse (`reason` says why)."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or MESSAGE)
        self.reason = reason

    @property
    def message(self) -> str:
        return MESSAGE if self.reason is None else f"{MESSAGE}: {self.reason}"


# ---------------------------------------------------------------------------- the strict check


def _number(value) -> bool:
    """A JSON number the original decodes (null leaves Go's zero value, so it passes too)."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) <= FLOAT32_MAX


def _stroke_ok(value) -> bool:
    if value is None:
        return True
    if not isinstance(value, dict) or set(value) - set(STROKE_FIELDS):
        return False
    return _number(value.get("width")) and isinstance(value.get("color", ""), str | None)


def _refinements_ok(value) -> bool:
    if value is None:
        return True
    if not isinstance(value, list):
        return False
    return all(
        item is None
        or (
            isinstance(item, dict)
            and not set(item) - {"label_uuid"}
            and isinstance(item.get("label_uuid", ""), str | None)
        )
        for item in value
    )


def _points_ok(value) -> bool:
    if value is None:
        return True
    if not isinstance(value, list):
        return False
    return all(
        point is None
        or (
            isinstance(point, dict)
            and not set(point) - {"x", "y"}
            and _number(point.get("x"))
            and _number(point.get("y"))
        )
        for point in value
    )


def wire_shapes_check(raw) -> list[dict]:
    """The shapes of one entry, checked as strictly as the original's decoder: a list of at
    least one object of a known `type` with only that type's keys (in `stroke`, `refinements`
    and points too) and numbers where numbers belong."""
    if not isinstance(raw, list) or not raw:
        raise ShapeInvalid
    for shape in raw:
        if not isinstance(shape, dict):
            raise ShapeInvalid
        kind = shape.get("type")
        if not isinstance(kind, str) or kind not in WIRE_FIELDS:
            raise ShapeInvalid
        if set(shape) - WIRE_FIELDS[kind]:
            raise ShapeInvalid
        if not all(_number(shape.get(name)) for name in NUMBER_FIELDS & set(shape)):
            raise ShapeInvalid
        if not (
            _stroke_ok(shape.get("stroke"))
            and _refinements_ok(shape.get("refinements"))
            and _points_ok(shape.get("points"))
        ):
            raise ShapeInvalid
    return raw


# ---------------------------------------------------------------------------- refinements


def refinement_uuid(name: str, value: str) -> str:
    """The id /v1/label/refinements gives a refinement value (kind `name`, value `value`)."""
    return str(uuid.uuid5(REFINEMENT_VALUE_NAMESPACE, f"{name}={value}"))


def refinement_ids(values: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """label_uuid → (kind, value) for the catalog's refinements ({kind: [values]})."""
    return {
        refinement_uuid(name, value): (name, value)
        for name, allowed in values.items()
        for value in allowed
    }


def _refinements_from_wire(items, known: dict[str, tuple[str, str]]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for index, item in enumerate(items or []):
        label_uuid = str((item or {}).get("label_uuid") or "").lower()
        if label_uuid not in known:
            raise ShapeInvalid(
                f"refinements[{index}].label_uuid {label_uuid[:40]!r} is not a refinement value "
                "(see /v1/label/refinements)"
            )
        name, value = known[label_uuid]
        if chosen.get(name, value) != value:
            raise ShapeInvalid(f"a shape has one {name}, not both {chosen[name]} and {value}")
        chosen[name] = value
    return chosen


# ---------------------------------------------------------------------------- pixels → site


def _n(value) -> float:
    return float(value or 0)


def _turned(origin: tuple[float, float], angle: float, dx: float, dy: float) -> tuple:
    """(dx, dy) from `origin`, turned by `angle` degrees clockwise on screen (y points down)."""
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return origin[0] + dx * cos - dy * sin, origin[1] + dx * sin + dy * cos


def _clip(points: list[tuple[float, float]], width: float, height: float) -> list[tuple]:
    """The polygon cut to the image (Sutherland–Hodgman against its four edges)."""
    edges = (
        (lambda p: p[0] >= 0, lambda a, b: _cross_x(a, b, 0.0)),
        (lambda p: p[0] <= width, lambda a, b: _cross_x(a, b, width)),
        (lambda p: p[1] >= 0, lambda a, b: _cross_y(a, b, 0.0)),
        (lambda p: p[1] <= height, lambda a, b: _cross_y(a, b, height)),
    )
    for inside, cross in edges:
        kept = []
        for index, current in enumerate(points):
            previous = points[index - 1]
            if inside(current):
                if not inside(previous):
                    kept.append(cross(previous, current))
                kept.append(current)
            elif inside(previous):
                kept.append(cross(previous, current))
        points = kept
        if not points:
            break
    # Clamped: a crossing computed in floating point may land a hair outside the edge.
    clamped = [(min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in points]
    return [point for index, point in enumerate(clamped) if point != clamped[index - 1]]


def _cross_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return x, a[1] + t * (b[1] - a[1])


def _cross_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return a[0] + t * (b[0] - a[0]), y


def _polygon(points, width: int, height: int) -> dict:
    clipped = _clip(points, float(width), float(height))
    if len(clipped) < 3:
        raise ShapeInvalid("the shape lies outside the image")
    return {"type": "polygon", "points": [[x / width, y / height] for x, y in clipped]}


def _ellipse_outline(centre, rx, ry, angle) -> list[tuple[float, float]]:
    steps = (2 * math.pi * i / ELLIPSE_OUTLINE_POINTS for i in range(ELLIPSE_OUTLINE_POINTS))
    return [_turned(centre, angle, rx * math.cos(t), ry * math.sin(t)) for t in steps]


def _unturned(angle: float) -> bool:
    return angle % 360 == 0


def geometry_from_wire(wire: dict, width: int, height: int) -> dict:
    """The site's normalised geometry of one checked pixel shape on a `width`×`height` image."""
    kind, angle = wire["type"], _n(wire.get("angle"))
    left, top = _n(wire.get("left")), _n(wire.get("top"))
    if kind == "rect":
        w, h = _n(wire.get("width")), _n(wire.get("height"))
        if _unturned(angle):
            x0, x1 = sorted((left, left + w))
            y0, y1 = sorted((top, top + h))
            x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, width), min(y1, height)
            if x1 <= x0 or y1 <= y0:
                raise ShapeInvalid("the rectangle lies outside the image or has no area")
            return {
                "type": "rect",
                "x": x0 / width,
                "y": y0 / height,
                "width": (x1 - x0) / width,
                "height": (y1 - y0) / height,
            }
        corners = [(0, 0), (w, 0), (w, h), (0, h)]
        return _polygon([_turned((left, top), angle, dx, dy) for dx, dy in corners], width, height)
    if kind == "ellipse":
        rx, ry = abs(_n(wire.get("rx"))), abs(_n(wire.get("ry")))
        cx, cy = _turned((left, top), angle, rx, ry)
        inside = cx - rx >= 0 and cy - ry >= 0 and cx + rx <= width and cy + ry <= height
        if _unturned(angle) and inside:
            return {
                "type": "ellipse",
                "cx": cx / width,
                "cy": cy / height,
                "rx": rx / width,
                "ry": ry / height,
            }
        return _polygon(_ellipse_outline((cx, cy), rx, ry, angle), width, height)
    # Polygon points are absolute pixels (the UI sends them so); `left/top/angle` describe them.
    points = [(_n((p or {}).get("x")), _n((p or {}).get("y"))) for p in wire.get("points") or []]
    if len(points) < 3:
        raise ShapeInvalid(f"a polygon needs at least 3 points, not {len(points)}")
    return _polygon(points, width, height)


def shapes_from_wire(
    raw: list[dict], width: int, height: int, *, refinements: dict[str, tuple[str, str]]
) -> list[dict]:
    """Checked pixel shapes as site shapes: the geometry, the refinements by name, and the shape
    as sent under `original` (for annotations.shapes to check, and for the echo)."""
    shapes = []
    for index, wire in enumerate(raw):
        try:
            shape = geometry_from_wire(wire, width, height)
            chosen = _refinements_from_wire(wire.get("refinements"), refinements)
        except ShapeInvalid as error:
            raise ShapeInvalid(f"shape {index}: {error.reason}") from None
        if chosen:
            shape["refinements"] = chosen
        shape["original"] = wire
        shapes.append(shape)
    return shapes


# ---------------------------------------------------------------------------- site → pixels


def _px(value: float):
    """A pixel value as the original's UI would send it: rounded, whole numbers as integers."""
    value = round(value, 3)
    return int(value) if value.is_integer() else value


def _pixels(shape: dict, width: int, height: int) -> dict:
    kind = shape["type"]
    if kind == "rect":
        return {
            "type": "rect",
            "left": _px(shape["x"] * width),
            "top": _px(shape["y"] * height),
            "width": _px(shape["width"] * width),
            "height": _px(shape["height"] * height),
            "angle": 0,
        }
    if kind == "ellipse":
        return {
            "type": "ellipse",
            "left": _px((shape["cx"] - shape["rx"]) * width),
            "top": _px((shape["cy"] - shape["ry"]) * height),
            "rx": _px(shape["rx"] * width),
            "ry": _px(shape["ry"] * height),
            "angle": 0,
        }
    return {
        "type": "polygon",
        "points": [{"x": _px(x * width), "y": _px(y * height)} for x, y in shape["points"]],
        "angle": 0,
    }


def _same_geometry(a: dict, b: dict) -> bool:
    if a["type"] != b["type"]:
        return False
    if a["type"] == "polygon":
        return len(a["points"]) == len(b["points"]) and all(
            abs(p - q) <= SAME
            for one, other in zip(a["points"], b["points"], strict=True)
            for p, q in zip(one, other, strict=True)
        )
    return all(abs(a[name] - b[name]) <= SAME for name in a if name != "type")


def _sent(shape: dict, width: int, height: int) -> dict | None:
    """The shape as the client sent it, if it still describes the stored geometry."""
    original = shape.get("original")
    if not isinstance(original, dict):
        return None
    try:
        drawn = geometry_from_wire(original, width, height)
    except (ShapeInvalid, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return original if _same_geometry(drawn, shape) else None


def shape_to_wire(shape: dict, width: int, height: int, *, refinements: bool = True) -> dict:
    """A site shape in the original's pixel form: as its /v1 client sent it when it did, else
    turned into pixels of the `width`×`height` image; with `refinements` as [{label_uuid}]
    when it has any (never an empty list)."""
    sent = _sent(shape, width, height)
    wire = (
        {name: value for name, value in sent.items() if name != "refinements"}
        if sent is not None
        else _pixels(shape, width, height)
    )
    if refinements:
        chosen = shape.get("refinements") or {}
        ids = [refinement_uuid(name, value) for name, value in sorted(chosen.items())]
        listed = sent.get("refinements") if sent is not None else None
        # The client's own list (its order, its letter case) while it says the same.
        if listed and {str((item or {}).get("label_uuid", "")).lower() for item in listed} == set(
            ids
        ):
            wire["refinements"] = listed
        elif ids:
            wire["refinements"] = [{"label_uuid": label_uuid} for label_uuid in ids]
    return wire
