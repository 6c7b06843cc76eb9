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

/// The lines of `s` wrapped to `w` characters as rich wraps table cells: at spaces, and a
/// word longer than the cell folded at the cell's width.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let used = cur.chars().count();
        if used > 0 && used + 1 + word.len() <= w {
            cur.push(' ');
            cur.extend(&word);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut cur));
        }
        while word.len() > w {
            lines.push(word.drain(..w).collect());
        }
        cur.extend(&word);
    }
    lines.push(cur);
    lines
}

/// One table row; a cell too long for its column wraps onto more lines, as in Keras.
fn row(edge: char, cells: [&str; 3]) -> String {
    let cols: Vec<Vec<String>> = cells.iter().zip(W).map(|(c, w)| wrap(c, w - 2)).collect();
    let n = cols.iter().map(|c| c.len()).max().unwrap_or(1);
    let cell = |i: usize, k: usize| cols[i].get(k).map_or("", |s| s.as_str());
    (0..n)
        .map(|k| {
            format!(
                "{edge} {:<a$} {edge} {:<b$} {edge} {:>c$} {edge}",
                cell(0, k),
                cell(1, k),
                cell(2, k),
                a = W[0] - 2,
                b = W[1] - 2,
                c = W[2] - 2
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
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
    fn numbers_are_formatted_as_keras_formats_them() {
        assert_eq!(with_commas(101770), "101,770");
        assert_eq!(with_commas(999), "999");
        assert_eq!(readable_bytes(101770 * 4), "397.54 KB");
        assert_eq!(readable_bytes(0), "0.00 B");
    }

    #[test]
    fn long_cells_wrap_as_in_keras() {
        assert_eq!(
            wrap("time_distributed (TimeDistributed)", 31),
            ["time_distributed", "(TimeDistributed)"]
        );
        assert_eq!(wrap("dense (Dense)", 31), ["dense (Dense)"]);
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
    }
}
