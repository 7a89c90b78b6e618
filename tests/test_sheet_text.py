"""The cached-glyph sheet canvas measures text exactly as matplotlib's Agg does.

``maps.sheet.text`` uses matplotlib internals (pinned in pyproject.toml); this test is the
tripwire for a matplotlib upgrade that changes them.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from maps.fonts import cjk_font_family
from maps.sheet.text import SheetCanvas

STRINGS = [
    "12号 36户",
    "黄陵路社区第1网格党群服务微站",
    "楼栋长 王德胜",
    "604/604（100%）",
    "LD000403",
]


@pytest.mark.parametrize("size", [6.0, 9.5, 14.0])
def test_text_metrics_equal_matplotlib(size: float) -> None:
    prop = FontProperties(family=cjk_font_family(), size=size)
    ours = SheetCanvas(Figure(dpi=150)).get_renderer()
    theirs = FigureCanvasAgg(Figure(dpi=150)).get_renderer()
    for s in STRINGS:
        a = ours.get_text_width_height_descent(s, prop, ismath=False)
        b = theirs.get_text_width_height_descent(s, prop, ismath=False)
        assert a == pytest.approx(b, abs=1e-6), s


def test_drawn_text_matches_matplotlib_within_half_a_pixel() -> None:
    """Same glyphs in the same place: the rendered images differ only by sub-pixel snapping."""

    def render(canvas_cls: type[FigureCanvasAgg]) -> np.ndarray:
        fig = Figure(figsize=(3, 1), dpi=150)
        canvas = canvas_cls(fig)
        fig.text(0.05, 0.4, "黄陵路社区 12号 36户", family=cjk_font_family(), size=12)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].astype(float)

    a, b = render(SheetCanvas), render(FigureCanvasAgg)
    ink_a, ink_b = (a < 128).any(axis=2), (b < 128).any(axis=2)
    assert ink_a.sum() > 100  # something was drawn
    cols_a, cols_b = np.flatnonzero(ink_a.any(axis=0)), np.flatnonzero(ink_b.any(axis=0))
    assert abs(cols_a[0] - cols_b[0]) <= 1 and abs(cols_a[-1] - cols_b[-1]) <= 1
    assert abs(int(ink_a.sum()) - int(ink_b.sum())) <= 0.1 * ink_b.sum()
