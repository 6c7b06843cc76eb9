//! `compile`, `fit`, `evaluate`, `predict` and the `*_on_batch` methods.

use super::data::{check_finite, inputs, Inputs, IntoTargets};
use super::Sequential;
use crate::callbacks::{Callback, History, Logs, ProgbarLogger, TrainParams};
use crate::error::fmt_shape;
use crate::kernels::cpu::num_threads;
use crate::kernels::{team, with_training_env};
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::optimizers::Optimizer;
use crate::tensor::Tensor;
use crate::{Error, Result};
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};
use std::sync::PoisonError;

/// Anything `compile` accepts as an optimizer: a Keras name or an [`Optimizer`].
pub trait IntoOptimizer {
    /// Resolves the optimizer.
    fn into_optimizer(self) -> Result<Optimizer>;
}
impl IntoOptimizer for Optimizer {
    fn into_optimizer(self) -> Result<Optimizer> {
        Ok(self)
    }
}
impl IntoOptimizer for &str {
    fn into_optimizer(self) -> Result<Optimizer> {
        self.parse()
    }
}

/// Anything `compile` accepts as a loss: a Keras name, a [`Loss`] or a [`LossKind`](crate::losses::LossKind).
pub trait IntoLoss {
    /// Resolves the loss.
    fn into_loss(self) -> Result<Loss>;
}
impl IntoLoss for Loss {
    fn into_loss(self) -> Result<Loss> {
        Ok(self)
    }
}
impl IntoLoss for crate::losses::LossKind {
    fn into_loss(self) -> Result<Loss> {
        Ok(self.into())
    }
}
impl IntoLoss for &str {
    fn into_loss(self) -> Result<Loss> {
        self.parse()
    }
}

/// A metric given to `compile`: a Keras name (resolved against the data, as `accuracy`) or
/// a metric object.
#[derive(Debug)]
pub enum MetricSpec {
    /// A name such as `accuracy`, `mae`, `auc`.
    Name(String),
    /// A ready metric.
    Object(Box<dyn Metric>),
}

/// Anything `compile` accepts as metrics.
pub trait IntoMetrics {
    /// The metric specs.
    fn into_metrics(self) -> Vec<MetricSpec>;
}
impl IntoMetrics for &[&str] {
    fn into_metrics(self) -> Vec<MetricSpec> {
        self.iter()
            .map(|s| MetricSpec::Name(s.to_string()))
            .collect()
    }
}
impl<const N: usize> IntoMetrics for &[&str; N] {
    fn into_metrics(self) -> Vec<MetricSpec> {
        self.as_slice().into_metrics()
    }
}
impl<const N: usize> IntoMetrics for [&str; N] {
    fn into_metrics(self) -> Vec<MetricSpec> {
        self.as_slice().into_metrics()
    }
}
impl IntoMetrics for Vec<&str> {
    fn into_metrics(self) -> Vec<MetricSpec> {
        self.as_slice().into_metrics()
    }
}
impl IntoMetrics for Vec<MetricSpec> {
    fn into_metrics(self) -> Vec<MetricSpec> {
        self
    }
}
impl IntoMetrics for () {
    fn into_metrics(self) -> Vec<MetricSpec> {
        Vec::new()
    }
}

#[derive(Debug)]
pub(crate) struct Compiled {
    pub optimizer: Optimizer,
    pub loss: Loss,
    pub specs: Vec<MetricSpec>,
    pub metrics: Vec<Box<dyn Metric>>,
    pub fused: bool,
    /// Label layout the metrics were resolved for: (label values per row, outputs per row).
    resolved_for: Option<(usize, usize)>,
    yb: Vec<f32>,
    swb: Vec<f32>,
}

/// Input values per batch from which the next batch is gathered on another thread during a
/// step that runs on one: below that, handing the copy over costs more than the copy (W4 of
/// the benchmarks, 10 values a batch, took 12-16 ms an epoch alone and 19-20 ms handed over;
/// W1's 25,088 values a batch, 2 threads: 0.353-0.359 s alone, 0.322-0.326 s handed over).
const GATHER_APART_MIN: usize = 1 << 12;

/// A batch's inputs, targets and sample weights.
#[derive(Debug, Default)]
struct Batch {
    x: Tensor,
    y: Vec<f32>,
    sw: Vec<f32>,
}

/// Options of [`Sequential::fit`], with Keras's defaults.
///
/// ```
/// use kerust::models::FitOptions;
/// let o = FitOptions { epochs: 10, batch_size: 32, verbose: 2, ..Default::default() };
/// assert!(o.shuffle);
/// ```
pub struct FitOptions<'a> {
    /// Samples per gradient step (32).
    pub batch_size: usize,
    /// Epochs to train up to (1).
    pub epochs: usize,
    /// 0 silent, 1 progress bar, 2 one line per epoch (1).
    pub verbose: u8,
    /// Reshuffle the training samples every epoch (true).
    pub shuffle: bool,
    /// Fraction of the samples, taken from the end before shuffling, held out for validation.
    pub validation_split: f32,
    /// Explicit validation inputs and targets (overrides `validation_split`).
    pub validation_data: Option<(ArrayD<f32>, ArrayD<f32>)>,
    /// Epoch to start from (for resuming; a callback's
    /// [`Sequential::set_initial_epoch`] overrides it). Each epoch's shuffling and Dropout
    /// masks derive from the model's generator as the epoch starts, so a model saved after
    /// epoch `k` and loaded again continues with `initial_epoch: k` exactly as the
    /// uninterrupted run.
    pub initial_epoch: usize,
    /// Weight of each class id in the loss.
    pub class_weight: Option<std::collections::HashMap<usize, f32>>,
    /// Weight of each training sample in the loss.
    pub sample_weight: Option<Vec<f32>>,
    /// Callbacks, borrowed so their state can be read after training.
    pub callbacks: Vec<&'a mut dyn Callback>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            batch_size: 32,
            epochs: 1,
            verbose: 1,
            shuffle: true,
            validation_split: 0.0,
            validation_data: None,
            initial_epoch: 0,
            class_weight: None,
            sample_weight: None,
            callbacks: Vec::new(),
        }
    }
}

impl<'a> FitOptions<'a> {
    /// Validation data from any arrays (f32 inputs, f32 or integer targets).
    pub fn validation_data<S, D>(mut self, x: &ArrayBase<S, D>, y: impl IntoTargets) -> Self
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        let (ys, yd) = y.into_targets();
        let yarr = ArrayD::from_shape_vec(IxDyn(&ys), yd).expect("shape from the array itself");
        self.validation_data = Some((x.to_owned().into_dyn(), yarr));
        self
    }
}

/// What `evaluate` returns: the loss and each metric, by name.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Figures by name, alphabetical (`accuracy`, `loss`).
    pub logs: Logs,
}

impl Evaluation {
    /// The loss.
    pub fn loss(&self) -> f32 {
        self.logs.get("loss").unwrap_or(f32::NAN)
    }
    /// A metric by name.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.logs.get(name)
    }
}

/// Training targets, flattened, with their per-row layout checked.
struct Targets {
    data: Vec<f32>,
    /// Label values per sample.
    row_len: usize,
    label_row: usize,
}

/// Copies the samples `idx` of `x`, `y` and the sample weights into batch buffers.
fn gather_into(
    xb: &mut Tensor,
    yb: &mut Vec<f32>,
    swb: &mut Vec<f32>,
    x: &Inputs,
    y: &Targets,
    sw: Option<&[f32]>,
    idx: &[usize],
) {
    let rl = x.row_len();
    xb.resize_batch(idx.len(), &x.dims);
    let xb = xb.data_mut();
    for (j, &i) in idx.iter().enumerate() {
        xb[j * rl..(j + 1) * rl].copy_from_slice(&x.data[i * rl..(i + 1) * rl]);
    }
    yb.clear();
    for &i in idx {
        yb.extend_from_slice(&y.data[i * y.row_len..(i + 1) * y.row_len]);
    }
    swb.clear();
    if let Some(sw) = sw {
        swb.extend(idx.iter().map(|&i| sw[i]));
    }
}

impl Sequential {
    /// Configures training (Keras's `compile`): optimizer and loss by name or object,
    /// metrics by name (`["accuracy"]`) or object.
    ///
    /// ```
    /// use kerust::prelude::*;
    /// let mut model = Sequential::new(vec![Dense::new(2).activation("softmax").input_dim(3).into()])?;
    /// model.compile(Adam::new(1e-4), "sparse_categorical_crossentropy", ["accuracy"])?;
    /// assert!(model.compile("adamm", "mse", ()).unwrap_err().to_string().contains("adam, adamw"));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn compile(
        &mut self,
        optimizer: impl IntoOptimizer,
        loss: impl IntoLoss,
        metrics: impl IntoMetrics,
    ) -> Result<()> {
        let optimizer = optimizer.into_optimizer()?;
        optimizer.validate()?;
        let loss = loss.into_loss()?;
        let specs = metrics.into_metrics();
        for s in &specs {
            if let MetricSpec::Name(n) = s {
                crate::metrics::get(n, 1, 2)?;
            }
        }
        self.compiled = Some(Compiled {
            optimizer,
            loss,
            specs,
            metrics: Vec::new(),
            fused: false,
            resolved_for: None,
            yb: Vec::new(),
            swb: Vec::new(),
        });
        self.compiled_fusion();
        Ok(())
    }

    fn ensure_built_for(&mut self, x: &Inputs) -> Result<()> {
        match &self.input_shape {
            None => self.build(&x.dims)?,
            Some(s) if *s == x.dims => {}
            Some(s) => {
                return Err(Error::shape(
                    "model input",
                    fmt_shape(None, s),
                    fmt_shape(Some(x.n), &x.dims),
                ))
            }
        }
        match self.layers.first() {
            Some(l) => l.check_input(&x.data),
            None => Ok(()),
        }
    }

    /// Checks `y` against the model's output and loss; returns it flattened.
    fn targets(&self, y_shape: &[usize], y: Vec<f32>, n: usize, what: &str) -> Result<Targets> {
        let c = self
            .compiled
            .as_ref()
            .ok_or(Error::NotCompiled("fit/evaluate"))?;
        let out = self.output_shape().unwrap_or_default();
        if y_shape.first() != Some(&n) {
            return Err(Error::shape(
                format!("{what}: x and y must have the same number of samples"),
                format!("{n} samples"),
                format!(
                    "{} samples (y shape {y_shape:?})",
                    y_shape.first().copied().unwrap_or(0)
                ),
            ));
        }
        let d = out.last().copied().unwrap_or(1);
        let rows: usize = out[..out.len().saturating_sub(1)].iter().product();
        let label_row = c.loss.label_row_len(d);
        let per_sample = rows * label_row;
        let row_len = y.len() / n.max(1);
        if row_len != per_sample {
            let expected = if c.loss.is_sparse() {
                format!("one class id per sample, e.g. {}", fmt_shape(Some(n), &[]))
            } else {
                fmt_shape(Some(n), &out)
            };
            return Err(Error::shape(
                format!("{what} for loss '{}'", c.loss.name()),
                expected,
                format!("{y_shape:?}"),
            ));
        }
        check_finite(&y, what, row_len)?;
        if c.loss.is_sparse() {
            if let Some((i, v)) = y
                .iter()
                .enumerate()
                .find(|(_, &v)| !(v >= 0.0 && v < d as f32 && v.fract() == 0.0))
            {
                return Err(Error::data(what, format!("label {v} at sample {i} is not a class id in [0, {d}) (the model has {d} outputs)")));
            }
        }
        Ok(Targets {
            data: y,
            row_len,
            label_row,
        })
    }

    fn resolve_metrics(&mut self, label_row: usize, out_row: usize) -> Result<()> {
        let c = self.compiled.as_mut().ok_or(Error::NotCompiled("fit"))?;
        if c.resolved_for == Some((label_row, out_row)) {
            return Ok(());
        }
        let mut ms = Vec::with_capacity(c.specs.len());
        for s in c.specs.iter_mut() {
            match s {
                MetricSpec::Name(n) => ms.push(crate::metrics::get(n, label_row, out_row)?),
                MetricSpec::Object(o) => {
                    // Objects are moved into the live list once; a placeholder name keeps order.
                    let name = o.name().to_string();
                    let obj = std::mem::replace(s, MetricSpec::Name(name));
                    if let MetricSpec::Object(o) = obj {
                        ms.push(o);
                    }
                }
            }
        }
        c.metrics = ms;
        c.resolved_for = Some((label_row, out_row));
        Ok(())
    }

    /// Copies the samples `idx` of `x`/`y`/weights into the batch buffers.
    fn gather(&mut self, x: &Inputs, y: &Targets, sw: Option<&[f32]>, idx: &[usize]) {
        let (xb, c) = self.batch_slot();
        gather_into(xb, &mut c.yb, &mut c.swb, x, y, sw, idx);
    }

    /// Where the current batch lives: the first activation buffer (the inputs) and the
    /// compiled state (targets and sample weights).
    fn batch_slot(&mut self) -> (&mut Tensor, &mut Compiled) {
        self.acts
            .resize_with(self.layers.len() + 1, Default::default);
        let c = self.compiled.as_mut().expect("compiled");
        (&mut self.acts[0], c)
    }

    /// [`train_step`](Self::train_step) while another thread gathers the samples `idx` into
    /// `next`, which [`take_next_batch`](Self::take_next_batch) then makes current. A step
    /// that runs on one thread (a small model at a small batch) leaves the other cores idle;
    /// this gives one of them the batch copy, which on the tutorials' MNIST models is a
    /// tenth of the step (rows scattered over the whole data set). `next` belongs to the
    /// `fit` call, so that nothing a callback does between steps (an `evaluate`, a
    /// `compile`) can reach it.
    fn train_step_gathering(
        &mut self,
        next: &mut Batch,
        (x, y, sw): (&Inputs, &Targets, Option<&[f32]>),
        idx: &[usize],
    ) -> Result<f32> {
        let cell = std::sync::Mutex::new(next);
        team::overlap(num_threads(), || self.train_step(), &|_| {
            let mut b = cell.lock().unwrap_or_else(PoisonError::into_inner);
            let b = &mut **b;
            gather_into(&mut b.x, &mut b.y, &mut b.sw, x, y, sw, idx);
        })
    }

    /// Makes the batch gathered by [`train_step_gathering`](Self::train_step_gathering)
    /// the current one (the buffers swap; nothing is copied).
    fn take_next_batch(&mut self, next: &mut Batch) {
        let (xb, c) = self.batch_slot();
        std::mem::swap(xb, &mut next.x);
        std::mem::swap(&mut c.yb, &mut next.y);
        std::mem::swap(&mut c.swb, &mut next.sw);
    }

    /// One optimizer step on the gathered batch; returns the batch loss (with regularization).
    fn train_step(&mut self) -> Result<f32> {
        self.forward(true);
        let loss = self.loss_and_metrics(true)?;
        self.backward();
        let c = self.compiled.as_mut().expect("compiled");
        c.optimizer.apply(&mut self.layers);
        Ok(loss)
    }

    /// Loss (no gradient) and metric updates on the gathered batch, in inference mode.
    fn test_step(&mut self) -> Result<f32> {
        self.forward(false);
        self.loss_and_metrics(false)
    }

    /// The loss of the last forward pass (plus regularization), updating the metrics and,
    /// when `with_grad`, writing the loss gradient for `backward`.
    fn loss_and_metrics(&mut self, with_grad: bool) -> Result<f32> {
        let n = self.layers.len();
        self.grads.resize_with(n + 1, Default::default);
        let c = self.compiled.as_mut().expect("compiled");
        let pred = &self.acts[n];
        let sw = (!c.swb.is_empty()).then_some(c.swb.as_slice());
        let grad = if with_grad {
            self.grads[n].resize(pred.shape());
            Some(self.grads[n].data_mut())
        } else {
            None
        };
        let fused = with_grad && c.fused;
        let loss = c
            .loss
            .compute(&c.yb, pred.data(), pred.shape(), sw, grad, fused)?;
        for m in c.metrics.iter_mut() {
            m.update_state(&c.yb, pred.data(), pred.shape(), sw);
        }
        let penalty: f32 = self
            .layers
            .iter()
            .map(|l| crate::layers::regularization_loss(l.params()))
            .sum();
        Ok(loss + penalty)
    }

    fn reset_metrics(&mut self) {
        if let Some(c) = &mut self.compiled {
            c.metrics.iter_mut().for_each(|m| m.reset_state());
        }
    }

    fn write_logs(&self, logs: &mut Logs, loss: f32, prefix: &str) {
        let c = self.compiled.as_ref().expect("compiled");
        if prefix.is_empty() {
            logs.set("loss", loss);
            for m in &c.metrics {
                logs.set(m.name(), m.result());
            }
        } else {
            logs.set(&format!("{prefix}loss"), loss);
            for m in &c.metrics {
                logs.set(&format!("{prefix}{}", m.name()), m.result());
            }
        }
    }

    /// Trains the model (Keras's `fit`) and returns the per-epoch [`History`].
    ///
    /// `x` is any f32 array whose first axis is the sample; `y` holds f32 targets or integer
    /// class ids. See [`FitOptions`] for Keras's keyword arguments.
    pub fn fit<S, D>(
        &mut self,
        x: &ArrayBase<S, D>,
        y: impl IntoTargets,
        options: FitOptions<'_>,
    ) -> Result<History>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        with_training_env(|| self.fit_impl(x, y, options))
    }

    fn fit_impl<S, D>(
        &mut self,
        x: &ArrayBase<S, D>,
        y: impl IntoTargets,
        mut o: FitOptions<'_>,
    ) -> Result<History>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        if self.compiled.is_none() {
            return Err(Error::NotCompiled("fit"));
        }
        if o.batch_size == 0 {
            return Err(Error::arg("batch_size", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&o.validation_split) {
            return Err(Error::arg(
                "validation_split",
                format!("must be in [0, 1), got {}", o.validation_split),
            ));
        }
        if o.verbose > 2 {
            return Err(Error::arg(
                "verbose",
                format!("must be 0, 1 or 2, got {}", o.verbose),
            ));
        }
        let xi = inputs(x, "x")?;
        self.ensure_built_for(&xi)?;
        let (ys, yd) = y.into_targets();
        let yt = self.targets(&ys, yd, xi.n, "y")?;
        let out_row = self
            .output_shape()
            .and_then(|s| s.last().copied())
            .unwrap_or(1);
        self.resolve_metrics(yt.label_row, out_row)?;

        let n = xi.n;
        let weights = self.sample_weights(&o, &yt, n)?;
        // Keras holds out the last samples, before any shuffling.
        let (n_train, val) = match o.validation_data.take() {
            Some((vx, vy)) => {
                let vxi = inputs(&vx, "validation_data x")?;
                if let Some(l) = self.layers.first() {
                    l.check_input(&vxi.data)?;
                }
                if vxi.dims != xi.dims {
                    return Err(Error::shape(
                        "validation_data x",
                        fmt_shape(None, &xi.dims),
                        fmt_shape(None, &vxi.dims),
                    ));
                }
                let vt = self.targets(
                    vy.shape(),
                    vy.iter().copied().collect(),
                    vxi.n,
                    "validation_data y",
                )?;
                (
                    n,
                    Some((
                        Inputs {
                            data: std::borrow::Cow::Owned(vxi.data.into_owned()),
                            n: vxi.n,
                            dims: vxi.dims,
                        },
                        vt,
                        0,
                    )),
                )
            }
            None if o.validation_split > 0.0 => {
                // Keras computes in f64 from the literal the user wrote (0.01, not the f32
                // 0.0099999998), which decides the split at exact boundaries.
                let split: f64 = o
                    .validation_split
                    .to_string()
                    .parse()
                    .unwrap_or(o.validation_split as f64);
                let split_at = ((n as f64) * (1.0 - split)).ceil() as usize;
                if split_at == 0 || split_at >= n {
                    return Err(Error::arg(
                        "validation_split",
                        format!(
                            "{} of {n} samples leaves an empty training or validation set",
                            o.validation_split
                        ),
                    ));
                }
                (
                    split_at,
                    Some((
                        Inputs {
                            data: xi.data.clone(),
                            n,
                            dims: xi.dims.clone(),
                        },
                        Targets {
                            data: yt.data.clone(),
                            row_len: yt.row_len,
                            label_row: yt.label_row,
                        },
                        split_at,
                    )),
                )
            }
            None => (n, None),
        };
        let steps = n_train.div_ceil(o.batch_size);
        let params = TrainParams {
            verbose: o.verbose,
            epochs: o.epochs,
            steps,
        };
        let mut progbar = ProgbarLogger::new(o.verbose);
        let mut history = History {
            params: params.clone(),
            ..Default::default()
        };
        let mut callbacks: Vec<&mut dyn Callback> = Vec::new();
        if o.verbose > 0 {
            callbacks.push(&mut progbar);
        }
        #[allow(clippy::extend_with_drain)] // append would tie the lifetimes together
        callbacks.extend(o.callbacks.drain(..));
        for cb in callbacks.iter_mut() {
            cb.set_params(&params);
        }
        self.stop_training = false;
        self.abort = None;
        self.resume_epoch = None;
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self);
            self.check_abort()?;
        }
        // A callback (BackupAndRestore) may have restored a later starting point.
        let initial_epoch = self.resume_epoch.take().unwrap_or(o.initial_epoch);
        let mut order: Vec<usize> = Vec::with_capacity(n_train);
        // Whether the next batch is gathered on another thread during each step, and where.
        let mut overlap: Option<bool> = None;
        let mut next_batch = Batch::default();
        let mut logs = Logs::new();
        let mut epoch_logs = Logs::new();
        for epoch in initial_epoch..o.epochs {
            self.reset_metrics();
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, self);
                self.check_abort()?;
            }
            // Everything random in an epoch derives from the model's generator as the epoch
            // starts (as Keras shuffles a fresh index range each epoch): the layers' streams
            // (Dropout) are reseeded from it, then the order is drawn from it. A run resumed
            // from that generator's state (BackupAndRestore, `save`/`load_model`) repeats the
            // uninterrupted run bit for bit.
            for l in self.layers.iter_mut() {
                l.set_rng(self.rng.fork());
            }
            order.clear();
            order.extend(0..n_train);
            if o.shuffle {
                self.rng.shuffle(&mut order);
            }
            let (mut total, mut count) = (0.0f64, 0usize);
            logs.clear();
            let mut batches = order.chunks(o.batch_size).enumerate().peekable();
            let mut gathered = false;
            while let Some((b, idx)) = batches.next() {
                for cb in callbacks.iter_mut() {
                    cb.on_train_batch_begin(b, self);
                    self.check_abort()?;
                }
                if gathered {
                    self.take_next_batch(&mut next_batch);
                } else {
                    self.gather(&xi, &yt, weights.as_deref(), idx);
                }
                let next = batches.peek().filter(|_| overlap == Some(true));
                gathered = next.is_some();
                let l = match next {
                    Some(&(_, idx)) => self.train_step_gathering(
                        &mut next_batch,
                        (&xi, &yt, weights.as_deref()),
                        idx,
                    )?,
                    None => {
                        // The first step tells whether a step uses the other threads; if
                        // not, and the batches are large enough to be worth handing over,
                        // the next batches are gathered on one of them meanwhile.
                        let wanted = team::splits_wanted();
                        let l = self.train_step()?;
                        overlap.get_or_insert(
                            num_threads() > 1
                                && team::splits_wanted() == wanted
                                && idx.len() * xi.row_len() >= GATHER_APART_MIN,
                        );
                        l
                    }
                };
                total += l as f64 * idx.len() as f64;
                count += idx.len();
                self.write_logs(&mut logs, (total / count as f64) as f32, "");
                for cb in callbacks.iter_mut() {
                    cb.on_train_batch_end(b, &logs, self);
                    self.check_abort()?;
                }
                if self.stop_training {
                    break;
                }
            }
            epoch_logs.clone_from(&logs);
            if let Some((vx, vy, start)) = &val {
                let idx: Vec<usize> = (*start..vx.n).collect();
                let (vl, _) = self.evaluate_rows(vx, vy, None, &idx, o.batch_size, None)?;
                self.write_logs(&mut epoch_logs, vl, "val_");
            }
            for cb in callbacks.iter_mut() {
                cb.on_epoch_end(epoch, &epoch_logs, self);
                self.check_abort()?;
            }
            history.record(epoch, &epoch_logs);
            if self.stop_training {
                break;
            }
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(self, &epoch_logs);
            self.check_abort()?;
        }
        Ok(history)
    }

    /// The error a callback set with [`abort_training`](Self::abort_training), if any.
    fn check_abort(&mut self) -> Result<()> {
        match self.abort.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn sample_weights(
        &self,
        o: &FitOptions<'_>,
        y: &Targets,
        n: usize,
    ) -> Result<Option<Vec<f32>>> {
        let mut w: Option<Vec<f32>> = None;
        if let Some(sw) = &o.sample_weight {
            if sw.len() != n {
                return Err(Error::shape(
                    "sample_weight",
                    format!("{n} weights (one per sample)"),
                    format!("{} weights", sw.len()),
                ));
            }
            check_finite(sw, "sample_weight", 1)?;
            w = Some(sw.clone());
        }
        if let Some(cw) = &o.class_weight {
            let mut v = w.unwrap_or_else(|| vec![1.0; n]);
            for (i, wi) in v.iter_mut().enumerate() {
                let row = &y.data[i * y.row_len..(i + 1) * y.row_len];
                let class = if row.len() == 1 {
                    row[0] as usize
                } else {
                    crate::metrics::argmax(row)
                };
                *wi *= cw.get(&class).copied().unwrap_or(1.0);
            }
            w = Some(v);
        }
        Ok(w)
    }

    fn evaluate_rows(
        &mut self,
        x: &Inputs,
        y: &Targets,
        sw: Option<&[f32]>,
        idx: &[usize],
        batch_size: usize,
        mut bar: Option<&mut ProgbarLogger>,
    ) -> Result<(f32, Logs)> {
        self.reset_metrics();
        let (mut total, mut count) = (0.0f64, 0usize);
        let mut logs = Logs::new();
        for (b, chunk) in idx.chunks(batch_size).enumerate() {
            self.gather(x, y, sw, chunk);
            let l = self.test_step()?;
            total += l as f64 * chunk.len() as f64;
            count += chunk.len();
            if let Some(bar) = bar.as_deref_mut() {
                self.write_logs(&mut logs, (total / count as f64) as f32, "");
                let steps = idx.len().div_ceil(batch_size);
                bar.update(b + 1, &logs, b + 1 == steps);
            }
        }
        let loss = (total / count.max(1) as f64) as f32;
        self.write_logs(&mut logs, loss, "");
        Ok((loss, logs))
    }

    /// Loss and metrics on test data (Keras's `evaluate`), by batches of `batch_size`.
    ///
    /// `verbose` 1 shows Keras's bar; the figures are the means over all samples.
    pub fn evaluate<S, D>(
        &mut self,
        x: &ArrayBase<S, D>,
        y: impl IntoTargets,
        batch_size: usize,
        verbose: u8,
    ) -> Result<Evaluation>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        with_training_env(|| {
            if self.compiled.is_none() {
                return Err(Error::NotCompiled("evaluate"));
            }
            if batch_size == 0 {
                return Err(Error::arg("batch_size", "must be at least 1"));
            }
            let xi = inputs(x, "x")?;
            self.ensure_built_for(&xi)?;
            let (ys, yd) = y.into_targets();
            let yt = self.targets(&ys, yd, xi.n, "y")?;
            let out_row = self
                .output_shape()
                .and_then(|s| s.last().copied())
                .unwrap_or(1);
            self.resolve_metrics(yt.label_row, out_row)?;
            let idx: Vec<usize> = (0..xi.n).collect();
            let mut bar = ProgbarLogger::for_steps(verbose, xi.n.div_ceil(batch_size));
            bar.begin();
            let (_, logs) = self.evaluate_rows(
                &xi,
                &yt,
                None,
                &idx,
                batch_size,
                (verbose == 1).then_some(&mut bar),
            )?;
            if verbose == 2 {
                bar.line(xi.n.div_ceil(batch_size), &logs);
            }
            Ok(Evaluation { logs })
        })
    }

    /// Outputs for `x` (Keras's `predict`), computed by batches of `batch_size` in inference
    /// mode. Returns an array shaped `(n, ...output shape)`.
    pub fn predict<S, D>(&mut self, x: &ArrayBase<S, D>, batch_size: usize) -> Result<ArrayD<f32>>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        with_training_env(|| {
            if batch_size == 0 {
                return Err(Error::arg("batch_size", "must be at least 1"));
            }
            let xi = inputs(x, "x")?;
            self.ensure_built_for(&xi)?;
            // `(n, ...output shape)`, built before the loop: one allocation for the shape
            // and one for the outputs (a single-sample predict is a few microseconds).
            let mut shape = vec![xi.n];
            match self.layers.last() {
                Some(l) => shape.extend_from_slice(l.output_shape()),
                None => shape.extend_from_slice(&xi.dims),
            }
            let out_row: usize = shape[1..].iter().product();
            let mut out = Vec::with_capacity(xi.n * out_row);
            let rl = xi.row_len();
            self.acts
                .resize_with(self.layers.len() + 1, Default::default);
            for start in (0..xi.n).step_by(batch_size) {
                let end = (start + batch_size).min(xi.n);
                self.acts[0].resize_batch(end - start, &xi.dims);
                self.acts[0]
                    .data_mut()
                    .copy_from_slice(&xi.data[start * rl..end * rl]);
                self.forward(false);
                out.extend_from_slice(self.acts[self.layers.len()].data());
            }
            Ok(ArrayD::from_shape_vec(IxDyn(&shape), out).expect("sizes agree"))
        })
    }

    /// One gradient step on one batch (Keras's `train_on_batch`); returns the batch's loss
    /// and metrics, computed before the update.
    pub fn train_on_batch<S, D>(
        &mut self,
        x: &ArrayBase<S, D>,
        y: impl IntoTargets,
    ) -> Result<Evaluation>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        with_training_env(|| {
            let (xi, yt) = self.batch_inputs(x, y)?;
            self.reset_metrics();
            let idx: Vec<usize> = (0..xi.n).collect();
            self.gather(&xi, &yt, None, &idx);
            let loss = self.train_step()?;
            let mut logs = Logs::new();
            self.write_logs(&mut logs, loss, "");
            Ok(Evaluation { logs })
        })
    }

    /// Loss and metrics on one batch without updating (Keras's `test_on_batch`).
    pub fn test_on_batch<S, D>(
        &mut self,
        x: &ArrayBase<S, D>,
        y: impl IntoTargets,
    ) -> Result<Evaluation>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        with_training_env(|| {
            let (xi, yt) = self.batch_inputs(x, y)?;
            let idx: Vec<usize> = (0..xi.n).collect();
            let (_, logs) = self.evaluate_rows(&xi, &yt, None, &idx, xi.n, None)?;
            Ok(Evaluation { logs })
        })
    }

    /// Outputs for one batch (Keras's `predict_on_batch`).
    pub fn predict_on_batch<S, D>(&mut self, x: &ArrayBase<S, D>) -> Result<ArrayD<f32>>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        let n = x.shape().first().copied().unwrap_or(1).max(1);
        self.predict(x, n)
    }

    /// Applies one optimizer step with the given gradients, one flat array per trainable
    /// variable in [`get_weights`](Self::get_weights) order (Keras's
    /// `optimizer.apply_gradients(zip(grads, model.trainable_variables))`).
    pub fn apply_gradients(&mut self, grads: &[Vec<f32>]) -> Result<()> {
        let c = self
            .compiled
            .as_mut()
            .ok_or(Error::NotCompiled("apply_gradients"))?;
        let params: Vec<(String, usize)> = self
            .layers
            .iter()
            .flat_map(|l| {
                l.params()
                    .iter()
                    .filter(|p| p.trainable)
                    .map(move |p| (format!("{}/{}", l.name(), p.name), p.value.len()))
            })
            .collect();
        if grads.len() != params.len() {
            return Err(Error::shape(
                "apply_gradients",
                format!("{} gradient arrays", params.len()),
                format!("{}", grads.len()),
            ));
        }
        for ((name, n), g) in params.iter().zip(grads) {
            if g.len() != *n {
                return Err(Error::shape(
                    format!("apply_gradients for {name}"),
                    format!("{n} values"),
                    format!("{} values", g.len()),
                ));
            }
        }
        let mut it = grads.iter();
        for l in self.layers.iter_mut() {
            for p in l.params_mut().iter_mut().filter(|p| p.trainable) {
                p.grad
                    .data_mut()
                    .copy_from_slice(it.next().expect("counted"));
            }
        }
        c.optimizer.apply(&mut self.layers);
        Ok(())
    }

    fn batch_inputs<'x, S, D>(
        &mut self,
        x: &'x ArrayBase<S, D>,
        y: impl IntoTargets,
    ) -> Result<(Inputs<'x>, Targets)>
    where
        S: Data<Elem = f32>,
        D: Dimension,
    {
        if self.compiled.is_none() {
            return Err(Error::NotCompiled("train_on_batch"));
        }
        let xi = inputs(x, "x")?;
        self.ensure_built_for(&xi)?;
        let (ys, yd) = y.into_targets();
        let yt = self.targets(&ys, yd, xi.n, "y")?;
        let out_row = self
            .output_shape()
            .and_then(|s| s.last().copied())
            .unwrap_or(1);
        self.resolve_metrics(yt.label_row, out_row)?;
        Ok((xi, yt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::set_num_threads;
    use crate::layers::Dense;
    use ndarray::{Array1, Array2};

    /// Between steps, predicts a few samples (the model's batch buffers change shape) and
    /// every third batch compiles the model again (fresh batch buffers and optimizer).
    struct Meddler(Array2<f32>);

    impl crate::callbacks::Callback for Meddler {
        fn on_train_batch_end(&mut self, b: usize, _: &Logs, m: &mut Sequential) {
            m.predict(&self.0, 2).unwrap();
            if b % 3 == 2 {
                m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
                    .unwrap();
            }
        }
    }

    #[test]
    fn the_next_batch_gathered_on_another_thread_trains_the_same_bits() {
        // 784 features at batch 32: 25,088 values a batch, over `GATHER_APART_MIN`, and a
        // step too small to split, so with two threads each next batch is gathered by a
        // worker during the step. 230 samples: 207 to train on (6 full batches and one
        // of 15), shuffled, with sample weights, and 23 to validate on.
        let n = 230;
        let x = Array2::from_shape_fn((n, 784), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
        let y = Array1::from_shape_fn(n, |i| ((i * 5) % 10) as u8);
        let sw: Vec<f32> = (0..n).map(|i| 0.5 + (i % 4) as f32 * 0.25).collect();
        let run = |threads: usize, meddle: bool| {
            set_num_threads(threads);
            crate::set_random_seed(3);
            let mut m = Sequential::new(vec![
                Dense::new(8).activation("relu").input_dim(784).into(),
                Dense::new(10).activation("softmax").into(),
            ])
            .unwrap();
            m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
                .unwrap();
            let before = team::overlaps_here();
            let mut meddler = Meddler(x.slice(ndarray::s![..5, ..]).to_owned());
            let mut o = FitOptions {
                epochs: 2,
                verbose: 0,
                validation_split: 0.1,
                sample_weight: Some(sw.clone()),
                ..Default::default()
            };
            if meddle {
                o.callbacks.push(&mut meddler);
            }
            let h = m.fit(&x, &y, o).unwrap();
            let bits =
                |k: &str| -> Vec<u32> { h.get(k).unwrap().iter().map(|v| v.to_bits()).collect() };
            let logs = [bits("loss"), bits("accuracy"), bits("val_loss")];
            (m.get_weights(), logs, team::overlaps_here() - before)
        };
        for meddle in [false, true] {
            // Other tests change the (process-wide) thread count now and then: one of three
            // runs at one thread takes no overlap, and one of three runs at two threads
            // decides on it: every step but the first (which decides) and the last of each
            // epoch (no next batch), 5 + 6.
            let (w1, logs1) = (0..3)
                .map(|_| run(1, meddle))
                .find(|r| r.2 == 0)
                .map(|(w, logs, _)| (w, logs))
                .expect("a run at one thread without the overlap");
            let mut overlapped = false;
            for _ in 0..3 {
                let (w2, logs2, overlaps2) = run(2, meddle);
                assert!(
                    w2 == w1 && logs2 == logs1,
                    "two threads changed the training (callback meddling: {meddle})"
                );
                overlapped |= overlaps2 == 11;
                if overlapped {
                    break;
                }
            }
            assert!(overlapped, "no run gathered its batches on another thread");
        }
        set_num_threads(0);
    }
}
