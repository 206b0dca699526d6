//! The model file format: a versioned, documented container for a trained network.
//!
//! Layout (version 1):
//! ```text
//! bytes 0..8   magic  b"MOTRSRNN"
//! bytes 8..12  format version, u32 little-endian
//! bytes 12..   MessagePack (named fields) of SavedModel:
//!              { format_version, crate_version, spec: NetworkSpec, params: ParamSet<f32>,
//!                masks: [ndarray | null], metadata: string (JSON written by the Python layer) }
//! ```
//! Readers refuse files with another magic and files of a newer format version, naming both.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::ParamSet;
use crate::real::Real;
use crate::topology::NetworkSpec;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"MOTRSRNN";
/// The version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SavedModel {
    format_version: u32,
    crate_version: String,
    spec: NetworkSpec,
    params: ParamSet<f32>,
    masks: Vec<Option<Array2<f32>>>,
    metadata: String,
}

/// Serialises a model (parameters stored as f32) and a metadata string.
pub fn to_bytes<T: Real>(model: &Model<T>, metadata: &str) -> Result<Vec<u8>> {
    let saved = SavedModel {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        spec: model.spec.clone(),
        params: model.params.cast(),
        masks: model.masks.iter().map(|m| m.as_ref().map(|m| m.mapv(|x| x.f64() as f32))).collect(),
        metadata: metadata.to_string(),
    };
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    rmp_serde::encode::write_named(&mut out, &saved)
        .map_err(|e| Error::FileFormat(format!("cannot encode the model: {e}")))?;
    Ok(out)
}

/// Reads what [`to_bytes`] wrote; returns the model and the metadata string.
pub fn from_bytes<T: Real>(bytes: &[u8]) -> Result<(Model<T>, String)> {
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
    let mut rest = &bytes[12..]; // reading advances it: what is left after the model is extra bytes
    let saved: SavedModel = rmp_serde::decode::from_read(&mut rest)
        .map_err(|e| Error::FileFormat(format!("corrupt model file (format version {version}): {e}")))?;
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
    let model = Model::from_parts(saved.spec, saved.params.cast(), masks).map_err(|e| {
        let why = match e {
            Error::FileFormat(m) | Error::InvalidInput(m) | Error::InvalidTopology(m) => m,
            other => other.to_string(),
        };
        Error::FileFormat(format!("corrupt model file (format version {version}): {why}"))
    })?;
    Ok((model, saved.metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut spec = NetworkSpec::srnn(4, 6, 3);
        spec.projections[1].density = Some(0.5);
        let m = Model::<f32>::new(spec, 5).unwrap();
        let bytes = to_bytes(&m, "{\"a\": 1}").unwrap();
        let (back, meta) = from_bytes::<f32>(&bytes).unwrap();
        assert_eq!(back.params, m.params);
        assert_eq!(back.masks, m.masks);
        assert_eq!(back.spec, m.spec);
        assert_eq!(meta, "{\"a\": 1}");
        let e = from_bytes::<f32>(b"hello world, not a model").unwrap_err().to_string();
        assert!(e.contains("not a motorsrnn model file"), "{e}");
        let mut newer = bytes.clone();
        newer[8] = 9;
        let e = from_bytes::<f32>(&newer).unwrap_err().to_string();
        assert!(e.contains("version 9"), "{e}");
        let e = from_bytes::<f32>(&bytes[..bytes.len() / 2]).unwrap_err().to_string();
        assert!(e.contains("corrupt model file (format version 1)"), "{e}");
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"extra");
        let e = from_bytes::<f32>(&longer).unwrap_err().to_string();
        assert!(e.contains("5 bytes after the end of the model"), "{e}");
    }
}
