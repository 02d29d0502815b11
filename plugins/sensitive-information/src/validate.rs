//! Checksums and range rules that turn a pattern match into a finding (or throw it away).

/// The Luhn (mod 10) checksum over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

fn prefix_num(digits: &[u8], n: usize) -> u32 {
    digits[..n.min(digits.len())]
        .iter()
        .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
}

/// Whether `digits` is a card number of a known scheme: issuer prefix (IIN) and length match,
/// and the Luhn checksum holds.
pub fn card_number(digits: &[u8]) -> bool {
    let len = digits.len();
    if !(12..=19).contains(&len) || !luhn(digits) {
        return false;
    }
    let p1 = prefix_num(digits, 1);
    let p2 = prefix_num(digits, 2);
    let p3 = prefix_num(digits, 3);
    let p4 = prefix_num(digits, 4);
    let p6 = prefix_num(digits, 6);
    let scheme_ok = match p1 {
        // Visa
        4 => matches!(len, 13 | 16 | 19),
        // Mastercard (51-55, 2221-2720), Mir (2200-2204)
        2 => {
            ((2221..=2720).contains(&p4) && len == 16) || ((2200..=2204).contains(&p4) && len >= 16)
        }
        5 => {
            ((51..=55).contains(&p2) && len == 16)
                // Maestro
                || (matches!(p2, 50 | 56..=58) && len >= 12)
        }
        // Amex (34, 37), Diners (300-305, 36, 38, 39, 3095), JCB (3528-3589)
        3 => {
            (matches!(p2, 34 | 37) && len == 15)
                || (((300..=305).contains(&p3) || p4 == 3095 || matches!(p2, 36 | 38 | 39))
                    && (14..=19).contains(&len))
                || ((3528..=3589).contains(&p4) && len >= 16)
        }
        // Discover (6011, 622126-622925, 644-649, 65), UnionPay (62), Maestro (6x)
        6 => {
            (p4 == 6011
                || (622126..=622925).contains(&p6)
                || (644..=649).contains(&p3)
                || p2 == 65
                || p2 == 62)
                && len >= 16
                || (matches!(p4, 6304 | 6759 | 6761..=6763) && len >= 12)
        }
        _ => false,
    };
    scheme_ok && len >= 13
}

/// The ABA routing-number checksum and its Federal Reserve prefix ranges.
pub fn aba_routing(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|&c| u32::from(c - b'0')).collect();
    let prefix = v[0] * 10 + v[1];
    let prefix_ok = matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80);
    let sum = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8]);
    prefix_ok && sum.is_multiple_of(10) && d.iter().any(|&c| c != b'0')
}

/// US social security number rules: area not 000, 666 or 900-999; group not 00; serial not
/// 0000. Numbers famous from advertising (078-05-1120, 123-45-6789) are still reported: a
/// guardrail should treat what a user offers as an SSN as one.
pub fn ssn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = prefix_num(d, 3);
    let group = prefix_num(&d[3..], 2);
    let serial = prefix_num(&d[5..], 4);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// US individual taxpayer identification number: 9xx, group 50-65, 70-88, 90-92 or 94-99.
pub fn itin(d: &[u8]) -> bool {
    if d.len() != 9 || d[0] != b'9' {
        return false;
    }
    let group = prefix_num(&d[3..], 2);
    matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

/// Canadian social insurance number: Luhn, and the first digit is not 8 (unassigned).
pub fn ca_sin(d: &[u8]) -> bool {
    d.len() == 9 && d[0] != b'8' && luhn(d)
}

/// UK NHS number: mod 11 with weights 10..2.
pub fn nhs(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &c)| u32::from(c - b'0') * (10 - i as u32))
        .sum();
    let check = 11 - sum % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == u32::from(d[9] - b'0')
}

/// UK unique taxpayer reference: the first digit is a mod-11 check over the other nine.
pub fn utr(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    const WEIGHTS: [u32; 9] = [6, 7, 8, 9, 10, 5, 4, 3, 2];
    let sum: u32 = d[1..]
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    b"21987654321"[(sum % 11) as usize] == d[0]
}

/// Vehicle identification number (17 characters, no I, O or Q) with the North American check
/// digit in position 9.
pub fn vin(s: &[u8]) -> bool {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    if s.len() != 17 {
        return false;
    }
    let mut sum = 0;
    for (i, &c) in s.iter().enumerate() {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A' | b'J' => 1,
            b'B' | b'K' | b'S' => 2,
            b'C' | b'L' | b'T' => 3,
            b'D' | b'M' | b'U' => 4,
            b'E' | b'N' | b'V' => 5,
            b'F' | b'W' => 6,
            b'G' | b'P' | b'X' => 7,
            b'H' | b'Y' => 8,
            b'R' | b'Z' => 9,
            _ => return false,
        };
        sum += value * WEIGHTS[i];
    }
    let check = match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    };
    s[8] == check
}

/// IBAN lengths by country (the SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN length of a country, if it has IBANs.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| code.as_slice() == country)
        .map(|&(_, len)| len)
}

/// An IBAN without spaces: known country, its length, uppercase alphanumerics, and mod 97 == 1.
pub fn iban(s: &[u8]) -> bool {
    if s.len() < 15 || iban_length(&s[..2]) != Some(s.len()) {
        return false;
    }
    if !s[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem = 0u32;
    for &c in s[4..].iter().chain(&s[..4]) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    rem == 1
}

const ISO_COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK \
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM \
US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// Whether `code` is an ISO 3166-1 alpha-2 country code (uppercase).
pub fn iso_country(code: &[u8]) -> bool {
    code.len() == 2 && ISO_COUNTRIES.as_bytes().chunks(3).any(|c| &c[..2] == code)
}

/// A SWIFT/BIC code's shape: 4 letters (bank), a country, 2 alphanumerics (location) and an
/// optional 3 (branch), all uppercase.
pub fn swift(s: &[u8]) -> bool {
    (s.len() == 8 || s.len() == 11)
        && s[..4].iter().all(u8::is_ascii_uppercase)
        && iso_country(&s[4..6])
        && s[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// UK national insurance number without spaces: prefix rules, six digits, suffix A-D.
pub fn uk_nino(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let (a, b) = (s[0], s[1]);
    let letters_ok = a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && !b"DFIQUV".contains(&a)
        && !b"DFIOQUV".contains(&b)
        && !matches!(
            &s[..2],
            b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
        );
    letters_ok && s[2..8].iter().all(u8::is_ascii_digit) && matches!(s[8], b'A'..=b'D')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_cards() {
        for good in [
            "4111111111111111",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "30569309025904",
            "4222222222222",
            "6200000000000005",
        ] {
            assert!(card_number(good.as_bytes()), "{good}");
        }
        for bad in [
            "4111111111111112",
            "1234567812345670",
            "9111111111111111",
            "0000000000000000",
        ] {
            assert!(!card_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn routing_numbers() {
        assert!(aba_routing(b"011000015"));
        assert!(aba_routing(b"021000021"));
        assert!(!aba_routing(b"021000022"));
        assert!(!aba_routing(b"991000021"));
    }

    #[test]
    fn ssn_and_itin_rules() {
        assert!(ssn(b"536228765"));
        assert!(!ssn(b"000123456"));
        assert!(!ssn(b"666123456"));
        assert!(!ssn(b"912345678"));
        assert!(!ssn(b"536008765"));
        assert!(!ssn(b"536220000"));
        assert!(ssn(b"078051120"));
        assert!(ssn(b"123456789"));
        assert!(itin(b"912781234"));
        assert!(itin(b"900701234"));
        assert!(!itin(b"912891234"));
        assert!(!itin(b"912931234"));
        assert!(!itin(b"812781234"));
    }

    #[test]
    fn national_numbers() {
        assert!(ca_sin(b"046454286"));
        assert!(!ca_sin(b"046454287"));
        assert!(nhs(b"9434765919"));
        assert!(!nhs(b"9434765918"));
        assert!(utr(b"1955839661"));
        assert!(!utr(b"2955839661"));
        assert!(uk_nino(b"AB123456C"));
        assert!(!uk_nino(b"QQ123456C"));
        assert!(!uk_nino(b"GB123456A"));
        assert!(!uk_nino(b"AB123456E"));
    }

    #[test]
    fn vins() {
        assert!(vin(b"1M8GDM9AXKP042788"));
        assert!(vin(b"11111111111111111"));
        assert!(!vin(b"1M8GDM9A1KP042788"));
        assert!(!vin(b"1M8GDM9AXKP04278O"));
    }

    #[test]
    fn ibans() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(iban(b"NO9386011117947"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(!iban(b"GB82WEST1234569876543"));
        assert!(!iban(b"ZZ82WEST12345698765432"));
    }

    #[test]
    fn swift_codes() {
        assert!(swift(b"DEUTDEFF"));
        assert!(swift(b"NWBKGB2L"));
        assert!(swift(b"CHASUS33XXX"));
        assert!(!swift(b"DEUTXXFF"));
        assert!(!swift(b"DEUTDEF"));
        assert!(iso_country(b"US"));
        assert!(!iso_country(b"XX"));
    }
}
