//! Signed receipts with keys made at test time (no private key is
//! committed): signing, keeping and removing the envelope, a manifest key,
//! syncs killed mid-write, and the envelope checked both ways by an
//! independent DSSE implementation (securesystemslib, through
//! scripts/dsse-check). The failures that a folder can hold are the golden
//! cases verify_signature, sign_key_errors, sign_manifest_key and
//! sync_stale_envelope.

use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

use crate::util::{Project, Tree};

const ENVELOPE: &str = ".ggen/receipt.dsse.json";
const RECEIPT: &str = ".ggen/receipt.json";

/// A key pair written as PEM files: `NAME.pem` (PKCS#8) and `NAME.pub.pem`.
pub(crate) struct Key {
    pub(crate) private: String,
    pub(crate) public: String,
    /// The PKCS#8 DER, to look for in files that must not hold it.
    der: Vec<u8>,
}

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

pub(crate) fn key(dir: &Path, name: &str, ecdsa: bool) -> Key {
    let rng = SystemRandom::new();
    let (der, spki) = if ecdsa {
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der.as_ref(), &rng).unwrap();
        let prefix = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
        let spki = [
            hex::decode(prefix).unwrap(),
            pair.public_key().as_ref().to_vec(),
        ]
        .concat();
        (der.as_ref().to_vec(), spki)
    } else {
        let der = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap();
        let prefix = "302a300506032b6570032100";
        let spki = [
            hex::decode(prefix).unwrap(),
            pair.public_key().as_ref().to_vec(),
        ]
        .concat();
        (der.as_ref().to_vec(), spki)
    };
    std::fs::create_dir_all(dir).unwrap();
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    std::fs::write(&private, pem("PRIVATE KEY", &der)).unwrap();
    std::fs::write(&public, pem("PUBLIC KEY", &spki)).unwrap();
    Key {
        private: private.to_string_lossy().into_owned(),
        public: public.to_string_lossy().into_owned(),
        der,
    }
}

/// A pool more in the specification: the receipt and one output change.
fn change_spec(p: &Project, name: &str) {
    p.append(
        p.spec(),
        &format!("\n<http://example.org/app#{name}> a jobs:WorkerPool ; jobs:poolSize 3 .\n"),
    );
}

fn bytes(p: &Project, rel: &str) -> Vec<u8> {
    std::fs::read(p.path().join(rel)).unwrap()
}

#[test]
fn a_signed_sync_verifies_and_an_unsigned_one_removes_the_stale_envelope() {
    let keys = tempfile::tempdir().unwrap();
    let (k, other) = (
        key(keys.path(), "k", false),
        key(keys.path(), "other", false),
    );
    let p = Project::mini();
    let run = p.ggen(&["sync", "--sign", &k.private]).expect(0);
    assert!(
        run.stdout.contains("\nSigned .ggen/receipt.json with key "),
        "{}",
        run.stdout
    );
    let run = p.ggen(&["verify", "--key", &k.public]).expect(0);
    assert!(
        run.stdout.contains("Verified its signature by key "),
        "{}",
        run.stdout
    );

    // --check with the key, or with none: in sync. With another key: the
    // envelope would be signed anew.
    p.ggen(&["sync", "--check", "--sign", &k.private]).expect(0);
    p.ggen(&["sync", "--check"]).expect(0);
    let run = p
        .ggen(&["sync", "--check", "--sign", &other.private])
        .expect(1);
    assert!(
        run.stdout
            .contains("would update: .ggen/receipt.dsse.json\n"),
        "{}",
        run.stdout
    );
    p.ggen(&["verify", "--key", &other.public]).expect(1);

    // The receipt changes without a key: its old signature goes.
    change_spec(&p, "extraPool");
    let run = p.ggen(&["sync"]).expect(0);
    assert!(
        run.stdout.contains("\nRemoved .ggen/receipt.dsse.json: "),
        "{}",
        run.stdout
    );
    assert!(!p.exists(ENVELOPE));
    let run = p.ggen(&["verify", "--key", &k.public]).expect(1);
    assert!(
        run.stdout
            .starts_with("no envelope: .ggen/receipt.dsse.json\n"),
        "{}",
        run.stdout
    );
    p.ggen(&["verify"]).expect(0);
}

#[test]
fn an_ecdsa_envelope_stays_while_it_signs_the_receipt() {
    let keys = tempfile::tempdir().unwrap();
    let k = key(keys.path(), "ec", true);
    let p = Project::mini();
    p.ggen(&["sync", "--sign", &k.private]).expect(0);
    let first: Tree = p.tree();
    // ECDSA signatures are randomized: a second sync keeps the first one.
    let run = p
        .ggen(&["sync", "--sign", &k.private, "--format", "json"])
        .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["envelope"]["action"], "unchanged");
    assert_eq!(p.tree(), first);
    p.ggen(&["sync", "--check", "--sign", &k.private]).expect(0);
    change_spec(&p, "extraPool");
    p.ggen(&["sync", "--sign", &k.private]).expect(0);
    assert_ne!(bytes(&p, ENVELOPE), first[ENVELOPE].0);
    p.ggen(&["verify", "--key", &k.public]).expect(0);
}

#[test]
fn the_manifest_s_sign_key_signs_every_sync() {
    let p = Project::mini();
    let k = key(&p.path().join("keys"), "ggen", false);
    p.append("ggen.toml", "\n[receipt]\nsign_key = \"keys/ggen.pem\"\n");
    p.ggen(&["sync"]).expect(0);
    p.ggen(&["verify", "--key", &k.public]).expect(0);
    change_spec(&p, "extraPool");
    p.ggen(&["sync"]).expect(0);
    p.ggen(&["verify", "--key", &k.public]).expect(0);
    // The flag's key wins over the manifest's.
    let other = key(&p.path().join("keys"), "other", false);
    p.ggen(&["sync", "--sign", &other.private]).expect(0);
    p.ggen(&["verify", "--key", &other.public]).expect(0);
}

// Two runs compared with each other: a folder holds one run.
#[test]
fn ed25519_gives_the_same_envelope_in_any_folder() {
    let keys = tempfile::tempdir().unwrap();
    let k = key(keys.path(), "k", false);
    let (a, b) = (Project::mini(), Project::mini());
    a.ggen(&["sync", "--sign", &k.private]).expect(0);
    b.ggen(&["sync", "--sign", &k.private]).expect(0);
    assert_eq!(bytes(&a, ENVELOPE), bytes(&b, ENVELOPE));
}

#[test]
fn no_key_material_enters_the_receipt_or_the_audit_log() {
    let keys = tempfile::tempdir().unwrap();
    let k = key(keys.path(), "k", false);
    let p = Project::mini();
    p.ggen(&["sync", "--sign", &k.private, "--audit"]).expect(0);
    let private_pem = std::fs::read_to_string(&k.private).unwrap();
    let public_pem = std::fs::read_to_string(&k.public).unwrap();
    // The Ed25519 seed is the last 32 bytes' run of PKCS#8 v2's private part.
    let seed = &k.der[16..48];
    for rel in [RECEIPT, ".ggen/audit.jsonl"] {
        let text = p.read(rel);
        for (what, secret) in [
            (
                "the private key's PEM",
                private_pem.lines().nth(1).unwrap().to_string(),
            ),
            (
                "the public key's PEM",
                public_pem.lines().nth(1).unwrap().to_string(),
            ),
            ("the seed, hex", hex::encode(seed)),
            ("the seed, base64", STANDARD.encode(seed)),
        ] {
            assert!(!text.contains(&secret), "{rel} holds {what}");
        }
    }
}

/// Syncs killed at moments spread over their run leave each file of the
/// project whole: as the last complete sync left it or as the next one
/// writes it, never a mix within a file. A later sync completes the work
/// and the signature verifies.
#[test]
fn a_killed_signed_sync_leaves_no_file_half_written() {
    let keys = tempfile::tempdir().unwrap();
    let k = key(keys.path(), "k", false);
    // The two states the project alternates between, made by whole syncs.
    let states: Vec<Tree> = (0..2)
        .map(|i| {
            let twin = Project::mini();
            if i == 1 {
                change_spec(&twin, "extraPool");
            }
            twin.ggen(&["sync", "--sign", &k.private]).expect(0);
            twin.tree()
        })
        .collect();
    let p = Project::mini();
    let spec = p.read(p.spec());
    p.ggen(&["sync", "--sign", &k.private]).expect(0);
    let mut killed_mid_way = 0;
    for round in 0..24u64 {
        let next = usize::from(round % 2 == 0);
        if next == 1 {
            change_spec(&p, "extraPool");
        } else {
            p.write(p.spec(), &spec);
        }
        let mut child = Command::new(crate::util::binary())
            .args(["sync", "--sign", &k.private])
            .current_dir(p.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(round * 5));
        let _ = child.kill();
        child.wait().unwrap();
        // A kill between the lock's creation and the writing of its pid
        // leaves it empty, which the next sync takes for a live holder (a
        // gap of the lock, not of signing): clear it as a person would.
        if p.exists(".ggen/lock") && p.read(".ggen/lock").is_empty() {
            std::fs::remove_file(p.path().join(".ggen/lock")).unwrap();
        }
        let tree = p.tree();
        for (rel, (content, _)) in &tree {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            if name.starts_with(".ggen-tmp-") || rel == ".ggen/lock" {
                continue; // a killed sync's staging and lock
            }
            let known = states
                .iter()
                .any(|s| s.get(rel).is_some_and(|(b, _)| b == content));
            let input = !states[0].contains_key(rel) && !states[1].contains_key(rel);
            assert!(
                known || input || rel == p.spec(),
                "round {round}: {rel} is half-written"
            );
        }
        if tree.get(RECEIPT).map(|(b, _)| b) != states[next].get(RECEIPT).map(|(b, _)| b) {
            killed_mid_way += 1;
        }
        // Finish the round: the project in the state its spec says.
        p.ggen(&["sync", "--sign", &k.private]).expect(0);
        p.ggen(&["verify", "--key", &k.public]).expect(0);
        for rel in [RECEIPT, ENVELOPE] {
            assert_eq!(bytes(&p, rel), states[next][rel].0, "round {round}: {rel}");
        }
    }
    // Not an assertion on timing: a note of how many kills came early enough.
    eprintln!("{killed_mid_way} of 24 syncs were killed before their receipt was written");
}

/// Whether scripts/dsse-check can run: under CI=true it must.
fn have_securesystemslib() -> bool {
    let found = Command::new("python3")
        .args([
            "-c",
            "import securesystemslib.dsse, securesystemslib.signer, cryptography",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "securesystemslib is not installed, and CI=true: .ci/run installs it \
             (pip install 'securesystemslib[crypto]==1.6.0')"
        );
        eprintln!(
            "SKIPPED securesystemslib_and_ggen_verify_each_other_s_envelopes: securesystemslib is not installed"
        );
    }
    found
}

/// Runs scripts/dsse-check; returns its exit code and what it printed.
fn dsse_check(dir: &Path, args: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dsse-check");
    let out = Command::new(script)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("scripts/dsse-check runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Rewrites the envelope's JSON with `change`.
fn tamper(p: &Project, change: impl Fn(&mut serde_json::Value)) {
    let mut doc: serde_json::Value = serde_json::from_str(&p.read(ENVELOPE)).unwrap();
    change(&mut doc);
    p.write(ENVELOPE, &serde_json::to_string_pretty(&doc).unwrap());
}

#[test]
fn securesystemslib_and_ggen_verify_each_other_s_envelopes() {
    if !have_securesystemslib() {
        return;
    }
    for kind in ["ed25519", "ecdsa"] {
        let keys = tempfile::tempdir().unwrap();
        let (private, public) = (
            keys.path().join("k.pem").to_string_lossy().into_owned(),
            keys.path().join("k.pub.pem").to_string_lossy().into_owned(),
        );
        let p = Project::mini();
        let (code, text) = dsse_check(p.path(), &["keygen", kind, &private, &public]);
        assert_eq!(code, 0, "{text}");

        // ggen signs, securesystemslib verifies (the key ids agree).
        p.ggen(&["sync", "--sign", &private]).expect(0);
        let (code, text) = dsse_check(p.path(), &["verify", ENVELOPE, &public, RECEIPT]);
        assert_eq!(code, 0, "{kind}: {text}");
        let (_, keyid) = dsse_check(p.path(), &["keyid", &public]);
        let run = p.ggen(&["verify", "--key", &public]).expect(0);
        assert!(run.stdout.contains(keyid.trim()), "{}", run.stdout);

        // securesystemslib signs, ggen verifies.
        std::fs::remove_file(p.path().join(ENVELOPE)).unwrap();
        let (code, text) = dsse_check(p.path(), &["sign", RECEIPT, &private, ENVELOPE]);
        assert_eq!(code, 0, "{text}");
        p.ggen(&["verify", "--key", &public]).expect(0);
        let signed = p.read(ENVELOPE);

        // A changed payload fails with both.
        tamper(&p, |doc| {
            let receipt = STANDARD.decode(doc["payload"].as_str().unwrap()).unwrap();
            let forged = String::from_utf8(receipt).unwrap().replacen(
                "\"sha256\": \"",
                "\"sha256\": \"0",
                1,
            );
            doc["payload"] = STANDARD.encode(forged).into();
        });
        let (code, text) = dsse_check(p.path(), &["verify", ENVELOPE, &public]);
        assert_eq!(code, 1, "{kind}: a changed payload verified: {text}");
        let run = p.ggen(&["verify", "--key", &public]).expect(1);
        assert!(run.stdout.starts_with("bad signature: "), "{}", run.stdout);

        // So does a changed signature.
        p.write(ENVELOPE, &signed);
        tamper(&p, |doc| {
            let mut sig = STANDARD
                .decode(doc["signatures"][0]["sig"].as_str().unwrap())
                .unwrap();
            let last = sig.len() - 1;
            sig[last] ^= 1;
            doc["signatures"][0]["sig"] = STANDARD.encode(sig).into();
        });
        let (code, text) = dsse_check(p.path(), &["verify", ENVELOPE, &public]);
        assert_eq!(code, 1, "{kind}: a changed signature verified: {text}");
        let run = p.ggen(&["verify", "--key", &public]).expect(1);
        assert!(run.stdout.starts_with("bad signature: "), "{}", run.stdout);
    }
}
