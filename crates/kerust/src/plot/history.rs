//! Learning curves from a [`History`].

use super::{de, render, text_style, text_width, DrawResult, Figure, BLUE, INK, ORANGE};
use crate::callbacks::History;
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Width of the picture, and height of each row of two panels.
const WIDTH: u32 = 1000;
const ROW_HEIGHT: u32 = 400;

/// Draws the learning curves of a training run, as the Keras tutorials do with matplotlib.
///
/// One panel per quantity (`loss`, then each metric such as `accuracy`, two panels a row,
/// 1000x400 pixels a row), each with the training series and, when the history has it, the
/// `val_` series; the x axis is the epoch counted from 1, as Keras prints it. NaN and
/// infinite values (a diverged run) leave gaps in the curve. `path` ends in `.png` or
/// `.svg`, and the file is written atomically.
///
/// # Errors
/// [`Error::InvalidData`] for a history with no epochs, [`Error::Shape`] when a series'
/// length differs from the number of epochs, [`Error::InvalidArgument`] for another
/// extension, [`Error::Io`] when the file cannot be written (missing directory...).
///
/// # Example
/// ```
/// use kerust::callbacks::History;
/// # fn main() -> kerust::Result<()> {
/// // Normally: let history = model.fit(&x, &y, FitOptions { validation_split: 0.2, .. })?;
/// let mut history = History::default();
/// history.epoch = (0..5).collect();
/// history.history.insert("loss".into(), vec![0.62, 0.38, 0.34, 0.31, 0.29]);
/// history.history.insert("val_loss".into(), vec![0.43, 0.39, 0.36, 0.35, 0.34]);
/// history.history.insert("accuracy".into(), vec![0.78, 0.86, 0.88, 0.89, 0.89]);
/// history.history.insert("val_accuracy".into(), vec![0.85, 0.86, 0.87, 0.87, 0.88]);
/// let path = std::env::temp_dir().join("kerust-doc-history.png");
/// kerust::plot::plot_history(&history, &path)?;
/// # std::fs::remove_file(&path).ok();
/// # Ok(()) }
/// ```
pub fn plot_history(history: &History, path: impl AsRef<Path>) -> Result<()> {
    let figure = HistoryFigure::new(history)?;
    render(path.as_ref(), &figure)
}

/// One panel: a quantity's training and validation values.
struct Panel<'a> {
    name: String,
    train: Option<&'a [f32]>,
    val: Option<&'a [f32]>,
}

struct HistoryFigure<'a> {
    /// The x value (epoch counted from 1) of each recorded epoch.
    epochs: Vec<i64>,
    panels: Vec<Panel<'a>>,
}

impl<'a> HistoryFigure<'a> {
    fn new(history: &'a History) -> Result<Self> {
        let series: Vec<(&String, &Vec<f32>)> = history.history.iter().collect();
        let n = if !history.epoch.is_empty() {
            history.epoch.len()
        } else {
            series.first().map_or(0, |(_, v)| v.len())
        };
        if n == 0 {
            return Err(Error::data(
                "history",
                "no epochs were recorded; plot the History that model.fit returns after at least one epoch",
            ));
        }
        for (name, values) in &series {
            if values.len() != n {
                return Err(Error::shape(
                    format!("plot_history history['{name}']"),
                    format!("{n} values (one per epoch)"),
                    format!("{} values", values.len()),
                ));
            }
        }
        let epochs: Vec<i64> = if history.epoch.is_empty() {
            (1..=n as i64).collect()
        } else {
            history
                .epoch
                .iter()
                .map(|&e| i64::try_from(e).unwrap_or(i64::MAX / 4).min(i64::MAX / 4) + 1)
                .collect()
        };
        // Quantities: `loss` first, then the others alphabetically (BTreeMap order).
        let mut names: Vec<&str> = Vec::new();
        for (key, _) in &series {
            let base = key.strip_prefix("val_").unwrap_or(key);
            if !names.contains(&base) {
                names.push(base);
            }
        }
        names.sort_by_key(|n| (*n != "loss", n.to_string()));
        let panels = names
            .into_iter()
            .map(|name| Panel {
                name: name.to_string(),
                train: history.get(name),
                val: history.get(&format!("val_{name}")),
            })
            .collect();
        Ok(Self { epochs, panels })
    }

    fn grid(&self) -> (usize, usize) {
        let cols = self.panels.len().clamp(1, 2);
        (self.panels.len().div_ceil(cols).max(1), cols)
    }
}

impl Figure for HistoryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.grid().0.min(1000) as u32;
        (WIDTH, ROW_HEIGHT * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let areas = root.split_evenly(self.grid());
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            draw_panel(area, &self.epochs, panel)?;
        }
        Ok(())
    }
}

/// The runs of consecutive finite values of `values`, as (epoch, value) points.
fn finite_runs(epochs: &[i64], values: &[f32]) -> Vec<Vec<(i64, f64)>> {
    let mut runs: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (&x, &y) in epochs.iter().zip(values) {
        if y.is_finite() {
            current.push((x, y as f64));
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// The y range that shows every finite value with a little room.
fn y_range(values: impl Iterator<Item = f32>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v as f64);
        hi = hi.max(v as f64);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.08
    } else {
        (hi.abs() * 0.1).max(0.05)
    };
    let mut y0 = lo - pad;
    let y1 = hi + pad;
    if lo >= 0.0 && y0 < 0.0 {
        y0 = 0.0;
    }
    (y0, y1)
}

/// A tick label with as many decimals as the axis span needs.
fn tick(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 && span.is_finite() {
        (-(span / 5.0).log10()).ceil().clamp(0.0, 8.0) as usize
    } else {
        2
    };
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-6) {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    epochs: &[i64],
    panel: &Panel,
) -> DrawResult {
    let name = &panel.name;
    let title = match (panel.train.is_some(), panel.val.is_some()) {
        (true, true) => format!("Training and validation {name}"),
        (false, true) => format!("Validation {name}"),
        _ => format!("Training {name}"),
    };
    let all = panel
        .train
        .into_iter()
        .chain(panel.val)
        .flat_map(|s| s.iter().copied());
    let (y0, y1) = y_range(all);
    let (mut x0, mut x1) = (
        epochs.iter().copied().min().unwrap_or(1),
        epochs.iter().copied().max().unwrap_or(1),
    );
    let (first, last) = (x0, x1);
    if x0 == x1 {
        x0 -= 1;
        x1 += 1;
    }
    // Room for the widest tick label and the axis name beside it.
    let widest = [y0, y1, (y0 + y1) / 2.0]
        .iter()
        .map(|v| text_width(&tick(*v, y1 - y0), 13.0))
        .max()
        .unwrap_or(0);
    let y_area = (widest + 36).max(60);
    let mut chart = ChartBuilder::on(area)
        .caption(&title, text_style(20.0, INK))
        .margin(14)
        .margin_right(24)
        .x_label_area_size(46)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(de)?;
    let span = y1 - y0;
    let x_fmt = |x: &i64| {
        if *x >= first && *x <= last {
            x.to_string()
        } else {
            String::new()
        }
    };
    let y_fmt = |y: &f64| tick(*y, span);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name.as_str())
        .x_labels(((last - first + 1) as usize).clamp(2, 10))
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text_style(13.0, INK))
        .axis_desc_style(text_style(15.0, INK))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(245, 245, 245))
        .axis_style(INK)
        .draw()
        .map_err(de)?;

    let markers = epochs.len() <= 40;
    let series = [
        (panel.train, BLUE, "Training"),
        (panel.val, ORANGE, "Validation"),
    ];
    for (values, color, who) in series {
        let Some(values) = values else { continue };
        let style = color.stroke_width(2);
        // An empty series that carries the legend entry, so the legend shows even when
        // every value is NaN.
        chart
            .draw_series(LineSeries::new(std::iter::empty::<(i64, f64)>(), style))
            .map_err(de)?
            .label(format!("{who} {name}"))
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-10, 0), (10, 0)], color.stroke_width(2))
                    + Circle::new((0, 0), 3, color.filled())
            });
        for run in finite_runs(epochs, values) {
            if markers {
                chart
                    .draw_series(run.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(de)?;
            }
            chart.draw_series(LineSeries::new(run, style)).map_err(de)?;
        }
    }
    let any_finite = panel
        .train
        .into_iter()
        .chain(panel.val)
        .any(|s| s.iter().any(|v| v.is_finite()));
    if !any_finite {
        let style = text_style(15.0, INK).pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .plotting_area()
            .draw(&Text::new(
                "no finite values (NaN or infinite)",
                ((x0 + x1) / 2, (y0 + y1) / 2.0),
                style,
            ))
            .map_err(de)?;
    }
    let position = if crate::callbacks::auto_mode_is_max(name) {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    chart
        .configure_series_labels()
        .position(position)
        .margin(10)
        .legend_area_size(30)
        .label_font(text_style(14.0, INK))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(de)?;
    Ok(())
}
