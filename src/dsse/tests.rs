//! Envelopes built, read and checked, with keys made for each test.

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair};

use super::*;

fn ed25519() -> SigningKey {
    let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    SigningKey::from_pkcs8(der.as_ref()).unwrap()
}

fn p256() -> SigningKey {
    let rng = SystemRandom::new();
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    SigningKey::from_pkcs8(der.as_ref()).unwrap()
}

const RECEIPT: &[u8] = b"{\n  \"_type\": \"https://in-toto.io/Statement/v1\"\n}\n";

#[test]
fn pae_is_the_dsse_specification_s() {
    // The example of the DSSE protocol document.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn a_signed_receipt_verifies_and_nothing_else_does() {
    for key in [ed25519(), p256()] {
        let bytes = sign(RECEIPT, &key);
        let envelope = Envelope::parse(&bytes).unwrap();
        assert_eq!(envelope.payload, RECEIPT);
        assert_eq!(envelope.payload_type, PAYLOAD_TYPE);
        assert_eq!(envelope.to_bytes(), bytes);
        let public = key.public();
        assert_eq!(envelope.failures(public, RECEIPT), vec![]);

        // Another receipt on disk.
        assert_eq!(
            envelope.failures(public, b"{}\n"),
            vec![Failure::PayloadDiffers]
        );
        // The payload changed in the envelope.
        let mut tampered = envelope.clone();
        tampered.payload.push(b' ');
        assert_eq!(
            tampered.failures(public, RECEIPT),
            vec![Failure::BadSignature, Failure::PayloadDiffers]
        );
        // The signature changed.
        let mut tampered = envelope.clone();
        tampered.signatures[0].1[10] ^= 1;
        assert_eq!(
            tampered.failures(public, RECEIPT),
            vec![Failure::BadSignature]
        );
        // The type changed: it is signed too.
        let mut tampered = envelope.clone();
        tampered.payload_type = "application/json".into();
        assert_eq!(
            tampered.failures(public, RECEIPT),
            vec![
                Failure::WrongPayloadType("application/json".into()),
                Failure::BadSignature
            ]
        );
        // Another key.
        let other = ed25519();
        assert_eq!(
            envelope.failures(other.public(), RECEIPT),
            vec![Failure::WrongKeyId(vec![public.keyid().to_string()])]
        );
        // Without a key id, the signature is tried with the key.
        let mut anonymous = envelope.clone();
        anonymous.signatures[0].0 = None;
        assert_eq!(anonymous.failures(public, RECEIPT), vec![]);
        assert_eq!(
            anonymous.failures(other.public(), RECEIPT),
            vec![Failure::BadSignature]
        );
    }
}

#[test]
fn ed25519_envelopes_are_deterministic_and_ecdsa_ones_are_not() {
    let key = ed25519();
    assert_eq!(sign(RECEIPT, &key), sign(RECEIPT, &key));
    let key = p256();
    assert_ne!(sign(RECEIPT, &key), sign(RECEIPT, &key));
}

#[test]
fn envelopes_in_other_layouts_are_read() {
    let key = ed25519();
    let envelope = Envelope::parse(&sign(RECEIPT, &key)).unwrap();
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let compact = serde_json::json!({
        "signatures": [{ "sig": url_safe.encode(&envelope.signatures[0].1), "keyid": key.public().keyid() }],
        "payloadType": PAYLOAD_TYPE,
        "payload": url_safe.encode(RECEIPT),
    });
    let parsed = Envelope::parse(compact.to_string().as_bytes()).unwrap();
    assert_eq!(parsed, envelope);
}

#[test]
fn malformed_envelopes_say_why() {
    let err = |text: &str| Envelope::parse(text.as_bytes()).unwrap_err();
    assert_eq!(err("<not json>"), "expected value at line 1 column 1");
    assert!(err(r#"{"payload": "", "payloadType": "t"}"#).contains("missing field `signatures`"));
    assert_eq!(
        err(r#"{"payload": "", "payloadType": "t", "signatures": []}"#),
        "it holds no signature"
    );
    assert!(
        err(r#"{"payload": "*", "payloadType": "t", "signatures": []}"#).starts_with("payload: ")
    );
}

#[test]
fn a_sync_keeps_a_current_envelope_and_replaces_or_removes_a_stale_one() {
    for key in [ed25519(), p256()] {
        let signed = next(RECEIPT, None, Some(&key)).unwrap();
        assert!(
            Envelope::parse(&signed)
                .unwrap()
                .failures(key.public(), RECEIPT)
                .is_empty()
        );
        // Current: kept as it is (for ECDSA, not signed anew).
        assert_eq!(
            next(RECEIPT, Some(&signed), Some(&key)),
            Some(signed.clone())
        );
        // Without a key: kept while it signs this receipt.
        assert_eq!(next(RECEIPT, Some(&signed), None), Some(signed.clone()));
        // A new receipt: signed afresh, or without a key, the envelope goes.
        let newer = b"{}\n";
        let resigned = next(newer, Some(&signed), Some(&key)).unwrap();
        assert!(
            Envelope::parse(&resigned)
                .unwrap()
                .failures(key.public(), newer)
                .is_empty()
        );
        assert_eq!(next(newer, Some(&signed), None), None);
        // Another key's envelope, or one laid out otherwise, is replaced.
        let other = next(RECEIPT, Some(&signed), Some(&ed25519())).unwrap();
        assert_ne!(other, signed);
        let mut spaced = signed.clone();
        spaced.insert(1, b' ');
        assert_ne!(
            next(RECEIPT, Some(&spaced), Some(&key)),
            Some(spaced.clone())
        );
        // Something that is no envelope goes, without a key.
        assert_eq!(next(RECEIPT, Some(b"junk"), None), None);
    }
    assert_eq!(next(RECEIPT, None, None), None);
}
