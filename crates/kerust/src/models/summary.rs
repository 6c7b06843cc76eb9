//! `summary()`: Keras 3's table, character for character (as printed to a non-terminal).

use super::Sequential;
use crate::error::fmt_shape;

const W: [usize; 3] = [33, 24, 15];

/// `1.58 KB`: bytes in 1024 steps with two decimals, as Keras formats memory sizes.
fn readable_bytes(n: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

/// `101,770`.
fn with_commas(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rule(l: char, m: char, r: char, fill: char) -> String {
    let mut s = String::new();
    s.push(l);
    for (i, w) in W.iter().enumerate() {
        s.extend(std::iter::repeat_n(fill, *w));
        s.push(if i + 1 < W.len() { m } else { r });
    }
    s
}

/// `s` wrapped to lines of at most `w` characters as rich wraps table cells: greedily at
/// spaces, a word longer than a line cut with an ellipsis.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ').filter(|x| !x.is_empty()) {
        let joined = line.chars().count() + 1 + word.chars().count();
        if line.is_empty() {
            line = word.to_string();
        } else if joined <= w {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        }
    }
    lines.push(line);
    for l in lines.iter_mut() {
        if l.chars().count() > w {
            *l = l.chars().take(w.saturating_sub(1)).chain(['…']).collect();
        }
    }
    lines
}

/// One table row; cells too long for their column wrap onto more lines, as in Keras.
fn row(edge: char, cells: [&str; 3]) -> String {
    let cols: Vec<Vec<String>> = cells.iter().zip(W).map(|(c, w)| wrap(c, w - 2)).collect();
    let n = cols.iter().map(|c| c.len()).max().unwrap_or(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let cell = |k: usize| cols[k].get(i).map_or("", |s| s.as_str());
        out.push(format!(
            "{edge} {:<a$} {edge} {:<b$} {edge} {:>c$} {edge}",
            cell(0),
            cell(1),
            cell(2),
            a = W[0] - 2,
            b = W[1] - 2,
            c = W[2] - 2
        ));
    }
    out.join("\n")
}

impl Sequential {
    /// The text [`summary`](Self::summary) prints.
    pub fn summary_string(&self) -> String {
        let mut out = format!("Model: \"{}\"\n", self.name);
        out += &rule('┏', '┳', '┓', '━');
        out.push('\n');
        out += &row('┃', ["Layer (type)", "Output Shape", "Param #"]);
        out.push('\n');
        out += &rule('┡', '╇', '┩', '━');
        out.push('\n');
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            let shape = if self.built() {
                fmt_shape(None, l.output_shape())
            } else {
                "?".to_string()
            };
            let params: usize = l.params().iter().map(|p| p.value.len()).sum();
            let count = if self.built() {
                with_commas(params)
            } else {
                "0 (unbuilt)".to_string()
            };
            out += &row(
                '│',
                [
                    &format!("{} ({})", l.name(), l.class_name()),
                    &shape,
                    &count,
                ],
            );
            out.push('\n');
            out += &if i + 1 < n {
                rule('├', '┼', '┤', '─')
            } else {
                rule('└', '┴', '┘', '─')
            };
            out.push('\n');
        }
        if n == 0 {
            out += &rule('└', '┴', '┘', '─');
            out.push('\n');
        }
        let trainable: usize = self
            .layers
            .iter()
            .flat_map(|l| l.params())
            .filter(|p| p.trainable)
            .map(|p| p.value.len())
            .sum();
        let frozen: usize = self
            .layers
            .iter()
            .flat_map(|l| l.params())
            .filter(|p| !p.trainable)
            .map(|p| p.value.len())
            .sum();
        let opt = self
            .optimizer()
            .filter(|o| o.is_built())
            .map(|o| o.state_size());
        let total = trainable + frozen + opt.unwrap_or(0);
        let line = |label: &str, v: usize| {
            format!(" {label}: {} ({})\n", with_commas(v), readable_bytes(v * 4))
        };
        out += &line("Total params", total);
        out += &line("Trainable params", trainable);
        out += &line("Non-trainable params", frozen);
        if let Some(o) = opt {
            out += &line("Optimizer params", o);
        }
        out
    }

    /// Prints the model's table, as Keras 3's `model.summary()`.
    pub fn summary(&self) {
        print!("{}", self.summary_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cells_wrap_as_rich_wraps_them() {
        assert_eq!(
            wrap("batch_normalization (BatchNormalization)", 31),
            ["batch_normalization", "(BatchNormalization)"]
        );
        assert_eq!(
            // Checked against Keras 3.15 (a Dense layer of this name).
            wrap(
                "ab cd efghijklmnopqrstuvwxyzabcdefghijkl (GlobalAveragePooling2D)",
                31
            ),
            [
                "ab cd",
                "efghijklmnopqrstuvwxyzabcdefgh…",
                "(GlobalAveragePooling2D)"
            ]
        );
        assert_eq!(wrap("dense (Dense)", 31), ["dense (Dense)"]);
    }

    #[test]
    fn numbers_are_formatted_as_keras_formats_them() {
        assert_eq!(with_commas(101770), "101,770");
        assert_eq!(with_commas(999), "999");
        assert_eq!(readable_bytes(101770 * 4), "397.54 KB");
        assert_eq!(readable_bytes(0), "0.00 B");
    }

    #[test]
    fn short_cells_and_empty_cells() {
        assert_eq!(
            wrap("average_pooling1d (AveragePooling1D)", 31),
            ["average_pooling1d", "(AveragePooling1D)"]
        );
        assert_eq!(wrap("", 4), [""]);
    }
}
