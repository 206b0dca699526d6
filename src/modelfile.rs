//! The model file format: a versioned, documented container for a trained network.
//!
//! Layout (version 2):
//! ```text
//! bytes 0..8   magic  b"MOTRSRNN"
//! bytes 8..12  format version, u32 little-endian
//! bytes 12..16 CRC-32 (IEEE, as zlib.crc32 computes it) of bytes 16.., u32 little-endian
//! bytes 16..   MessagePack (named fields) of SavedModel:
//!              { format_version, crate_version, spec: NetworkSpec, params: ParamSet<f32>,
//!                masks: [ndarray | null], metadata: string (JSON written by the Python layer),
//!                optimizer: OptimizerState | null (the optimiser's moments and step count) }
//! ```
//! Version 1 is the same without the checksum (the MessagePack starts at byte 12); it is still
//! read. Readers refuse files with another magic, files of a newer format version (naming both)
//! and version-2 files whose checksum does not match their bytes.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::optim::{Optimizer, OptimizerState};
use crate::params::ParamSet;
use crate::real::Real;
use crate::topology::NetworkSpec;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"MOTRSRNN";
/// The version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;
/// The first version whose header holds a CRC-32 of the payload.
const FIRST_CHECKSUMMED_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct SavedModel {
    format_version: u32,
    crate_version: String,
    spec: NetworkSpec,
    params: ParamSet<f32>,
    masks: Vec<Option<Array2<f32>>>,
    metadata: String,
    /// Added within version 2 (nineteenth session): absent in older files and in files saved
    /// without it, which then carry no such key at all (their bytes are as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    optimizer: Option<OptimizerState>,
}

/// Serialises a model (parameters stored as f32), the state of the optimiser that trained it (if
/// given) and a metadata string.
pub fn to_bytes<T: Real>(model: &Model<T>, optimizer: Option<&Optimizer<T>>, metadata: &str) -> Result<Vec<u8>> {
    if model.spec.surrogate.smooth {
        return Err(Error::FileFormat(
            "a network in the test-only smooth mode (surrogate.smooth) cannot be saved: readers refuse it".into(),
        ));
    }
    let saved = SavedModel {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        spec: model.spec.clone(),
        params: model.params.cast(),
        masks: model.masks.iter().map(|m| m.as_ref().map(|m| m.mapv(|x| x.f64() as f32))).collect(),
        metadata: metadata.to_string(),
        optimizer: optimizer.map(Optimizer::state),
    };
    let mut payload = Vec::new();
    rmp_serde::encode::write_named(&mut payload, &saved)
        .map_err(|e| Error::FileFormat(format!("cannot encode the model: {e}")))?;
    let mut out = Vec::with_capacity(16 + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The MessagePack payload of a file of format `version`, after checking its CRC-32 (version 2
/// on). A file changed after it was written (a bit flip, a cut copy, bytes appended) fails here,
/// before anything is decoded.
fn payload(bytes: &[u8], version: u32) -> Result<&[u8]> {
    if version < FIRST_CHECKSUMMED_VERSION {
        return Ok(&bytes[12..]);
    }
    if bytes.len() < 16 {
        return Err(Error::FileFormat(format!(
            "corrupt model file (format version {version}): {} bytes, shorter than the 16-byte header",
            bytes.len()
        )));
    }
    let stored = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let computed = crc32fast::hash(&bytes[16..]);
    if stored != computed {
        return Err(Error::FileFormat(format!(
            "corrupt model file (format version {version}): its checksum does not match its contents \
             (stored CRC-32 {stored:#010x}, computed {computed:#010x} over {} bytes); the file was changed \
             after it was written (damaged on disk or in transfer, cut short, or appended to)",
            bytes.len() - 16
        )));
    }
    Ok(&bytes[16..])
}

/// A model, the optimiser state stored with it (if any) and the metadata string.
pub type Loaded<T> = (Model<T>, Option<Optimizer<T>>, String);

/// Reads what [`to_bytes`] wrote.
pub fn from_bytes<T: Real>(bytes: &[u8]) -> Result<Loaded<T>> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(Error::FileFormat("not a motorsrnn model file (the magic bytes 'MOTRSRNN' are missing)".into()));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version == 0 || version > FORMAT_VERSION {
        return Err(Error::FileFormat(format!(
            "file format version {version} is not supported by this motorsrnn ({}), which reads versions 1 to {FORMAT_VERSION}",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let mut rest = payload(bytes, version)?; // reading advances it: what is left after the model is extra bytes
    let saved: SavedModel = rmp_serde::decode::from_read(&mut rest).map_err(|e| {
        let e = e.to_string();
        // the checksum matched: a value this build cannot name comes from a newer build (an option
        // added since, such as a new surrogate), not from damage
        if version >= FIRST_CHECKSUMMED_VERSION && e.contains("unknown variant") {
            Error::FileFormat(format!(
                "model file (format version {version}) holds a value this motorsrnn ({}) does not know: {e}. Its \
                 checksum matches, so it is not damaged: it was probably written by a newer motorsrnn, with an option \
                 this one lacks; load it with that version",
                env!("CARGO_PKG_VERSION")
            ))
        } else {
            Error::FileFormat(format!("corrupt model file (format version {version}): {e}"))
        }
    })?;
    if saved.format_version != version {
        return Err(Error::FileFormat(format!(
            "corrupt model file (format version {version}): the header says version {version}, the model \
             inside says {}",
            saved.format_version
        )));
    }
    if !rest.is_empty() {
        return Err(Error::FileFormat(format!(
            "corrupt model file (format version {version}): {} bytes after the end of the model (a file \
             appended to, or two files joined)",
            rest.len()
        )));
    }
    if !saved.params.is_finite() {
        return Err(Error::FileFormat(format!("corrupt model file (format version {version}): non-finite parameters")));
    }
    let masks = saved.masks.into_iter().map(|m| m.map(|m| m.mapv(|x| T::c(x as f64)))).collect();
    let corrupt = |e: Error| {
        let why = match e {
            Error::FileFormat(m) | Error::InvalidInput(m) | Error::InvalidTopology(m) => m,
            other => other.to_string(),
        };
        Error::FileFormat(format!("corrupt model file (format version {version}): {why}"))
    };
    let model = Model::from_parts(saved.spec, saved.params.cast(), masks).map_err(corrupt)?;
    let optimizer = saved.optimizer.map(|s| Optimizer::from_state(&model.topo, s)).transpose().map_err(corrupt)?;
    Ok((model, optimizer, saved.metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model<f32> {
        let mut spec = NetworkSpec::srnn(4, 6, 3);
        spec.projections[1].density = Some(0.5);
        Model::<f32>::new(spec, 5).unwrap()
    }

    /// What the writer of `format_version` stores for `m` (with `optimizer`).
    fn saved_of(m: &Model<f32>, format_version: u32, metadata: &str, optimizer: Option<OptimizerState>) -> SavedModel {
        SavedModel {
            format_version,
            crate_version: "0.1.0".into(),
            spec: m.spec.clone(),
            params: m.params.clone(),
            masks: m.masks.clone(),
            metadata: metadata.into(),
            optimizer,
        }
    }

    /// The layout of format version 1 (no checksum), as the builds before version 2 wrote it.
    fn to_bytes_v1(m: &Model<f32>, metadata: &str) -> Vec<u8> {
        let saved = saved_of(m, 1, metadata, None);
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        rmp_serde::encode::write_named(&mut out, &saved).unwrap();
        out
    }

    fn error(bytes: &[u8]) -> String {
        from_bytes::<f32>(bytes).expect_err("the bytes were accepted").to_string()
    }

    #[test]
    fn round_trip_and_errors() {
        let m = model();
        let bytes = to_bytes(&m, None, "{\"a\": 1}").unwrap();
        assert_eq!(&bytes[8..12], &FORMAT_VERSION.to_le_bytes());
        let (back, opt, meta) = from_bytes::<f32>(&bytes).unwrap();
        assert!(opt.is_none());
        assert_eq!(back.params, m.params);
        assert_eq!(back.masks, m.masks);
        assert_eq!(back.spec, m.spec);
        assert_eq!(meta, "{\"a\": 1}");
        let e = error(b"hello world, not a model");
        assert!(e.contains("not a motorsrnn model file"), "{e}");
        let mut newer = bytes.clone();
        newer[8] = 9;
        let e = error(&newer);
        assert!(e.contains("version 9"), "{e}");
        let e = error(&bytes[..14]);
        assert!(e.contains("shorter than the 16-byte header"), "{e}");
    }

    /// A model with an optimiser that took two Adam steps (moments not zero).
    fn trained() -> (Model<f32>, Optimizer<f32>) {
        let mut m = model();
        let mut opt = Optimizer::new(&m.topo, crate::optim::OptimizerKind::Adam, 0.01, 0.0, None);
        for step in 0..2 {
            let mut g = ParamSet::<f32>::zeros(&m.topo);
            for s in g.slices_mut() {
                s.iter_mut().enumerate().for_each(|(i, x)| *x = (i + step) as f32 * 0.1 - 0.2);
            }
            opt.step(&mut m.params, &mut g, &m.masks);
        }
        (m, opt)
    }

    /// The payload and header of a version-2 file around `saved`.
    fn file_of(saved: &SavedModel) -> Vec<u8> {
        let mut payload = Vec::new();
        rmp_serde::encode::write_named(&mut payload, saved).unwrap();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    #[test]
    fn optimiser_state_round_trips_and_is_optional() {
        let (m, opt) = trained();
        let bytes = to_bytes(&m, Some(&opt), "{}").unwrap();
        let (back, back_opt, _) = from_bytes::<f32>(&bytes).unwrap();
        assert_eq!(back.params, m.params);
        let state = back_opt.expect("the state was stored").state();
        assert_eq!(state, opt.state());
        assert_eq!(state.step, 2);
        assert!(state.v.slices().iter().any(|s| s.iter().any(|&x| x > 0.0)), "the moments are not trivial");
        // Without the state, the file is as before the field existed: no `optimizer` key at all.
        let plain = to_bytes(&m, None, "{}").unwrap();
        assert!(plain.len() < bytes.len());
        assert!(!plain.windows(9).any(|w| w == b"optimizer"), "an absent state writes no key");
        // A reader from before the field (its struct has no `optimizer`) reads the new file:
        // serde ignores the unknown key.
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Before {
            format_version: u32,
            crate_version: String,
            spec: NetworkSpec,
            params: ParamSet<f32>,
            masks: Vec<Option<Array2<f32>>>,
            metadata: String,
        }
        let old: Before = rmp_serde::from_slice(&bytes[16..]).unwrap();
        assert_eq!(old.params, m.params);
    }

    #[test]
    fn optimiser_states_that_do_not_fit_are_refused() {
        let (m, opt) = trained();
        let saved = |state: OptimizerState| saved_of(&m, 2, "{}", Some(state));
        let other = Model::<f32>::new(NetworkSpec::srnn(4, 7, 3), 1).unwrap();
        let foreign = Optimizer::<f32>::new(&other.topo, crate::optim::OptimizerKind::Adam, 0.01, 0.0, None).state();
        let mut nan = opt.state();
        nan.m.b_out[0] = f32::NAN;
        let mut negative = opt.state();
        negative.v.w[0][[0, 0]] = -1.0;
        let mut unstepped = opt.state();
        unstepped.step = 0;
        let mut sgd = opt.state();
        sgd.kind = crate::optim::OptimizerKind::Sgd;
        let mut endless = opt.state();
        endless.step = u64::MAX; // 2^64 - 1: one more step would wrap to 0, and Adam's correction divide by 0
        for (state, why) in [
            (foreign, "its moments do not match the network's parameters"),
            (nan, "non-finite moments"),
            (negative, "negative second moments"),
            (unstepped, "moments without any step taken"),
            (sgd, "SGD keeps no second moments"),
            (endless, "18446744073709551615 steps, more than any training takes"),
        ] {
            let e = error(&file_of(&saved(state)));
            assert!(e.contains("corrupt model file (format version 2): optimiser state: "), "{e}");
            assert!(e.contains(why), "{e}");
        }
        // the same writer with a fitting state loads
        assert!(from_bytes::<f32>(&file_of(&saved(opt.state()))).unwrap().1.is_some());
    }

    /// The smooth forward pass (`surrogate.smooth`) is for the gradient checks, set in Rust: a
    /// file that sets it is refused (it loaded, and its network did not spike as the model says),
    /// and the writer does not write one.
    #[test]
    fn the_test_only_smooth_surrogate_is_refused() {
        let mut m = model();
        m.spec.surrogate.smooth = true;
        let e = to_bytes(&m, None, "{}").unwrap_err().to_string();
        assert!(e.contains("test-only smooth mode (surrogate.smooth) cannot be saved"), "{e}");
        let saved = saved_of(&m, 2, "{}", None);
        let e = error(&file_of(&saved));
        assert!(e.contains("corrupt model file (format version 2)"), "{e}");
        assert!(e.contains("surrogate.smooth = true is a test-only forward pass"), "{e}");
        // the same file with smooth = false (the key is always written) loads
        let saved = SavedModel { spec: model().spec, ..saved };
        assert!(from_bytes::<f32>(&file_of(&saved)).is_ok());
        let json = serde_json::to_string(&m.spec).unwrap();
        let e = serde_json::from_str::<NetworkSpec>(&json).unwrap_err().to_string();
        assert!(e.contains("surrogate.smooth = true is a test-only forward pass"), "{e}");
    }

    /// A value added to an enumerated field since (a new surrogate) does not change the format
    /// version: an older reader names the value and the likely cause, not "corrupt".
    #[test]
    fn a_value_from_a_newer_build_is_named_not_called_corrupt() {
        let saved = saved_of(&model(), 2, "{}", None);
        let mut payload = Vec::new();
        rmp_serde::encode::write_named(&mut payload, &saved).unwrap();
        let at = payload.windows(12).position(|w| w == b"fast_sigmoid").expect("the surrogate's name");
        payload[at..at + 12].copy_from_slice(b"gaussian_new");
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&2u32.to_le_bytes());
        file.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        file.extend_from_slice(&payload);
        let e = error(&file);
        assert!(e.contains("holds a value this motorsrnn"), "{e}");
        assert!(e.contains("unknown variant `gaussian_new`"), "{e}");
        assert!(e.contains("written by a newer motorsrnn") && !e.contains("corrupt"), "{e}");
    }

    #[test]
    fn checksum_catches_every_change_after_writing() {
        let bytes = to_bytes(&model(), None, "{}").unwrap();
        let mut damaged = vec![bytes[..bytes.len() / 2].to_vec()]; // cut short
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"extra");
        damaged.push(longer);
        // one bit flipped, anywhere after the version: the checksum, the spec, a weight, the metadata
        for pos in [12, 15, 16, 40, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[pos] ^= 0x10;
            damaged.push(flipped);
        }
        for bad in &damaged {
            let e = error(bad);
            assert!(e.contains("corrupt model file (format version 2)"), "{e}");
            assert!(e.contains("checksum does not match"), "{e}");
        }
        // (that a version-1 file with a flipped weight bit loads silently is shown in Python:
        // tests/test_model_file_compat.py)
    }

    #[test]
    fn version_1_files_still_load() {
        let m = model();
        let v1 = to_bytes_v1(&m, "{\"b\": 2}");
        let (back, _, meta) = from_bytes::<f32>(&v1).unwrap();
        assert_eq!(
            (back.params, back.masks, back.spec, meta.as_str()),
            (m.params.clone(), m.masks.clone(), m.spec.clone(), "{\"b\": 2}")
        );
        let e = error(&v1[..v1.len() / 2]);
        assert!(e.contains("corrupt model file (format version 1)"), "{e}");
        let mut longer = v1.clone();
        longer.extend_from_slice(b"extra");
        let e = error(&longer);
        assert!(e.contains("5 bytes after the end of the model"), "{e}");
        // a version-1 payload behind a version-2 header (or the reverse) is refused
        let mut relabelled = v1.clone();
        relabelled[8] = 2;
        assert!(error(&relabelled).contains("checksum does not match"));
    }

    #[test]
    fn header_and_payload_versions_must_agree() {
        let v1 = to_bytes_v1(&model(), "{}");
        let payload = &v1[12..];
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        bytes.extend_from_slice(payload);
        let e = error(&bytes);
        assert!(e.contains("the header says version 2, the model inside says 1"), "{e}");
    }
}
