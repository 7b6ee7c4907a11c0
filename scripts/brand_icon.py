"""Draw the brand icons of the WhatsApp Gateway integration (original artwork).

Design: a rounded teal chat bubble with its tail at the bottom right; inside it a
house roof stands over a heartbeat line that forms the house's floor: a message
link from home whose health is being watched. Flat colours, thick round strokes so
it stays legible at 32 px, transparent background, artwork touching all four edges.
The dark variant lightens the bubble and darkens the glyph for #111 backgrounds.

Everything is drawn at 4x in normalised coordinates and downsampled with LANCZOS,
so the output is deterministic. Regenerate all four files with:

    .venv/bin/python scripts/brand_icon.py
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from PIL import Image, ImageDraw

BRAND_DIR = (
    Path(__file__).resolve().parent.parent / "custom_components" / "whatsapp_gateway" / "brand"
)
SUPERSAMPLE = 4

type Point = tuple[float, float]
type Rgba = tuple[int, int, int, int]


@dataclass(frozen=True)
class Palette:
    """Colours of one variant."""

    bubble: Rgba
    glyph: Rgba


LIGHT = Palette(bubble=(11, 122, 149, 255), glyph=(255, 255, 255, 255))
DARK = Palette(bubble=(56, 196, 214, 255), glyph=(8, 38, 48, 255))

# Geometry in units of the canvas side (0..1).
BODY_BOTTOM = 0.84
BODY_RADIUS = 0.23
# Tail: two quadratic curves from the body to the tip and back (start, control, end).
TAIL: tuple[tuple[Point, Point, Point], ...] = (
    ((0.58, 0.80), (0.66, 0.94), (0.97, 1.0)),
    ((0.97, 1.0), (0.86, 0.94), (0.86, 0.80)),
)
STROKE = 0.08
# Glyph polylines: roof, the two walls (starting inside the roof stroke), heartbeat floor.
GLYPH: tuple[tuple[Point, ...], ...] = (
    ((0.18, 0.43), (0.50, 0.15), (0.82, 0.43)),
    ((0.28, 0.36), (0.28, 0.60)),
    ((0.72, 0.36), (0.72, 0.60)),
    ((0.18, 0.60), (0.40, 0.60), (0.46, 0.45), (0.54, 0.71), (0.60, 0.60), (0.82, 0.60)),
)


def _quad(p0: Point, p1: Point, p2: Point, steps: int = 24) -> list[Point]:
    """Sample a quadratic Bézier curve."""
    points = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t**2
        points.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return points


def _stroke(draw: ImageDraw.ImageDraw, points: tuple[Point, ...], width: float, fill: Rgba) -> None:
    """Draw a polyline with round caps and joins."""
    radius = width / 2
    for start, end in pairwise(points):
        draw.line([start, end], fill=fill, width=round(width))
    for x, y in points:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def render(size: int, palette: Palette) -> Image.Image:
    """Render one icon of size x size pixels."""
    side = size * SUPERSAMPLE

    def px(points: tuple[Point, ...] | list[Point]) -> tuple[Point, ...]:
        return tuple((x * side, y * side) for x, y in points)

    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (0, 0, side - 1, BODY_BOTTOM * side), radius=BODY_RADIUS * side, fill=palette.bubble
    )
    draw.polygon(px([p for curve in TAIL for p in _quad(*curve)]), fill=palette.bubble)
    for line in GLYPH:
        _stroke(draw, px(line), STROKE * side, palette.glyph)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write icon.png, icon@2x.png, dark_icon.png and dark_icon@2x.png."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    root = BRAND_DIR.parent.parent.parent
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        for suffix, size in (("", 256), ("@2x", 512)):
            path = BRAND_DIR / f"{prefix}icon{suffix}.png"
            render(size, palette).save(path, optimize=True)
            print(f"{path.relative_to(root)}: {size}x{size}")


if __name__ == "__main__":
    main()
