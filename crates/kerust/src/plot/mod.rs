//! Pictures of a training run: learning curves, confusion matrices, image grids and
//! single predictions, written as PNG or SVG files (the `plot` cargo feature, on by default).
//!
//! Every function picks the format from its `path`'s extension: `.png` (a bitmap) or `.svg`
//! (vector, its text left to the viewer's sans-serif font). The file is written atomically:
//! drawn in memory, written to a temporary file in the same directory, then renamed over
//! `path`, so a reader never sees half a picture. Bad input is an [`Error`], never a panic.
//!
//! Text is drawn with DejaVu Sans, embedded in kerust (Bitstream Vera licence, see
//! `data/fonts/DejaVuSans-LICENSE.txt`), so plotting needs no system fonts or libraries. It
//! is registered with plotters as `"sans-serif"` at the first plot.
//!
//! | Keras / matplotlib tutorial                        | kerust                                  |
//! | -------------------------------------------------- | --------------------------------------- |
//! | `plt.plot(history.history['loss'])` ...            | [`plot_history`]                        |
//! | `ConfusionMatrixDisplay(cm).plot()`                | [`plot_confusion_matrix`]               |
//! | `plt.imshow(img, cmap=plt.cm.binary)` in a grid    | [`plot_images`]                         |
//! | `plot_value_array(i, predictions[i], test_labels)` | [`plot_prediction`]                     |
//!
//! ```
//! use kerust::callbacks::History;
//! # fn main() -> kerust::Result<()> {
//! let mut history = History::default();
//! history.epoch = vec![0, 1, 2];
//! history.history.insert("loss".into(), vec![0.9, 0.5, 0.4]);
//! history.history.insert("val_loss".into(), vec![0.8, 0.6, 0.55]);
//! let path = std::env::temp_dir().join("kerust-plot-module-doc.svg");
//! kerust::plot::plot_history(&history, &path)?;
//! # std::fs::remove_file(&path).ok();
//! # Ok(()) }
//! ```

mod confusion;
mod history;
mod images;
mod prediction;
mod text;

pub use confusion::plot_confusion_matrix;
pub use history::plot_history;
pub use images::plot_images;
pub use prediction::plot_prediction;

use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// DejaVu Sans 2.37 (Bitstream Vera licence, with DejaVu changes in the public domain).
static FONT_BYTES: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

/// The font family every kerust plot draws its text with.
const FONT: &str = "sans-serif";

/// The largest picture side kerust draws, in pixels.
const MAX_SIDE: u32 = 16_000;
/// The largest picture kerust draws, in pixels (a 192 MB RGB buffer).
const MAX_PIXELS: u64 = 64_000_000;

/// The file formats kerust can write, chosen from the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

/// The output format named by `path`'s extension (case-insensitive).
fn format_of(path: &Path) -> Result<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        Some(other) => Err(Error::arg(
            "path",
            format!(
                "unsupported image format '.{other}' in {}; supported extensions are .png and .svg",
                path.display()
            ),
        )),
        None => Err(Error::arg(
            "path",
            format!(
                "{} has no file extension; supported extensions are .png and .svg",
                path.display()
            ),
        )),
    }
}

/// Registers the embedded font with plotters, once per process.
fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the embedded DejaVu Sans font could not be loaded".into())
    }
}

/// What a drawing function returns: plotters' error, as text.
type DrawResult = std::result::Result<(), String>;

/// Turns any displayable drawing error into the text of a [`DrawResult`].
fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A picture that can be drawn on any plotters backend.
trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the picture on `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Checks `path` (extension, existing directory), draws `figure` in memory and writes it.
fn render(path: &Path, figure: &impl Figure) -> Result<()> {
    let (w, h) = figure.size();
    let format = format_of(path)?;
    check_dir(path)?;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE || w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::data(
            "the plot",
            format!(
                "the picture would be {w}x{h} pixels, more than kerust draws (at most \
                 {MAX_SIDE} pixels a side and {MAX_PIXELS} in all); plot fewer items"
            ),
        ));
    }
    let fail = |msg: String| {
        Error::io(
            path,
            std::io::Error::other(format!("drawing the plot failed: {msg}")),
        )
    };
    ensure_font().map_err(fail)?;
    // Inputs are validated before drawing; this only turns an unforeseen panic inside
    // plotters into an error instead of bringing the caller down.
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
        Format::Png => draw_png(figure, w, h),
        Format::Svg => draw_svg(figure, w, h).map(String::into_bytes),
    }))
    .unwrap_or_else(|_| Err("plotters panicked while drawing".into()));
    let bytes = drawn.map_err(fail)?;
    crate::atomic::write_atomic(path, |w| std::io::Write::write_all(w, &bytes))
}

fn draw_png(figure: &impl Figure, w: u32, h: u32) -> std::result::Result<Vec<u8>, String> {
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root =
            text::CrispText(BitMapBackend::with_buffer(&mut rgb, (w, h))).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        figure.draw(&root)?;
        root.present().map_err(de)?;
    }
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(de)?;
    writer.write_image_data(&rgb).map_err(de)?;
    writer.finish().map_err(de)?;
    Ok(out)
}

fn draw_svg(figure: &impl Figure, w: u32, h: u32) -> std::result::Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        figure.draw(&root)?;
        root.present().map_err(de)?;
    }
    Ok(svg)
}

/// The directory `path` will be written in ("." for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn check_dir(path: &Path) -> Result<()> {
    if path.file_name().is_none() {
        return Err(Error::arg(
            "path",
            format!("{} does not name a file", path.display()),
        ));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("directory {} does not exist", dir.display()),
            ),
        ));
    }
    Ok(())
}

// ---- drawing helpers shared by the plots ----

/// Text in the embedded font, `size` pixels high, in `color`.
fn text_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

/// Dark grey for text and axes (matplotlib's default is black; this reads softer).
const INK: RGBColor = RGBColor(34, 34, 34);
/// matplotlib's `tab:blue`.
const BLUE: RGBColor = RGBColor(31, 119, 180);
/// matplotlib's `tab:orange`.
const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// matplotlib's `tab:red`.
const RED: RGBColor = RGBColor(214, 39, 40);

/// The width of `text` drawn `size` pixels high.
fn text_width(text: &str, size: f64) -> u32 {
    text::measure(size, text).0
}

/// `text`, cut and ended with "…" so that it is at most `max_width` pixels wide at `size`.
fn fit_text(text: &str, size: f64, max_width: u32) -> String {
    if text_width(text, size) <= max_width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().collect::<String>() + "…";
        if text_width(&candidate, size) <= max_width {
            return candidate;
        }
    }
    String::new()
}

/// Draws `text` at `pos`, anchored at (`h`, `v`) of its box, turned to read upwards when
/// `vertical`.
#[allow(clippy::too_many_arguments)]
fn put_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    pos: (i32, i32),
    size: f64,
    color: RGBColor,
    h: HPos,
    v: VPos,
    vertical: bool,
) -> DrawResult {
    if text.is_empty() {
        return Ok(());
    }
    let mut style = text_style(size, color).pos(Pos::new(h, v));
    if vertical {
        style = style.transform(FontTransform::Rotate270);
    }
    area.draw(&Text::new(text.to_string(), pos, style))
        .map_err(de)
}

/// A figure's title, centred `margin` pixels below the top edge.
fn put_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    width: u32,
    margin: u32,
    size: f64,
) -> DrawResult {
    put_text(
        root,
        title,
        (width as i32 / 2, margin as i32),
        size,
        INK,
        HPos::Center,
        VPos::Top,
        false,
    )
}

/// `name` shortened to at most `max_chars` characters by cutting its middle ("…"), so that
/// names differing only at the end stay apart.
fn abbreviate(name: &str, max_chars: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= max_chars {
        return name.to_string();
    }
    let keep = max_chars.saturating_sub(1);
    let tail = keep * 2 / 5;
    let head = keep - tail;
    let mut s: String = chars[..head].iter().collect();
    s.push('…');
    s.extend(&chars[chars.len() - tail..]);
    s
}

/// The display name of class `i`: its entry in `names`, else the number.
fn class_name(names: Option<&[&str]>, i: usize) -> String {
    match names.and_then(|n| n.get(i)) {
        Some(s) => s.to_string(),
        None => i.to_string(),
    }
}

/// Checks that `names`, when given, has one entry per class.
fn check_names(context: &str, names: Option<&[&str]>, classes: usize, what: &str) -> Result<()> {
    match names {
        Some(n) if n.len() != classes => Err(Error::shape(
            format!("{context} class_names"),
            format!("{classes} names (one per {what})"),
            format!("{} names", n.len()),
        )),
        _ => Ok(()),
    }
}

/// Checks that every label in `values` has a name when `names` is given.
fn check_label(what: &str, values: &[usize], names: Option<&[&str]>) -> Result<()> {
    if let Some(names) = names {
        if let Some((i, &v)) = values.iter().enumerate().find(|(_, &v)| v >= names.len()) {
            return Err(Error::data(
                what,
                format!(
                    "class {v} at index {i} has no name: class_names has {} entries",
                    names.len()
                ),
            ));
        }
    }
    Ok(())
}

/// The colour at `t` in [0, 1] of matplotlib's "Blues" colour map (white to dark blue).
fn blues(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_extension() {
        assert_eq!(format_of(Path::new("a/b.PNG")).unwrap(), Format::Png);
        assert_eq!(format_of(Path::new("b.svg")).unwrap(), Format::Svg);
        let e = format_of(Path::new("b.jpg")).unwrap_err().to_string();
        assert!(
            e.contains(".png") && e.contains(".svg") && e.contains(".jpg"),
            "{e}"
        );
        assert!(format_of(Path::new("noext")).is_err());
    }

    #[test]
    fn abbreviates_long_names() {
        assert_eq!(abbreviate("short", 8), "short");
        assert_eq!(abbreviate("a very long name", 8), "a ver…me");
        assert_eq!(
            abbreviate("a rather long class name 12", 16),
            "a rather …ame 12"
        );
    }

    #[test]
    fn blues_ends() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(f64::NAN), RGBColor(247, 251, 255));
    }
}
