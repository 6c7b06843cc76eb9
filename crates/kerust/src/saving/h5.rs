//! HDF5 weight files through `hdf5-pure`: Keras 3's layout (`layers/<name>/vars/<i>`,
//! `optimizer/vars/<i>`, as in `model.weights.h5`) both ways, and the legacy Keras `.h5`
//! full-model layout (`model_config`, `model_weights`, `optimizer_weights`) for reading.

use super::config;
use crate::models::Sequential;
use crate::optimizers::{Kind, LearningRate, Optimizer};
use crate::{Error, Result};
use hdf5_pure::{AttrValue, DType, File, FileBuilder};

/// HDF5's signature, at offset 0 of every file kerust reads (no user block).
pub(crate) const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

fn ferr(file: &str, reason: impl Into<String>) -> Error {
    Error::Format {
        format: "HDF5",
        path: file.to_string(),
        reason: reason.into(),
    }
}

fn h5err(file: &str, what: &str, e: hdf5_pure::Error) -> Error {
    ferr(file, format!("{what}: {e}"))
}

/// One variable read from a file.
struct Var {
    data: VarData,
}

enum VarData {
    F32(Vec<f32>),
    Int(i64),
}

/// Reads the dataset at `path` as float32 of exactly `expected` shape, or a scalar
/// integer (`expected` = None). The shape is checked before any data is read, so nothing
/// larger than the model's own parameter is allocated.
fn read_var(f: &File, path: &str, expected: Option<&[usize]>, file: &str) -> Result<Var> {
    let ds = f
        .dataset(path)
        .map_err(|e| h5err(file, &format!("dataset '{path}'"), e))?;
    let shape: Vec<usize> = ds
        .shape()
        .map_err(|e| h5err(file, &format!("shape of '{path}'"), e))?
        .into_iter()
        .map(|d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    let dtype = ds
        .dtype()
        .map_err(|e| h5err(file, &format!("datatype of '{path}'"), e))?;
    match expected {
        Some(want) => {
            if dtype != DType::F32 {
                return Err(ferr(
                    file,
                    format!("dataset '{path}' holds {dtype}, expected float32"),
                ));
            }
            if shape != want {
                return Err(Error::shape(
                    format!("weights file {file}, dataset '{path}'"),
                    format!("{want:?}"),
                    format!("{shape:?}"),
                ));
            }
            let data = ds
                .read_f32()
                .map_err(|e| h5err(file, &format!("reading '{path}'"), e))?;
            if data.len() != want.iter().product::<usize>() {
                return Err(ferr(
                    file,
                    format!("dataset '{path}' is shorter than its shape"),
                ));
            }
            Ok(Var {
                data: VarData::F32(data),
            })
        }
        None => {
            if !matches!(dtype, DType::I32 | DType::I64) || !shape.is_empty() {
                return Err(ferr(
                    file,
                    format!(
                        "dataset '{path}' must be a scalar integer, got {dtype} of shape {shape:?}"
                    ),
                ));
            }
            let v = ds
                .read_i64()
                .map_err(|e| h5err(file, &format!("reading '{path}'"), e))?;
            match v.as_slice() {
                [n] if *n >= 0 => Ok(Var {
                    data: VarData::Int(*n),
                }),
                _ => Err(ferr(
                    file,
                    format!("dataset '{path}' must hold one count >= 0"),
                )),
            }
        }
    }
}

/// Shapes of the trainable parameters, in the order the optimizer keeps its state.
fn trainable_shapes(model: &Sequential) -> Vec<Vec<usize>> {
    model
        .layers
        .iter()
        .flat_map(|l| l.params())
        .filter(|p| p.trainable)
        .map(|p| p.value.shape().to_vec())
        .collect()
}

/// Keras's position, among an optimizer's slot variables, of kerust's slot `j` of
/// trainable parameter `i` (`n` parameters). Keras interleaves the slots it creates
/// together (Adam's momentum and velocity) and lists separately created ones after.
fn keras_slot_pos(kind: &Kind, n: usize, i: usize, j: usize) -> usize {
    match kind {
        Kind::Adam { .. } if j >= 2 => 2 * n + i,
        Kind::Adam { .. } | Kind::Adadelta { .. } | Kind::Adamax { .. } | Kind::Nadam { .. } => {
            2 * i + j
        }
        Kind::RmsProp { .. } => j * n + i,
        Kind::Sgd { .. } | Kind::Adagrad { .. } => i,
    }
}

/// What Keras's `optimizer.variables` holds for this optimizer: `(has learning_rate,
/// slot count, has u_product)`, the slots and u_product only once built.
fn keras_var_layout(opt: &Optimizer, n_params: usize, built: bool) -> (bool, usize, bool) {
    let has_lr = matches!(opt.learning_rate, LearningRate::Constant(_));
    if !built {
        return (has_lr, 0, false);
    }
    let slots = n_params * opt.slots_per_variable();
    (has_lr, slots, matches!(opt.kind, Kind::Nadam { .. }))
}

/// Sets the optimizer's state from Keras's variables, read one by one by `read(index,
/// expected shape)`; `shapes` are the trainable parameters' shapes.
fn load_optimizer_state(
    opt: &mut Optimizer,
    shapes: &[Vec<usize>],
    count: usize,
    file: &str,
    mut read: impl FnMut(usize, Option<&[usize]>) -> Result<Var>,
) -> Result<()> {
    let (has_lr, _, _) = keras_var_layout(opt, shapes.len(), false);
    let unbuilt = 1 + has_lr as usize;
    let (_, n_slots, has_u) = keras_var_layout(opt, shapes.len(), true);
    let full = unbuilt + n_slots + has_u as usize;
    if count != unbuilt && count != full {
        return Err(ferr(
            file,
            format!(
                "the {} optimizer state holds {count} variables; kerust expects {unbuilt} (before the first step) or {full} for this model",
                opt.class_name()
            ),
        ));
    }
    let VarData::Int(iterations) = read(0, None)?.data else {
        unreachable!("read_var returns an integer for no shape")
    };
    opt.set_iterations(iterations as u64);
    if has_lr {
        if let VarData::F32(lr) = read(1, Some(&[]))?.data {
            if !lr[0].is_finite() || lr[0] < 0.0 {
                return Err(ferr(
                    file,
                    format!("learning rate {} is not a number >= 0", lr[0]),
                ));
            }
            opt.set_learning_rate(lr[0]);
        }
    }
    if count == unbuilt {
        opt.set_slots(Vec::new());
        return Ok(());
    }
    let k = opt.slots_per_variable();
    let n = shapes.len();
    let mut slots: Vec<Vec<f32>> = Vec::with_capacity(n * k);
    for (i, shape) in shapes.iter().enumerate() {
        for j in 0..k {
            let pos = unbuilt + keras_slot_pos(&opt.kind, n, i, j);
            match read(pos, Some(shape))?.data {
                VarData::F32(d) => slots.push(d),
                VarData::Int(_) => unreachable!("float expected"),
            }
        }
    }
    opt.set_slots(slots);
    if has_u {
        if let VarData::F32(u) = read(unbuilt + n_slots, Some(&[]))?.data {
            opt.set_u_product(u[0]);
        }
    }
    Ok(())
}

/// The group names Keras gives the layers in a weights file: not the layers' names but
/// their class names in snake case, numbered per class in order (`dense`, `dense_1`), so
/// that two instances of one architecture share a layout.
pub(crate) fn layer_keys(model: &Sequential) -> Vec<String> {
    let mut used: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    model
        .layers
        .iter()
        .map(|l| {
            let base = crate::models::snake(l.class_name());
            let n = used.entry(base.clone()).or_insert(0);
            let key = if *n == 0 { base } else { format!("{base}_{n}") };
            *n += 1;
            key
        })
        .collect()
}

/// Opens an HDF5 file held in memory, refusing a truncated one (shorter than the end of
/// file its superblock records, as the HDF5 library does).
fn open(bytes: Vec<u8>, file: &str) -> Result<File> {
    if !bytes.starts_with(HDF5_MAGIC) {
        return Err(ferr(file, "not an HDF5 file (no HDF5 signature)"));
    }
    let len = bytes.len() as u64;
    let f = File::from_bytes(bytes).map_err(|e| h5err(file, "opening", e))?;
    let eof = f.superblock().eof_address;
    if eof > len {
        return Err(ferr(
            file,
            format!("truncated: the superblock records {eof} bytes, the file has {len}"),
        ));
    }
    Ok(f)
}

/// Names of a group's datasets, or none when the group is missing.
fn dataset_names(f: &File, path: &str) -> Vec<String> {
    f.group(path).and_then(|g| g.datasets()).unwrap_or_default()
}

/// Loads layer weights and optimizer state from a Keras 3 weights file
/// (`model.weights.h5`) into a model built from the matching config.
pub(crate) fn load_weights_h5(model: &mut Sequential, bytes: Vec<u8>, file: &str) -> Result<()> {
    let f = open(bytes, file)?;
    // Layers first, checking every variable before changing any.
    let keys = layer_keys(model);
    let mut values: Vec<Vec<Vec<f32>>> = Vec::with_capacity(model.layers.len());
    for (l, key) in model.layers.iter().zip(&keys) {
        let mut vs = Vec::with_capacity(l.params().len());
        let mut params = l.params().iter();
        for (sub, count) in l.weight_groups() {
            let group = format!("layers/{key}/{sub}");
            let names = dataset_names(&f, &group);
            if names.len() != count {
                return Err(ferr(
                    file,
                    format!(
                        "layer '{}' has {} variables in the file's '{group}' and {count} in the model",
                        l.name(),
                        names.len(),
                    ),
                ));
            }
            for i in 0..count {
                let p = params.next().ok_or_else(|| {
                    ferr(
                        file,
                        format!("layer '{}': weight groups and variables disagree", l.name()),
                    )
                })?;
                match read_var(&f, &format!("{group}/{i}"), Some(p.value.shape()), file)?.data {
                    VarData::F32(d) => vs.push(d),
                    VarData::Int(_) => unreachable!("float expected"),
                }
            }
        }
        values.push(vs);
    }
    if let Ok(g) = f.group("layers") {
        let names = g.groups().map_err(|e| h5err(file, "listing 'layers'", e))?;
        if let Some(extra) = names.iter().find(|n| {
            !keys.contains(n) && !dataset_names(&f, &format!("layers/{n}/vars")).is_empty()
        }) {
            return Err(ferr(
                file,
                format!("the file has weights for a layer '{extra}' that the model does not have"),
            ));
        }
    }
    // The optimizer's state into a copy, so that a bad file changes nothing.
    let mut opt = model.optimizer().cloned();
    if let Some(o) = opt.as_mut() {
        let names = dataset_names(&f, "optimizer/vars");
        if !names.is_empty() {
            load_optimizer_state(
                o,
                &trainable_shapes(model),
                names.len(),
                file,
                |i, shape| read_var(&f, &format!("optimizer/vars/{i}"), shape, file),
            )?;
        }
    }
    for (l, vs) in model.layers.iter_mut().zip(values) {
        for (p, v) in l.params_mut().iter_mut().zip(vs) {
            p.value.data_mut().copy_from_slice(&v);
        }
    }
    if let (Some(o), Some(slot)) = (opt, model.optimizer_mut()) {
        *slot = o;
    }
    Ok(())
}

/// Writes a layer's variable groups (paths such as `cell/vars`, split at `/`) under `g`.
fn write_var_groups(
    g: &mut hdf5_pure::GroupBuilder,
    entries: &[(Vec<&str>, &[crate::layers::Param])],
    layer: &str,
) {
    let mut heads: Vec<&str> = Vec::new();
    for (path, _) in entries {
        if let Some(h) = path.first() {
            if !heads.contains(h) {
                heads.push(h);
            }
        }
    }
    for head in heads {
        let mut sub = g.create_group(head);
        let mut deeper = Vec::new();
        for (path, params) in entries.iter().filter(|(p, _)| p.first() == Some(&head)) {
            if path.len() == 1 {
                sub.set_attr("name", AttrValue::VarLenString(layer.to_string()));
                for (i, p) in params.iter().enumerate() {
                    let shape: Vec<u64> = p.value.shape().iter().map(|&d| d as u64).collect();
                    sub.create_dataset(&i.to_string())
                        .with_f32_data(p.value.data())
                        .with_shape(&shape);
                }
            } else {
                deeper.push((path[1..].to_vec(), *params));
            }
        }
        write_var_groups(&mut sub, &deeper, layer);
        g.add_group(sub.finish());
    }
}

/// Writes the model's weights (and the optimizer's state when compiled) in Keras 3's
/// layout, as `model.weights.h5` holds them.
pub(crate) fn weights_h5(model: &Sequential) -> Result<Vec<u8>> {
    let mut b = FileBuilder::new();
    let mut layers = b.create_group("layers");
    for (l, key) in model.layers.iter().zip(layer_keys(model)) {
        let mut lg = layers.create_group(&key);
        let groups = l.weight_groups();
        let mut entries = Vec::new();
        let mut at = 0;
        for (sub, count) in &groups {
            let count = *count;
            let end = (at + count).min(l.params().len());
            entries.push((sub.split('/').collect::<Vec<_>>(), &l.params()[at..end]));
            at = end;
        }
        write_var_groups(&mut lg, &entries, l.name());
        layers.add_group(lg.finish());
    }
    b.add_group(layers.finish());
    if let Some(opt) = model.optimizer() {
        let shapes = trainable_shapes(model);
        let built = !opt.slots().is_empty();
        let (has_lr, n_slots, has_u) = keras_var_layout(opt, shapes.len(), built);
        let mut og = b.create_group("optimizer");
        let mut vars = og.create_group("vars");
        vars.set_attr(
            "name",
            AttrValue::VarLenString(opt.class_name().to_lowercase()),
        );
        let iterations = i32::try_from(opt.iterations()).map_err(|_| {
            Error::arg(
                "optimizer",
                "more than 2^31 steps cannot be written (Keras counts them in int32)",
            )
        })?;
        vars.create_dataset("0")
            .with_i32_data(&[iterations])
            .with_shape(&[]);
        let mut next = 1;
        if has_lr {
            vars.create_dataset("1")
                .with_f32_data(&[opt.learning_rate_now()])
                .with_shape(&[]);
            next = 2;
        }
        if built {
            let k = opt.slots_per_variable();
            let n = shapes.len();
            let mut order: Vec<(usize, usize, usize)> = Vec::with_capacity(n_slots);
            for i in 0..n {
                for j in 0..k {
                    order.push((keras_slot_pos(&opt.kind, n, i, j), i, j));
                }
            }
            order.sort_unstable();
            for (pos, i, j) in order {
                let shape: Vec<u64> = shapes[i].iter().map(|&d| d as u64).collect();
                vars.create_dataset(&(next + pos).to_string())
                    .with_f32_data(&opt.slots()[i * k + j])
                    .with_shape(&shape);
            }
            if has_u {
                vars.create_dataset(&(next + n_slots).to_string())
                    .with_f32_data(&[opt.u_product()])
                    .with_shape(&[]);
            }
        }
        og.add_group(vars.finish());
        b.add_group(og.finish());
    }
    let mut top = b.create_group("vars");
    top.set_attr("name", AttrValue::VarLenString(model.name.clone()));
    b.add_group(top.finish());
    b.finish()
        .map_err(|e| Error::arg("model", format!("cannot encode the weights as HDF5: {e}")))
}

fn attr_string(attrs: &std::collections::HashMap<String, AttrValue>, k: &str) -> Option<String> {
    attrs.get(k).and_then(|v| v.as_str()).map(str::to_string)
}

fn attr_strings(f: &File, group: &str, k: &str, file: &str) -> Result<Vec<String>> {
    let g = f
        .group(group)
        .map_err(|e| h5err(file, &format!("group '{group}'"), e))?;
    let attrs = g
        .attrs()
        .map_err(|e| h5err(file, &format!("attributes of '{group}'"), e))?;
    match attrs.get(k) {
        None => Ok(Vec::new()),
        // An empty list is written by numpy as an empty float64 array.
        Some(v) if v.to_f64s().is_some_and(|x| x.is_empty()) => Ok(Vec::new()),
        Some(v) => v.as_strings().map(|s| s.to_vec()).ok_or_else(|| {
            ferr(
                file,
                format!("attribute '{k}' of '{group}' is not a list of names"),
            )
        }),
    }
}

/// Loads a legacy Keras `.h5` full-model file (Keras 2 layout, as Keras 3 still writes it
/// for `model.save("m.h5")`).
pub(crate) fn load_legacy(bytes: Vec<u8>, file: &str) -> Result<Sequential> {
    let budget = bytes.len() / 4;
    let f = open(bytes, file)?;
    let attrs = f
        .root()
        .attrs()
        .map_err(|e| h5err(file, "root attributes", e))?;
    let config_json = attr_string(&attrs, "model_config").ok_or_else(|| {
        ferr(
            file,
            "no `model_config` attribute: not a full-model file (for weights only, use load_weights)",
        )
    })?;
    let config = config::parse_json(config_json.as_bytes())
        .map_err(|e| ferr(file, format!("model_config is not JSON: {e}")))?;
    let spec = config::parse_model(&config, file)?;
    let compile = match attr_string(&attrs, "training_config") {
        Some(t) => {
            let v = config::parse_json(t.as_bytes())
                .map_err(|e| ferr(file, format!("training_config is not JSON: {e}")))?;
            Some(config::parse_compile(&v, file)?)
        }
        None => None,
    };
    let mut model = spec.build(budget, file)?;
    if let Some(c) = compile {
        model.compile(c.optimizer, c.loss, c.metrics)?;
    }
    // Layers with weights, matched in order as Keras does.
    let layer_names = attr_strings(&f, "model_weights", "layer_names", file)?;
    let mut with_weights = Vec::new();
    for name in &layer_names {
        let names = attr_strings(&f, &format!("model_weights/{name}"), "weight_names", file)?;
        if !names.is_empty() {
            with_weights.push((name.clone(), names));
        }
    }
    let targets: Vec<usize> = (0..model.layers.len())
        .filter(|&i| !model.layers[i].params().is_empty())
        .collect();
    if targets.len() != with_weights.len() {
        return Err(ferr(
            file,
            format!(
                "the file has weights for {} layers, the model has {} layers with weights",
                with_weights.len(),
                targets.len()
            ),
        ));
    }
    let mut values = Vec::with_capacity(targets.len());
    // The file's name of each trainable parameter, in the optimizer's order (Keras 2 names
    // its optimizer's variables after them).
    let mut trainable_names = Vec::new();
    for (&li, (_, wnames)) in targets.iter().zip(&with_weights) {
        for (w, p) in wnames.iter().zip(model.layers[li].params()) {
            if p.trainable {
                trainable_names.push(w.strip_suffix(":0").unwrap_or(w).to_string());
            }
        }
    }
    for (&li, (lname, wnames)) in targets.iter().zip(&with_weights) {
        let l = &model.layers[li];
        if wnames.len() != l.params().len() {
            return Err(ferr(
                file,
                format!(
                    "layer '{lname}' has {} weights in the file, {} in the model",
                    wnames.len(),
                    l.params().len()
                ),
            ));
        }
        let mut vs = Vec::with_capacity(wnames.len());
        for (w, p) in wnames.iter().zip(l.params()) {
            let path = format!("model_weights/{lname}/{w}");
            match read_var(&f, &path, Some(p.value.shape()), file)?.data {
                VarData::F32(d) => vs.push(d),
                VarData::Int(_) => unreachable!("float expected"),
            }
        }
        values.push(vs);
    }
    for (&li, vs) in targets.iter().zip(values) {
        for (p, v) in model.layers[li].params_mut().iter_mut().zip(vs) {
            p.value.data_mut().copy_from_slice(&v);
        }
    }
    if model.compiled.is_some() && f.group("optimizer_weights").is_ok() {
        let names = attr_strings(&f, "optimizer_weights", "weight_names", file)?;
        if !names.is_empty() {
            let shapes = trainable_shapes(&model);
            if let Some(o) = model.optimizer_mut() {
                if names[0].ends_with("iteration") {
                    // Keras 3: variables in its own order.
                    load_optimizer_state(o, &shapes, names.len(), file, |i, shape| {
                        read_var(&f, &format!("optimizer_weights/{}", names[i]), shape, file)
                    })?;
                } else {
                    let read = |name: &str, shape: Option<&[usize]>| {
                        read_var(&f, &format!("optimizer_weights/{name}"), shape, file)
                    };
                    load_keras2_optimizer_state(o, &shapes, &trainable_names, &names, file, read)?;
                }
            }
        }
    }
    Ok(model)
}

/// kerust's slot index of Keras 2's slot variable `slot` (its name in Keras 2's optimizers
/// since 2.11 or in their "legacy" predecessors) for this optimizer, or None.
fn keras2_slot(kind: &Kind, slot: &str) -> Option<usize> {
    match (kind, slot) {
        (Kind::Sgd { momentum, .. }, "m" | "momentum") if *momentum > 0.0 => Some(0),
        (Kind::Adam { .. }, "m") => Some(0),
        (Kind::Adam { .. }, "v") => Some(1),
        (Kind::Adam { amsgrad: true, .. }, "vhat") => Some(2),
        (Kind::RmsProp { .. }, "velocity" | "rms") => Some(0),
        (Kind::RmsProp { momentum, .. }, "momentum") if *momentum > 0.0 => Some(1),
        (
            Kind::RmsProp {
                momentum,
                centered: true,
                ..
            },
            "average_gradient" | "mg",
        ) => Some(1 + (*momentum > 0.0) as usize),
        (Kind::Adagrad { .. }, "accumulator") => Some(0),
        (Kind::Adadelta { .. }, "accumulated_grad" | "accum_grad") => Some(0),
        (Kind::Adadelta { .. }, "accumulated_delta_var" | "accum_var") => Some(1),
        (Kind::Adamax { .. }, "m") => Some(0),
        (Kind::Adamax { .. }, "u" | "v") => Some(1),
        _ => None,
    }
}

/// Sets the optimizer's state from a Keras 2 file's `optimizer_weights`, matched by name:
/// the step count (`iteration`, or `<Optimizer>/iter` for the legacy optimizers) and each
/// slot variable, named `<Optimizer>/<slot>/<variable>` (Keras 2.11+) or
/// `<Optimizer>/<variable>/<slot>` (legacy), where `<variable>` is the parameter's name in
/// `model_weights` (`trainable` lists them in the optimizer's order). Keras 2 keeps the
/// learning rate in the config only. Every slot of every parameter must be there exactly
/// once, or none (an optimizer saved before its first step); anything else is an error.
fn load_keras2_optimizer_state(
    opt: &mut Optimizer,
    shapes: &[Vec<usize>],
    trainable: &[String],
    names: &[String],
    file: &str,
    read: impl Fn(&str, Option<&[usize]>) -> Result<Var>,
) -> Result<()> {
    let bare = |n: &str| n.strip_suffix(":0").unwrap_or(n).to_string();
    let (first, rest) = names.split_first().expect("not empty");
    let head = bare(first);
    if head != "iteration" && !head.ends_with("/iter") {
        return Err(ferr(
            file,
            format!("Keras 2 optimizer state: the first variable '{first}' is not the step count"),
        ));
    }
    if matches!(opt.kind, Kind::Nadam { .. }) {
        return Err(ferr(
            file,
            "Keras 2's Nadam state (its momentum cache) is not supported; Keras 3's is",
        ));
    }
    let k = opt.slots_per_variable();
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; shapes.len() * k];
    for name in rest {
        let n = bare(name);
        // `Adam/m/dense/kernel` (2.11+) or `Adam/dense/kernel/m` (legacy).
        let after_opt = n.split_once('/').map_or("", |(_, r)| r);
        let newer = after_opt
            .split_once('/')
            .and_then(|(slot, var)| Some((slot, trainable.iter().position(|t| t == var)?)));
        let legacy = after_opt
            .rsplit_once('/')
            .and_then(|(var, slot)| Some((slot, trainable.iter().position(|t| t == var)?)));
        let Some((slot, i)) = newer.or(legacy) else {
            return Err(ferr(
                file,
                format!(
                    "Keras 2 optimizer variable '{name}' names no trainable variable of the model"
                ),
            ));
        };
        let Some(j) = keras2_slot(&opt.kind, slot) else {
            return Err(ferr(
                file,
                format!(
                    "Keras 2 optimizer variable '{name}': slot '{slot}' is not one of kerust's {} slots with this config",
                    opt.class_name()
                ),
            ));
        };
        if slots[i * k + j].is_some() {
            return Err(ferr(
                file,
                format!("Keras 2 optimizer variable '{name}' appears twice"),
            ));
        }
        match read(name, Some(&shapes[i]))?.data {
            VarData::F32(d) => slots[i * k + j] = Some(d),
            VarData::Int(_) => unreachable!("float expected"),
        }
    }
    let filled = slots.iter().filter(|s| s.is_some()).count();
    if filled != 0 && filled != slots.len() {
        return Err(ferr(
            file,
            format!(
                "Keras 2 optimizer state holds {filled} of the {} slot variables kerust's {} needs for this model",
                slots.len(),
                opt.class_name()
            ),
        ));
    }
    let VarData::Int(iterations) = read(first, None)?.data else {
        unreachable!("read_var returns an integer for no shape")
    };
    opt.set_iterations(iterations as u64);
    opt.set_slots(slots.into_iter().flatten().collect());
    Ok(())
}
