//! Signed receipts: `.ggen/receipt.dsse.json` is a DSSE envelope (the
//! in-toto attestation envelope) whose payload is the receipt's exact bytes,
//! with one signature over the pre-authentication encoding
//! `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
//! This module builds, reads and checks envelopes, and decides what a sync
//! does with the one on disk.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::{Deserialize, Serialize};

use crate::keys::{PublicKey, SigningKey};

/// The payload type of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The envelope as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Json {
    /// The payload, base64.
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<JsonSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JsonSignature {
    /// Optional in DSSE; ggen always writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keyid: Option<String>,
    /// The signature, base64.
    sig: String,
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload's bytes.
    pub payload: Vec<u8>,
    /// `payloadType`.
    pub payload_type: String,
    /// Each signature: its key id (when given) and bytes.
    pub signatures: Vec<(Option<String>, Vec<u8>)>,
}

/// The DSSE pre-authentication encoding of a payload and its type.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The envelope of `receipt` signed by `key`, as ggen writes it: pretty JSON
/// (`payload`, `payloadType`, `signatures` with `keyid` and `sig`, standard
/// base64 with padding) and a final newline.
pub fn sign(receipt: &[u8], key: &SigningKey) -> Vec<u8> {
    let envelope = Envelope {
        payload: receipt.to_vec(),
        payload_type: PAYLOAD_TYPE.to_string(),
        signatures: vec![(
            Some(key.public().keyid().to_string()),
            key.sign(&pae(PAYLOAD_TYPE, receipt)),
        )],
    };
    envelope.to_bytes()
}

impl Envelope {
    /// Reads envelope JSON. Base64 may be standard or URL-safe, padded or
    /// not, as DSSE asks verifiers to accept.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, String> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let payload = decode(&json.payload).map_err(|e| format!("payload: {e}"))?;
        let signatures = json
            .signatures
            .into_iter()
            .map(|s| Ok((s.keyid, decode(&s.sig).map_err(|e| format!("sig: {e}"))?)))
            .collect::<Result<Vec<_>, String>>()?;
        if signatures.is_empty() {
            return Err("it holds no signature".into());
        }
        Ok(Envelope {
            payload,
            payload_type: json.payload_type,
            signatures,
        })
    }

    /// The envelope as ggen writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let json = Json {
            payload: STANDARD.encode(&self.payload),
            payload_type: self.payload_type.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|(keyid, sig)| JsonSignature {
                    keyid: keyid.clone(),
                    sig: STANDARD.encode(sig),
                })
                .collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&json).expect("an envelope always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// What keeps the envelope from being `key`'s signature of `receipt`;
    /// empty when it is. A signature is `key`'s when its key id is `key`'s
    /// id or absent (DSSE makes the key id optional).
    pub fn failures(&self, key: &PublicKey, receipt: &[u8]) -> Vec<Failure> {
        let mut failures = Vec::new();
        if self.payload_type != PAYLOAD_TYPE {
            failures.push(Failure::WrongPayloadType(self.payload_type.clone()));
        }
        let candidates: Vec<&[u8]> = self
            .signatures
            .iter()
            .filter(|(id, _)| {
                id.as_deref()
                    .is_none_or(|id| id.is_empty() || id == key.keyid())
            })
            .map(|(_, sig)| sig.as_slice())
            .collect();
        if candidates.is_empty() {
            let found = self
                .signatures
                .iter()
                .filter_map(|(id, _)| id.clone())
                .collect();
            failures.push(Failure::WrongKeyId(found));
        } else {
            let message = pae(&self.payload_type, &self.payload);
            if !candidates.iter().any(|sig| key.verifies(&message, sig)) {
                failures.push(Failure::BadSignature);
            }
        }
        if self.payload != receipt {
            failures.push(Failure::PayloadDiffers);
        }
        failures
    }
}

fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&alphabet::STANDARD, config)
        .decode(text)
        .or_else(|_| GeneralPurpose::new(&alphabet::URL_SAFE, config).decode(text))
}

/// Why an envelope is not the given key's signature of the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// There is no envelope file.
    NoEnvelope,
    /// The file is not a DSSE envelope (the reason).
    Malformed(String),
    /// `payloadType` is not an in-toto Statement's (the type found).
    WrongPayloadType(String),
    /// No signature names the key (the key ids found).
    WrongKeyId(Vec<String>),
    /// A signature names the key but does not verify.
    BadSignature,
    /// The signed payload is not the receipt on disk.
    PayloadDiffers,
}

impl Failure {
    /// The failure's name, as `verify` prints it before the envelope's path.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::NoEnvelope => "no envelope",
            Failure::Malformed(_) => "malformed envelope",
            Failure::WrongPayloadType(_) => "wrong payload type",
            Failure::WrongKeyId(_) => "wrong key id",
            Failure::BadSignature => "bad signature",
            Failure::PayloadDiffers => "payload differs from receipt",
        }
    }

    /// What else there is to say, if anything.
    pub fn detail(&self, key: &PublicKey) -> Option<String> {
        match self {
            Failure::Malformed(why) => Some(why.clone()),
            Failure::WrongPayloadType(found) => {
                Some(format!("`{found}`, expected `{PAYLOAD_TYPE}`"))
            }
            Failure::WrongKeyId(found) => Some(format!(
                "signed by {}, not by {}",
                if found.is_empty() {
                    "keys without an id".to_string()
                } else {
                    found.join(", ")
                },
                key.keyid()
            )),
            Failure::NoEnvelope | Failure::BadSignature | Failure::PayloadDiffers => None,
        }
    }
}

/// The envelope a sync leaves beside the receipt it writes (`None`: no
/// envelope). With a key, the envelope on disk stays when it already is the
/// key's signature of `receipt` in ggen's own layout (so a randomized ECDSA
/// signature is not made anew at every sync); otherwise the receipt is
/// signed afresh. Without a key, the envelope on disk stays while its
/// payload is still `receipt`, and is removed once it signs an older one.
pub fn next(receipt: &[u8], old: Option<&[u8]>, key: Option<&SigningKey>) -> Option<Vec<u8>> {
    let parsed = old.and_then(|bytes| Envelope::parse(bytes).ok());
    match key {
        Some(key) => {
            let current = parsed.is_some_and(|e| {
                e.signatures.len() == 1
                    && e.failures(key.public(), receipt).is_empty()
                    && old == Some(e.to_bytes().as_slice())
            });
            if current {
                old.map(<[u8]>::to_vec)
            } else {
                Some(sign(receipt, key))
            }
        }
        None => parsed
            .filter(|e| e.payload == receipt)
            .and(old.map(<[u8]>::to_vec)),
    }
}

#[cfg(test)]
mod tests;
