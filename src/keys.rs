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
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use ring::rand::SystemRandom;

    use super::*;

    /// RFC 8032, section 7.1, test 1: a published test vector, not a secret.
    const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_EMPTY_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    /// `openssl pkey -pubout -outform DER | sha256sum` of that key.
    const RFC8032_KEYID: &str = "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9";

    fn pem(label: &str, der: &[u8]) -> String {
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn file(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, content.as_bytes()).unwrap();
        f
    }

    /// The PKCS#8 v1 form openssl writes for an Ed25519 seed.
    fn openssl_ed25519(seed: &[u8]) -> Vec<u8> {
        let prefix = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        [&prefix[..], seed].concat()
    }

    #[test]
    fn an_openssl_ed25519_key_signs_as_rfc_8032_says() {
        let der = openssl_ed25519(&hex::decode(RFC8032_SEED).unwrap());
        let private = file(&pem("PRIVATE KEY", &der));
        let key = SigningKey::read(private.path()).unwrap();
        assert_eq!(key.public().algorithm(), Algorithm::Ed25519);
        assert_eq!(key.public().keyid(), RFC8032_KEYID);
        assert_eq!(hex::encode(key.sign(b"")), RFC8032_EMPTY_SIG);

        let spki = [ED25519_SPKI_PREFIX, key.public().raw.as_slice()].concat();
        let public = PublicKey::read(file(&pem("PUBLIC KEY", &spki)).path()).unwrap();
        assert_eq!(&public, key.public());
        let sig = key.sign(b"DSSEv1 1 t 1 b");
        assert!(public.verifies(b"DSSEv1 1 t 1 b", &sig));
        assert!(!public.verifies(b"DSSEv1 1 t 1 c", &sig));
    }

    #[test]
    fn ecdsa_p256_keys_sign_and_verify() {
        let rng = SystemRandom::new();
        let p256 = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let der = EcdsaKeyPair::generate_pkcs8(p256, &rng).unwrap();
        let key = SigningKey::read(file(&pem("PRIVATE KEY", der.as_ref())).path()).unwrap();
        assert_eq!(key.public().algorithm(), Algorithm::EcdsaP256);
        let spki = [P256_SPKI_PREFIX, key.public().raw.as_slice()].concat();
        let public = PublicKey::read(file(&pem("PUBLIC KEY", &spki)).path()).unwrap();
        assert_eq!(public.keyid(), sha256_hex(&spki));
        let sig = key.sign(b"receipt");
        assert!(public.verifies(b"receipt", &sig));
        assert!(!public.verifies(b"receipt!", &sig));
        // An Ed25519 signature is not an ECDSA one, nor the reverse.
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = SigningKey::from_pkcs8(ed.as_ref()).unwrap();
        assert!(!public.verifies(b"receipt", &ed.sign(b"receipt")));
        assert!(!ed.public().verifies(b"receipt", &sig));
    }

    #[test]
    fn each_wrong_file_says_what_it_holds() {
        let rng = SystemRandom::new();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let private = pem("PRIVATE KEY", ed.as_ref());
        let key = SigningKey::from_pkcs8(ed.as_ref()).unwrap();
        let spki = [ED25519_SPKI_PREFIX, key.public().raw.as_slice()].concat();
        let public = pem("PUBLIC KEY", &spki);
        // Told by its PEM label alone.
        let sec1 = pem("EC PRIVATE KEY", ed.as_ref());
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let rsa_public = "-----BEGIN PUBLIC KEY-----\n\
            MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDSAbKckXoQR/l5mkBpH6DcY8Od\n\
            TIyvkiiBMyr1W1D6pQHtXtRZzpLWRh0rk5EBzQ1A2kE7YXWypD/EEQp/ugjmwXoZ\n\
            z8RVvc9Ct23WtGDCUa3Odiiew8u+uqrK56XrP7i2IZXUTaaHxqNZPwkr+/ITLq5b\n\
            HzFfLXK/8mjWIeZEFwIDAQAB\n\
            -----END PUBLIC KEY-----\n";
        let p384_public = "-----BEGIN PUBLIC KEY-----\n\
            MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEL8cjtL0TSS2lNWynIQS0CTL5+dJOL7qG\n\
            V9KbWELzhLeCQiRrxWTOnllUmF3aRnqAiOGIgNf+U/iVXWDj9y+0F8AmHyNjG0Qw\n\
            ZK7eXlO/l84YBtQzuUORzOwtaozfntRO\n\
            -----END PUBLIC KEY-----\n";
        let signing = |text: &str| SigningKey::read(file(text).path()).unwrap_err().message;
        let verifying = |text: &str| PublicKey::read(file(text).path()).unwrap_err().message;
        assert!(signing(&public).contains("holds a public key"));
        assert!(signing(&sec1).contains("SEC1"), "{}", signing(&sec1));
        assert!(signing(encrypted).contains("encrypted"));
        assert!(signing("not a key\n").contains("holds no private key"));
        assert!(signing("-----BEGIN PRIVATE KEY-----\n!!\n").contains("not valid PEM"));
        assert!(verifying(&private).contains("holds a private key"));
        assert!(verifying(rsa_public).contains("an RSA key"));
        assert!(verifying(p384_public).contains("another kind"));
        assert!(verifying("").contains("holds no public key"));
        let missing = PublicKey::read(Path::new("/nonexistent/k.pem")).unwrap_err();
        assert_eq!(missing.message, "cannot read it: no such file or directory");
    }
}
