//! The webhook signatures against vectors computed independently, by `openssl dgst`, so the
//! signer is not only checked against its own verifier.

#![expect(clippy::unwrap_used, clippy::panic, reason = "test helpers: a failure is a failed test")]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use casework_adapters::webhooks::signature::{Secret, SignatureHeader, sign, verify_signature_at};

/// `openssl dgst -sha256 -mac HMAC -macopt hexkey:<key>` of `message`: the raw MAC.
fn openssl_hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-mac", "HMAC", "-macopt", &format!("hexkey:{}", hex::encode(key)), "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("openssl is needed for these vectors: {e}"));
    child.stdin.take().unwrap().write_all(message).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    output.stdout
}

#[test]
fn both_schemes_match_openssl() {
    let secret = Secret::from_string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
    let body = br#"{"id":"evt_1","event":"case.approved","data":{"case":{"status":"approved"}}}"#;
    let (id, t) = ("whd_2BcD3eF4gH5iJ6kL7mN8oP9q", 1_767_225_600_i64);
    let signed = sign(&[&secret], id, t, body);

    // Verifa: keyed with the whole `whsec_…` string, over "<t>.<body>", hex.
    let verifa = openssl_hmac(secret.as_str().as_bytes(), &[format!("{t}.").as_bytes(), body].concat());
    assert_eq!(signed.verifa, format!("t={t},v1={}", hex::encode(verifa)));

    // Standard Webhooks: keyed with the bytes after `whsec_`, over "<id>.<t>.<body>", base64.
    let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let standard = openssl_hmac(&key, &[format!("{id}.{t}.").as_bytes(), body].concat());
    assert_eq!(signed.standard, format!("v1,{}", STANDARD.encode(standard)));
}

#[test]
fn the_helper_accepts_openssl_signatures_and_refuses_tampering_and_staleness() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = b"{\"event\":\"session.approved\"}";
    let t = 1_767_225_600_i64;
    let mac = hex::encode(openssl_hmac(secret.as_bytes(), &[format!("{t}.").as_bytes(), body.as_slice()].concat()));
    let header = format!("t={t},v1={mac}");
    let tolerance = Duration::from_secs(300);
    assert!(verify_signature_at(secret, SignatureHeader::Verifa(&header), body, tolerance, t + 299).is_ok());
    assert!(
        verify_signature_at(
            secret,
            SignatureHeader::Verifa(&header),
            b"{\"event\":\"session.declined\"}",
            tolerance,
            t
        )
        .is_err()
    );
    assert!(verify_signature_at(secret, SignatureHeader::Verifa(&header), body, tolerance, t + 301).is_err());
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let standard = format!(
        "v1,{}",
        STANDARD.encode(openssl_hmac(&key, &[format!("msg_1.{t}.").as_bytes(), body.as_slice()].concat()))
    );
    let header = SignatureHeader::Standard { id: "msg_1", timestamp: &t.to_string(), signature: &standard };
    assert!(verify_signature_at(secret, header, body, tolerance, t).is_ok());
    let other = SignatureHeader::Standard { id: "msg_2", timestamp: &t.to_string(), signature: &standard };
    assert!(verify_signature_at(secret, other, body, tolerance, t).is_err(), "the id is signed");
}
