//! wip
/// wip
pub fn plot_confusion_matrix() {}
