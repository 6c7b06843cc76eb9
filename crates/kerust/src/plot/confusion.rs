//! A confusion matrix as a heat map.

use super::{
    abbreviate, blues, check_names, class_name, de, put_text, put_title, render, text_width,
    DrawResult, Figure, INK,
};
use crate::{Error, Result};
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::path::Path;

const TITLE_FONT: f64 = 19.0;
const AXIS_FONT: f64 = 15.0;
const MARGIN: u32 = 16;
/// Class names longer than this are abbreviated with "…".
const MAX_NAME_CHARS: usize = 16;
const BAR_WIDTH: u32 = 18;

/// Draws a confusion matrix as a heat map, as scikit-learn's `ConfusionMatrixDisplay` does.
///
/// Rows are the true labels and columns the predicted labels (the layout of
/// `kerust::metrics::confusion_matrix` and scikit-learn), each cell coloured from white to
/// dark blue by its count and labelled with it (white on dark cells). Class names, when
/// given, label the axes (abbreviated past 16 characters, turned upright when wider than a
/// column); otherwise the class numbers do. A colour bar maps colours to counts and the title
/// gives the share on the diagonal. Cells grow from 12 to 80 pixels a side as the classes get
/// fewer; counts too wide for their cell are left out. `path` ends in `.png` or `.svg`.
///
/// # Errors
/// [`Error::Shape`] for a matrix that is not square or `class_names` of another length,
/// [`Error::InvalidData`] for a 0x0 matrix, [`Error::InvalidArgument`] for another
/// extension, [`Error::Io`] when the file cannot be written.
///
/// # Example
/// ```
/// use ndarray::array;
/// # fn main() -> kerust::Result<()> {
/// let cm = array![[50u64, 2, 0], [3, 41, 6], [0, 4, 44]];
/// let names = ["cat", "dog", "horse"];
/// let path = std::env::temp_dir().join("kerust-doc-confusion.png");
/// kerust::plot::plot_confusion_matrix(&cm, Some(&names), &path)?;
/// # std::fs::remove_file(&path).ok();
/// # Ok(()) }
/// ```
pub fn plot_confusion_matrix(
    cm: &Array2<u64>,
    class_names: Option<&[&str]>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let (rows, cols) = cm.dim();
    if rows != cols {
        return Err(Error::shape(
            "plot_confusion_matrix cm",
            "a square (classes, classes) matrix",
            format!("({rows}, {cols})"),
        ));
    }
    if rows == 0 {
        return Err(Error::data(
            "plot_confusion_matrix cm",
            "the matrix is 0x0: there are no classes to plot",
        ));
    }
    check_names(
        "plot_confusion_matrix",
        class_names,
        rows,
        "row of the matrix",
    )?;
    let figure = Confusion::new(cm, class_names);
    render(path.as_ref(), &figure)
}

struct Confusion<'a> {
    cm: &'a Array2<u64>,
    names: Vec<String>,
    title: String,
    max: u64,
    cell: u32,
    name_font: f64,
    count_font: f64,
    /// Widest row name, and the height of the column-name band.
    row_names_width: u32,
    col_names_height: u32,
    vertical_col_names: bool,
    bar_labels: Vec<u64>,
    bar_labels_width: u32,
}

/// Up to about five round tick values from 0 to `max`.
fn ticks(max: u64) -> Vec<u64> {
    if max == 0 {
        return vec![0];
    }
    let raw = max as f64 / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0)
        .round() as u64;
    let step = step.max(1);
    (0..=max / step).map(|i| i * step).collect()
}

impl<'a> Confusion<'a> {
    fn new(cm: &'a Array2<u64>, class_names: Option<&[&str]>) -> Self {
        let n = cm.nrows();
        let cell = ((560.0 / n as f64).round() as u32).clamp(12, 80);
        let name_font = (cell as f64 * 0.8).min(13.0);
        let count_font = (cell as f64 * 0.3).min(15.0);
        let names: Vec<String> = (0..n)
            .map(|i| abbreviate(&class_name(class_names, i), MAX_NAME_CHARS))
            .collect();
        let widest = names
            .iter()
            .map(|s| text_width(s, name_font))
            .max()
            .unwrap_or(0);
        let vertical_col_names = widest + 6 > cell;
        let col_names_height = if vertical_col_names {
            widest
        } else {
            name_font.ceil() as u32
        };
        let total: u128 = cm.iter().map(|&v| v as u128).sum();
        let diagonal: u128 = (0..n).map(|i| cm[[i, i]] as u128).sum();
        let title = if total > 0 {
            format!(
                "Confusion matrix: {total} samples, {:.1}% correct",
                diagonal as f64 * 100.0 / total as f64
            )
        } else {
            "Confusion matrix (no samples)".to_string()
        };
        let max = cm.iter().copied().max().unwrap_or(0);
        let bar_labels = ticks(max);
        let bar_labels_width = bar_labels
            .iter()
            .map(|t| text_width(&t.to_string(), 12.0))
            .max()
            .unwrap_or(0);
        Confusion {
            cm,
            names,
            title,
            max,
            cell,
            name_font,
            count_font,
            row_names_width: widest,
            col_names_height,
            vertical_col_names,
            bar_labels,
            bar_labels_width,
        }
    }

    fn grid(&self) -> u32 {
        self.cell * self.cm.nrows() as u32
    }

    /// The widths of the parts left and right of the grid, and the picture's width.
    fn widths(&self) -> (u32, u32, u32) {
        let left = MARGIN + AXIS_FONT as u32 + 12 + self.row_names_width + 8;
        let right = 22 + BAR_WIDTH + 6 + self.bar_labels_width + MARGIN;
        let content = left + self.grid() + right;
        let width = content.max(text_width(&self.title, TITLE_FONT) + 2 * MARGIN);
        (left, right, width)
    }

    /// The left and top pixel of the grid (the content centred under a wider title).
    fn origin(&self) -> (u32, u32) {
        let (left, right, width) = self.widths();
        let offset = (width - (left + self.grid() + right)) / 2;
        (offset + left, MARGIN + TITLE_FONT as u32 + 18)
    }
}

impl Figure for Confusion<'_> {
    fn size(&self) -> (u32, u32) {
        let (_, top) = self.origin();
        let bottom = 8 + self.col_names_height + 12 + AXIS_FONT as u32 + MARGIN;
        (self.widths().2, top + self.grid() + bottom)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (left, top) = self.origin();
        let (left, top) = (left as i32, top as i32);
        let cell = self.cell as i32;
        let grid = self.grid() as i32;
        let (width, _) = self.size();
        let scale = self.max.max(1) as f64;

        put_title(root, &self.title, width, MARGIN, TITLE_FONT)?;

        // Cells and their counts.
        for ((r, c), &v) in self.cm.indexed_iter() {
            let t = v as f64 / scale;
            let (x0, y0) = (left + c as i32 * cell, top + r as i32 * cell);
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                blues(t).filled(),
            ))
            .map_err(de)?;
            let label = v.to_string();
            let mut font = self.count_font;
            while font >= 7.0 && text_width(&label, font) + 4 > self.cell {
                font -= 1.0;
            }
            if font >= 7.0 {
                let color = if t > 0.5 { WHITE } else { INK };
                put_text(
                    root,
                    &label,
                    (x0 + cell / 2, y0 + cell / 2),
                    font,
                    color,
                    HPos::Center,
                    VPos::Center,
                    false,
                )?;
            }
        }
        root.draw(&Rectangle::new(
            [(left, top), (left + grid, top + grid)],
            INK.stroke_width(1),
        ))
        .map_err(de)?;

        // Class names: rows on the left, columns below.
        if self.name_font >= 7.0 {
            for (i, name) in self.names.iter().enumerate() {
                let mid = i as i32 * cell + cell / 2;
                put_text(
                    root,
                    name,
                    (left - 8, top + mid),
                    self.name_font,
                    INK,
                    HPos::Right,
                    VPos::Center,
                    false,
                )?;
                if self.vertical_col_names {
                    put_text(
                        root,
                        name,
                        (left + mid, top + grid + 8),
                        self.name_font,
                        INK,
                        HPos::Right,
                        VPos::Center,
                        true,
                    )?;
                } else {
                    put_text(
                        root,
                        name,
                        (left + mid, top + grid + 8),
                        self.name_font,
                        INK,
                        HPos::Center,
                        VPos::Top,
                        false,
                    )?;
                }
            }
        }
        let axis_y = top + grid + 8 + self.col_names_height as i32 + 12;
        put_text(
            root,
            "Predicted label",
            (left + grid / 2, axis_y),
            AXIS_FONT,
            INK,
            HPos::Center,
            VPos::Top,
            false,
        )?;
        put_text(
            root,
            "True label",
            (
                left - self.row_names_width as i32 - 20 - AXIS_FONT as i32,
                top + grid / 2,
            ),
            AXIS_FONT,
            INK,
            HPos::Center,
            VPos::Top,
            true,
        )?;

        // The colour bar, 0 at the bottom and the largest count at the top.
        let bx = left + grid + 22;
        let steps = 64;
        for s in 0..steps {
            let y1 = top + grid - s * grid / steps;
            let y0 = top + grid - (s + 1) * grid / steps;
            let t = (s as f64 + 0.5) / steps as f64;
            root.draw(&Rectangle::new(
                [(bx, y0), (bx + BAR_WIDTH as i32, y1)],
                blues(t).filled(),
            ))
            .map_err(de)?;
        }
        root.draw(&Rectangle::new(
            [(bx, top), (bx + BAR_WIDTH as i32, top + grid)],
            INK.stroke_width(1),
        ))
        .map_err(de)?;
        for &tick in &self.bar_labels {
            let y = top + grid - ((tick as f64 / scale) * grid as f64).round() as i32;
            let x = bx + BAR_WIDTH as i32;
            root.draw(&PathElement::new(
                vec![(x, y), (x + 4, y)],
                INK.stroke_width(1),
            ))
            .map_err(de)?;
            put_text(
                root,
                &tick.to_string(),
                (x + 6, y),
                12.0,
                INK,
                HPos::Left,
                VPos::Center,
                false,
            )?;
        }
        Ok(())
    }
}
