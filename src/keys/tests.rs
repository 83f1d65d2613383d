//! Key files read, keys identified, messages signed and verified; keys
//! made at test time or published test vectors.

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
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
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
