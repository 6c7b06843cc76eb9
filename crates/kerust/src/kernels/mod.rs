//! The compute seam: every matrix product and every hot loop that a layer needs goes through
//! here, so that another device (CUDA) can be added behind the same functions without
//! touching the layers. Today there is one backend, [`cpu`].

pub mod cpu;
mod team;
pub mod vmath;

pub(crate) use cpu::split_samples;
pub use cpu::{
    adam_step, add_bias_rows, col_sums, matmul, matmul_a_bt, matmul_at_b, num_threads,
    set_num_threads, sgd_step, with_training_env,
};
