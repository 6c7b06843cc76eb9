//! wip
/// wip
pub fn plot_prediction() {}
