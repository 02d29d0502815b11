use mantle_sdk::guardrail::{Action, Assessment, Finding, Guest, Qualifier};
use mantle_sdk::testkit;
use serde_json::{Value, json};

use crate::SensitiveInformation;
use crate::pii::{DETECTED, PiiType};

/// A config that anonymizes every type.
fn all_types() -> Value {
    let entities: Vec<Value> = PiiType::ALL
        .iter()
        .map(|t| json!({"type": t.name(), "action": "ANONYMIZE"}))
        .collect();
    json!({ "piiEntitiesConfig": entities })
}

fn assess(text: &str) -> Assessment {
    SensitiveInformation::assess(testkit::input(&[text], all_types())).unwrap()
}

/// The `(type, matched)` pairs found in `text` with every type enabled.
fn found(text: &str) -> Vec<(String, String)> {
    assess(text)
        .findings
        .into_iter()
        .map(|f| (f.type_, f.matched))
        .collect()
}

fn one(text: &str, kind: &str, matched: &str) {
    let got = found(text);
    assert_eq!(got, [(kind.to_owned(), matched.to_owned())], "in {text:?}");
}

fn none(text: &str) {
    let got = found(text);
    assert!(got.is_empty(), "in {text:?}: {got:?}");
}

#[test]
fn emails() {
    one(
        "mail me at john.smith+tag@example.co.uk.",
        "EMAIL",
        "john.smith+tag@example.co.uk",
    );
    one("<a.b@mail.example.com>", "EMAIL", "a.b@mail.example.com");
    none("meet @ noon, user@localhost, a@b.c, x@y.1");
}

#[test]
fn phones() {
    one("call (555) 234-5678 today", "PHONE", "(555) 234-5678");
    one("call 555-234-5678", "PHONE", "555-234-5678");
    one("call 555.234.5678", "PHONE", "555.234.5678");
    one("reach +1 555 234 5678 now", "PHONE", "+1 555 234 5678");
    one("reach 1-555-234-5678 now", "PHONE", "1-555-234-5678");
    one("London: +44 20 7946 0958", "PHONE", "+44 20 7946 0958");
    one("Berlin +4930901820", "PHONE", "+4930901820");
    one("phone: 5552345678", "PHONE", "5552345678");
    one("tel 020 7946 0958", "PHONE", "020 7946 0958");
    one("call +1 (555) 234-5678.", "PHONE", "+1 (555) 234-5678");
    one("call (555)234-5678.", "PHONE", "(555)234-5678");
    one("Paris +33 1 23 45 67 89", "PHONE", "+33 1 23 45 67 89");
    // Thousands separators are not phone numbers.
    none("population 1 234 567 890");
    // Area and exchange codes do not start with 0 or 1; bare numbers need a keyword.
    none("ref 155-234-5678 and 555-134-5678");
    none("order 5552345678 shipped");
}

#[test]
fn social_security_and_itin() {
    one(
        "SSN 536-22-8765",
        "US_SOCIAL_SECURITY_NUMBER",
        "536-22-8765",
    );
    one(
        "it is 536 22 8765.",
        "US_SOCIAL_SECURITY_NUMBER",
        "536 22 8765",
    );
    one(
        "my ssn is 536228765",
        "US_SOCIAL_SECURITY_NUMBER",
        "536228765",
    );
    none("000-12-3456 666-12-3456 536-00-8765 536-22-0000");
    one(
        "SSN 123-45-6789",
        "US_SOCIAL_SECURITY_NUMBER",
        "123-45-6789",
    );
    none("order 536228765 shipped");
    one(
        "ITIN: 912-78-1234",
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        "912-78-1234",
    );
    none("912-89-1234");
}

#[test]
fn cards() {
    one(
        "card 4111 1111 1111 1111 ok",
        "CREDIT_DEBIT_CARD_NUMBER",
        "4111 1111 1111 1111",
    );
    one(
        "4111-1111-1111-1111",
        "CREDIT_DEBIT_CARD_NUMBER",
        "4111-1111-1111-1111",
    );
    one(
        "amex 3782 822463 10005",
        "CREDIT_DEBIT_CARD_NUMBER",
        "3782 822463 10005",
    );
    one(
        "mc:5555555555554444;",
        "CREDIT_DEBIT_CARD_NUMBER",
        "5555555555554444",
    );
    // Luhn fails; mixed separators; unknown issuer.
    none("4111 1111 1111 1112");
    none("4111 1111-1111 1111");
    none("9111 1111 1111 1111");
}

#[test]
fn card_cvv_and_expiry_need_context() {
    let got = found("Visa 4111 1111 1111 1111, exp 12/27, CVV: 123");
    assert_eq!(
        got,
        [
            (
                "CREDIT_DEBIT_CARD_NUMBER".into(),
                "4111 1111 1111 1111".into()
            ),
            ("CREDIT_DEBIT_CARD_EXPIRY".into(), "12/27".into()),
            ("CREDIT_DEBIT_CARD_CVV".into(), "123".into()),
        ]
    );
    one("valid thru 09/2031", "CREDIT_DEBIT_CARD_EXPIRY", "09/2031");
    none("on 12/27 we had 123 guests");
    none("exp 13/27");
}

#[test]
fn ip_addresses() {
    one("host 192.168.0.1 is up", "IP_ADDRESS", "192.168.0.1");
    one("gw 10.0.0.254.", "IP_ADDRESS", "10.0.0.254");
    one(
        "v6 2001:db8::8a2e:370:7334 ok",
        "IP_ADDRESS",
        "2001:db8::8a2e:370:7334",
    );
    one("lo ::1 and more", "IP_ADDRESS", "::1");
    one(
        "fe80::1ff:fe23:4567:890a.",
        "IP_ADDRESS",
        "fe80::1ff:fe23:4567:890a",
    );
    one(
        "mapped ::ffff:192.0.2.128 here",
        "IP_ADDRESS",
        "::ffff:192.0.2.128",
    );
    one(
        "full 2001:0db8:0000:0000:0000:ff00:0042:8329",
        "IP_ADDRESS",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
    );
    none("256.1.1.1, 1.2.3, 1.2.3.4.5, 01.2.3.4, at 12:30:45, ratio 1:2:3, a::b::c");
}

#[test]
fn urls() {
    one(
        "see https://example.com/a?b=c#d.",
        "URL",
        "https://example.com/a?b=c#d",
    );
    one("(www.example.org/path)", "URL", "www.example.org/path");
    one(
        "http://user:pw@10.0.0.1:8080/x",
        "URL",
        "http://user:pw@10.0.0.1:8080/x",
    );
    one(
        "go to https://en.wikipedia.org/wiki/Rust_(language) now",
        "URL",
        "https://en.wikipedia.org/wiki/Rust_(language)",
    );
    none("file.txt and ftp:// and http://nohost");
}

#[test]
fn mac_addresses() {
    one(
        "nic 00:1A:2B:3C:4D:5E up",
        "MAC_ADDRESS",
        "00:1A:2B:3C:4D:5E",
    );
    one("nic 00-1a-2b-3c-4d-5e", "MAC_ADDRESS", "00-1a-2b-3c-4d-5e");
    one("cisco 001a.2b3c.4d5e", "MAC_ADDRESS", "001a.2b3c.4d5e");
    none("00:1A:2B:3C:4D and 00:1A:2B:3C:4D:5E:6F");
}

#[test]
fn aws_keys() {
    let got = found(
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    assert_eq!(
        got,
        [
            ("AWS_ACCESS_KEY".into(), "AKIAIOSFODNN7EXAMPLE".into()),
            (
                "AWS_SECRET_KEY".into(),
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()
            ),
        ]
    );
    none("hash wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY only");
    none("AKIAIOSFODNN7EXAMPL");
}

#[test]
fn bank_numbers() {
    one(
        "routing number 021000021",
        "US_BANK_ROUTING_NUMBER",
        "021000021",
    );
    none("routing number 021000022");
    one(
        "account no. 12345678901",
        "US_BANK_ACCOUNT_NUMBER",
        "12345678901",
    );
    none("order no. 12345678901");
    one("acc:12345678", "US_BANK_ACCOUNT_NUMBER", "12345678");
    // Dates near the word `account` are not account numbers.
    none("account opened 2023-01-15");
    one(
        "IBAN GB82 WEST 1234 5698 7654 32.",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "GB82 WEST 1234 5698 7654 32",
    );
    one(
        "DE89370400440532013000",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "DE89370400440532013000",
    );
    none("GB82 WEST 1234 5698 7654 33");
    one("SWIFT: DEUTDEFF", "SWIFT_CODE", "DEUTDEFF");
    one("wire to NWBKGB2L", "SWIFT_CODE", "NWBKGB2L");
    one("bic CHASUS33XXX", "SWIFT_CODE", "CHASUS33XXX");
    one("our bank code is DEUTDEFF", "SWIFT_CODE", "DEUTDEFF");
    one(
        "transit number 011000015",
        "US_BANK_ROUTING_NUMBER",
        "011000015",
    );
    // All-caps words are not SWIFT codes without a keyword.
    none("THE BUSINESS IS CLOSED");
}

#[test]
fn national_ids() {
    one(
        "passport number 340020013",
        "US_PASSPORT_NUMBER",
        "340020013",
    );
    one("Passport: A12345678", "US_PASSPORT_NUMBER", "A12345678");
    none("ticket A12345678");
    one(
        "NI number AB123456C",
        "UK_NATIONAL_INSURANCE_NUMBER",
        "AB123456C",
    );
    one(
        "nino AB 12 34 56 C.",
        "UK_NATIONAL_INSURANCE_NUMBER",
        "AB 12 34 56 C",
    );
    none("QQ123456C GB123456A");
    one(
        "NHS number 943 476 5919",
        "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
        "943 476 5919",
    );
    one(
        "UTR 1955839661",
        "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
        "1955839661",
    );
    one(
        "SIN 046 454 286",
        "CA_SOCIAL_INSURANCE_NUMBER",
        "046 454 286",
    );
    one(
        "VIN 1M8GDM9AXKP042788",
        "VEHICLE_IDENTIFICATION_NUMBER",
        "1M8GDM9AXKP042788",
    );
    none("VIN 1M8GDM9A1KP042788");
}

#[test]
fn secrets_pins_and_names() {
    one("password: hunter2!", "PASSWORD", "hunter2!");
    one(
        r#"{"password": "s3cr3t pass", "x": 1}"#,
        "PASSWORD",
        "s3cr3t pass",
    );
    one("PWD=Tr0ub4dor&3", "PASSWORD", "Tr0ub4dor&3");
    one("my password is correcthorse.", "PASSWORD", "correcthorse");
    none("password: ******** and I passed the test");
    none("boarding pass: 12A");
    one("username: jdoe42", "USERNAME", "jdoe42");
    one("user_name=jdoe42", "USERNAME", "jdoe42");
    none("User: what is the weather?");
    one("your PIN is 4821", "PIN", "4821");
    none("pinned 4821 messages");
    one("age: 42", "AGE", "42");
    one("she is 42 years old", "AGE", "42 years old");
    one("aged 42, she", "AGE", "42");
    one("a 7-year-old boy", "AGE", "7-year-old");
    none("42 people, aged cheese, page 42, age of 300 years");
}

#[test]
fn overlaps_keep_the_longest() {
    // The IP inside the URL, and the e-mail inside the URL, are not reported apart.
    one("http://192.168.0.1/x", "URL", "http://192.168.0.1/x");
    one(
        "https://a.example.com/?to=bob@example.com",
        "URL",
        "https://a.example.com/?to=bob@example.com",
    );
}

#[test]
fn spans_are_byte_ranges_in_the_block() {
    let text = "Grüße — call 555-234-5678 or mail zoë@example.com";
    let a = assess(text);
    for f in &a.findings {
        assert_eq!(&text[f.span.start as usize..f.span.end as usize], f.matched);
    }
    assert_eq!(a.findings[0].type_, "PHONE");
    assert_eq!(a.findings[1].matched, "zoë@example.com");
    assert_eq!(a.findings.len(), 2);
}

#[test]
fn only_configured_types_are_reported_with_their_action() {
    let config = json!({"piiEntitiesConfig": [
        {"type": "EMAIL", "action": "BLOCK"},
        {"type": "PHONE", "action": "ANONYMIZE", "outputAction": "NONE"},
        {"type": "URL", "action": "ANONYMIZE", "inputEnabled": false}
    ]});
    let text = "a@example.com, 555-234-5678, 536-22-8765, https://x.example.com";
    let input = SensitiveInformation::assess(testkit::input(&[text], config.clone())).unwrap();
    let got: Vec<(&str, Action)> = input
        .findings
        .iter()
        .map(|f| (f.type_.as_str(), f.action))
        .collect();
    assert_eq!(
        got,
        [("EMAIL", Action::Block), ("PHONE", Action::Anonymize)]
    );
    let output = SensitiveInformation::assess(testkit::output(&[text], config)).unwrap();
    let got: Vec<(&str, Action)> = output
        .findings
        .iter()
        .map(|f| (f.type_.as_str(), f.action))
        .collect();
    assert_eq!(
        got,
        [
            ("EMAIL", Action::Block),
            ("PHONE", Action::None),
            ("URL", Action::Anonymize)
        ]
    );
}

#[test]
fn anonymizes_like_bedrock() {
    let request = testkit::input(&["mail a@example.com or call 555-234-5678"], all_types());
    let a = SensitiveInformation::assess(request.clone()).unwrap();
    assert_eq!(
        testkit::anonymized(&request, &a.findings),
        ["mail {EMAIL} or call {PHONE}"]
    );
}

#[test]
fn custom_regexes() {
    let config = json!({"regexesConfig": [
        {"name": "ticket", "pattern": r"TKT-\d{6}", "description": "tickets", "action": "ANONYMIZE"},
        {"name": "blocked", "pattern": "(?i)project\\s+falcon", "action": "BLOCK"}
    ]});
    let request = testkit::input(&["see TKT-123456 about Project  Falcon"], config);
    let a = SensitiveInformation::assess(request.clone()).unwrap();
    assert_eq!(a.findings.len(), 2);
    let f: &Finding = &a.findings[0];
    assert_eq!(
        (f.type_.as_str(), f.name.as_deref(), f.matched.as_str()),
        ("REGEX", Some("ticket"), "TKT-123456")
    );
    assert_eq!(
        f.attributes,
        [("regex".to_owned(), r"TKT-\d{6}".to_owned())]
    );
    assert_eq!((f.span.start, f.span.end), (4, 14));
    assert_eq!(a.findings[1].action, Action::Block);
    assert_eq!(a.findings[1].matched, "Project  Falcon");
    assert_eq!(
        testkit::anonymized(&request, &a.findings),
        ["see {ticket} about Project  Falcon"]
    );
}

#[test]
fn bad_regex_is_invalid_config_even_without_content() {
    let config = json!({"regexesConfig": [
        {"name": "ok", "pattern": "a+", "action": "BLOCK"},
        {"name": "broken", "pattern": "(unclosed", "action": "BLOCK"}
    ]});
    let err = SensitiveInformation::assess(testkit::input(&[], config)).unwrap_err();
    assert_eq!(err.code, "invalid-config");
    assert!(
        err.message.contains("regexesConfig[1].pattern"),
        "{}",
        err.message
    );
    assert!(err.message.contains("broken"), "{}", err.message);
}

#[test]
fn unknown_types_and_actions_are_invalid_config() {
    let err = SensitiveInformation::assess(testkit::input(
        &[],
        json!({"piiEntitiesConfig": [{"type": "EMAIL", "action": "BLOCK"}, {"type": "SHOE_SIZE", "action": "BLOCK"}]}),
    ))
    .unwrap_err();
    assert_eq!(err.code, "invalid-config");
    assert!(
        err.message.contains("piiEntitiesConfig[1].type"),
        "{}",
        err.message
    );
    let err = SensitiveInformation::assess(testkit::input(
        &[],
        json!({"piiEntitiesConfig": [{"type": "EMAIL", "action": "REDACT"}]}),
    ))
    .unwrap_err();
    assert!(
        err.message.contains("piiEntitiesConfig[0].action"),
        "{}",
        err.message
    );
    let err = SensitiveInformation::assess(testkit::input(
        &[],
        json!({"regexesConfig": [{"name": "x", "pattern": "a", "outputAction": "MAYBE"}]}),
    ))
    .unwrap_err();
    assert!(
        err.message.contains("regexesConfig[0].outputAction"),
        "{}",
        err.message
    );
    let err = SensitiveInformation::assess(testkit::input(&[], json!({"piiEntitiesConfig": 3})))
        .unwrap_err();
    assert_eq!(err.code, "invalid-config");
}

#[test]
fn every_bedrock_type_is_accepted_and_model_types_are_never_reported() {
    assert_eq!(PiiType::ALL.len(), 31);
    for t in PiiType::ALL {
        assert_eq!(PiiType::from_name(t.name()), Some(*t));
    }
    let text = "John Smith, 42 Main Street, Springfield, driver licence D1234567, plate 7ABC123";
    for f in assess(text).findings {
        assert!(DETECTED.iter().any(|t| t.name() == f.type_), "{f:?}");
    }
}

#[test]
fn grounding_sources_and_queries_are_not_assessed() {
    let mut request = testkit::input(
        &["a@example.com", "b@example.com", "c@example.com"],
        all_types(),
    );
    request.content[0].qualifiers = vec![Qualifier::GroundingSource];
    request.content[1].qualifiers = vec![Qualifier::Query];
    let a = SensitiveInformation::assess(request).unwrap();
    assert_eq!(a.findings.len(), 1);
    assert_eq!(a.findings[0].block, 2);
}

#[test]
fn empty_config_finds_nothing() {
    let a = SensitiveInformation::assess(testkit::input(&["a@example.com"], json!({}))).unwrap();
    assert!(a.findings.is_empty());
    let mut request = testkit::input(&["a@example.com"], json!({}));
    request.config = String::new();
    assert!(
        SensitiveInformation::assess(request)
            .unwrap()
            .findings
            .is_empty()
    );
}

#[test]
fn plain_prose_has_no_false_positives() {
    none(
        "The meeting on 3/4 moved to room 101. We sold 1,234,567 units in 2023 (up 12.5%). \
         Version 2.1.0 shipped; see section 4.2.1. Call me maybe. The BBC reported at 10:45 \
         that 3 of 5 people agree. Score: 98-100. ISBN 978-3-16-148410-0.",
    );
}

/// A 1 KiB text with a realistic mix of prose and PII.
pub(crate) fn sample_1kb() -> String {
    let mut text = String::new();
    let parts = [
        "Hello support team, my name is Jane and I need help with my account. ",
        "You can reach me at jane.doe@example.com or call (555) 234-5678 after 5pm. ",
        "My card 4111 1111 1111 1111 was charged twice on 12/03 for the same order #88213. ",
        "The server at 192.168.10.24 keeps rejecting my login, see https://status.example.com/incidents. ",
        "For the refund, the routing number is 021000021 and the account number 123456789012. ",
        "I was told the invoice would arrive within 3 business days, but it has been 2 weeks now. ",
        "Please do not share my SSN 536-22-8765 with anyone else. Thanks a lot for your help! ",
    ];
    while text.len() < 1024 {
        for p in parts {
            text.push_str(p);
        }
    }
    text.truncate(1024);
    while !text.is_char_boundary(text.len()) {
        text.pop();
    }
    text
}

/// The text the timing example (`examples/pii_timing.rs`) measures: every type is found in it.
#[test]
fn finds_the_pii_in_the_1kb_timing_text() {
    let text = sample_1kb();
    let mut config = all_types();
    config["regexesConfig"] =
        json!([{"name": "order", "pattern": r"#\d{5}", "action": "ANONYMIZE"}]);
    let request = testkit::input(&[&text], config);
    let findings = SensitiveInformation::assess(request).unwrap().findings;
    assert!(findings.len() >= 7, "{findings:?}");
}

#[test]
fn readme_lists_exactly_the_detected_types() {
    let readme = include_str!("../README.md");
    let section = |from: &str, to: &str| {
        let start = readme.find(from).unwrap() + from.len();
        let end = readme.find(to).unwrap();
        readme[start..end].to_owned()
    };
    let detected = section("<!-- detected", "<!-- /detected -->");
    let undetected = section("<!-- undetected -->", "<!-- /undetected -->");
    for t in PiiType::ALL {
        let quoted = format!("`{}`", t.name());
        let in_detected = detected.contains(&format!("| {quoted} |"));
        let in_undetected = undetected.contains(&quoted);
        assert_eq!(
            in_detected,
            DETECTED.contains(t),
            "{} in the detected table",
            t.name()
        );
        assert_eq!(
            in_undetected,
            !DETECTED.contains(t),
            "{} in the undetected list",
            t.name()
        );
    }
}

/// A small deterministic generator (xorshift) for the robustness test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn arbitrary_text_never_panics_and_spans_are_char_boundaries() {
    let pieces = [
        "a",
        "Z",
        "0",
        "9",
        "5",
        "1",
        " ",
        "  ",
        "\n",
        "\t",
        "-",
        ".",
        ":",
        "::",
        "/",
        "+",
        "(",
        ")",
        "@",
        "#",
        "=",
        "\"",
        "'",
        "_",
        ",",
        "é",
        "ß",
        "東京",
        "—",
        "\u{301}",
        "😀",
        "password",
        "pwd:",
        "user_name=",
        "ssn",
        "cvv",
        "exp",
        "routing",
        "account",
        "passport",
        "pin",
        "swift",
        "nhs",
        "utr",
        "sin",
        "age",
        "aws",
        "secret",
        "phone",
        "http://",
        "https://",
        "www.",
        "AKIA",
        "GB82",
        "DE89",
        "AB",
        "4111",
        "1111",
        "555",
        "234",
        "5678",
        "192",
        "168",
        "fe80",
        "00:1A",
        "ACME-",
        "is ",
        "years old",
        "x@y.com",
        "ü@ä.de",
    ];
    let config = all_types();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = (rng.next() % 60) as usize;
        let text: String = (0..len).map(|_| rng.pick(&pieces)).collect();
        let request = testkit::input(&[&text], config.clone());
        let assessment = SensitiveInformation::assess(request).unwrap();
        for f in &assessment.findings {
            let (start, end) = (f.span.start as usize, f.span.end as usize);
            assert!(start < end && end <= text.len(), "{text:?}: {f:?}");
            assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "{text:?}: {f:?}"
            );
            assert_eq!(&text[start..end], f.matched);
        }
        // No two PII findings overlap.
        for pair in assessment.findings.windows(2) {
            assert!(pair[0].span.end <= pair[1].span.start, "{text:?}: {pair:?}");
        }
    }
}

#[test]
fn pathological_inputs_stay_linear() {
    let config = all_types();
    let inputs = [
        "www.1,".repeat(100_000),
        "(www.1/".repeat(100_000),
        "1".repeat(600_000),
        "1 ".repeat(300_000),
        "1-".repeat(300_000),
        "1.".repeat(300_000),
        "a:".repeat(300_000),
        "::".repeat(300_000),
        "@".repeat(600_000),
        format!("{}@{}", "a".repeat(300_000), "b.".repeat(150_000)),
        "a@b.co ".repeat(80_000),
        "password: ".repeat(60_000),
        "AB ".repeat(200_000),
        "GB82 ".repeat(120_000),
        "A/".repeat(300_000),
        "https://".repeat(70_000),
    ];
    for text in inputs {
        let started = std::time::Instant::now();
        let request = testkit::input(&[&text], config.clone());
        SensitiveInformation::assess(request).unwrap();
        let elapsed = started.elapsed();
        // An unoptimised build on a busy machine does ~600 KB well under this; quadratic
        // behaviour would take minutes.
        assert!(
            elapsed.as_secs_f64() < 5.0,
            "{:?}…: {elapsed:?}",
            &text[..20]
        );
    }
}
