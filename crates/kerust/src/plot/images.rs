//! A grid of grayscale images with their labels and guesses.

use super::{
    check_label, class_name, de, fit_text, put_text, render, DrawResult, Figure, BLUE, INK, RED,
};
use crate::{Error, Result};
use ndarray::ArrayView3;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::path::Path;

const MARGIN: u32 = 16;
const FONT: f64 = 13.0;
const LINE: u32 = 17;
const PAD: u32 = 14;
const HEADER_FONT: f64 = 18.0;
/// Images are enlarged by a whole factor to about this many pixels a side.
const TARGET_SIDE: usize = 96;
/// The narrowest column, so that titles have room.
const MIN_COLUMN: u32 = 130;

/// Draws images in a grid, as the Keras tutorials' `plt.imshow(image, cmap=plt.cm.binary)`.
///
/// `images` is `(n, height, width)` grayscale in [0, 1], drawn with matplotlib's "binary"
/// colour map: 0 is white and 1 is black (values outside [0, 1] are clamped). Data stored as
/// `u8` from 0 to 255 is divided by 255 first (`x.mapv(|v| v as f32 / 255.0)`), as Keras
/// scripts do; the 8x8 digits, valued 0 to 16, are divided by 16. Each image is enlarged by
/// a whole factor to about 96 pixels and titled "Expected: X" (the label, or its entry in
/// `class_names`); with `predictions`, a second line "Guess: Y" is blue when right and red
/// when wrong, a wrong image gets a red frame, and a heading counts the right guesses.
/// `cols` images a row (fewer when there are fewer images). `path` ends in `.png` or `.svg`.
///
/// # Errors
/// [`Error::InvalidData`] for no images, a NaN or infinite pixel, a label without a class
/// name, or so many images that the picture would pass 16000 pixels a side;
/// [`Error::Shape`] when `labels` or `predictions` do not have one entry per image, or
/// `images` has an empty side; [`Error::InvalidArgument`] for `cols` 0 or another
/// extension; [`Error::Io`] when the file cannot be written.
///
/// # Example
/// ```
/// # fn main() -> kerust::Result<()> {
/// let (images, labels) = kerust::datasets::digits::load_data()?;
/// let first = images.slice(ndarray::s![..10, .., ..]).mapv(|v| v as f32 / 16.0);
/// let labels: Vec<usize> = labels.iter().take(10).map(|&l| l as usize).collect();
/// let path = std::env::temp_dir().join("kerust-doc-digits.png");
/// kerust::plot::plot_images(first.view(), &labels, None, None, &path, 5)?;
/// # std::fs::remove_file(&path).ok();
/// # Ok(()) }
/// ```
pub fn plot_images(
    images: ArrayView3<f32>,
    labels: &[usize],
    predictions: Option<&[usize]>,
    class_names: Option<&[&str]>,
    path: impl AsRef<Path>,
    cols: usize,
) -> Result<()> {
    let (n, h, w) = images.dim();
    if n == 0 {
        return Err(Error::data(
            "plot_images images",
            "there are no images to plot",
        ));
    }
    if h == 0 || w == 0 {
        return Err(Error::shape(
            "plot_images images",
            "(images, height, width) with height and width at least 1",
            format!("({n}, {h}, {w})"),
        ));
    }
    if cols == 0 {
        return Err(Error::arg("cols", "must be at least 1 image a row"));
    }
    let counts = [("labels", Some(labels)), ("predictions", predictions)];
    for (what, values) in counts {
        let Some(values) = values else { continue };
        if values.len() != n {
            return Err(Error::shape(
                format!("plot_images {what}"),
                format!("{n} {what} (one per image)"),
                format!("{} {what}", values.len()),
            ));
        }
        check_label(&format!("plot_images {what}"), values, class_names)?;
    }
    if let Some(((i, r, c), v)) = images.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::data(
            "plot_images images",
            format!("pixel [{i}, {r}, {c}] is {v}; pixels must be finite values in [0, 1]"),
        ));
    }
    let figure = Grid::new(images, labels, predictions, class_names, cols);
    render(path.as_ref(), &figure)
}

struct Grid<'a> {
    images: ArrayView3<'a, f32>,
    labels: &'a [usize],
    predictions: Option<&'a [usize]>,
    class_names: Option<&'a [&'a str]>,
    rows: usize,
    cols: usize,
    /// Screen pixels per image pixel.
    scale: u32,
    cell_w: u32,
    cell_h: u32,
    header: u32,
}

impl<'a> Grid<'a> {
    fn new(
        images: ArrayView3<'a, f32>,
        labels: &'a [usize],
        predictions: Option<&'a [usize]>,
        class_names: Option<&'a [&'a str]>,
        cols: usize,
    ) -> Self {
        let (n, h, w) = images.dim();
        let cols = cols.min(n);
        let rows = n.div_ceil(cols);
        let side = h.max(w);
        let scale = ((TARGET_SIDE as f64 / side as f64).round() as u32).max(1);
        let img_w = (w as u32).saturating_mul(scale);
        let img_h = (h as u32).saturating_mul(scale);
        let lines = if predictions.is_some() { 2 } else { 1 };
        let cell_w = img_w.max(MIN_COLUMN).saturating_add(2 * PAD);
        let cell_h = (lines * LINE + 6).saturating_add(img_h).saturating_add(PAD);
        let header = if predictions.is_some() {
            HEADER_FONT as u32 + 16
        } else {
            0
        };
        Grid {
            images,
            labels,
            predictions,
            class_names,
            rows,
            cols,
            scale,
            cell_w,
            cell_h,
            header,
        }
    }

    fn wrong(&self) -> usize {
        self.predictions.map_or(0, |p| {
            p.iter().zip(self.labels).filter(|(p, l)| p != l).count()
        })
    }
}

/// `a * b + c`, saturating (sizes past `u32` are refused by `render`).
fn span(count: usize, each: u32, extra: u32) -> u32 {
    u32::try_from(count)
        .unwrap_or(u32::MAX)
        .saturating_mul(each)
        .saturating_add(extra)
}

impl Figure for Grid<'_> {
    fn size(&self) -> (u32, u32) {
        (
            span(self.cols, self.cell_w, 2 * MARGIN),
            span(self.rows, self.cell_h, 2 * MARGIN + self.header),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (width, _) = self.size();
        if let Some(p) = self.predictions {
            let n = p.len();
            let right = n - self.wrong();
            let text = format!(
                "{right} of {n} guesses right ({:.1}%)",
                right as f64 * 100.0 / n as f64
            );
            put_text(
                root,
                &text,
                (width as i32 / 2, MARGIN as i32),
                HEADER_FONT,
                INK,
                HPos::Center,
                VPos::Top,
                false,
            )?;
        }
        let (_, h, w) = self.images.dim();
        let s = self.scale as i32;
        let lines = if self.predictions.is_some() { 2 } else { 1 };
        for (i, image) in self.images.outer_iter().enumerate() {
            let (row, col) = (i / self.cols, i % self.cols);
            let x0 = (MARGIN + col as u32 * self.cell_w) as i32;
            let y0 = (MARGIN + self.header + row as u32 * self.cell_h) as i32;
            let centre = x0 + self.cell_w as i32 / 2;
            let max_text = self.cell_w - 4;

            let expected = format!("Expected: {}", class_name(self.class_names, self.labels[i]));
            put_text(
                root,
                &fit_text(&expected, FONT, max_text),
                (centre, y0),
                FONT,
                INK,
                HPos::Center,
                VPos::Top,
                false,
            )?;
            let mut frame = RGBColor(190, 190, 190);
            if let Some(p) = self.predictions {
                let right = p[i] == self.labels[i];
                let color = if right { BLUE } else { RED };
                if !right {
                    frame = RED;
                }
                let guess = format!("Guess: {}", class_name(self.class_names, p[i]));
                put_text(
                    root,
                    &fit_text(&guess, FONT, max_text),
                    (centre, y0 + LINE as i32),
                    FONT,
                    color,
                    HPos::Center,
                    VPos::Top,
                    false,
                )?;
            }

            // The image, row 0 at the top, in runs of equal grey along each row.
            let ix = centre - (w as i32 * s) / 2;
            let iy = y0 + (lines * LINE) as i32 + 6;
            for r in 0..h {
                let mut c = 0;
                while c < w {
                    let grey = binary(image[[r, c]]);
                    let mut end = c + 1;
                    while end < w && binary(image[[r, end]]) == grey {
                        end += 1;
                    }
                    if grey != 255 {
                        let (px, py) = (ix + c as i32 * s, iy + r as i32 * s);
                        root.draw(&Rectangle::new(
                            [(px, py), (ix + end as i32 * s, py + s)],
                            RGBColor(grey, grey, grey).filled(),
                        ))
                        .map_err(de)?;
                    }
                    c = end;
                }
            }
            let (fw, fh) = (w as i32 * s, h as i32 * s);
            let width = if frame == RED { 2 } else { 1 };
            root.draw(&Rectangle::new(
                [(ix - 1, iy - 1), (ix + fw, iy + fh)],
                frame.stroke_width(width),
            ))
            .map_err(de)?;
        }
        Ok(())
    }
}

/// matplotlib's "binary" colour map: 0 is white, 1 is black.
fn binary(v: f32) -> u8 {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (255.0 * (1.0 - v)).round() as u8
}
