"""Draw resources/icons/telerad.png (256 px) to match telerad.svg, with Pillow (no SVG renderer needed)."""

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def draw(size: int = 256) -> Image.Image:
    scale = 4  # supersample, then downscale for smooth edges
    s = size * scale / 256
    img = Image.new("RGBA", (size * scale, size * scale), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    box = lambda *v: [round(c * s) for c in v]  # noqa: E731
    d.rounded_rectangle(box(8, 8, 248, 248), radius=round(44 * s), fill="#14324f")
    d.ellipse(box(54, 44, 202, 220), fill="#2b2b2b", outline="#f2f2f2", width=round(12 * s))
    d.ellipse(box(90, 96, 118, 124), fill="#c8c8c8")
    d.rectangle(box(132, 94, 158, 120), fill="#c8c8c8")
    d.ellipse(box(132, 148, 164, 180), fill="#c8c8c8")
    d.line(box(128, 28, 128, 236), fill="#3ddc84", width=round(6 * s))
    d.line(box(28, 132, 228, 132), fill="#ff5a4f", width=round(6 * s))
    return img.resize((size, size), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    ICONS.mkdir(parents=True, exist_ok=True)
    draw(256).save(ICONS / "telerad.png")
    draw(256).save(ICONS / "telerad.ico", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
    print(f"wrote {ICONS}/telerad.png and telerad.ico")
