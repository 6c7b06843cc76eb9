//! The compute seam: every matrix product and every hot loop that a layer needs goes through
//! here, so that another device (CUDA) can be added behind the same functions without
//! touching the layers. Today there is one backend, [`cpu`].

/// Compiles `$body` three times (AVX-512 and AVX2, each with FMA, and the baseline) and
/// picks one at run time; the kernels of [`cpu`], [`vmath`] and the fused recurrent cells
/// use it. The compiler never fuses multiplies and adds on its own, `mul_add` is one
/// rounding everywhere (an instruction, or libm's `fmaf` on the baseline), and sqrt/div are
/// exact IEEE operations at every width, so all three copies give bit-identical results.
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v4($($arg: $ty),*) { body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v3($($arg: $ty),*) { body($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports the instructions `v4` was compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above, for AVX2 and FMA.
                    return unsafe { v3($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

pub mod cpu;
mod gemm;
pub(crate) mod team;
pub mod vmath;
pub(crate) mod winograd;

pub use cpu::{
    adam_step, add_bias_rows, col_sums, matmul, matmul_a_bt, matmul_at_b, num_threads,
    set_num_threads, sgd_step, with_training_env,
};
pub(crate) use cpu::{sample_parts, split_regions, split_sample_runs, split_samples};
