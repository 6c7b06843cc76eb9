//! Text and file outputs: the confusion-matrix table and `history.csv`.

use std::fmt::Write as _;
use std::path::Path;

use kerust::prelude::History;
use ndarray::Array2;

use crate::CliResult;

/// The confusion matrix as a text table: one row per true class (labelled with its index and,
/// when it differs from the index, its name), one column per predicted class index.
pub fn confusion_table(cm: &Array2<u64>, names: &[&str]) -> String {
    let k = cm.nrows();
    let labels: Vec<String> = (0..k)
        .map(|i| match names.get(i) {
            Some(n) if *n != i.to_string() => format!("{i} {n}"),
            _ => i.to_string(),
        })
        .collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let widest_count = cm.iter().map(|v| v.to_string().len()).max().unwrap_or(1);
    let cell = widest_count.max(k.saturating_sub(1).to_string().len()) + 2;
    let mut out = String::new();
    let _ = write!(out, "{:label_width$}", "");
    for j in 0..k {
        let _ = write!(out, "{j:>cell$}");
    }
    out.push('\n');
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(out, "{label:<label_width$}");
        for j in 0..k {
            let _ = write!(out, "{:>cell$}", cm[[i, j]]);
        }
        out.push('\n');
    }
    out
}

/// The index of the largest value of `row` (the first one on ties; NaN never wins).
pub fn argmax(row: ndarray::ArrayViewD<'_, f32>) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The history as CSV: `epoch` (0-based, as Keras's `CSVLogger`) then every logged figure in
/// alphabetical order (`accuracy,loss,val_accuracy,val_loss`), one row per epoch.
pub fn history_csv(history: &History) -> String {
    let keys: Vec<&String> = history.history.keys().collect();
    let mut out = String::from("epoch");
    for k in &keys {
        out.push(',');
        out.push_str(k);
    }
    out.push('\n');
    for (row, epoch) in history.epoch.iter().enumerate() {
        let _ = write!(out, "{epoch}");
        for k in &keys {
            match history.history[*k].get(row) {
                Some(v) => {
                    let _ = write!(out, ",{v}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

/// Writes [`history_csv`] to `path`.
pub fn write_history_csv(history: &History, path: &Path) -> CliResult<()> {
    std::fs::write(path, history_csv(history))
        .map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_names_and_aligned_counts() {
        let cm = ndarray::array![[850u64, 3], [12, 1000]];
        let t = confusion_table(&cm, &["T-shirt/top", "Trouser"]);
        let expected = concat!(
            "                  0     1\n",
            "0 T-shirt/top   850     3\n",
            "1 Trouser        12  1000\n",
        );
        assert_eq!(t, expected);
        let t = confusion_table(&ndarray::array![[5u64, 0], [1, 4]], &["0", "1"]);
        assert_eq!(t, "   0  1\n0  5  0\n1  1  4\n");
    }

    #[test]
    fn csv_has_one_row_per_epoch() {
        let mut h = History {
            epoch: vec![0, 1],
            ..Default::default()
        };
        h.history.insert("loss".into(), vec![0.5, 0.25]);
        h.history.insert("accuracy".into(), vec![0.75, 0.875]);
        assert_eq!(
            history_csv(&h),
            "epoch,accuracy,loss\n0,0.75,0.5\n1,0.875,0.25\n"
        );
    }
}
