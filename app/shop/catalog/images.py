"""Product pictures: an SVG drawn from the product's category and name, the same drawing for the
same two every time, made when the demo catalog is seeded. Each is kept with a fingerprint of
its content; its URL carries the fingerprint, so a browser may keep it for a year."""

from __future__ import annotations

import hashlib
from html import escape

from sqlalchemy import select

from ..extensions import db
from .models import ProductImage

# Background and ink colours a picture is drawn in, chosen by the category's name.
PALETTES = [("#e3f2ec", "#0b6e4f"), ("#fdf0e0", "#8a4b08"), ("#e8eefa", "#234a8c"), ("#f6e8f1", "#7d2559"),
            ("#eef3e2", "#4b6314"), ("#f3ecea", "#6e3b2e")]
# Shapes a product's name picks from, drawn in a 120 x 90 box.
SHAPES = [
    '<circle cx="60" cy="45" r="26"/>',
    '<rect x="34" y="19" width="52" height="52" rx="8"/>',
    '<polygon points="60,16 90,70 30,70"/>',
    '<ellipse cx="60" cy="45" rx="36" ry="20"/>',
    '<path d="M30 64 Q60 6 90 64 Z"/>',
]


def _pick(text: str, count: int, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}:{text}".encode()).digest()[:4], "big") % count


def draw(category: str, name: str) -> str:
    """The product's picture: its category's colours, a shape of its own, its initials."""
    background, ink = PALETTES[_pick(category, len(PALETTES), "palette")]
    shape = SHAPES[_pick(name, len(SHAPES), "shape")]
    initials = escape("".join(word[0] for word in name.split()[:2]).upper())
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 90" width="240" height="180">'
            f'<rect width="120" height="90" fill="{background}"/>'
            f'<g fill="{ink}" fill-opacity=".85">{shape}</g>'
            f'<text x="60" y="52" font-family="system-ui,sans-serif" font-size="16" font-weight="700" '
            f'fill="#fff" text-anchor="middle">{initials}</text></svg>')


def fingerprint(svg: str) -> str:
    return hashlib.sha256(svg.encode()).hexdigest()[:16]


def image_url(image_fingerprint: str) -> str:
    return f"/images/products/{image_fingerprint}.svg"


def give_images(products: list[tuple[int, str, str]]) -> None:
    """Draw a picture for each (product id, category name, product name); the caller commits."""
    for product_id, category, name in products:
        svg = draw(category, name)
        db.session.merge(ProductImage(product_id=product_id, fingerprint=fingerprint(svg), svg=svg))


def image_by_fingerprint(image_fingerprint: str) -> str | None:
    svg = db.session.scalar(select(ProductImage.svg).where(ProductImage.fingerprint == image_fingerprint)
                             .limit(1))
    db.session.commit()
    return svg


def image_urls(product_ids: list[int]) -> dict[int, str]:
    """The picture URL of each of these products that has one."""
    rows = db.session.execute(select(ProductImage.product_id, ProductImage.fingerprint)
                              .where(ProductImage.product_id.in_(product_ids))).all() if product_ids else []
    db.session.commit()
    return {product_id: image_url(found) for product_id, found in rows}
