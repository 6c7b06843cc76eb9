//! One prediction's class probabilities as a bar chart.

use super::{
    abbreviate, check_names, class_name, de, put_text, put_title, render, text_width, DrawResult,
    Figure, BLUE, INK, RED,
};
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::path::Path;

const MARGIN: u32 = 16;
const TITLE_FONT: f64 = 18.0;
const TICK_FONT: f64 = 12.0;
const PLOT_HEIGHT: u32 = 260;
/// Room left of the bars for the y axis and its labels.
const AXIS_LEFT: u32 = 58;
const MAX_NAME_CHARS: usize = 16;
/// Bars that are neither predicted nor true.
const BAR: RGBColor = RGBColor(150, 150, 150);

/// Draws one prediction's class probabilities as bars, as the Keras classification
/// tutorial's `plot_value_array`.
///
/// `probabilities` is one row of `model.predict` (a softmax output, values in [0, 1]). The
/// predicted class (the largest probability, the first of equals) is drawn blue, or red when
/// `true_label` is given and differs; the true class is drawn blue with a blue triangle
/// under it and its name in blue; other bars are grey. The title names the prediction, its
/// probability and the true class; the predicted and true bars carry their percentage.
/// Class names (or numbers) label the bars, upright when wider than a bar; past about 70
/// classes only the predicted and true ones are named. `path` ends in `.png` or `.svg`.
///
/// # Errors
/// [`Error::InvalidData`] for no probabilities or a value that is NaN or outside [0, 1]
/// (logits: apply softmax first); [`Error::Shape`] when `class_names` has another length;
/// [`Error::InvalidArgument`] for a `true_label` past the last class or another extension;
/// [`Error::Io`] when the file cannot be written.
///
/// # Example
/// ```
/// # fn main() -> kerust::Result<()> {
/// let probabilities = [0.01, 0.0, 0.05, 0.0, 0.71, 0.0, 0.22, 0.0, 0.01, 0.0];
/// let names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
///              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
/// let path = std::env::temp_dir().join("kerust-doc-prediction.png");
/// kerust::plot::plot_prediction(&probabilities, Some(&names), Some(6), &path)?;
/// # std::fs::remove_file(&path).ok();
/// # Ok(()) }
/// ```
pub fn plot_prediction(
    probabilities: &[f32],
    class_names: Option<&[&str]>,
    true_label: Option<usize>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let n = probabilities.len();
    if n == 0 {
        return Err(Error::data(
            "plot_prediction probabilities",
            "there are no classes (an empty slice)",
        ));
    }
    const TOLERANCE: f32 = 1e-4;
    if let Some((i, v)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, v)| !(-TOLERANCE..=1.0 + TOLERANCE).contains(*v))
    {
        return Err(Error::data(
            "plot_prediction probabilities",
            format!(
                "value {v} at index {i} is not a probability in [0, 1]; pass the model's \
                 softmax output (apply softmax to logits first)"
            ),
        ));
    }
    check_names("plot_prediction", class_names, n, "probability")?;
    if let Some(t) = true_label {
        if t >= n {
            return Err(Error::arg(
                "true_label",
                format!(
                    "class {t} is out of range for {n} probabilities (0..={})",
                    n - 1
                ),
            ));
        }
    }
    let figure = Bars::new(probabilities, class_names, true_label);
    render(path.as_ref(), &figure)
}

struct Bars<'a> {
    p: &'a [f32],
    names: Vec<String>,
    predicted: usize,
    truth: Option<usize>,
    title: String,
    slot: u32,
    name_font: f64,
    vertical_names: bool,
    names_height: u32,
}

impl<'a> Bars<'a> {
    fn new(p: &'a [f32], class_names: Option<&[&str]>, truth: Option<usize>) -> Self {
        let n = p.len();
        let mut predicted = 0;
        for (i, &v) in p.iter().enumerate() {
            if v > p[predicted] {
                predicted = i;
            }
        }
        let full = |i| class_name(class_names, i);
        let mut title = format!(
            "Predicted: {} ({:.1}%)",
            full(predicted),
            p[predicted].clamp(0.0, 1.0) * 100.0
        );
        if let Some(t) = truth {
            title += &format!(", true: {}", full(t));
        }
        let slot = ((640.0 / n as f64).round() as u32).clamp(6, 72);
        let name_font = (slot as f64 * 0.9).min(12.0);
        let names: Vec<String> = (0..n)
            .map(|i| abbreviate(&full(i), MAX_NAME_CHARS))
            .collect();
        let widest = names
            .iter()
            .map(|s| text_width(s, name_font))
            .max()
            .unwrap_or(0);
        let vertical_names = widest + 6 > slot;
        // Past about 70 classes only the predicted and true classes are named, on two lines.
        let names_height = if name_font < 7.0 {
            2 * TICK_FONT as u32 + 6
        } else if vertical_names {
            widest
        } else {
            name_font.ceil() as u32
        };
        Bars {
            p,
            names,
            predicted,
            truth,
            title,
            slot,
            name_font,
            vertical_names,
            names_height,
        }
    }

    fn plot_width(&self) -> u32 {
        self.slot.saturating_mul(self.p.len() as u32)
    }

    fn top(&self) -> u32 {
        MARGIN + TITLE_FONT as u32 + 14 + TICK_FONT as u32 + 24
    }

    /// The left edge of the bars (the plot centred under a wider title).
    fn left(&self) -> u32 {
        let content = AXIS_LEFT + self.plot_width() + MARGIN;
        (self.size().0 - content) / 2 + AXIS_LEFT
    }

    fn colour(&self, i: usize) -> RGBColor {
        match self.truth {
            Some(t) if i == t => BLUE,
            Some(_) if i == self.predicted => RED,
            None if i == self.predicted => BLUE,
            _ => BAR,
        }
    }
}

impl Figure for Bars<'_> {
    fn size(&self) -> (u32, u32) {
        let content = AXIS_LEFT + self.plot_width() + MARGIN;
        let width = content
            .max(text_width(&self.title, TITLE_FONT) + 2 * MARGIN)
            .max(420);
        let height = self.top() + PLOT_HEIGHT + 16 + self.names_height + MARGIN;
        (width, height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (width, _) = self.size();
        let (left, top) = (self.left() as i32, self.top() as i32);
        let plot_w = self.plot_width() as i32;
        let bottom = top + PLOT_HEIGHT as i32;
        let slot = self.slot as i32;
        let y_of = |v: f64| bottom - (v.clamp(0.0, 1.0) * PLOT_HEIGHT as f64).round() as i32;

        put_title(root, &self.title, width, MARGIN, TITLE_FONT)?;

        // Legend, right-aligned above the plot.
        let legend_y = MARGIN as i32 + TITLE_FONT as i32 + 14;
        let entries = match self.truth {
            None => vec![("predicted", BLUE)],
            Some(t) if t == self.predicted => vec![("predicted = true label", BLUE)],
            Some(_) => vec![("predicted (wrong)", RED), ("true label", BLUE)],
        };
        let mut x = left + plot_w;
        for (label, colour) in entries.iter().rev() {
            x -= text_width(label, TICK_FONT) as i32;
            put_text(
                root,
                label,
                (x, legend_y),
                TICK_FONT,
                INK,
                HPos::Left,
                VPos::Top,
                false,
            )?;
            x -= 16;
            root.draw(&Rectangle::new(
                [(x, legend_y), (x + 11, legend_y + 11)],
                colour.filled(),
            ))
            .map_err(de)?;
            x -= 16;
        }

        // Axis, grid and ticks.
        for k in 0..=4 {
            let v = k as f64 / 4.0;
            let y = y_of(v);
            let grid = if k == 0 { INK } else { RGBColor(225, 225, 225) };
            root.draw(&PathElement::new(
                vec![(left, y), (left + plot_w, y)],
                grid.stroke_width(1),
            ))
            .map_err(de)?;
            put_text(
                root,
                &format!("{}%", k * 25),
                (left - 6, y),
                TICK_FONT,
                INK,
                HPos::Right,
                VPos::Center,
                false,
            )?;
        }
        root.draw(&PathElement::new(
            vec![(left, top), (left, bottom)],
            INK.stroke_width(1),
        ))
        .map_err(de)?;
        put_text(
            root,
            "probability",
            (left - AXIS_LEFT as i32 + 2, (top + bottom) / 2),
            TICK_FONT,
            INK,
            HPos::Center,
            VPos::Top,
            true,
        )?;

        // Bars.
        let bar_w = ((slot as f64 * 0.7).round() as i32).max(2);
        for (i, &v) in self.p.iter().enumerate() {
            let centre = left + i as i32 * slot + slot / 2;
            let x0 = centre - bar_w / 2;
            let colour = self.colour(i);
            let y = y_of(v as f64);
            if y < bottom {
                root.draw(&Rectangle::new(
                    [(x0, y), (x0 + bar_w, bottom)],
                    colour.filled(),
                ))
                .map_err(de)?;
            }
            let marked = i == self.predicted || Some(i) == self.truth;
            if marked && slot >= 34 {
                let pct = format!("{:.0}%", (v.clamp(0.0, 1.0) * 100.0));
                put_text(
                    root,
                    &pct,
                    (centre, y - 3),
                    11.0,
                    colour,
                    HPos::Center,
                    VPos::Bottom,
                    false,
                )?;
            }
            if Some(i) == self.truth {
                let tip = bottom + 2;
                root.draw(&Polygon::new(
                    vec![(centre, tip), (centre - 5, tip + 8), (centre + 5, tip + 8)],
                    BLUE.filled(),
                ))
                .map_err(de)?;
            }
            if self.name_font >= 7.0 {
                let colour = if marked { colour } else { INK };
                let y = bottom + 14;
                if self.vertical_names {
                    put_text(
                        root,
                        &self.names[i],
                        (centre, y),
                        self.name_font,
                        colour,
                        HPos::Right,
                        VPos::Center,
                        true,
                    )?;
                } else {
                    put_text(
                        root,
                        &self.names[i],
                        (centre, y),
                        self.name_font,
                        colour,
                        HPos::Center,
                        VPos::Top,
                        false,
                    )?;
                }
            } else if marked {
                let line = if i == self.predicted { 0 } else { 1 };
                let y = bottom + 14 + line * (TICK_FONT as i32 + 6);
                let half = text_width(&self.names[i], TICK_FONT) as i32 / 2;
                let x = centre.clamp(left + half, left + plot_w - half);
                put_text(
                    root,
                    &self.names[i],
                    (x, y),
                    TICK_FONT,
                    colour,
                    HPos::Center,
                    VPos::Top,
                    false,
                )?;
            }
        }
        Ok(())
    }
}
