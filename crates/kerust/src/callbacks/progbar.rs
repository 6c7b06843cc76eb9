//! Keras 3's progress output.
//!
//! `verbose = 2`: one line per epoch, exactly as Keras prints it:
//! `1875/1875 - 4s - 2ms/step - accuracy: 0.8269 - loss: 0.4969`.
//! `verbose = 1` on a terminal: Keras's live bar, redrawn in place at most every 50 ms.
//! `verbose = 1` when stdout is not a terminal (CI logs, files): Keras writes every redraw
//! with backspaces and colour codes, which garbles logs; kerust prints the epoch's final
//! bar once, plainly: `1875/1875 ━━━━━━━━━━━━━━━━━━━━ 4s 2ms/step - accuracy: 0.8269 - loss: 0.4969`.

use super::{format_value, Callback, Logs, TrainParams};
use crate::models::Sequential;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const BAR_WIDTH: usize = 20;

/// Prints progress during `fit`, `evaluate` and `predict`.
#[derive(Debug)]
pub struct ProgbarLogger {
    verbose: u8,
    epochs: usize,
    steps: usize,
    tty: bool,
    start: Instant,
    last_draw: Option<Instant>,
    prev_width: usize,
    epoch: usize,
}

impl ProgbarLogger {
    /// A logger with Keras's verbosity (0 silent, 1 bar, 2 one line per epoch).
    pub fn new(verbose: u8) -> Self {
        ProgbarLogger {
            verbose,
            epochs: 0,
            steps: 0,
            tty: std::io::stdout().is_terminal(),
            start: Instant::now(),
            last_draw: None,
            prev_width: 0,
            epoch: 0,
        }
    }

    pub(crate) fn for_steps(verbose: u8, steps: usize) -> Self {
        let mut p = Self::new(verbose);
        p.steps = steps;
        p
    }

    pub(crate) fn begin(&mut self) {
        self.start = Instant::now();
        self.last_draw = None;
        self.prev_width = 0;
    }

    fn format_time(per_step: Duration) -> String {
        let s = per_step.as_secs_f64();
        if s >= 1.0 {
            format!("{s:.0}s/step")
        } else if s >= 1e-3 {
            format!("{:.0}ms/step", s * 1e3)
        } else {
            format!("{:.0}us/step", s * 1e6)
        }
    }

    fn metrics(logs: &Logs) -> String {
        let mut s = String::new();
        for (k, v) in logs.iter() {
            s.push_str(&format!(" - {k}: {}", format_value(v)));
        }
        s
    }

    /// Draws the bar after `current` of `steps` steps; `last` marks the final draw.
    pub(crate) fn update(&mut self, current: usize, logs: &Logs, last: bool) {
        if self.verbose != 1 {
            return;
        }
        let now = Instant::now();
        if !last {
            if !self.tty {
                return;
            }
            if let Some(t) = self.last_draw {
                if now - t < Duration::from_millis(50) {
                    return;
                }
            }
        }
        self.last_draw = Some(now);
        let elapsed = now - self.start;
        let per_step = elapsed / current.max(1) as u32;
        let steps = self.steps.max(current);
        let digits = steps.max(1).to_string().len();
        let done = BAR_WIDTH * current / steps.max(1);
        let counter = format!("{current:>digits$}/{steps}");
        let time = if last {
            format!(
                "{}s {}",
                elapsed.as_secs_f64().round() as u64,
                Self::format_time(per_step)
            )
        } else {
            let eta = per_step.as_secs_f64() * (steps - current) as f64;
            let eta = eta.round() as u64;
            let eta = if eta > 3600 {
                format!("{}:{:02}:{:02}", eta / 3600, (eta % 3600) / 60, eta % 60)
            } else if eta > 60 {
                format!("{}:{:02}", eta / 60, eta % 60)
            } else {
                format!("{eta}s")
            };
            format!("{eta} {}", Self::format_time(per_step))
        };
        let bar = "━".repeat(done) + &"━".repeat(BAR_WIDTH - done);
        let text = format!("{counter} {bar} {time}{}", Self::metrics(logs));
        let mut out = std::io::stdout().lock();
        if self.tty {
            let styled = format!(
                "\x1b[1m{counter}\x1b[0m \x1b[32m{}\x1b[0m\x1b[37m{}\x1b[0m {time}{}",
                "━".repeat(done),
                "━".repeat(BAR_WIDTH - done),
                Self::metrics(logs)
            );
            let width = text.chars().count();
            let pad = " ".repeat(self.prev_width.saturating_sub(width));
            self.prev_width = width;
            let _ = write!(out, "\r{styled}{pad}");
            if last {
                let _ = writeln!(out);
            }
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }

    /// Verbose-2 line for a finished epoch or evaluation.
    pub(crate) fn line(&self, steps: usize, logs: &Logs) {
        let elapsed = self.start.elapsed();
        let per_step = elapsed / steps.max(1) as u32;
        println!(
            "{steps}/{steps} - {}s - {}{}",
            elapsed.as_secs_f64().round() as u64,
            Self::format_time(per_step),
            Self::metrics(logs)
        );
    }
}

impl Callback for ProgbarLogger {
    fn set_params(&mut self, params: &TrainParams) {
        self.epochs = params.epochs;
        self.steps = params.steps;
    }
    fn on_epoch_begin(&mut self, epoch: usize, _model: &mut Sequential) {
        self.epoch = epoch;
        if self.verbose > 0 {
            println!("Epoch {}/{}", epoch + 1, self.epochs);
        }
        self.begin();
    }
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, _model: &mut Sequential) {
        if batch + 1 < self.steps {
            self.update(batch + 1, logs, false);
        }
    }
    fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, _model: &mut Sequential) {
        match self.verbose {
            1 => self.update(self.steps, logs, true),
            2 => self.line(self.steps, logs),
            _ => {}
        }
    }
}
