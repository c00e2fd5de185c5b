//! Synthetic sessions for demo cases and development seeds: realistic checks (some failing, so
//! a reviewer has something to decide) and realistic, obviously fake PII. Deterministic in
//! `seed`, so tests can rely on what they get.

use serde_json::{Map, Value, json};

use crate::data::DataMap;
use crate::service::NewSession;
use crate::session::{Check, CheckStatus, ExtractedData, SessionStatus, SimulateAction};

const FIRST_NAMES: [&str; 8] = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara"];
const LAST_NAMES: [&str; 8] = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov"];
const COUNTRIES: [&str; 6] = ["DE", "FR", "GB", "US", "NL", "ES"];
const DOCUMENTS: [&str; 3] = ["passport", "drivers_license", "national_id"];

fn pick<T: Copy>(items: &[T], seed: u64, salt: u64) -> T {
    let mixed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(salt.wrapping_mul(1_442_695_040_888_963_407));
    items[usize::try_from((mixed >> 33) % items.len() as u64).unwrap_or(0)]
}

fn check(policy: &str, status: CheckStatus, score: Option<f64>, details: Value) -> Check {
    Check {
        policy: policy.to_owned(),
        status,
        score,
        details: details.as_object().cloned().unwrap_or_else(Map::new),
        override_: None,
    }
}

/// A session `under_review` with realistic checks and PII.
pub fn synthetic_session(seed: u64) -> NewSession {
    let first = pick(&FIRST_NAMES, seed, 1);
    let last = pick(&LAST_NAMES, seed, 2);
    let country = pick(&COUNTRIES, seed, 3);
    let document_type = pick(&DOCUMENTS, seed, 4);
    let year = 1960 + seed % 45;
    let face_score = 0.55 + f64::from(u32::try_from(seed % 40).unwrap_or(0)) / 100.0;
    let face_status = if face_score >= 0.8 { CheckStatus::Passed } else { CheckStatus::Failed };
    let watchlist = pick(&[CheckStatus::Passed, CheckStatus::Pending, CheckStatus::Failed], seed, 5);
    let checks = vec![
        check("document_ocr", CheckStatus::Passed, Some(0.97), json!({"engine": "ocr-v4", "fields_read": 11})),
        check("face_match", face_status, Some(face_score), json!({"method": "1:1", "threshold": 0.8})),
        check("document_expiration", CheckStatus::Passed, None, json!({})),
        check("watchlist_screening", watchlist, None, json!({"lists": ["sanctions", "pep"]})),
        check("duplicate_detection", CheckStatus::Passed, Some(0.02), json!({})),
    ];
    let extracted = json!({
        "first_name": first,
        "last_name": last,
        "date_of_birth": format!("{year}-0{}-1{}", 1 + seed % 9, seed % 9),
        "nationality": country,
        "document_type": document_type,
        "document_number": format!("X{:08}", seed.wrapping_mul(7919) % 100_000_000),
        "document_expiration_date": format!("{}-12-31", 2027 + seed % 8),
        "address": {"line1": format!("{} Example Street", 1 + seed % 200), "city": "Sampletown", "country": country},
    });
    let extracted_data = extracted
        .as_object()
        .and_then(|object| ExtractedData::parse(object, "extracted_data").ok())
        .unwrap_or_default();
    let metadata = json!({"source": "demo", "user_ref": format!("user_{}", 1000 + seed % 9000)});
    NewSession {
        external_ref: Some(format!("demo_{seed}")),
        metadata: metadata.as_object().cloned().and_then(|m| DataMap::parse(m).ok()).unwrap_or_default(),
        status: SessionStatus::UnderReview,
        checks,
        extracted_data,
    }
}

/// Checks consistent with a simulated outcome, for a sandbox session that has none.
pub fn simulated_checks(action: SimulateAction) -> Vec<Check> {
    let (face, watchlist) = match action {
        SimulateAction::Approve => (CheckStatus::Passed, CheckStatus::Passed),
        SimulateAction::Decline => (CheckStatus::Failed, CheckStatus::Passed),
        SimulateAction::RequireReview => (CheckStatus::Passed, CheckStatus::Pending),
        SimulateAction::Expire => (CheckStatus::Pending, CheckStatus::Pending),
    };
    let face_score = match face {
        CheckStatus::Passed => Some(0.93),
        CheckStatus::Failed => Some(0.41),
        _ => None,
    };
    vec![
        check("document_ocr", CheckStatus::Passed, Some(0.97), json!({"engine": "ocr-v4", "simulated": true})),
        check("face_match", face, face_score, json!({"method": "1:1", "threshold": 0.8, "simulated": true})),
        check("watchlist_screening", watchlist, None, json!({"lists": ["sanctions", "pep"], "simulated": true})),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_sessions_carry_valid_pii_and_checks_for_every_seed() {
        for seed in 0..200 {
            let session = synthetic_session(seed);
            assert_eq!(session.extracted_data.as_map().len(), 8, "seed {seed}: {:?}", session.extracted_data);
            assert_eq!(session.checks.len(), 5);
            assert!(session.checks.iter().all(|c| crate::session::is_valid_policy(&c.policy)));
        }
    }
}
