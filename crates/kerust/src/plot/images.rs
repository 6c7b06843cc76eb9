//! wip
/// wip
pub fn plot_images() {}
