//! Hostile model files (zip and deflate bombs, members whose sizes lie, configs declaring
//! absurd sizes or flooding the JSON reader, HDF5 dataspaces declaring absurd shapes) are
//! refused with an error, and loading them allocates at most a small multiple of the file's
//! size: measured with a peak-bytes allocator.

#[path = "common/peak_alloc.rs"]
mod peak_alloc;

use kerust::saving::{load_model_from_bytes, model_from_json};
use peak_alloc::{peak_bytes, Peak};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;

#[global_allocator]
static ALLOC: Peak = Peak;

const MIB: usize = 1 << 20;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/keras_files")
            .join(name),
    )
    .unwrap()
}

fn member(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    z.by_name(name).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// One member of a hand-made zip: its name, method (0 stored, 8 deflated), CRC-32,
/// declared (inflated) size and stored bytes.
struct Raw<'a> {
    name: &'a str,
    method: u16,
    crc: u32,
    size: u32,
    data: &'a [u8],
}

/// A zip archive written byte by byte, so that the sizes and data can lie.
fn zip_raw(members: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let fields = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(20u16.to_le_bytes()); // made by
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(m.method.to_le_bytes());
            h.extend([0u8; 4]); // time, date
            h.extend(m.crc.to_le_bytes());
            h.extend((m.data.len() as u32).to_le_bytes());
            h.extend(m.size.to_le_bytes());
            h.extend((m.name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment len, disk, internal attrs
                h.extend(0u32.to_le_bytes()); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(m.name.as_bytes());
            h
        };
        out.extend(fields(0x0403_4b50, false));
        out.extend(m.data);
        central.extend(fields(0x0201_4b50, true));
    }
    let start = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn stored<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name,
        method: 0,
        crc: crc(data),
        size: data.len() as u32,
        data,
    }
}

fn crc(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// A raw deflate stream of `mib` MiB of zeros, and its CRC-32, made without compressing
/// them all: a block of 1 MiB of zeros (after a first one, in a window of zeros) is the
/// same bytes every time, so the stream is one first block, the same block repeated, and
/// an empty final block. About 1 KiB per MiB (deflate's limit is 1032:1).
fn deflated_zeros(mib: usize) -> (Vec<u8>, u32) {
    let zeros = vec![0u8; MIB];
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut at = 0;
    for _ in 0..3 {
        enc.write_all(&zeros).unwrap();
        enc.flush().unwrap(); // a sync flush: the block ends on a byte boundary
        let so_far = enc.get_ref().len();
        blocks.push(enc.get_ref()[at..so_far].to_vec());
        at = so_far;
    }
    assert_eq!(blocks[1], blocks[2], "the repeated block is not stable");
    let tail = enc.finish().unwrap()[at..].to_vec();
    let mut stream = blocks[0].clone();
    for _ in 1..mib {
        stream.extend(&blocks[1]);
    }
    stream.extend(tail);
    let mut c = flate2::Crc::new();
    for _ in 0..mib {
        c.update(&zeros);
    }
    (stream, c.sum())
}

/// The seed-003 fixture's members, with `config.json` edited by `edit`.
fn seed003_members(edit: impl Fn(&mut Value)) -> (Vec<u8>, Vec<u8>) {
    let keras = fixture("seed003.keras");
    let mut cfg: Value = serde_json::from_slice(&member(&keras, "config.json")).unwrap();
    edit(&mut cfg);
    (
        member(&keras, "metadata.json"),
        cfg.to_string().into_bytes(),
    )
}

/// Loads `bytes`, which must be refused with an error naming the file and containing
/// `word`; returns the peak of bytes allocated while loading.
fn refused(bytes: &[u8], word: &str) -> usize {
    let (r, peak) = peak_bytes(|| load_model_from_bytes(bytes, "hostile.keras").map(|_| ()));
    let e = r.expect_err("a hostile file loaded").to_string();
    assert!(
        e.contains("hostile.keras") && e.contains(word),
        "{word}: {e}"
    );
    peak
}

/// The bound asserted: a small multiple of the file's size, plus what reading any model
/// file takes (the zip's directory, the parsed config, HDF5's metadata).
fn bound(file: usize) -> usize {
    4 * file + 2 * MIB
}

#[test]
fn a_deflate_bomb_in_the_weights_member_is_refused_before_inflating() {
    // model.weights.h5: 2 GiB of zeros in 2 MiB of deflate, its sizes honest.
    const GIB2: usize = 2048;
    let (bomb, bomb_crc) = deflated_zeros(GIB2);
    assert!(bomb.len() < 3 * MIB, "{} bytes", bomb.len());
    let weights = |size: u32, crc: u32| Raw {
        name: "model.weights.h5",
        method: 8,
        crc,
        size,
        data: &bomb,
    };
    let mut figures = Vec::new();
    // 1. The seed-003 config: 101,770 parameters cannot need 2 GiB.
    let (meta, cfg) = seed003_members(|_| {});
    let file = zip_raw(&[
        stored("metadata.json", &meta),
        stored("config.json", &cfg),
        weights((GIB2 * MIB) as u32, bomb_crc),
    ]);
    let peak = refused(&file, "need at most");
    figures.push(("bomb, small config", file.len(), peak));
    // 2. A config declaring a model that would fill 2 GiB (Dense 128 -> 240,000 units):
    //    refused as a bomb (16x), before any layer is built.
    let (meta, cfg) = seed003_members(|c| {
        c["config"]["layers"][2]["config"]["units"] = 240_000.into();
        c["config"]["layers"][2]["build_config"] = Value::Null;
        c["config"]["layers"][3]["build_config"] = Value::Null;
    });
    let file = zip_raw(&[
        stored("metadata.json", &meta),
        stored("config.json", &cfg),
        weights((GIB2 * MIB) as u32, bomb_crc),
    ]);
    let peak = refused(&file, "decompression bomb");
    figures.push(("bomb, config sized for it", file.len(), peak));
    // 3. The header lies: it declares the real weights' size; the stream inflates to 2 GiB.
    //    Reading stops one byte past the declared size.
    let real = member(&fixture("seed003.keras"), "model.weights.h5");
    let (meta, cfg) = seed003_members(|_| {});
    let file = zip_raw(&[
        stored("metadata.json", &meta),
        stored("config.json", &cfg),
        weights(real.len() as u32, crc(&real)),
    ]);
    let peak = refused(&file, "declared");
    figures.push(("bomb, size lies", file.len(), peak));
    // 4. config.json: 1 GiB of JSON whitespace after the config (valid JSON), deflated.
    let (ws, ws_crc) = deflated_zeros(1024); // zeros stand in: refused on size alone
    let (meta, _) = seed003_members(|_| {});
    let file = zip_raw(&[
        stored("metadata.json", &meta),
        Raw {
            name: "config.json",
            method: 8,
            crc: ws_crc,
            size: (1024 * MIB) as u32,
            data: &ws,
        },
        stored("model.weights.h5", &real),
    ]);
    let peak = refused(&file, "config.json");
    figures.push(("config.json bomb", file.len(), peak));
    for (what, len, peak) in &figures {
        eprintln!("{what}: file {len} bytes, peak allocation {peak} bytes");
        assert!(
            *peak <= bound(*len),
            "{what}: {peak} bytes allocated for a {len}-byte file"
        );
    }
}

#[test]
fn configs_declaring_absurd_sizes_allocate_nothing_of_that_size() {
    let real = member(&fixture("seed003.keras"), "model.weights.h5");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        // More parameters than the weights member can hold (4 bytes each).
        (
            Box::new(|c| c["config"]["layers"][2]["config"]["units"] = 4096.into()),
            "parameters",
        ),
        (
            Box::new(|c| c["config"]["layers"][2]["config"]["units"] = (1u64 << 40).into()),
            "parameters",
        ),
        (
            Box::new(|c| {
                c["config"]["layers"][0]["config"]["batch_shape"] =
                    serde_json::json!([null, 1u64 << 31, 1u64 << 31])
            }),
            "hostile.keras",
        ),
    ];
    for (edit, word) in cases {
        let (meta, cfg) = seed003_members(edit);
        let file = zip_raw(&[
            stored("metadata.json", &meta),
            stored("config.json", &cfg),
            stored("model.weights.h5", &real),
        ]);
        let peak = refused(&file, word);
        eprintln!(
            "absurd config ({word}): file {} bytes, peak {peak} bytes",
            file.len()
        );
        assert!(
            peak <= bound(file.len()),
            "{peak} bytes for a {}-byte file",
            file.len()
        );
    }
    // model_from_json has no weights to bound its model: 2^28 parameters at most.
    let json = |units: u64| {
        serde_json::json!({"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [null, 1024]}},
            {"class_name": "Dense", "config": {"name": "d", "units": units}}]}})
        .to_string()
    };
    let (r, peak) = peak_bytes(|| model_from_json(&json(1 << 20)).map(|_| ()));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("1074790400 parameters"), "{e}");
    assert!(peak < MIB, "{peak}");
}

#[test]
fn a_json_flood_is_refused_before_parsing() {
    // config.json of 4 MiB whose `layers` list holds two million zeros: the densest JSON
    // values (2 bytes each), 32 bytes each once parsed (64 MiB). Refused on its density.
    let n = 2 << 20;
    let mut cfg = String::from(r#"{"class_name": "Sequential", "config": {"layers": ["#);
    cfg.push_str(&"0,".repeat(n - 1));
    cfg.push_str("0]}}");
    let real = member(&fixture("seed003.keras"), "model.weights.h5");
    let file = zip_raw(&[
        stored("metadata.json", b"{}"),
        stored("config.json", cfg.as_bytes()),
        stored("model.weights.h5", &real),
    ]);
    let peak = refused(&file, "denser than a model config");
    eprintln!("JSON flood: file {} bytes, peak {peak} bytes", file.len());
    assert!(
        peak <= bound(file.len()),
        "{peak} bytes for a {}-byte file",
        file.len()
    );
    // The same through model_from_json; a config of Keras's density parses.
    let (r, peak) = peak_bytes(|| model_from_json(&cfg).map(|_| ()));
    assert!(r.unwrap_err().to_string().contains("denser"));
    assert!(peak < MIB, "{peak}");
    let keras = member(&fixture("activations.keras"), "config.json");
    assert!(model_from_json(std::str::from_utf8(&keras).unwrap()).is_ok());
}

#[test]
fn hdf5_dataspaces_declaring_absurd_shapes_allocate_nothing_of_that_size() {
    // seed003.h5 (legacy) and seed003.keras's weights with every (784, 128) dataspace
    // rewritten to (2^40, 128) or (2^62, 2^62).
    let dims: Vec<u8> = [784u64.to_be_bytes(), 128u64.to_be_bytes()].concat();
    let dims_le: Vec<u8> = [784u64.to_le_bytes(), 128u64.to_le_bytes()].concat();
    for name in ["seed003.h5", "seed003.keras"] {
        let bytes = fixture(name);
        let h5 = if name.ends_with(".keras") {
            member(&bytes, "model.weights.h5")
        } else {
            bytes
        };
        let spots: Vec<usize> = (0..h5.len() - 16)
            .filter(|&i| h5[i..i + 16] == dims_le[..] || h5[i..i + 16] == dims[..])
            .collect();
        assert!(!spots.is_empty(), "{name}: no (784, 128) dataspace");
        for (a, b) in [(1u64 << 40, 128u64), (1 << 62, 1 << 62)] {
            let mut bad = h5.clone();
            for &i in &spots {
                bad[i..i + 8].copy_from_slice(&a.to_le_bytes());
                bad[i + 8..i + 16].copy_from_slice(&b.to_le_bytes());
            }
            let file = if name.ends_with(".keras") {
                let keras = fixture(name);
                zip_raw(&[
                    stored("metadata.json", &member(&keras, "metadata.json")),
                    stored("config.json", &member(&keras, "config.json")),
                    stored("model.weights.h5", &bad),
                ])
            } else {
                bad
            };
            let peak = refused(&file, "");
            eprintln!(
                "{name} with a ({a}, {b}) dataspace: file {} bytes, peak {peak} bytes",
                file.len()
            );
            assert!(
                peak <= bound(file.len()),
                "{peak} bytes for a {}-byte file",
                file.len()
            );
        }
    }
}

#[test]
fn loading_honest_files_stays_within_a_few_times_their_size() {
    // For scale: what loading the real fixtures takes (the model, its optimizer's slots,
    // the weights file's bytes and HDF5's reading buffers).
    for name in [
        "seed003.keras",
        "seed003.h5",
        "activations.keras",
        "layers_rnn_wrappers.keras",
    ] {
        let bytes = fixture(name);
        let (r, peak) = peak_bytes(|| load_model_from_bytes(&bytes, name).map(|_| ()));
        r.unwrap();
        eprintln!("{name}: file {} bytes, peak {peak} bytes", bytes.len());
        assert!(peak <= bound(bytes.len()), "{name}: {peak} bytes");
    }
}
