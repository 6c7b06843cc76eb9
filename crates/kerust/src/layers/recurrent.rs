//! Recurrent layers: `LSTM`, `GRU` and `SimpleRNN`, with explicit backpropagation through
//! time.
//!
//! One engine runs the three cells. The input is first laid out time-major in processing
//! order, so that the input projection of every timestep is one matrix product
//! `(timesteps * batch, input_dim) x (input_dim, gates * units)`; each step then adds its
//! `(batch, units) x (units, gates * units)` product with the recurrent kernel in place.
//! The backward pass mirrors it: per-step products for the state gradient (against a
//! transposed copy of the recurrent kernel, made once per pass), then one product each for
//! the kernel, recurrent-kernel and input gradients. With Keras's default activations an
//! LSTM step's elementwise work is one fused, vectorized pass per sample (the same
//! operations as the general path, bit for bit). Every buffer is kept between calls, so
//! steady-state training allocates nothing.
//!
//! Weights use Keras's layout: `kernel (input_dim, g * units)`, `recurrent_kernel
//! (units, g * units)` with the gates in Keras's order (LSTM `i, f, c, o`; GRU `z, r, h`),
//! and `bias (g * units)`, or `(2, 3 * units)` for a GRU with `reset_after=True`.

use super::{base_config, Layer, Param, Regularizer};
use crate::activations::Activation as Act;
use crate::initializers::Initializer;
use crate::kernels::{self, vmath};
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// Which recurrent cell a layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Simple,
    Lstm,
    Gru,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Simple => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
    fn class_name(self) -> &'static str {
        match self {
            Cell::Simple => "SimpleRNN",
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
}

/// The engine shared by the three recurrent layers.
#[derive(Debug)]
struct Rnn {
    cell: Cell,
    name: String,
    units: usize,
    activation: Act,
    recurrent_activation: Act,
    use_bias: bool,
    kernel_initializer: Initializer,
    recurrent_initializer: Initializer,
    bias_initializer: Initializer,
    unit_forget_bias: bool,
    kernel_regularizer: Option<Regularizer>,
    recurrent_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    zero_output_for_mask: bool,
    dropout: f32,
    recurrent_dropout: f32,
    seed: Option<u64>,
    rng: Rng,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    steps: usize,
    in_dim: usize,
    out_shape: Vec<usize>,
    bufs: Buffers,
}

/// Everything forward keeps for backward, and backward's scratch space. All per-step
/// buffers are time-major in processing order (`go_backwards` reverses it): `(steps [+ 1],
/// batch, ...)`, so that a step's rows are contiguous and every timestep's input-side
/// products are one matrix product.
#[derive(Debug, Default)]
struct Buffers {
    batch: usize,
    /// The input in processing order, `(steps, batch, input_dim)`, after dropout.
    xs: Vec<f32>,
    /// The input projection plus input bias, `(steps, batch, g * units)`; each step adds its
    /// recurrent part in place, leaving the gates' pre-activations.
    xp: Vec<f32>,
    /// States `h` (`steps + 1` entries; entry 0 is the zero initial state).
    h: Vec<f32>,
    /// LSTM carry states `c`, as `h`.
    c: Vec<f32>,
    /// LSTM `activation(c)` per step.
    ac: Vec<f32>,
    /// `h_{t-1}` after recurrent dropout, per step (training with `recurrent_dropout > 0`).
    hd: Vec<f32>,
    /// Post-activation gate values per step. The fused LSTM cell keeps them in `xp` instead,
    /// over the pre-activations it no longer needs (`gates_in_xp`).
    post: Vec<f32>,
    gates_in_xp: bool,
    /// Set when a backward pass has turned the gates in `xp` into gradients: another
    /// backward pass without a forward one first recomputes them.
    gates_consumed: bool,
    /// GRU: the recurrent part of the candidate before the reset gate, per step.
    rh: Vec<f32>,
    /// GRU: one step's recurrent product.
    rec: Vec<f32>,
    /// Input dropout mask `(batch, input_dim)`, fixed across timesteps.
    dp_mask: Vec<f32>,
    /// Recurrent dropout mask `(batch, units)`, fixed across timesteps.
    rec_mask: Vec<f32>,
    input_dropped: bool,
    rec_dropped: bool,
    /// The input's timestep mask `(batch, steps)`, 1 = keep, when one arrived.
    mask: Vec<f32>,
    has_mask: bool,
    /// Gradients of the gates' pre-activations on the recurrent side, per step. With
    /// `gates_in_xp`, backward swaps `xp` in here and turns the gates into their gradients in
    /// place, so that one buffer serves the whole step (less memory traffic), then swaps back.
    dzr: Vec<f32>,
    /// GRU: the same on the input side (they differ in the candidate, behind the reset
    /// gate); for LSTM and SimpleRNN the two sides are equal and `dzr` serves both.
    dzx: Vec<f32>,
    /// The input gradient in processing order, before it is put back in input order.
    gxs: Vec<f32>,
    dh: Vec<f32>,
    dc: Vec<f32>,
    dh_prev: Vec<f32>,
    /// The recurrent kernel transposed, `(g * units, units)` row-major, refreshed at each
    /// backward pass: the per-step product `dz · Uᵀ` then reads a row-major operand, which
    /// the matrix product uses as it is instead of repacking `U` at every timestep.
    ut: Vec<f32>,
}

impl Rnn {
    fn new(cell: Cell, units: usize) -> Self {
        Rnn {
            cell,
            name: String::new(),
            units,
            activation: Act::Tanh,
            recurrent_activation: Act::Sigmoid,
            use_bias: true,
            kernel_initializer: "glorot_uniform".parse().expect("known"),
            recurrent_initializer: Initializer::Orthogonal { gain: 1.0 },
            bias_initializer: Initializer::Zeros,
            unit_forget_bias: cell == Cell::Lstm,
            kernel_regularizer: None,
            recurrent_regularizer: None,
            bias_regularizer: None,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            zero_output_for_mask: false,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            seed: None,
            rng: Rng::new(0),
            input_shape: None,
            deferred_error: None,
            params: Vec::new(),
            steps: 0,
            in_dim: 0,
            out_shape: Vec::new(),
            bufs: Buffers::default(),
        }
    }

    fn what(&self) -> String {
        format!("{} layer '{}'", self.cell.class_name(), self.name)
    }

    fn check(&self, input_shape: &[usize]) -> Result<(usize, usize)> {
        if self.return_state {
            return Err(Error::arg(
                "return_state",
                format!(
                    "{}: return_state=True gives several outputs, which a Sequential model cannot pass on; use return_sequences to get every timestep's output",
                    self.what()
                ),
            ));
        }
        if self.units == 0 {
            return Err(Error::arg(
                "units",
                format!("{} needs units > 0", self.what()),
            ));
        }
        for (k, v) in [
            ("dropout", self.dropout),
            ("recurrent_dropout", self.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(Error::arg(
                    k,
                    format!("{}: {k} must be in [0, 1), got {v}", self.what()),
                ));
            }
        }
        match input_shape {
            [t, d] if *t > 0 && *d > 0 => Ok((*t, *d)),
            _ => Err(Error::shape(
                self.what(),
                "a 3D input (batch, timesteps, features), e.g. (None, 28, 28)",
                crate::error::fmt_shape(None, input_shape),
            )),
        }
    }

    fn gate_width(&self) -> Result<usize> {
        self.units
            .checked_mul(self.cell.gates())
            .ok_or_else(|| Error::arg("units", format!("{}: units overflow", self.what())))
    }

    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let (t, d) = self.check(input_shape)?;
        let gh = self.gate_width()?;
        let k = super::checked_product(&[d, gh], "recurrent kernel")?;
        let r = super::checked_product(&[self.units, gh], "recurrent kernel")?;
        let b = if !self.use_bias {
            0
        } else if self.cell == Cell::Gru {
            super::checked_product(&[2, gh], "recurrent bias")?
        } else {
            gh
        };
        let n = k
            .checked_add(r)
            .and_then(|n| n.checked_add(b))
            .ok_or_else(|| Error::arg("units", format!("{}: sizes overflow", self.what())))?;
        let out = if self.return_sequences {
            vec![t, self.units]
        } else {
            vec![self.units]
        };
        Ok((out, n))
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        let (out, _) = self.plan(input_shape)?;
        let (t, d) = (input_shape[0], input_shape[1]);
        let h = self.units;
        let gh = self.cell.gates() * h;
        self.steps = t;
        self.in_dim = d;
        let mut kernel = Param::new(
            "kernel",
            &[d, gh],
            self.kernel_initializer.sample(&[d, gh], rng),
        );
        kernel.regularizer = self.kernel_regularizer;
        let mut rk = Param::new(
            "recurrent_kernel",
            &[h, gh],
            self.recurrent_initializer.sample(&[h, gh], rng),
        );
        rk.regularizer = self.recurrent_regularizer;
        self.params = vec![kernel, rk];
        if self.use_bias {
            let (shape, data) = match self.cell {
                Cell::Gru => (vec![2, gh], self.bias_initializer.sample(&[2, gh], rng)),
                Cell::Lstm if self.unit_forget_bias => {
                    let mut v = self.bias_initializer.sample(&[h], rng);
                    v.extend(std::iter::repeat_n(1.0, h));
                    v.extend(self.bias_initializer.sample(&[2 * h], rng));
                    (vec![gh], v)
                }
                _ => (vec![gh], self.bias_initializer.sample(&[gh], rng)),
            };
            let mut b = Param::new("bias", &shape, data);
            b.regularizer = self.bias_regularizer;
            self.params.push(b);
        }
        if self.seed.is_none() {
            self.rng = rng.fork();
        }
        self.out_shape = out.clone();
        Ok(out)
    }

    fn set_input_mask(&mut self, mask: Option<&[f32]>) {
        let b = &mut self.bufs;
        b.has_mask = mask.is_some();
        if let Some(m) = mask {
            b.mask.clear();
            b.mask.extend_from_slice(m);
        }
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        let (nt, d, h) = (self.steps, self.in_dim, self.units);
        let g = self.cell.gates();
        let gh = g * h;
        let nb = x.rows();
        let bh = nb * h;
        let cell = self.cell;
        let (act, ract) = (self.activation, self.recurrent_activation);
        let fused = act == Act::Tanh && ract == Act::Sigmoid;
        let in_place = fused && cell == Cell::Lstm;
        {
            let bf = &mut self.bufs;
            bf.batch = nb;
            bf.gates_in_xp = in_place;
            if bf.has_mask && bf.mask.len() != nb * nt {
                bf.has_mask = false;
            }
            bf.input_dropped = training && self.dropout > 0.0;
            bf.rec_dropped = training && self.recurrent_dropout > 0.0;
            bf.xs.resize(nt * nb * d, 0.0);
            bf.xp.resize(nt * nb * gh, 0.0);
            bf.h.resize((nt + 1) * bh, 0.0);
            bf.h[..bh].fill(0.0);
            if cell == Cell::Lstm {
                bf.c.resize((nt + 1) * bh, 0.0);
                bf.c[..bh].fill(0.0);
                bf.ac.resize(nt * bh, 0.0);
            }
            if cell == Cell::Gru {
                bf.rh.resize(nt * bh, 0.0);
                bf.rec.resize(nb * gh, 0.0);
            }
            if !in_place {
                bf.post.resize(nt * nb * gh, 0.0);
            }
            if bf.input_dropped {
                let keep = 1.0 - self.dropout;
                bf.dp_mask.resize(nb * d, 0.0);
                for m in bf.dp_mask.iter_mut() {
                    *m = if self.rng.uniform() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    };
                }
            }
            if bf.rec_dropped {
                let keep = 1.0 - self.recurrent_dropout;
                bf.rec_mask.resize(bh, 0.0);
                for m in bf.rec_mask.iter_mut() {
                    *m = if self.rng.uniform() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    };
                }
                bf.hd.resize(nt * bh, 0.0);
            }
            // The input in processing order, time-major, after dropout.
            for s in 0..nt {
                let t = if self.go_backwards { nt - 1 - s } else { s };
                for b in 0..nb {
                    let src = &x.data()[(b * nt + t) * d..(b * nt + t + 1) * d];
                    let dst = &mut bf.xs[(s * nb + b) * d..(s * nb + b + 1) * d];
                    if bf.input_dropped {
                        let m = &bf.dp_mask[b * d..(b + 1) * d];
                        for ((o, &v), &k) in dst.iter_mut().zip(src).zip(m) {
                            *o = v * k;
                        }
                    } else {
                        dst.copy_from_slice(src);
                    }
                }
            }
        }
        self.run_steps();
        // Outputs.
        let bf = &self.bufs;
        if self.return_sequences {
            y.resize_batch(nb, &[nt, h]);
            let yd = y.data_mut();
            for s in 0..nt {
                let t = if self.go_backwards { nt - 1 - s } else { s };
                for b in 0..nb {
                    let dst = &mut yd[(b * nt + s) * h..(b * nt + s + 1) * h];
                    if self.zero_output_for_mask && bf.has_mask && bf.mask[b * nt + t] == 0.0 {
                        dst.fill(0.0);
                    } else {
                        dst.copy_from_slice(
                            &bf.h[(s + 1) * bh + b * h..(s + 1) * bh + (b + 1) * h],
                        );
                    }
                }
            }
        } else {
            y.resize_batch(nb, &[h]);
            y.data_mut().copy_from_slice(&bf.h[nt * bh..(nt + 1) * bh]);
        }
    }

    /// The recurrence itself, from the laid-out input `xs` and the masks that `forward`
    /// drew: gates, states and, when the layer keeps them, everything backward reads.
    /// Whether the batch's rows are independent through the whole sequence: the fused LSTM
    /// cell without masks or recurrent dropout.
    fn rows_independent(&self) -> bool {
        self.bufs.gates_in_xp && !self.bufs.has_mask && !self.bufs.rec_dropped
    }

    /// The steps of the fused LSTM when [`rows_independent`](Self::rows_independent)
    /// (after the input projection): the threads each take rows of the batch for the whole
    /// sequence, with no wait between timesteps, keeping the recurrent kernel in their own
    /// cache and the state rows they write to themselves.
    fn run_steps_split(&mut self) {
        let (nt, h) = (self.steps, self.units);
        let gh = self.cell.gates() * h;
        let nb = self.bufs.batch;
        let u = self.params[1].value.data();
        let bf = &mut self.bufs;
        let xp = StepRows::new(&mut bf.xp[..nt * nb * gh], nb, gh);
        let hs = StepRows::new(&mut bf.h[..(nt + 1) * nb * h], nb, h);
        let cs = StepRows::new(&mut bf.c[..(nt + 1) * nb * h], nb, h);
        let acs = StepRows::new(&mut bf.ac[..nt * nb * h], nb, h);
        kernels::split_sample_runs(nb, (nt * nb * h * gh, 0), &|r| {
            let n = r.len();
            for s in 0..nt {
                // SAFETY: every part has rows of its own (`split_sample_runs`), and only
                // this part touches rows `r` of these buffers during the split.
                let (pre, hp, hn, cp, cn, ac) = unsafe {
                    (
                        xp.rows(s, r.clone()),
                        hs.rows(s, r.clone()),
                        hs.rows(s + 1, r.clone()),
                        cs.rows(s, r.clone()),
                        cs.rows(s + 1, r.clone()),
                        acs.rows(s, r.clone()),
                    )
                };
                if s > 0 {
                    kernels::matmul(pre, hp, u, n, h, gh, true);
                }
                for i in 0..n {
                    lstm_forward_row(
                        &mut pre[i * gh..(i + 1) * gh],
                        &cp[i * h..(i + 1) * h],
                        &mut cn[i * h..(i + 1) * h],
                        &mut ac[i * h..(i + 1) * h],
                        &mut hn[i * h..(i + 1) * h],
                    );
                }
            }
        });
    }

    /// The backward steps of the fused LSTM when [`rows_independent`](Self::rows_independent):
    /// as in [`run_steps_split`](Self::run_steps_split), the threads each take rows of the
    /// batch for the whole sequence; `ut` is the transposed recurrent kernel.
    fn backward_rows_split(&mut self, gy: &Tensor, ut: &[f32]) {
        let (nt, h) = (self.steps, self.units);
        let gh = self.cell.gates() * h;
        let nb = self.bufs.batch;
        let bh = nb * h;
        let seq = self.return_sequences;
        let gyd = gy.data();
        let bf = &mut self.bufs;
        let (c, ac) = (&bf.c[..], &bf.ac[..]);
        let dzr = StepRows::new(&mut bf.dzr[..nt * nb * gh], nb, gh);
        let dhs = StepRows::new(&mut bf.dh[..bh], nb, h);
        let dps = StepRows::new(&mut bf.dh_prev[..bh], nb, h);
        let dcs = StepRows::new(&mut bf.dc[..bh], nb, h);
        kernels::split_sample_runs(nb, (nt * nb * h * gh, 0), &|r| {
            let n = r.len();
            // SAFETY: as in `run_steps_split`: rows `r` are this part's alone.
            let (mut dh, mut dp, dc) = unsafe {
                (
                    dhs.rows(0, r.clone()),
                    dps.rows(0, r.clone()),
                    dcs.rows(0, r.clone()),
                )
            };
            for s in (0..nt).rev() {
                // SAFETY: as above.
                let dz = unsafe { dzr.rows(s, r.clone()) };
                let (cs, acs) = (&c[s * bh..(s + 1) * bh], &ac[s * bh..(s + 1) * bh]);
                for (i, b) in r.clone().enumerate() {
                    let dhb = &mut dh[i * h..(i + 1) * h];
                    if seq {
                        let src = &gyd[(b * nt + s) * h..(b * nt + s + 1) * h];
                        for (a, &v) in dhb.iter_mut().zip(src) {
                            *a += v;
                        }
                    }
                    lstm_backward_row(
                        &mut dz[i * gh..(i + 1) * gh],
                        &cs[b * h..(b + 1) * h],
                        &acs[b * h..(b + 1) * h],
                        dhb,
                        &mut dc[i * h..(i + 1) * h],
                    );
                }
                if s > 0 {
                    kernels::matmul(dp, dz, ut, n, gh, h, false);
                    std::mem::swap(&mut dh, &mut dp);
                }
            }
        });
    }

    fn run_steps(&mut self) {
        let (nt, d, h) = (self.steps, self.in_dim, self.units);
        let g = self.cell.gates();
        let gh = g * h;
        let nb = self.bufs.batch;
        let bh = nb * h;
        let cell = self.cell;
        let (act, ract) = (self.activation, self.recurrent_activation);
        let in_place = self.bufs.gates_in_xp;
        let row = [1, h];
        // The input projection of every timestep at once; each step then adds its recurrent
        // product in place, turning `xp` into the gates' pre-activations.
        kernels::matmul(
            &mut self.bufs.xp,
            &self.bufs.xs,
            self.params[0].value.data(),
            nt * nb,
            d,
            gh,
            false,
        );
        let bias = self.params.get(2).map(|p| p.value.data());
        if let Some(bias) = bias {
            kernels::add_bias_rows(&mut self.bufs.xp, &bias[..gh]);
        }
        let rec_bias = match (cell, bias) {
            (Cell::Gru, Some(b)) => Some(&b[gh..]),
            _ => None,
        };
        let u = self.params[1].value.data();
        if self.rows_independent() {
            self.run_steps_split();
            self.bufs.gates_consumed = false;
            return;
        }
        for s in 0..nt {
            let t = if self.go_backwards { nt - 1 - s } else { s };
            let bf = &mut self.bufs;
            let (hs, hn) = bf.h.split_at_mut((s + 1) * bh);
            let hp = &hs[s * bh..];
            let hn = &mut hn[..bh];
            let hsrc: &[f32] = if bf.rec_dropped {
                let hd = &mut bf.hd[s * bh..(s + 1) * bh];
                for ((o, &v), &m) in hd.iter_mut().zip(hp).zip(&bf.rec_mask) {
                    *o = v * m;
                }
                hd
            } else {
                hp
            };
            let pre_s = &mut bf.xp[s * nb * gh..(s + 1) * nb * gh];
            if cell == Cell::Gru {
                kernels::matmul(&mut bf.rec, hsrc, u, nb, h, gh, false);
                if let Some(rb) = rec_bias {
                    kernels::add_bias_rows(&mut bf.rec, rb);
                }
            } else if s > 0 {
                // (The first step's state is zero: nothing to add.)
                kernels::matmul(pre_s, hsrc, u, nb, h, gh, true);
            }
            for b in 0..nb {
                let hpb = &hp[b * h..(b + 1) * h];
                let masked = bf.has_mask && bf.mask[b * nt + t] == 0.0;
                if masked {
                    hn[b * h..(b + 1) * h].copy_from_slice(hpb);
                    if cell == Cell::Lstm {
                        let (cs, cn) = bf.c.split_at_mut((s + 1) * bh);
                        cn[b * h..(b + 1) * h]
                            .copy_from_slice(&cs[s * bh + b * h..s * bh + (b + 1) * h]);
                    }
                    continue;
                }
                let pre = &mut pre_s[b * gh..(b + 1) * gh];
                let hnb = &mut hn[b * h..(b + 1) * h];
                if in_place {
                    let (cs, cn) = bf.c.split_at_mut((s + 1) * bh);
                    lstm_forward_row(
                        pre,
                        &cs[s * bh + b * h..s * bh + (b + 1) * h],
                        &mut cn[b * h..(b + 1) * h],
                        &mut bf.ac[s * bh + b * h..s * bh + (b + 1) * h],
                        hnb,
                    );
                    continue;
                }
                let off = (s * nb + b) * gh;
                let post = &mut bf.post[off..off + gh];
                match cell {
                    Cell::Simple => {
                        act.forward(pre, post, &row);
                        hnb.copy_from_slice(post);
                    }
                    Cell::Lstm => {
                        let (cs, cn) = bf.c.split_at_mut((s + 1) * bh);
                        lstm_general_forward_row(
                            (act, ract),
                            pre,
                            post,
                            &cs[s * bh + b * h..s * bh + (b + 1) * h],
                            &mut cn[b * h..(b + 1) * h],
                            &mut bf.ac[s * bh + b * h..s * bh + (b + 1) * h],
                            hnb,
                        );
                    }
                    Cell::Gru => {
                        let rr = &bf.rec[b * gh..(b + 1) * gh];
                        for (p, &r) in pre[..2 * h].iter_mut().zip(rr) {
                            *p += r;
                        }
                        ract.forward(&pre[..h], &mut post[..h], &row);
                        ract.forward(&pre[h..2 * h], &mut post[h..2 * h], &row);
                        let rh = &mut bf.rh[s * bh + b * h..s * bh + (b + 1) * h];
                        rh.copy_from_slice(&rr[2 * h..]);
                        for j in 0..h {
                            pre[2 * h + j] += post[h + j] * rh[j];
                        }
                        act.forward(&pre[2 * h..], &mut post[2 * h..], &row);
                        for j in 0..h {
                            let z = post[j];
                            hnb[j] = z * hpb[j] + (1.0 - z) * post[2 * h + j];
                        }
                    }
                }
            }
        }
        self.bufs.gates_consumed = false;
    }

    fn backward(&mut self, x: &Tensor, gy: &Tensor, gx: Option<&mut Tensor>) {
        let (nt, d, h) = (self.steps, self.in_dim, self.units);
        let g = self.cell.gates();
        let gh = g * h;
        let nb = self.bufs.batch;
        let bh = nb * h;
        let cell = self.cell;
        let (act, ract) = (self.activation, self.recurrent_activation);
        let row = [1, h];
        let in_place = self.bufs.gates_in_xp;
        if in_place && self.bufs.gates_consumed {
            self.run_steps();
        }
        {
            let bf = &mut self.bufs;
            if in_place {
                std::mem::swap(&mut bf.dzr, &mut bf.xp);
            } else {
                bf.dzr.resize(nt * nb * gh, 0.0);
            }
            if cell == Cell::Gru {
                bf.dzx.resize(nt * nb * gh, 0.0);
            }
            bf.dh.resize(bh, 0.0);
            bf.dh.fill(0.0);
            bf.dh_prev.resize(bh, 0.0);
            if cell == Cell::Lstm {
                bf.dc.resize(bh, 0.0);
                bf.dc.fill(0.0);
            }
        }
        if !self.return_sequences {
            self.bufs.dh.copy_from_slice(gy.data());
        }
        transpose(&mut self.bufs.ut, self.params[1].value.data(), h, gh);
        // Taken out of the buffers for the loop, which borrows them mutably; put back after.
        let ut = std::mem::take(&mut self.bufs.ut);
        if self.rows_independent() {
            self.backward_rows_split(gy, &ut);
        } else {
            for s in (0..nt).rev() {
                let t = if self.go_backwards { nt - 1 - s } else { s };
                let bf = &mut self.bufs;
                if self.return_sequences {
                    for b in 0..nb {
                        if self.zero_output_for_mask && bf.has_mask && bf.mask[b * nt + t] == 0.0 {
                            continue;
                        }
                        let src = &gy.data()[(b * nt + s) * h..(b * nt + s + 1) * h];
                        for (a, &v) in bf.dh[b * h..(b + 1) * h].iter_mut().zip(src) {
                            *a += v;
                        }
                    }
                }
                for b in 0..nb {
                    let off = (s * nb + b) * gh;
                    let masked = bf.has_mask && bf.mask[b * nt + t] == 0.0;
                    if masked {
                        bf.dzr[off..off + gh].fill(0.0);
                        if cell == Cell::Gru {
                            bf.dzx[off..off + gh].fill(0.0);
                        }
                        continue;
                    }
                    let dh = &bf.dh[b * h..(b + 1) * h];
                    let dz = &mut bf.dzr[off..off + gh];
                    if in_place {
                        lstm_backward_row(
                            dz,
                            &bf.c[s * bh + b * h..s * bh + (b + 1) * h],
                            &bf.ac[s * bh + b * h..s * bh + (b + 1) * h],
                            dh,
                            &mut bf.dc[b * h..(b + 1) * h],
                        );
                        continue;
                    }
                    let pre = &bf.xp[off..off + gh];
                    let post = &bf.post[off..off + gh];
                    match cell {
                        Cell::Simple => {
                            dz.copy_from_slice(dh);
                            act.backward(pre, post, dz, &row);
                        }
                        Cell::Lstm => {
                            let cp = &bf.c[s * bh + b * h..s * bh + (b + 1) * h];
                            let cn = &bf.c[(s + 1) * bh + b * h..(s + 1) * bh + (b + 1) * h];
                            let ac = &bf.ac[s * bh + b * h..s * bh + (b + 1) * h];
                            let dc = &mut bf.dc[b * h..(b + 1) * h];
                            lstm_general_backward_row(
                                (act, ract),
                                pre,
                                post,
                                [cp, cn, ac],
                                dh,
                                dc,
                                dz,
                            );
                        }
                        Cell::Gru => {
                            let hp = &bf.h[s * bh + b * h..s * bh + (b + 1) * h];
                            let rh = &bf.rh[s * bh + b * h..s * bh + (b + 1) * h];
                            let (dzz, rest) = dz.split_at_mut(h);
                            let (dzrr, dzh) = rest.split_at_mut(h);
                            for j in 0..h {
                                dzz[j] = dh[j] * (hp[j] - post[2 * h + j]);
                                dzh[j] = dh[j] * (1.0 - post[j]);
                            }
                            act.backward(&pre[2 * h..], &post[2 * h..], dzh, &row);
                            for j in 0..h {
                                dzrr[j] = dzh[j] * rh[j];
                            }
                            ract.backward(&pre[..h], &post[..h], dzz, &row);
                            ract.backward(&pre[h..2 * h], &post[h..2 * h], dzrr, &row);
                            bf.dzx[off..off + gh].copy_from_slice(dz);
                            // The recurrent side of the candidate passes through the reset gate.
                            for j in 0..h {
                                dz[2 * h + j] *= post[h + j];
                            }
                        }
                    }
                }
                if s == 0 {
                    break;
                }
                // dL/dh_{s-1}: through the recurrent kernel, the dropout mask, and the direct
                // paths (GRU's update gate, masked timesteps).
                kernels::matmul(
                    &mut bf.dh_prev,
                    &bf.dzr[s * nb * gh..(s + 1) * nb * gh],
                    &ut,
                    nb,
                    gh,
                    h,
                    false,
                );
                if bf.rec_dropped {
                    for (v, &m) in bf.dh_prev.iter_mut().zip(&bf.rec_mask) {
                        *v *= m;
                    }
                }
                for b in 0..nb {
                    let masked = bf.has_mask && bf.mask[b * nt + t] == 0.0;
                    let dp = &mut bf.dh_prev[b * h..(b + 1) * h];
                    let dh = &bf.dh[b * h..(b + 1) * h];
                    if masked {
                        dp.copy_from_slice(dh);
                    } else if cell == Cell::Gru {
                        let z = &bf.post[(s * nb + b) * gh..(s * nb + b) * gh + h];
                        for j in 0..h {
                            dp[j] += dh[j] * z[j];
                        }
                    }
                }
                std::mem::swap(&mut bf.dh, &mut bf.dh_prev);
            }
        }
        self.bufs.ut = ut;
        // Parameter gradients: one product each over every timestep. On the input side the
        // gates' gradients are those of the recurrent side, except GRU's candidate.
        let bf = &mut self.bufs;
        let dzx: &[f32] = if cell == Cell::Gru { &bf.dzx } else { &bf.dzr };
        let hsrc: &[f32] = if bf.rec_dropped {
            &bf.hd
        } else {
            &bf.h[..nt * bh]
        };
        let (p0, rest) = self.params.split_first_mut().expect("built");
        kernels::matmul_at_b(p0.grad.data_mut(), &bf.xs, dzx, d, nt * nb, gh, false);
        let (p1, rest) = rest.split_first_mut().expect("built");
        // The first step's state is zero and adds nothing to the recurrent kernel's gradient.
        kernels::matmul_at_b(
            p1.grad.data_mut(),
            &hsrc[bh..],
            &bf.dzr[nb * gh..],
            h,
            (nt - 1) * nb,
            gh,
            false,
        );
        if let Some(pb) = rest.first_mut() {
            let gb = pb.grad.data_mut();
            kernels::col_sums(&mut gb[..gh], dzx, false);
            if cell == Cell::Gru {
                kernels::col_sums(&mut gb[gh..], &bf.dzr, false);
            }
        }
        for p in self.params.iter_mut() {
            if let Some(r) = p.regularizer {
                r.add_grad(p.value.data(), p.grad.data_mut());
            }
        }
        if let Some(gx) = gx {
            // In processing order, then back to the input's (batch, timesteps) order.
            bf.gxs.resize(nt * nb * d, 0.0);
            kernels::matmul_a_bt(
                &mut bf.gxs,
                dzx,
                self.params[0].value.data(),
                nt * nb,
                gh,
                d,
                false,
            );
            gx.resize(x.shape());
            let gxd = gx.data_mut();
            for s in 0..nt {
                let t = if self.go_backwards { nt - 1 - s } else { s };
                for b in 0..nb {
                    let src = &bf.gxs[(s * nb + b) * d..(s * nb + b + 1) * d];
                    let dst = &mut gxd[(b * nt + t) * d..(b * nt + t + 1) * d];
                    if bf.input_dropped {
                        let m = &bf.dp_mask[b * d..(b + 1) * d];
                        for ((o, &v), &k) in dst.iter_mut().zip(src).zip(m) {
                            *o = v * k;
                        }
                    } else {
                        dst.copy_from_slice(src);
                    }
                }
            }
        }
        if in_place {
            let bf = &mut self.bufs;
            std::mem::swap(&mut bf.dzr, &mut bf.xp);
            bf.gates_consumed = true;
        }
    }

    fn from_keys(cell: Cell, keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let units = keys
            .usize("units")?
            .filter(|&u| u > 0)
            .ok_or_else(|| keys.err("`units` must be a positive integer"))?;
        let mut r = Rnn::new(cell, units);
        r.activation = match keys.get("activation") {
            Some(v) => cfg::activation(v, ctx)?,
            None => Act::Tanh,
        };
        if cell != Cell::Simple {
            r.recurrent_activation = match keys.get("recurrent_activation") {
                Some(v) => cfg::activation(v, ctx)?,
                None => Act::Sigmoid,
            };
        }
        r.use_bias = keys.bool("use_bias", true)?;
        if let Some(v) = keys.get("kernel_initializer") {
            r.kernel_initializer = cfg::initializer(v, ctx)?;
        }
        if let Some(v) = keys.get("recurrent_initializer") {
            r.recurrent_initializer = cfg::initializer(v, ctx)?;
        }
        if let Some(v) = keys.get("bias_initializer") {
            r.bias_initializer = cfg::initializer(v, ctx)?;
        }
        if cell == Cell::Lstm {
            r.unit_forget_bias = keys.bool("unit_forget_bias", true)?;
        }
        if cell == Cell::Gru {
            keys.require(
                "reset_after",
                |v| v == &Value::Bool(true),
                "GRU with reset_after=False",
            )?;
        }
        r.kernel_regularizer = cfg::regularizer(keys.get("kernel_regularizer"), ctx)?;
        r.recurrent_regularizer = cfg::regularizer(keys.get("recurrent_regularizer"), ctx)?;
        r.bias_regularizer = cfg::regularizer(keys.get("bias_regularizer"), ctx)?;
        for k in [
            "kernel_constraint",
            "recurrent_constraint",
            "bias_constraint",
        ] {
            keys.require(k, |_| false, "weight constraints")?;
        }
        r.return_sequences = keys.bool("return_sequences", false)?;
        r.return_state = keys.bool("return_state", false)?;
        r.go_backwards = keys.bool("go_backwards", false)?;
        r.zero_output_for_mask = keys.bool("zero_output_for_mask", false)?;
        keys.require("stateful", |v| v == &Value::Bool(false), "stateful RNNs")?;
        keys.require(
            "time_major",
            |v| v == &Value::Bool(false),
            "time-major inputs",
        )?;
        // `unroll` and `use_cudnn`/`implementation` change how Keras computes, not what.
        keys.ignore(&["unroll", "use_cudnn", "implementation"]);
        r.dropout = keys.f32("dropout")?.unwrap_or(0.0);
        r.recurrent_dropout = keys.f32("recurrent_dropout")?.unwrap_or(0.0);
        for (k, v) in [
            ("dropout", r.dropout),
            ("recurrent_dropout", r.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(keys.err(format!("`{k}` must be in [0, 1), got {v}")));
            }
        }
        if let Some(v) = keys.get("seed") {
            let s = v.as_u64().ok_or_else(|| {
                keys.err(format!(
                    "`seed` must be a non-negative integer, got {}",
                    cfg::brief(v)
                ))
            })?;
            r.seed = Some(s);
            r.rng = Rng::new(s);
        }
        Ok(r)
    }

    fn config(&self) -> Value {
        use super::activation::initializer_config;
        let mut m = base_config(&self.name, true);
        m.insert("return_sequences".into(), self.return_sequences.into());
        m.insert("return_state".into(), self.return_state.into());
        m.insert("go_backwards".into(), self.go_backwards.into());
        m.insert("stateful".into(), false.into());
        m.insert("unroll".into(), false.into());
        m.insert(
            "zero_output_for_mask".into(),
            self.zero_output_for_mask.into(),
        );
        m.insert("units".into(), self.units.into());
        m.insert("activation".into(), self.activation.name().into());
        if self.cell != Cell::Simple {
            m.insert(
                "recurrent_activation".into(),
                self.recurrent_activation.name().into(),
            );
        }
        m.insert("use_bias".into(), self.use_bias.into());
        m.insert(
            "kernel_initializer".into(),
            initializer_config(&self.kernel_initializer),
        );
        m.insert(
            "recurrent_initializer".into(),
            initializer_config(&self.recurrent_initializer),
        );
        m.insert(
            "bias_initializer".into(),
            initializer_config(&self.bias_initializer),
        );
        if self.cell == Cell::Lstm {
            m.insert("unit_forget_bias".into(), self.unit_forget_bias.into());
        }
        m.insert(
            "kernel_regularizer".into(),
            super::weight_options::regularizer_config(self.kernel_regularizer),
        );
        m.insert(
            "recurrent_regularizer".into(),
            super::weight_options::regularizer_config(self.recurrent_regularizer),
        );
        m.insert(
            "bias_regularizer".into(),
            super::weight_options::regularizer_config(self.bias_regularizer),
        );
        m.insert("activity_regularizer".into(), Value::Null);
        m.insert("kernel_constraint".into(), Value::Null);
        m.insert("recurrent_constraint".into(), Value::Null);
        m.insert("bias_constraint".into(), Value::Null);
        m.insert("dropout".into(), self.dropout.into());
        m.insert("recurrent_dropout".into(), self.recurrent_dropout.into());
        if self.cell == Cell::Gru {
            m.insert("reset_after".into(), true.into());
        }
        m.insert("seed".into(), self.seed.into());
        Value::Object(m)
    }
}

kernels::multiversion! {
    /// One LSTM cell step for one sample with Keras's default activations (sigmoid gates,
    /// tanh candidate and output), fused in one vectorized pass: `gates` holds the
    /// pre-activations of `i, f, c, o` and gets their activations in place; then
    /// `cn = f * cp + i * c`, `ac = tanh(cn)`, `hn = o * ac`. The same operations, in the
    /// same order, as the general path, so the results are the same bit for bit.
    fn lstm_forward_row(gates: &mut [f32], cp: &[f32], cn: &mut [f32], ac: &mut [f32], hn: &mut [f32]) {
        let h = cn.len();
        let (cp, ac, hn) = (&cp[..h], &mut ac[..h], &mut hn[..h]);
        let (qi, rest) = gates[..4 * h].split_at_mut(h);
        let (qf, rest) = rest.split_at_mut(h);
        let (qg, qo) = rest.split_at_mut(h);
        for j in 0..h {
            let i = vmath::sigmoid1(qi[j]);
            let f = vmath::sigmoid1(qf[j]);
            let g = vmath::tanh1(qg[j]);
            let o = vmath::sigmoid1(qo[j]);
            qi[j] = i;
            qf[j] = f;
            qg[j] = g;
            qo[j] = o;
            let c = f * cp[j] + i * g;
            cn[j] = c;
            let a = vmath::tanh1(c);
            ac[j] = a;
            hn[j] = o * a;
        }
    }
}

kernels::multiversion! {
    /// The backward pass of [`lstm_forward_row`] for one sample: from `dh` and the carried
    /// `dc` (updated in place to the previous step's), turns the gates' activations `gates`
    /// into the gradients of their pre-activations, in place. The same operations, in the
    /// same order, as the general path.
    fn lstm_backward_row(gates: &mut [f32], cp: &[f32], ac: &[f32], dh: &[f32], dc: &mut [f32]) {
        let h = dc.len();
        let (cp, ac, dh) = (&cp[..h], &ac[..h], &dh[..h]);
        let (qi, rest) = gates[..4 * h].split_at_mut(h);
        let (qf, rest) = rest.split_at_mut(h);
        let (qg, qo) = rest.split_at_mut(h);
        for j in 0..h {
            let (i, f, g, o, a) = (qi[j], qf[j], qg[j], qo[j], ac[j]);
            let dct = dc[j] + dh[j] * o * (1.0 - a * a);
            qo[j] = dh[j] * a * (o * (1.0 - o));
            qi[j] = dct * g * (i * (1.0 - i));
            qf[j] = dct * cp[j] * (f * (1.0 - f));
            qg[j] = dct * i * (1.0 - g * g);
            dc[j] = dct * f;
        }
    }
}

/// `dst = srcᵀ` for a row-major `src` of `rows x cols`, by square tiles so that both sides
/// are read and written a cache line at a time.
/// One sample's LSTM step through the general `Activation`s (the cell activation, then the
/// recurrent one): `post` gets the gates (i, f, g, o) from the pre-activations `pre`, then
/// the new cell `cn` from `cp`, its activation `ac` and the output `hn`.
fn lstm_general_forward_row(
    (act, ract): (Act, Act),
    pre: &[f32],
    post: &mut [f32],
    cp: &[f32],
    cn: &mut [f32],
    ac: &mut [f32],
    hn: &mut [f32],
) {
    let h = cp.len();
    let row = [1, h];
    for (k, (p, q)) in post
        .chunks_exact_mut(h)
        .zip(pre.chunks_exact(h))
        .enumerate()
    {
        if k == 2 {
            act.forward(q, p, &row);
        } else {
            ract.forward(q, p, &row);
        }
    }
    for j in 0..h {
        cn[j] = post[h + j] * cp[j] + post[j] * post[2 * h + j];
    }
    act.forward(cn, ac, &row);
    for j in 0..h {
        hn[j] = post[3 * h + j] * ac[j];
    }
}

/// The backward pass of [`lstm_general_forward_row`]: from `dh` and the carried `dc`
/// (updated to the previous step's), the gates' pre-activation gradients into `dz`; the
/// cells are the previous one, the new one and its activation.
fn lstm_general_backward_row(
    (act, ract): (Act, Act),
    pre: &[f32],
    post: &[f32],
    [cp, cn, ac]: [&[f32]; 3],
    dh: &[f32],
    dc: &mut [f32],
    dz: &mut [f32],
) {
    let h = cp.len();
    let row = [1, h];
    // d(activation(c)) = dh * o, through the activation into dc.
    let (dzi, rest) = dz.split_at_mut(h);
    let (dzf, rest) = rest.split_at_mut(h);
    let (dzg, dzo) = rest.split_at_mut(h);
    for j in 0..h {
        dzg[j] = dh[j] * post[3 * h + j];
    }
    act.backward(cn, ac, dzg, &row);
    for j in 0..h {
        let dct = dc[j] + dzg[j];
        dzo[j] = dh[j] * ac[j];
        dzi[j] = dct * post[2 * h + j];
        dzf[j] = dct * cp[j];
        dzg[j] = dct * post[j];
        dc[j] = dct * post[h + j];
    }
    ract.backward(&pre[..h], &post[..h], dzi, &row);
    ract.backward(&pre[h..2 * h], &post[h..2 * h], dzf, &row);
    act.backward(&pre[2 * h..3 * h], &post[2 * h..3 * h], dzg, &row);
    ract.backward(&pre[3 * h..], &post[3 * h..], dzo, &row);
}

/// A buffer laid out `[step][row][width]` (time-major) that the parts of a whole-sequence
/// split share, each reaching only its own rows of every step.
struct StepRows<'a> {
    ptr: *mut f32,
    len: usize,
    rows: usize,
    width: usize,
    _buf: std::marker::PhantomData<&'a mut [f32]>,
}

// SAFETY: the parts of a split reach disjoint rows (see `rows`), the buffer outlives the view.
unsafe impl Sync for StepRows<'_> {}

impl<'a> StepRows<'a> {
    fn new(buf: &'a mut [f32], rows: usize, width: usize) -> Self {
        StepRows {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            rows,
            width,
            _buf: std::marker::PhantomData,
        }
    }

    /// Rows `r` of step `step`.
    ///
    /// # Safety
    /// While the slice lives, nothing else reaches those rows of that step: each part of a
    /// split asks only for its own rows, and for each step's rows once at a time.
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows(&self, step: usize, r: std::ops::Range<usize>) -> &'a mut [f32] {
        assert!(
            r.start <= r.end && r.end <= self.rows,
            "rows inside the batch"
        );
        let start = (step * self.rows + r.start) * self.width;
        let end = (step * self.rows + r.end) * self.width;
        assert!(end <= self.len, "step inside the buffer");
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), end - start) }
    }
}

fn transpose(dst: &mut Vec<f32>, src: &[f32], rows: usize, cols: usize) {
    const TILE: usize = 16;
    dst.resize(rows * cols, 0.0);
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0..(j0 + TILE).min(cols) {
                    dst[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
}

macro_rules! recurrent_layer {
    ($(#[$doc:meta])* $ty:ident, $cell:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty(Rnn);

        impl $ty {
            /// A layer of `units` units with Keras's defaults.
            pub fn new(units: usize) -> Self {
                $ty(Rnn::new($cell, units))
            }

            /// The activation of the candidate (and, for LSTM, of the cell state output);
            /// default `tanh`.
            pub fn activation(mut self, a: impl super::activation::IntoActivation) -> Self {
                match a.into_activation() {
                    Ok(a) => self.0.activation = a,
                    Err(e) => self.0.deferred_error = Some(e),
                }
                self
            }

            /// Whether to add biases (default true).
            pub fn use_bias(mut self, v: bool) -> Self {
                self.0.use_bias = v;
                self
            }

            /// Return the output of every timestep `(batch, timesteps, units)` instead of the
            /// last one `(batch, units)` (default false).
            pub fn return_sequences(mut self, v: bool) -> Self {
                self.0.return_sequences = v;
                self
            }

            /// Keras's `return_state`: refused in a `Sequential` model (several outputs),
            /// when the layer is added.
            pub fn return_state(mut self, v: bool) -> Self {
                self.0.return_state = v;
                self
            }

            /// Process the sequence from its last timestep to its first; the returned
            /// sequence is in processing order, as Keras returns it (default false).
            pub fn go_backwards(mut self, v: bool) -> Self {
                self.0.go_backwards = v;
                self
            }

            /// With a timestep mask, output zeros at masked timesteps instead of repeating the
            /// previous output (default false).
            pub fn zero_output_for_mask(mut self, v: bool) -> Self {
                self.0.zero_output_for_mask = v;
                self
            }

            /// Fraction of the input features dropped in training (one mask per sequence,
            /// fixed across timesteps).
            pub fn dropout(mut self, rate: f32) -> Self {
                self.0.dropout = rate;
                self
            }

            /// Fraction of the recurrent state dropped in training (one mask per sequence,
            /// fixed across timesteps).
            pub fn recurrent_dropout(mut self, rate: f32) -> Self {
                self.0.recurrent_dropout = rate;
                self
            }

            /// A fixed seed for the dropout masks (otherwise drawn from the model's seed).
            pub fn seed(mut self, seed: u64) -> Self {
                self.0.seed = Some(seed);
                self.0.rng = Rng::new(seed);
                self
            }

            /// The kernel's initializer (default `glorot_uniform`).
            pub fn kernel_initializer(mut self, init: impl super::activation::IntoInitializer) -> Self {
                match init.into_initializer() {
                    Ok(i) => self.0.kernel_initializer = i,
                    Err(e) => self.0.deferred_error = Some(e),
                }
                self
            }

            /// The recurrent kernel's initializer (default `orthogonal`).
            pub fn recurrent_initializer(mut self, init: impl super::activation::IntoInitializer) -> Self {
                match init.into_initializer() {
                    Ok(i) => self.0.recurrent_initializer = i,
                    Err(e) => self.0.deferred_error = Some(e),
                }
                self
            }

            /// The bias's initializer (default `zeros`).
            pub fn bias_initializer(mut self, init: impl super::activation::IntoInitializer) -> Self {
                match init.into_initializer() {
                    Ok(i) => self.0.bias_initializer = i,
                    Err(e) => self.0.deferred_error = Some(e),
                }
                self
            }

            /// A penalty on the kernel.
            pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
                self.0.kernel_regularizer = Some(r);
                self
            }

            /// A penalty on the recurrent kernel.
            pub fn recurrent_regularizer(mut self, r: Regularizer) -> Self {
                self.0.recurrent_regularizer = Some(r);
                self
            }

            /// A penalty on the bias.
            pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
                self.0.bias_regularizer = Some(r);
                self
            }

            /// The shape of one input sample `(timesteps, features)`.
            pub fn input_shape(mut self, shape: &[usize]) -> Self {
                self.0.input_shape = Some(shape.to_vec());
                self
            }

            /// A user-chosen layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.0.name = name.to_string();
                self
            }

            /// Number of units.
            pub fn units(&self) -> usize {
                self.0.units
            }

            /// Reads Keras's config options.
            pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
                Ok($ty(Rnn::from_keys($cell, keys, ctx)?))
            }
        }

        impl Layer for $ty {
            fn class_name(&self) -> &'static str {
                $cell.class_name()
            }
            fn name(&self) -> &str {
                &self.0.name
            }
            fn set_name(&mut self, name: String) {
                self.0.name = name;
            }
            fn declared_input_shape(&self) -> Option<&[usize]> {
                self.0.input_shape.as_deref()
            }
            fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
                self.0.plan(input_shape)
            }
            fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
                self.0.build(input_shape, rng)
            }
            fn output_shape(&self) -> &[usize] {
                &self.0.out_shape
            }
            fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
                self.0.forward(x, y, training)
            }
            fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
                self.0.backward(x, gy, gx)
            }
            fn params(&self) -> &[Param] {
                &self.0.params
            }
            fn params_mut(&mut self) -> &mut [Param] {
                &mut self.0.params
            }
            fn config(&self) -> Value {
                self.0.config()
            }
            fn set_rng(&mut self, rng: Rng) {
                if self.0.seed.is_none() {
                    self.0.rng = rng;
                }
            }
            fn weight_groups(&self) -> Vec<(String, usize)> {
                vec![("vars".into(), 0), ("cell/vars".into(), self.0.params.len())]
            }
            fn set_input_mask(&mut self, mask: Option<&[f32]>) {
                self.0.set_input_mask(mask)
            }
            fn output_mask(&self) -> Option<&[f32]> {
                (self.0.return_sequences && self.0.bufs.has_mask).then_some(&self.0.bufs.mask[..])
            }
        }
    };
}

recurrent_layer!(
    /// Keras's `LSTM`: long short-term memory over `(batch, timesteps, features)` inputs,
    /// gates `i, f, c, o`, `unit_forget_bias` on by default.
    ///
    /// ```
    /// use kerust::layers::{Dense, LSTM};
    /// use kerust::models::Sequential;
    /// let model = Sequential::new(vec![
    ///     LSTM::new(128).input_shape(&[28, 28]).into(),
    ///     Dense::new(10).activation("softmax").into(),
    /// ])?;
    /// assert_eq!(model.count_params(), 4 * 128 * (28 + 128 + 1) + 1290);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    #[allow(clippy::upper_case_acronyms)]
    LSTM,
    Cell::Lstm
);

recurrent_layer!(
    /// Keras's `GRU` with `reset_after=True` (its default): gates `z, r, h`, bias of shape
    /// `(2, 3 * units)` (input bias, recurrent bias).
    ///
    /// ```
    /// use kerust::layers::GRU;
    /// use kerust::models::Sequential;
    /// let model = Sequential::new(vec![GRU::new(8).return_sequences(true).input_shape(&[5, 3]).into()])?;
    /// assert_eq!(model.output_shape(), Some(vec![5, 8]));
    /// assert_eq!(model.count_params(), 3 * 8 * (3 + 8 + 2));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    #[allow(clippy::upper_case_acronyms)]
    GRU,
    Cell::Gru
);

recurrent_layer!(
    /// Keras's `SimpleRNN`: `h_t = activation(x_t · kernel + h_{t-1} · recurrent_kernel + bias)`.
    ///
    /// ```
    /// use kerust::layers::SimpleRNN;
    /// use kerust::models::Sequential;
    /// let model = Sequential::new(vec![SimpleRNN::new(4).activation("relu").input_shape(&[6, 2]).into()])?;
    /// assert_eq!(model.count_params(), 4 * (2 + 4 + 1));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    SimpleRNN,
    Cell::Simple
);

/// Recurrent activations an LSTM or GRU accepts.
impl LSTM {
    /// The gates' activation (default `sigmoid`).
    pub fn recurrent_activation(mut self, a: impl super::activation::IntoActivation) -> Self {
        match a.into_activation() {
            Ok(a) => self.0.recurrent_activation = a,
            Err(e) => self.0.deferred_error = Some(e),
        }
        self
    }

    /// Add 1 to the forget gate's bias at initialization (default true).
    pub fn unit_forget_bias(mut self, v: bool) -> Self {
        self.0.unit_forget_bias = v;
        self
    }
}

impl GRU {
    /// The gates' activation (default `sigmoid`).
    pub fn recurrent_activation(mut self, a: impl super::activation::IntoActivation) -> Self {
        match a.into_activation() {
            Ok(a) => self.0.recurrent_activation = a,
            Err(e) => self.0.deferred_error = Some(e),
        }
        self
    }
}

/// A recurrent layer given to [`Bidirectional`]: [`LSTM`], [`GRU`] or [`SimpleRNN`].
pub trait RecurrentLayer: Layer + sealed::Sealed {
    #[doc(hidden)]
    fn into_engine(self) -> RnnEngine;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::LSTM {}
    impl Sealed for super::GRU {}
    impl Sealed for super::SimpleRNN {}
}

/// The engine inside a recurrent layer (opaque).
#[doc(hidden)]
#[derive(Debug)]
pub struct RnnEngine(Rnn);

impl RecurrentLayer for LSTM {
    fn into_engine(self) -> RnnEngine {
        RnnEngine(self.0)
    }
}
impl RecurrentLayer for GRU {
    fn into_engine(self) -> RnnEngine {
        RnnEngine(self.0)
    }
}
impl RecurrentLayer for SimpleRNN {
    fn into_engine(self) -> RnnEngine {
        RnnEngine(self.0)
    }
}

/// How [`Bidirectional`] merges the two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Merge {
    Concat,
    Sum,
    Mul,
    Ave,
}

impl Merge {
    fn name(self) -> &'static str {
        match self {
            Merge::Concat => "concat",
            Merge::Sum => "sum",
            Merge::Mul => "mul",
            Merge::Ave => "ave",
        }
    }
}

/// Keras's `Bidirectional` wrapper: runs a recurrent layer forward and a copy of it
/// backward over the sequence (the backward output reversed back into time order when
/// sequences are returned), and merges the two by `concat` (default), `sum`, `mul` or `ave`.
///
/// Its variables are the forward layer's, then the backward layer's.
///
/// ```
/// use kerust::layers::{Bidirectional, Dense, LSTM};
/// use kerust::models::Sequential;
/// let model = Sequential::new(vec![
///     Bidirectional::new(LSTM::new(16).return_sequences(true)).input_shape(&[10, 8]).into(),
///     Bidirectional::new(LSTM::new(8)).merge_mode("ave").into(),
///     Dense::new(1).into(),
/// ])?;
/// assert_eq!(model.layers()[0].output_shape(), &[10, 32]);
/// assert_eq!(model.layers()[1].output_shape(), &[8]);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct Bidirectional {
    name: String,
    fwd: Rnn,
    bwd: Rnn,
    merge: Merge,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    nf: usize,
    out_shape: Vec<usize>,
    yf: Tensor,
    yb: Tensor,
    gyf: Tensor,
    gyb: Tensor,
    gxb: Tensor,
}

impl Bidirectional {
    /// Wraps `layer`; the backward copy has the same configuration with `go_backwards`
    /// flipped. As in Keras, masked timesteps give zeros when sequences are returned.
    pub fn new(layer: impl RecurrentLayer) -> Self {
        let mut fwd = layer.into_engine().0;
        let base = if fwd.name.is_empty() {
            crate::models::snake(fwd.cell.class_name())
        } else {
            fwd.name.trim_start_matches("forward_").to_string()
        };
        let mut bwd = Rnn::new(fwd.cell, fwd.units);
        bwd.activation = fwd.activation;
        bwd.recurrent_activation = fwd.recurrent_activation;
        bwd.use_bias = fwd.use_bias;
        bwd.kernel_initializer = fwd.kernel_initializer;
        bwd.recurrent_initializer = fwd.recurrent_initializer;
        bwd.bias_initializer = fwd.bias_initializer;
        bwd.unit_forget_bias = fwd.unit_forget_bias;
        bwd.kernel_regularizer = fwd.kernel_regularizer;
        bwd.recurrent_regularizer = fwd.recurrent_regularizer;
        bwd.bias_regularizer = fwd.bias_regularizer;
        bwd.return_sequences = fwd.return_sequences;
        bwd.return_state = fwd.return_state;
        bwd.go_backwards = !fwd.go_backwards;
        bwd.dropout = fwd.dropout;
        bwd.recurrent_dropout = fwd.recurrent_dropout;
        bwd.seed = fwd.seed.map(|s| s.wrapping_add(1));
        if let Some(s) = bwd.seed {
            bwd.rng = Rng::new(s);
        }
        bwd.deferred_error = fwd.deferred_error.take();
        fwd.zero_output_for_mask = fwd.return_sequences;
        bwd.zero_output_for_mask = bwd.return_sequences;
        fwd.name = format!("forward_{base}");
        bwd.name = format!("backward_{base}");
        Bidirectional {
            name: String::new(),
            input_shape: fwd.input_shape.take(),
            fwd,
            bwd,
            merge: Merge::Concat,
            deferred_error: None,
            params: Vec::new(),
            nf: 0,
            out_shape: Vec::new(),
            yf: Tensor::default(),
            yb: Tensor::default(),
            gyf: Tensor::default(),
            gyb: Tensor::default(),
            gxb: Tensor::default(),
        }
    }

    /// `"concat"` (default), `"sum"`, `"mul"` or `"ave"`. Keras's `None` (two outputs) has
    /// no meaning in a `Sequential` model.
    pub fn merge_mode(mut self, mode: &str) -> Self {
        match parse_merge(mode) {
            Ok(m) => self.merge = m,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// The shape of one input sample `(timesteps, features)`.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn what(&self) -> String {
        format!("Bidirectional layer '{}'", self.name)
    }

    /// Reads Keras's `Bidirectional` config (`layer`, `backward_layer`, `merge_mode`).
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let merge =
            match keys.get("merge_mode") {
                None => return Err(keys.err(
                    "merge_mode=None gives two outputs, which a Sequential model cannot pass on",
                )),
                Some(Value::String(s)) => parse_merge(s).map_err(|e| keys.err(e.to_string()))?,
                Some(v) => {
                    return Err(keys.err(format!(
                        "`merge_mode` must be a string, got {}",
                        cfg::brief(v)
                    )))
                }
            };
        let layer = keys
            .get("layer")
            .ok_or_else(|| keys.err("Bidirectional needs `layer`"))?;
        let fwd = inner_rnn(layer, &format!("{ctx}, `layer`"))?;
        let bwd = match keys.get("backward_layer") {
            Some(v) => Some(inner_rnn(v, &format!("{ctx}, `backward_layer`"))?),
            None => None,
        };
        keys.ignore(&["weights"]);
        let mut b = Bidirectional::new(LSTM(fwd));
        b.merge = merge;
        if let Some(bwd) = bwd {
            if bwd.go_backwards == b.fwd.go_backwards
                || bwd.return_sequences != b.fwd.return_sequences
            {
                return Err(keys.err(
                    "the backward layer must have the opposite go_backwards and the same return_sequences",
                ));
            }
            b.bwd = bwd;
            b.bwd.zero_output_for_mask = b.bwd.return_sequences;
        }
        Ok(b)
    }

    /// Moves the variables into the two engines for `f`, and back.
    fn with_engines<R>(&mut self, f: impl FnOnce(&mut Rnn, &mut Rnn) -> R) -> R {
        self.fwd.params.extend(self.params.drain(..self.nf));
        self.bwd.params.append(&mut self.params);
        let r = f(&mut self.fwd, &mut self.bwd);
        self.params.append(&mut self.fwd.params);
        self.params.append(&mut self.bwd.params);
        r
    }
}

fn parse_merge(mode: &str) -> Result<Merge> {
    Ok(match mode {
        "concat" => Merge::Concat,
        "sum" => Merge::Sum,
        "mul" => Merge::Mul,
        "ave" => Merge::Ave,
        _ => {
            return Err(Error::unknown(
                "merge_mode",
                mode,
                &["concat", "sum", "mul", "ave"],
            ))
        }
    })
}

/// A recurrent layer serialized inside a wrapper's config.
fn inner_rnn(v: &Value, ctx: &str) -> Result<Rnn> {
    let class = v.get("class_name").and_then(|c| c.as_str()).unwrap_or("");
    let cell = match class {
        "LSTM" => Cell::Lstm,
        "GRU" => Cell::Gru,
        "SimpleRNN" => Cell::Simple,
        _ => {
            return Err(cfg::cfg_err(
                ctx,
                format!(
                    "Bidirectional wraps LSTM, GRU or SimpleRNN in kerust, got {}",
                    cfg::brief(v.get("class_name").unwrap_or(&Value::Null))
                ),
            ))
        }
    };
    let config = v.get("config").unwrap_or(&Value::Null);
    let mut keys = Keys::new(config, format!("{ctx} ({class})"))?;
    let name = keys.str("name")?.unwrap_or("").to_string();
    keys.ignore(&["trainable", "dtype"]);
    keys.require("activity_regularizer", |_| false, "activity regularization")?;
    let mut r = Rnn::from_keys(cell, &mut keys, ctx)?;
    keys.finish()?;
    r.name = name;
    Ok(r)
}

fn inner_config(r: &Rnn, input_shape: &[usize]) -> Value {
    let mut shape = vec![Value::Null];
    shape.extend(input_shape.iter().map(|&d| Value::from(d)));
    serde_json::json!({
        "module": "keras.layers",
        "class_name": r.cell.class_name(),
        "config": r.config(),
        "registered_name": null,
        "build_config": {"input_shape": shape},
    })
}

impl Layer for Bidirectional {
    fn class_name(&self) -> &'static str {
        "Bidirectional"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let (mut of, nf) = self.fwd.plan(input_shape)?;
        let (ob, nb) = self.bwd.plan(input_shape)?;
        let (hf, hb) = (self.fwd.units, self.bwd.units);
        let last = of.len() - 1;
        of[last] = match self.merge {
            Merge::Concat => hf + hb,
            _ if hf == hb => hf,
            _ => {
                return Err(Error::shape(
                    self.what(),
                    format!(
                        "two directions of equal units for merge_mode '{}'",
                        self.merge.name()
                    ),
                    format!("{hf} and {hb} units"),
                ))
            }
        };
        let _ = ob;
        Ok((of, nf.saturating_add(nb)))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        let (out, _) = self.plan(input_shape)?;
        self.fwd.build(input_shape, rng)?;
        self.bwd.build(input_shape, rng)?;
        self.nf = self.fwd.params.len();
        self.params.clear();
        self.params.append(&mut self.fwd.params);
        self.params.append(&mut self.bwd.params);
        self.out_shape = out.clone();
        Ok(out)
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        let (mut yf, mut yb) = (std::mem::take(&mut self.yf), std::mem::take(&mut self.yb));
        self.with_engines(|f, b| {
            f.forward(x, &mut yf, training);
            b.forward(x, &mut yb, training);
        });
        let (hf, hb) = (self.fwd.units, self.bwd.units);
        let nb = x.rows();
        let (nt, seq) = (self.fwd.steps, self.fwd.return_sequences);
        y.resize_batch(nb, &self.out_shape);
        let rows = if seq { nb * nt } else { nb };
        let ho = *self.out_shape.last().expect("built");
        for r in 0..rows {
            // The backward direction's output for the same timestep (reversed when sequences).
            let rb = if seq {
                (r / nt) * nt + (nt - 1 - r % nt)
            } else {
                r
            };
            let (a, bb) = (
                &yf.data()[r * hf..(r + 1) * hf],
                &yb.data()[rb * hb..(rb + 1) * hb],
            );
            let o = &mut y.data_mut()[r * ho..(r + 1) * ho];
            match self.merge {
                Merge::Concat => {
                    o[..hf].copy_from_slice(a);
                    o[hf..].copy_from_slice(bb);
                }
                Merge::Sum => o
                    .iter_mut()
                    .zip(a.iter().zip(bb))
                    .for_each(|(o, (p, q))| *o = p + q),
                Merge::Mul => o
                    .iter_mut()
                    .zip(a.iter().zip(bb))
                    .for_each(|(o, (p, q))| *o = p * q),
                Merge::Ave => o
                    .iter_mut()
                    .zip(a.iter().zip(bb))
                    .for_each(|(o, (p, q))| *o = (p + q) / 2.0),
            }
        }
        self.yf = yf;
        self.yb = yb;
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let (hf, hb) = (self.fwd.units, self.bwd.units);
        let nb = x.rows();
        let (nt, seq) = (self.fwd.steps, self.fwd.return_sequences);
        let rows = if seq { nb * nt } else { nb };
        let ho = *self.out_shape.last().expect("built");
        self.gyf.resize(self.yf.shape());
        self.gyb.resize(self.yb.shape());
        for r in 0..rows {
            let rb = if seq {
                (r / nt) * nt + (nt - 1 - r % nt)
            } else {
                r
            };
            let g = &gy.data()[r * ho..(r + 1) * ho];
            let gf = &mut self.gyf.data_mut()[r * hf..(r + 1) * hf];
            let gb = &mut self.gyb.data_mut()[rb * hb..(rb + 1) * hb];
            match self.merge {
                Merge::Concat => {
                    gf.copy_from_slice(&g[..hf]);
                    gb.copy_from_slice(&g[hf..]);
                }
                Merge::Sum => {
                    gf.copy_from_slice(g);
                    gb.copy_from_slice(g);
                }
                Merge::Ave => {
                    gf.iter_mut().zip(g).for_each(|(o, v)| *o = v / 2.0);
                    gb.iter_mut().zip(g).for_each(|(o, v)| *o = v / 2.0);
                }
                Merge::Mul => {
                    let yf = &self.yf.data()[r * hf..(r + 1) * hf];
                    let yb = &self.yb.data()[rb * hb..(rb + 1) * hb];
                    gf.iter_mut()
                        .zip(g.iter().zip(yb))
                        .for_each(|(o, (v, q))| *o = v * q);
                    gb.iter_mut()
                        .zip(g.iter().zip(yf))
                        .for_each(|(o, (v, p))| *o = v * p);
                }
            }
        }
        let (gyf, gyb, mut gxb) = (
            std::mem::take(&mut self.gyf),
            std::mem::take(&mut self.gyb),
            std::mem::take(&mut self.gxb),
        );
        self.with_engines(|f, b| match gx {
            Some(gx) => {
                f.backward(x, &gyf, Some(gx));
                b.backward(x, &gyb, Some(&mut gxb));
                for (a, v) in gx.data_mut().iter_mut().zip(gxb.data()) {
                    *a += v;
                }
            }
            None => {
                f.backward(x, &gyf, None);
                b.backward(x, &gyb, None);
            }
        });
        self.gyf = gyf;
        self.gyb = gyb;
        self.gxb = gxb;
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn set_rng(&mut self, mut rng: Rng) {
        if self.fwd.seed.is_none() {
            self.fwd.rng = rng.fork();
        }
        if self.bwd.seed.is_none() {
            self.bwd.rng = rng.fork();
        }
    }
    fn weight_groups(&self) -> Vec<(String, usize)> {
        vec![
            ("vars".into(), 0),
            ("forward_layer/vars".into(), 0),
            ("forward_layer/cell/vars".into(), self.nf),
            ("backward_layer/vars".into(), 0),
            (
                "backward_layer/cell/vars".into(),
                self.params.len() - self.nf,
            ),
        ]
    }
    fn set_input_mask(&mut self, mask: Option<&[f32]>) {
        self.fwd.set_input_mask(mask);
        self.bwd.set_input_mask(mask);
    }
    fn output_mask(&self) -> Option<&[f32]> {
        (self.fwd.return_sequences && self.fwd.bufs.has_mask).then_some(&self.fwd.bufs.mask[..])
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        let in_shape = [self.fwd.steps, self.fwd.in_dim];
        m.insert("merge_mode".into(), self.merge.name().into());
        m.insert("layer".into(), inner_config(&self.fwd, &in_shape));
        m.insert("backward_layer".into(), inner_config(&self.bwd, &in_shape));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn fused_lstm_rows_equal_the_general_path_bit_for_bit() {
        // 37 units: full vectors and a tail; values across the gates' whole useful range.
        let h = 37;
        let val = |i: usize, k: f32, s: f32| (i as f32 * k).sin() * s;
        let pre: Vec<f32> = (0..4 * h).map(|i| val(i, 0.71, 7.0)).collect();
        let cp: Vec<f32> = (0..h).map(|i| val(i, 0.37, 3.0)).collect();
        let dh: Vec<f32> = (0..h).map(|i| val(i, 0.53, 1.0)).collect();
        let dc0: Vec<f32> = (0..h).map(|i| val(i, 0.29, 0.5)).collect();

        let (mut post, mut cn) = (pre.clone(), vec![0.0; h]);
        let (mut ac, mut hn) = (vec![0.0; h], vec![0.0; h]);
        lstm_forward_row(&mut post, &cp, &mut cn, &mut ac, &mut hn);
        let mut dc = dc0.clone();
        let mut dz = post.clone();
        lstm_backward_row(&mut dz, &cp, &ac, &dh, &mut dc);

        // The general path of Rnn::forward and Rnn::backward, through `Activation`.
        let acts = (Act::Tanh, Act::Sigmoid);
        let mut post2 = vec![0.0; 4 * h];
        let (mut cn2, mut ac2, mut hn2) = (vec![0.0; h], vec![0.0; h], vec![0.0; h]);
        lstm_general_forward_row(acts, &pre, &mut post2, &cp, &mut cn2, &mut ac2, &mut hn2);
        assert_eq!(bits(&post), bits(&post2));
        assert_eq!(bits(&cn), bits(&cn2));
        assert_eq!(bits(&ac), bits(&ac2));
        assert_eq!(bits(&hn), bits(&hn2));
        let mut dc2 = dc0.clone();
        let mut dz2 = vec![0.0; 4 * h];
        let cells = [&cp[..], &cn2[..], &ac2[..]];
        lstm_general_backward_row(acts, &pre, &post2, cells, &dh, &mut dc2, &mut dz2);
        assert_eq!(bits(&dz), bits(&dz2));
        assert_eq!(bits(&dc), bits(&dc2));
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        // Sizes that are not multiples of the tile.
        let (r, c) = (19, 35);
        let src: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
        let mut dst = Vec::new();
        transpose(&mut dst, &src, r, c);
        for i in 0..r {
            for j in 0..c {
                assert_eq!(dst[j * r + i], src[i * c + j]);
            }
        }
    }

    #[test]
    fn step_rows_reach_the_rows_of_one_step_and_nothing_outside() {
        // 3 steps of 4 rows of width 2.
        let mut buf: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let view = StepRows::new(&mut buf, 4, 2);
        // SAFETY: one slice at a time, nothing else touches the buffer.
        let rows = unsafe { view.rows(1, 2..4) };
        assert_eq!(rows, &[12.0, 13.0, 14.0, 15.0]);
        rows[0] = -1.0;
        assert!(std::panic::catch_unwind(|| unsafe { view.rows(3, 0..1) }).is_err());
        assert!(std::panic::catch_unwind(|| unsafe { view.rows(0, 3..5) }).is_err());
        assert_eq!(buf[12], -1.0);
    }
}
