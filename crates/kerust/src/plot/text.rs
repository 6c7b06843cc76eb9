//! Text for bitmap pictures, laid out with ab_glyph directly.
//!
//! plotters' own ab_glyph text drawing places every glyph without its side bearing, so
//! words come out unevenly spaced ("T raining"). [`CrispText`] wraps a backend, passes every
//! shape through, and draws text itself: glyphs at their proper positions, kerned,
//! anti-aliased, anchored and rotated as plotters asks.

use super::FONT_BYTES;
use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};
use std::sync::OnceLock;

/// The embedded font, parsed once.
fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// A line of text laid out at `size` pixels: its glyphs (origin at the left end of the
/// baseline), its width, the height of a capital and the depth of descenders.
struct Line {
    glyphs: Vec<Glyph>,
    width: f32,
    cap: f32,
    descent: f32,
}

fn layout(font: &FontRef<'static>, size: f64, text: &str) -> Line {
    let size = if size.is_finite() {
        size.clamp(1.0, 1000.0)
    } else {
        12.0
    } as f32;
    let scaled = font.as_scaled(PxScale::from(size));
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(size, point(pen, 0.0)));
        pen += scaled.h_advance(id);
        prev = Some(id);
    }
    let h = scaled.glyph_id('H').with_scale(size);
    let cap = scaled
        .outline_glyph(h)
        .map_or(size * 0.63, |o| -o.px_bounds().min.y);
    Line {
        glyphs,
        width: pen,
        cap,
        descent: -scaled.descent(),
    }
}

/// The width and height in pixels of `text` drawn `size` pixels high (its width in the
/// embedded font; SVG viewers may use another sans-serif of about the same width).
pub(super) fn measure(size: f64, text: &str) -> (u32, u32) {
    match font() {
        Some(font) if !text.is_empty() => {
            let line = layout(font, size, text);
            (
                line.width.ceil().max(0.0) as u32,
                (line.cap + line.descent).ceil().max(0.0) as u32,
            )
        }
        _ => (0, 0),
    }
}

/// A backend whose text is drawn by kerust (see the module doc); everything else is `DB`'s.
pub(super) struct CrispText<DB>(pub DB);

impl<DB: DrawingBackend> DrawingBackend for CrispText<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        if font().is_none() {
            return self.0.estimate_text_size(text, style);
        }
        Ok(measure(style.size(), text))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let Some(font) = font() else {
            return self.0.draw_text(text, style, pos);
        };
        let line = layout(font, style.size(), text);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        }
        .round();
        // Vertical anchors: the top of the capitals, their middle, or the descenders' foot.
        let baseline = match anchor.v_pos {
            VPos::Top => line.cap,
            VPos::Center => line.cap / 2.0,
            VPos::Bottom => -line.descent,
        }
        .round();
        let transform = style.transform();
        let mut result = Ok(());
        for glyph in line.glyphs {
            let mut glyph = glyph;
            glyph.position.x += dx;
            glyph.position.y += baseline;
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| {
                if result.is_err() || coverage <= 1.0 / 255.0 {
                    return;
                }
                let (tx, ty) = transform.transform(x0 + x as i32, y0 + y as i32);
                let c = BackendColor {
                    alpha: color.alpha * coverage.min(1.0) as f64,
                    rgb: color.rgb,
                };
                result = self.0.draw_pixel((pos.0 + tx, pos.1 + ty), c);
            });
            if result.is_err() {
                break;
            }
        }
        result
    }
}
