//! Key files for signed receipts: a private key in PKCS#8 PEM (what
//! `openssl genpkey -algorithm ed25519` writes) signs, a public key in
//! SubjectPublicKeyInfo PEM (`openssl pkey -pubout`) verifies. Ed25519 and
//! ECDSA P-256 with SHA-256 (signatures in ASN.1 DER), both through *ring*.
//!
//! A key's id is the lowercase hex SHA-256 of its public key's DER
//! SubjectPublicKeyInfo: the same for the private key and its public half,
//! computable by any tool that can export the public key
//! (`openssl pkey -pubout -outform DER | sha256sum`).
//!
//! The SubjectPublicKeyInfo of these two kinds of key is one fixed DER
//! prefix followed by the key's bytes, so it is built and recognized by
//! those prefixes here rather than through an ASN.1 crate.

use std::fmt;
use std::path::Path;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use rustls_pki_types::pem::{self, PemObject as _, SectionKind};

use crate::error::io_reason;
use crate::inputs::sha256_hex;

/// `SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (32 bytes) }`.
const ED25519_SPKI_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// `SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID prime256v1 } BIT STRING
/// (an uncompressed point, 65 bytes) }`.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The DER of the rsaEncryption OID, to name an RSA key for what it is.
const RSA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// The signature algorithms ggen signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Ed25519 (deterministic signatures).
    Ed25519,
    /// ECDSA on P-256 with SHA-256, signatures in ASN.1 DER (randomized).
    EcdsaP256,
}

impl Algorithm {
    /// The name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::EcdsaP256 => "ECDSA P-256",
        }
    }
}

/// Why a key file cannot be used; the caller names the file and picks the
/// exit code (a flag's file is a usage error, the manifest's a manifest error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// What is wrong, in plain words.
    pub message: String,
    /// How to get a usable key.
    pub help: String,
}

const MAKE_PRIVATE: &str = "create one with `openssl genpkey -algorithm ed25519 -out KEY.pem`";
const MAKE_PUBLIC: &str =
    "export it from the private key with `openssl pkey -in KEY.pem -pubout -out KEY.pub.pem`";

fn key_error(message: impl Into<String>, help: &str) -> KeyError {
    KeyError {
        message: message.into(),
        help: help.into(),
    }
}

/// A public key: verifies signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    algorithm: Algorithm,
    /// The raw key: 32 bytes (Ed25519) or an uncompressed point (P-256).
    raw: Vec<u8>,
    keyid: String,
}

impl PublicKey {
    fn new(algorithm: Algorithm, raw: &[u8]) -> Self {
        let prefix = match algorithm {
            Algorithm::Ed25519 => ED25519_SPKI_PREFIX,
            Algorithm::EcdsaP256 => P256_SPKI_PREFIX,
        };
        let spki = [prefix, raw].concat();
        PublicKey {
            algorithm,
            raw: raw.to_vec(),
            keyid: sha256_hex(&spki),
        }
    }

    /// Reads a public key from a PEM file (`-----BEGIN PUBLIC KEY-----`).
    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        let sections = read_pem(path, MAKE_PUBLIC)?;
        let spki = match find(&sections, SectionKind::PublicKey) {
            Some(der) => der,
            None if has_private(&sections) => {
                return Err(key_error(
                    "it holds a private key; verifying needs the public key",
                    MAKE_PUBLIC,
                ));
            }
            None => {
                return Err(key_error(
                    "it holds no public key (-----BEGIN PUBLIC KEY-----)",
                    MAKE_PUBLIC,
                ));
            }
        };
        let known = [
            (Algorithm::Ed25519, ED25519_SPKI_PREFIX, 32),
            (Algorithm::EcdsaP256, P256_SPKI_PREFIX, 65),
        ];
        for (algorithm, prefix, len) in known {
            if let Some(raw) = spki.strip_prefix(prefix)
                && raw.len() == len
            {
                return Ok(PublicKey::new(algorithm, raw));
            }
        }
        Err(unsupported(spki, MAKE_PUBLIC))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id: hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Whether `sig` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::Ed25519 => &signature::ED25519,
            Algorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
        };
        signature::UnparsedPublicKey::new(algorithm, &self.raw)
            .verify(message, sig)
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {})", self.algorithm.name(), self.keyid)
    }
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
}

/// A private key: signs. Its material never leaves this type (its `Debug`
/// shows the algorithm and key id only).
pub struct SigningKey {
    pair: Pair,
    public: PublicKey,
}

impl SigningKey {
    /// Reads a private key from a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`).
    pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
        let sections = read_pem(path, MAKE_PRIVATE)?;
        if let Some(der) = find(&sections, SectionKind::PrivateKey) {
            return SigningKey::from_pkcs8(der);
        }
        let (message, help) = if find(&sections, SectionKind::EcPrivateKey).is_some() {
            (
                "it holds an EC key in SEC1 form (-----BEGIN EC PRIVATE KEY-----); ggen reads PKCS#8",
                "convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY.pem -out KEY.p8.pem`",
            )
        } else if find(&sections, SectionKind::RsaPrivateKey).is_some() {
            (
                "it holds an RSA key; ggen signs with Ed25519 or ECDSA P-256 keys",
                MAKE_PRIVATE,
            )
        } else if find(&sections, SectionKind::PublicKey).is_some() {
            (
                "it holds a public key; signing needs the private key",
                MAKE_PRIVATE,
            )
        } else if std::fs::read(path).is_ok_and(|b| contains(&b, b"ENCRYPTED PRIVATE KEY")) {
            (
                "it is encrypted; ggen reads unencrypted keys only",
                "decrypt it with `openssl pkey -in KEY.pem -out PLAIN.pem`, and keep that file private",
            )
        } else {
            (
                "it holds no private key (-----BEGIN PRIVATE KEY-----)",
                MAKE_PRIVATE,
            )
        };
        Err(key_error(message, help))
    }

    /// A key from PKCS#8 DER: Ed25519 (v1, as openssl writes it, or v2) or
    /// ECDSA P-256.
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            let public = PublicKey::new(Algorithm::Ed25519, pair.public_key().as_ref());
            return Ok(SigningKey {
                pair: Pair::Ed25519(pair),
                public,
            });
        }
        let rng = SystemRandom::new();
        let p256 = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(p256, der, &rng) {
            let public = PublicKey::new(Algorithm::EcdsaP256, pair.public_key().as_ref());
            return Ok(SigningKey {
                pair: Pair::EcdsaP256(pair),
                public,
            });
        }
        Err(unsupported(der, MAKE_PRIVATE))
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The signature of `message`: deterministic for Ed25519, randomized
    /// for ECDSA.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.pair {
            Pair::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
            Pair::EcdsaP256(pair) => pair
                .sign(&SystemRandom::new(), message)
                // Fails only when the system has no randomness to give.
                .expect("the system's random number generator works")
                .as_ref()
                .to_vec(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, {})",
            self.public.algorithm.name(),
            self.public.keyid
        )
    }
}

/// Every PEM section of the file that the PEM reader knows.
fn read_pem(path: &Path, help: &str) -> Result<Vec<(SectionKind, Vec<u8>)>, KeyError> {
    let bytes = std::fs::read(path)
        .map_err(|e| key_error(format!("cannot read it: {}", io_reason(&e)), help))?;
    <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let why = match e {
                pem::Error::MissingSectionEnd { end_marker } => {
                    let label = String::from_utf8_lossy(&end_marker);
                    format!("its `-----END {label}-----` line is missing")
                }
                pem::Error::IllegalSectionStart { line } => {
                    format!("`{}` is no PEM header", String::from_utf8_lossy(&line))
                }
                other => other.to_string(),
            };
            key_error(format!("it is not valid PEM: {why}"), help)
        })
}

fn find(sections: &[(SectionKind, Vec<u8>)], kind: SectionKind) -> Option<&[u8]> {
    sections
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, der)| der.as_slice())
}

fn has_private(sections: &[(SectionKind, Vec<u8>)]) -> bool {
    sections.iter().any(|(k, _)| {
        matches!(
            k,
            SectionKind::PrivateKey | SectionKind::EcPrivateKey | SectionKind::RsaPrivateKey
        )
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The error for a well-formed key of another kind.
fn unsupported(der: &[u8], help: &str) -> KeyError {
    let what = if contains(der, RSA_OID) {
        "an RSA key"
    } else {
        "a key of another kind (another curve, or a damaged key)"
    };
    key_error(
        format!("it holds {what}; ggen signs and verifies with Ed25519 or ECDSA P-256 keys"),
        help,
    )
}

#[cfg(test)]
mod tests;
