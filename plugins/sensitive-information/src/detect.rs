//! The PII scanner: a few linear passes over a text's bytes, no regexes.
//!
//! 1. `@` signs grow into e-mail addresses; `://` and `www.` into URLs (found with `memchr`).
//! 2. Alphanumeric tokens, left to right. Their words (ASCII letter runs) are matched against a
//!    small table of context keywords (`cvv`, `routing`, `passport`, …) and of key/value keys
//!    (`password:`, `username=`), behind a 2 Kib filter that rejects most words at once. Then
//!    the token is classified: runs of digit groups (cards, phones, SSNs, IPs, …), hexadecimal
//!    colon runs (IPv6, MAC) and letter-digit codes (IBAN, VIN, SWIFT, AWS keys, …).
//!
//! Every candidate is validated (checksums, ranges, formats) and, for types whose shape alone
//! is not distinctive (a 9-digit number, a 3-digit CVV), only accepted after a context keyword
//! that shortly precedes it. Overlapping candidates resolve to the longest, then the most specific.

use crate::pii::PiiType;
use crate::validate;

/// A detected entity: a byte range of the text and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub kind: PiiType,
    /// Lower wins between overlapping candidates of the same length.
    rank: u8,
}

/// Context keyword kinds (a word may carry several).
mod ctx {
    pub const SSN: u32 = 1 << 0;
    pub const ITIN: u32 = 1 << 1;
    pub const PHONE: u32 = 1 << 2;
    pub const CVV: u32 = 1 << 3;
    pub const EXPIRY: u32 = 1 << 4;
    pub const ROUTING: u32 = 1 << 5;
    pub const ACCOUNT: u32 = 1 << 6;
    pub const PASSPORT: u32 = 1 << 7;
    pub const AWS_SECRET: u32 = 1 << 8;
    pub const PIN: u32 = 1 << 9;
    pub const SWIFT: u32 = 1 << 10;
    pub const SIN: u32 = 1 << 11;
    pub const NHS: u32 = 1 << 12;
    pub const UTR: u32 = 1 << 13;
    pub const AGE: u32 = 1 << 14;
}

/// How far before a candidate (in bytes) a context keyword may end.
const WINDOW: usize = 48;
/// Ages are only taken right after their keyword (`age: 42`, `aged 42`).
const AGE_WINDOW: usize = 12;
/// The longest value a `password: value` pair may have.
const MAX_SECRET: usize = 128;
/// The longest URL taken.
const MAX_URL: usize = 8192;

#[derive(Debug, Clone, Copy)]
struct Keyword {
    end: usize,
    kind: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Space,
    Dash,
    Dot,
    Slash,
    /// `)` or `) ` after a parenthesised group, or ` (` before one.
    Paren,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

impl Group {
    fn len(self) -> usize {
        self.end - self.start
    }
}

/// Finds the PII entities in `text`, sorted by start, without overlaps.
pub fn scan(text: &str) -> Vec<Hit> {
    let mut scanner = Scanner {
        b: text.as_bytes(),
        keywords: Vec::new(),
        hits: Vec::new(),
        groups: Vec::new(),
        seps: Vec::new(),
    };
    scanner.emails();
    scanner.urls();
    scanner.tokens();
    resolve(scanner.hits)
}

struct Scanner<'a> {
    b: &'a [u8],
    keywords: Vec<Keyword>,
    hits: Vec<Hit>,
    groups: Vec<Group>,
    seps: Vec<Sep>,
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// Byte classes of token characters (0: not in a token).
const DIGIT: u8 = 1;
const LOWER_HEX: u8 = 2;
const UPPER_HEX: u8 = 4;
const LOWER: u8 = 8;
const UPPER: u8 = 16;

const CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        class[c] = match c as u8 {
            b'0'..=b'9' => DIGIT,
            b'a'..=b'f' => LOWER_HEX,
            b'A'..=b'F' => UPPER_HEX,
            b'g'..=b'z' => LOWER,
            b'G'..=b'Z' => UPPER,
            _ => 0,
        };
        c += 1;
    }
    class
};

fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

/// Context keywords: a word, or two words (the second following the first with at most two
/// bytes between them), and the kinds they give.
const KEYWORDS: &[(&str, u32)] = &[
    ("ssn", ctx::SSN),
    ("ssns", ctx::SSN),
    ("socsec", ctx::SSN),
    ("social security", ctx::SSN),
    ("social insurance", ctx::SIN),
    ("sin", ctx::SIN),
    ("nas", ctx::SIN),
    ("itin", ctx::ITIN),
    ("tin", ctx::ITIN),
    ("taxpayer", ctx::ITIN | ctx::UTR),
    ("tax reference", ctx::UTR),
    ("utr", ctx::UTR),
    ("phone", ctx::PHONE),
    ("phones", ctx::PHONE),
    ("telephone", ctx::PHONE),
    ("tel", ctx::PHONE),
    ("mobile", ctx::PHONE),
    ("cell", ctx::PHONE),
    ("cellphone", ctx::PHONE),
    ("fax", ctx::PHONE),
    ("call", ctx::PHONE),
    ("contact", ctx::PHONE),
    ("sms", ctx::PHONE),
    ("whatsapp", ctx::PHONE),
    ("ph", ctx::PHONE),
    ("text", ctx::PHONE),
    ("cvv", ctx::CVV),
    ("cvc", ctx::CVV),
    ("csc", ctx::CVV),
    ("cvn", ctx::CVV),
    ("cid", ctx::CVV),
    ("verification", ctx::CVV),
    ("security code", ctx::CVV),
    ("exp", ctx::EXPIRY),
    ("expiry", ctx::EXPIRY),
    ("expires", ctx::EXPIRY),
    ("expiration", ctx::EXPIRY),
    ("expiring", ctx::EXPIRY),
    ("expire", ctx::EXPIRY),
    ("expdate", ctx::EXPIRY),
    ("valid thru", ctx::EXPIRY),
    ("good thru", ctx::EXPIRY),
    ("valid through", ctx::EXPIRY),
    ("good through", ctx::EXPIRY),
    ("routing", ctx::ROUTING),
    ("aba", ctx::ROUTING),
    ("rtn", ctx::ROUTING),
    ("transit", ctx::ROUTING),
    ("account", ctx::ACCOUNT),
    ("accounts", ctx::ACCOUNT),
    ("acct", ctx::ACCOUNT),
    ("acc", ctx::ACCOUNT),
    ("checking", ctx::ACCOUNT),
    ("savings", ctx::ACCOUNT),
    ("bank", ctx::ACCOUNT | ctx::SWIFT),
    ("passport", ctx::PASSPORT),
    ("passports", ctx::PASSPORT),
    ("secret", ctx::AWS_SECRET),
    ("aws", ctx::AWS_SECRET),
    ("secretaccesskey", ctx::AWS_SECRET),
    ("secretkey", ctx::AWS_SECRET),
    ("pin", ctx::PIN),
    ("pins", ctx::PIN),
    ("pincode", ctx::PIN),
    ("swift", ctx::SWIFT),
    ("bic", ctx::SWIFT),
    ("nhs", ctx::NHS),
    ("age", ctx::AGE),
    ("aged", ctx::AGE),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Password,
    Username,
}

/// Keys of `key: value` pairs. Not `pass`: "boarding pass: 12A". Two-word keys need the words
/// right next to each other (`user_name`, `user name`, `login-id`).
const KEYS: &[(&str, Key)] = &[
    ("password", Key::Password),
    ("passwd", Key::Password),
    ("pwd", Key::Password),
    ("passcode", Key::Password),
    ("passphrase", Key::Password),
    ("pw", Key::Password),
    ("username", Key::Username),
    ("userid", Key::Username),
    ("uname", Key::Username),
    ("user name", Key::Username),
    ("user id", Key::Username),
    ("login name", Key::Username),
    ("login id", Key::Username),
];

/// The last word of a keyword or key.
const fn last_word(entry: &str) -> &[u8] {
    let bytes = entry.as_bytes();
    let mut i = bytes.len();
    while i > 0 {
        if bytes[i - 1] == b' ' {
            return bytes.split_at(i).1;
        }
        i -= 1;
    }
    bytes
}

/// A slot of the word filter, from a word's first two bytes, last byte (lowercased) and length.
const fn bloom_slot(word: &[u8], lowercase: bool) -> usize {
    const fn fold(c: u8, lowercase: bool) -> u8 {
        if lowercase { c.to_ascii_lowercase() } else { c }
    }
    let len = word.len();
    let second = if len > 1 { fold(word[1], lowercase) } else { 0 };
    let key = (fold(word[0], lowercase) as u64)
        | (second as u64) << 8
        | (fold(word[len - 1], lowercase) as u64) << 16
        | (len as u64) << 24;
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize
}

/// A bit per slot that some keyword's (last) word occupies: most words are rejected with one
/// lookup, without lowercasing or comparing.
const BLOOM: [u64; 32] = {
    let mut bits = [0u64; 32];
    let mut i = 0;
    while i < KEYWORDS.len() + KEYS.len() {
        let word = if i < KEYWORDS.len() {
            last_word(KEYWORDS[i].0)
        } else {
            last_word(KEYS[i - KEYWORDS.len()].0)
        };
        let slot = bloom_slot(word, false);
        bits[slot / 64] |= 1 << (slot % 64);
        i += 1;
    }
    bits
};

fn maybe_keyword(word: &[u8]) -> bool {
    let slot = bloom_slot(word, true);
    BLOOM[slot / 64] & (1 << (slot % 64)) != 0
}

/// Whether `word` (and, for two-word entries, `prev`) is `entry`, ignoring ASCII case.
fn is_entry(entry: &str, word: &[u8], prev: &[u8]) -> bool {
    let entry = entry.as_bytes();
    let Some(head_len) = entry.len().checked_sub(word.len()) else {
        return false;
    };
    if !entry[head_len..].eq_ignore_ascii_case(word) {
        return false;
    }
    match head_len {
        0 => true,
        _ => entry[head_len - 1] == b' ' && entry[..head_len - 1].eq_ignore_ascii_case(prev),
    }
}

/// Keyword kinds of `word`, given the word just before it (empty when not adjacent).
fn keyword_kind(word: &[u8], prev: &[u8]) -> u32 {
    KEYWORDS
        .iter()
        .filter(|(entry, _)| is_entry(entry, word, prev))
        .fold(0, |kinds, (_, kind)| kinds | kind)
}

fn pair_key(word: &[u8], prev: &[u8], adjacent: bool) -> Option<Key> {
    KEYS.iter()
        .find(|(entry, _)| (adjacent || !entry.contains(' ')) && is_entry(entry, word, prev))
        .map(|&(_, key)| key)
}

impl Scanner<'_> {
    fn push(&mut self, start: usize, end: usize, kind: PiiType, rank: u8) {
        if end > start {
            self.hits.push(Hit {
                start,
                end,
                kind,
                rank,
            });
        }
    }

    /// Context keywords and `key: value` keys among the words (ASCII letter runs) of the token
    /// `b[start..end]`; `prev` is the previous word.
    fn words(&mut self, start: usize, end: usize, prev: &mut (usize, usize)) {
        let b = self.b;
        let mut i = start;
        while i < end {
            if !b[i].is_ascii_alphabetic() {
                i += 1;
                continue;
            }
            let word_start = i;
            while i < end && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            self.word(word_start, i, prev);
        }
    }

    /// One word, `b[start..end]` (ASCII letters).
    fn word(&mut self, start: usize, end: usize, prev: &mut (usize, usize)) {
        let b = self.b;
        let word = &b[start..end];
        if maybe_keyword(word) {
            let gap = start - prev.1;
            let before: &[u8] = if prev.1 > 0 && gap <= 2 {
                &b[prev.0..prev.1]
            } else {
                b""
            };
            let kind = keyword_kind(word, before);
            if kind != 0 {
                self.keywords.push(Keyword { end, kind });
            }
            if let Some(key) = pair_key(word, before, gap <= 1) {
                self.pair_value(end, key);
            }
        }
        *prev = (start, end);
    }

    /// The value after a key ending at `at`: `password: x`, `pwd="x"`, `"password": "x"`,
    /// `password is x`.
    fn pair_value(&mut self, at: usize, key: Key) {
        let b = self.b;
        let mut i = at;
        let skip_spaces = |mut i: usize| {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') && i - at < 8 {
                i += 1;
            }
            i
        };
        if key == Key::Username && i < b.len() && (b[i] == b'_' || b[i] == b'-') {
            // `user_name`, `login-id`: the keyword pass reports the second word too.
            return;
        }
        if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
            i += 1;
        }
        i = skip_spaces(i);
        if i >= b.len() {
            return;
        }
        if b[i] == b':' || b[i] == b'=' {
            i += 1;
            if i < b.len() && b[i] == b'=' {
                i += 1;
            }
        } else if key == Key::Password
            && b[i..].len() > 3
            && b[i..i + 2].eq_ignore_ascii_case(b"is")
            && b[i + 2] == b' '
        {
            i += 3;
        } else {
            return;
        }
        i = skip_spaces(i);
        if i >= b.len() {
            return;
        }
        let (start, end) = if b[i] == b'"' || b[i] == b'\'' || b[i] == b'`' {
            let quote = b[i];
            let start = i + 1;
            let Some(len) = b[start..]
                .iter()
                .take(MAX_SECRET + 1)
                .position(|&c| c == quote || c == b'\n')
            else {
                return;
            };
            if b[start + len] != quote {
                return;
            }
            (start, start + len)
        } else {
            let start = i;
            let mut end = i;
            while end < b.len() && !b[end].is_ascii_whitespace() && end - start <= MAX_SECRET {
                end += 1;
            }
            while end > start && b".,;)]}'\"`".contains(&b[end - 1]) {
                end -= 1;
            }
            (start, end)
        };
        let value = &b[start..end];
        if value.is_empty() || value.len() > MAX_SECRET || value.iter().all(|&c| c == b'*') {
            return;
        }
        let kind = match key {
            Key::Password => PiiType::PASSWORD,
            Key::Username => PiiType::USERNAME,
        };
        self.push(start, end, kind, 0);
    }

    /// The kinds (within `mask`) of the context keywords that end at most `window` bytes before
    /// `pos`, nearest first.
    fn contexts(&self, pos: usize, window: usize, mask: u32) -> impl Iterator<Item = u32> + '_ {
        let upto = self.keywords.partition_point(|k| k.end <= pos);
        self.keywords[..upto]
            .iter()
            .rev()
            .take_while(move |k| pos - k.end <= window)
            .map(move |k| k.kind & mask)
            .filter(|&k| k != 0)
    }

    fn has_context(&self, pos: usize, mask: u32) -> bool {
        self.contexts(pos, WINDOW, mask).next().is_some()
    }

    /// Pass 1a: e-mail addresses around each `@`.
    fn emails(&mut self) {
        let b = self.b;
        let mut from = 0;
        while let Some(off) = memchr::memchr(b'@', &b[from..]) {
            let at = from + off;
            from = at + 1;
            // Internationalised local parts (`zoë@…`) are taken whole: bytes >= 0x80.
            let local_char = |c: u8| is_alnum(c) || c >= 0x80 || b"._%+-'".contains(&c);
            let mut start = at;
            while start > 0 && local_char(b[start - 1]) && at - start < 64 {
                start -= 1;
            }
            while start < at && (b[start] == b'.' || b[start] == b'\'') {
                start += 1;
            }
            let mut end = at + 1;
            while end < b.len()
                && (is_alnum(b[end]) || b[end] == b'.' || b[end] == b'-')
                && end - at < 254
            {
                end += 1;
            }
            while end > at + 1 && (b[end - 1] == b'.' || b[end - 1] == b'-') {
                end -= 1;
            }
            let local = &b[start..at];
            let domain = &b[at + 1..end];
            if local.is_empty() || local.windows(2).any(|w| w == b"..") || !valid_domain(domain) {
                continue;
            }
            self.push(start, end, PiiType::EMAIL, 1);
            from = end;
        }
    }

    /// Pass 1b: URLs with a scheme (`https://…`) or starting with `www.`.
    fn urls(&mut self) {
        const SCHEMES: [&[u8]; 9] = [
            b"http", b"https", b"ftp", b"ftps", b"sftp", b"ws", b"wss", b"ssh", b"git",
        ];
        let b = self.b;
        let mut i = 0;
        while i + 3 < b.len() {
            // Jump to the next `:` or `w` (the only bytes a URL candidate starts at here).
            match memchr::memchr3(b':', b'w', b'W', &b[i..b.len() - 3]) {
                Some(off) => i += off,
                None => break,
            }
            let (start, host_start) = if &b[i..i + 3] == b"://" {
                let mut s = i;
                while s > 0 && b[s - 1].is_ascii_alphabetic() && i - s < 6 {
                    s -= 1;
                }
                let scheme_ok = SCHEMES.iter().any(|sc| sc.eq_ignore_ascii_case(&b[s..i]));
                if !scheme_ok || (s > 0 && is_alnum(b[s - 1])) {
                    i += 3;
                    continue;
                }
                (s, i + 3)
            } else if b[i..i + 4].eq_ignore_ascii_case(b"www.")
                && (i == 0 || !(is_alnum(b[i - 1]) || b"./-@_".contains(&b[i - 1])))
            {
                (i, i)
            } else {
                i += 1;
                continue;
            };
            let mut end = host_start;
            while end < b.len() && is_url_char(b[end]) && end - start < MAX_URL {
                end += 1;
            }
            let run_end = end;
            // Trailing punctuation belongs to the sentence, and so does an unbalanced `)`.
            loop {
                match b.get(end.wrapping_sub(1)) {
                    Some(b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'*')
                        if end > host_start =>
                    {
                        end -= 1
                    }
                    Some(b')') if end > host_start => {
                        let url = &b[start..end];
                        let open = url.iter().filter(|&&c| c == b'(').count();
                        let close = url.iter().filter(|&&c| c == b')').count();
                        if close > open {
                            end -= 1;
                        } else {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            let authority_end = b[host_start..end]
                .iter()
                .position(|&c| c == b'/' || c == b'?' || c == b'#')
                .map_or(end, |p| host_start + p);
            let authority = &b[host_start..authority_end];
            // Drop `user:pass@` and `:port`.
            let host = match authority.iter().rposition(|&c| c == b'@') {
                Some(p) => &authority[p + 1..],
                None => authority,
            };
            let host = if host.first() == Some(&b'[') {
                host
            } else {
                match host.iter().position(|&c| c == b':') {
                    Some(p) => &host[..p],
                    None => host,
                }
            };
            let host_ok = host.eq_ignore_ascii_case(b"localhost")
                || (host.first() == Some(&b'[') && host.last() == Some(&b']'))
                || valid_host(host);
            if host_ok && end > host_start {
                self.push(start, end, PiiType::URL, 1);
                i = end;
            } else {
                // Not again inside the same run: keeps `www.1,www.1,…` linear.
                i = run_end.max(i + 1);
            }
        }
    }

    /// Pass 2: alphanumeric tokens, their keywords first.
    fn tokens(&mut self) {
        let b = self.b;
        let mut prev_word = (0, 0);
        let mut i = 0;
        while i < b.len() {
            if CLASS[usize::from(b[i])] == 0 || (i > 0 && CLASS[usize::from(b[i - 1])] != 0) {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = i;
            let mut class = 0;
            while end < b.len() && CLASS[usize::from(b[end])] != 0 {
                class |= CLASS[usize::from(b[end])];
                end += 1;
            }
            // Keywords first: a candidate's context is what comes before it.
            if class & DIGIT == 0 {
                self.word(start, end, &mut prev_word);
            } else if class != DIGIT {
                self.words(start, end, &mut prev_word);
            }
            i = self.token(start, end, class).max(end);
        }
    }

    /// Classifies the token `b[start..end]`; returns where scanning goes on.
    fn token(&mut self, start: usize, end: usize, class: u8) -> usize {
        let b = self.b;
        let tok = &b[start..end];
        let next = b.get(end).copied().unwrap_or(0);
        let lower = class & (LOWER_HEX | LOWER) != 0;
        let upper = class & (UPPER_HEX | UPPER) != 0;
        let non_hex = class & (LOWER | UPPER) != 0;
        // AWS secret keys: 40 base64 characters, after a context keyword. A run of 40 is one
        // token, or goes on with `/` or `+`.
        if (tok.len() == 40 || next == b'/' || next == b'+')
            && !(start > 0 && is_base64(b[start - 1]))
        {
            let mut run = start;
            while run < b.len() && is_base64(b[run]) && run - start <= 40 {
                run += 1;
            }
            let after = b.get(run).copied().unwrap_or(0);
            if run - start == 40 && !is_base64(after) {
                let s = &b[start..run];
                let classes = [
                    s.iter().any(u8::is_ascii_uppercase),
                    s.iter().any(u8::is_ascii_lowercase),
                    s.iter()
                        .any(|c| c.is_ascii_digit() || *c == b'/' || *c == b'+'),
                ];
                let after_key = self
                    .hits
                    .last()
                    .is_some_and(|h| h.kind == PiiType::AWS_ACCESS_KEY && start - h.end <= WINDOW);
                if classes.iter().all(|&c| c)
                    && (after_key || self.contexts(start, 64, ctx::AWS_SECRET).next().is_some())
                {
                    self.push(start, run, PiiType::AWS_SECRET_KEY, 0);
                    return run;
                }
            }
        }
        // IPv6 and MAC addresses.
        let after_double_colon = start >= 2 && &b[start - 2..start] == b"::";
        // Not from the middle of a longer colon run (`00:1A:…:5E:6F`).
        let inside_run = !after_double_colon
            && start >= 2
            && matches!(b[start - 1], b':' | b'-' | b'.')
            && b[start - 2].is_ascii_hexdigit();
        if !inside_run
            && tok.len() <= 4
            && !non_hex
            && (matches!(next, b':' | b'-' | b'.') || after_double_colon)
        {
            if let Some(stop) = self.mac(start) {
                return stop;
            }
            if next == b':' || after_double_colon {
                let from = if after_double_colon
                    && !(start >= 3 && (b[start - 3].is_ascii_hexdigit() || b[start - 3] == b':'))
                {
                    start - 2
                } else {
                    start
                };
                match self.ipv6(from) {
                    Ok(stop) => return stop,
                    Err(skip) if skip > end => return skip,
                    Err(_) => {}
                }
            }
        }
        if !lower && !upper {
            if next.is_ascii_alphabetic() {
                return end;
            }
            return self.digit_sequence(start);
        }
        // The codes below are uppercase letters and digits.
        if lower {
            return end;
        }
        self.code(start, end)
    }

    /// Letter-digit codes: AWS access keys, VINs, IBANs, UK NI numbers, SWIFT codes, passports.
    fn code(&mut self, start: usize, end: usize) -> usize {
        let b = self.b;
        let tok = &b[start..end];
        let upper_digits = tok
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !upper_digits {
            return end;
        }
        let has_digit = tok.iter().any(u8::is_ascii_digit);
        let has_letter = tok.iter().any(u8::is_ascii_uppercase);
        if tok.len() == 20
            && matches!(
                &tok[..4],
                b"AKIA" | b"ASIA" | b"ABIA" | b"ACCA" | b"AGPA" | b"AIDA" | b"AROA" | b"ANPA"
            )
        {
            self.push(start, end, PiiType::AWS_ACCESS_KEY, 1);
            return end;
        }
        if tok.len() == 17 && has_digit && has_letter && validate::vin(tok) {
            self.push(start, end, PiiType::VEHICLE_IDENTIFICATION_NUMBER, 1);
            return end;
        }
        // IBAN, printed in groups of four or not.
        if tok.len() >= 4
            && tok[..2].iter().all(u8::is_ascii_uppercase)
            && tok[2..4].iter().all(u8::is_ascii_digit)
            && let Some(want) = validate::iban_length(&tok[..2])
        {
            let mut iban = [0u8; 34];
            let mut len = tok.len().min(34);
            iban[..len].copy_from_slice(&tok[..len]);
            let mut stop = end;
            while len < want && stop + 1 < b.len() && b[stop] == b' ' {
                let g_start = stop + 1;
                let mut g_end = g_start;
                while g_end < b.len()
                    && (b[g_end].is_ascii_uppercase() || b[g_end].is_ascii_digit())
                {
                    g_end += 1;
                }
                let g = g_end - g_start;
                if g == 0 || g > 4 || len + g > want || (g_end < b.len() && is_alnum(b[g_end])) {
                    break;
                }
                iban[len..len + g].copy_from_slice(&b[g_start..g_end]);
                len += g;
                stop = g_end;
            }
            if len == want && validate::iban(&iban[..len]) {
                self.push(start, stop, PiiType::INTERNATIONAL_BANK_ACCOUNT_NUMBER, 1);
                return stop;
            }
        }
        // UK national insurance numbers: `AB123456C`, `AB 12 34 56 C`, `AB123456 C`.
        if tok.len() <= 9 && tok.len() >= 2 && tok[..2].iter().all(u8::is_ascii_uppercase) {
            let mut nino = [0u8; 9];
            let mut len = tok.len();
            nino[..len].copy_from_slice(tok);
            let mut stop = end;
            while len < 9 && stop + 1 < b.len() && b[stop] == b' ' && is_alnum(b[stop + 1]) {
                let g_start = stop + 1;
                let mut g_end = g_start;
                while g_end < b.len() && is_alnum(b[g_end]) {
                    g_end += 1;
                }
                if len + g_end - g_start > 9 {
                    break;
                }
                nino[len..len + g_end - g_start].copy_from_slice(&b[g_start..g_end]);
                len += g_end - g_start;
                stop = g_end;
            }
            if len == 9 && validate::uk_nino(&nino) {
                self.push(start, stop, PiiType::UK_NATIONAL_INSURANCE_NUMBER, 1);
                return stop;
            }
        }
        if validate::swift(tok)
            && (tok[6..].iter().any(u8::is_ascii_digit) || self.has_context(start, ctx::SWIFT))
        {
            self.push(start, end, PiiType::SWIFT_CODE, 1);
            return end;
        }
        if tok.len() == 9
            && tok[0].is_ascii_uppercase()
            && tok[1..].iter().all(u8::is_ascii_digit)
            && self.has_context(start, ctx::PASSPORT)
        {
            self.push(start, end, PiiType::US_PASSPORT_NUMBER, 0);
        }
        end
    }

    /// A MAC address starting at `start`: `00:1A:2B:3C:4D:5E`, `00-1A-…`, `001A.2B3C.4D5E`.
    fn mac(&mut self, start: usize) -> Option<usize> {
        let b = self.b;
        let rest = &b[start..];
        let hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
        let len = if rest.len() >= 17 && matches!(rest[2], b':' | b'-') {
            let sep = rest[2];
            let ok = (0..6).all(|g| hex(&rest[g * 3..g * 3 + 2]))
                && (0..5).all(|g| rest[g * 3 + 2] == sep);
            ok.then_some(17)?
        } else if rest.len() >= 14 && rest[4] == b'.' {
            let ok = hex(&rest[..4]) && rest[9] == b'.' && hex(&rest[5..9]) && hex(&rest[10..14]);
            ok.then_some(14)?
        } else {
            return None;
        };
        let after = b.get(start + len).copied().unwrap_or(0);
        if is_alnum(after)
            || (matches!(after, b':' | b'-' | b'.')
                && b.get(start + len + 1)
                    .is_some_and(|c| c.is_ascii_hexdigit()))
        {
            return None;
        }
        self.push(start, start + len, PiiType::MAC_ADDRESS, 1);
        Some(start + len)
    }

    /// An IPv6 address starting at `start`.
    /// An IPv6 address starting at `start`: `Ok(end)`; or, where there is none, `Err(skip)`:
    /// the end of a colon run not to look into again (`12:30:45`, `a::b::c`), or 0.
    fn ipv6(&mut self, start: usize) -> Result<usize, usize> {
        let b = self.b;
        let mut end = start;
        while end < b.len()
            && (b[end].is_ascii_hexdigit() || b[end] == b':' || b[end] == b'.')
            && end - start < 45
        {
            end += 1;
        }
        let run = &b[start..end];
        let skip = if run.iter().filter(|&&c| c == b':').count() >= 2 {
            end
        } else {
            0
        };
        if end < b.len() && is_alnum(b[end]) {
            return Err(skip);
        }
        // Trailing `:` or `.` belong to the sentence.
        while end > start && matches!(b[end - 1], b':' | b'.') && !b[..end].ends_with(b"::") {
            end -= 1;
        }
        let s = &b[start..end];
        let colons = s.iter().filter(|&&c| c == b':').count();
        let parsed = std::str::from_utf8(s).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok());
        // `::` alone (the unspecified address) says nothing.
        let unspecified = s.iter().all(|&c| c == b':' || c == b'0') && s.len() < 4;
        if colons < 2 || !parsed || unspecified {
            return Err(skip);
        }
        self.push(start, end, PiiType::IP_ADDRESS, 1);
        Ok(end)
    }

    /// Runs of digit groups (`4111 1111 1111 1111`, `(555) 123-4567`, `192.168.0.1`, `12/27`)
    /// starting at `start`; returns where the run ends.
    fn digit_sequence(&mut self, start: usize) -> usize {
        let b = self.b;
        self.groups.clear();
        self.seps.clear();
        let digits_end = |mut i: usize| {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let mut end = digits_end(start);
        self.groups.push(Group { start, end });
        while self.groups.len() < 12 {
            let rest = &b[end..];
            let (sep, len) = match rest {
                [b' ', b'-' | b'/', b' ', d, ..] if d.is_ascii_digit() => (
                    if rest[1] == b'-' {
                        Sep::Dash
                    } else {
                        Sep::Slash
                    },
                    3,
                ),
                [b')', b' ' | b'-', d, ..] if d.is_ascii_digit() => (Sep::Paren, 2),
                [b')', d, ..] if d.is_ascii_digit() => (Sep::Paren, 1),
                [b' ', b'(', d, ..] if d.is_ascii_digit() => (Sep::Paren, 2),
                [c, d, ..] if d.is_ascii_digit() => match c {
                    b' ' => (Sep::Space, 1),
                    b'-' => (Sep::Dash, 1),
                    b'.' => (Sep::Dot, 1),
                    b'/' => (Sep::Slash, 1),
                    _ => break,
                },
                _ => break,
            };
            let g_start = end + len;
            let g_end = digits_end(g_start);
            if g_end < b.len() && b[g_end].is_ascii_alphabetic() {
                break;
            }
            self.seps.push(sep);
            self.groups.push(Group {
                start: g_start,
                end: g_end,
            });
            end = g_end;
        }
        let plus = start > 0 && b[start - 1] == b'+' && !(start > 1 && is_alnum(b[start - 2]));
        let n = self.groups.len();
        let mut a = 0;
        while a < n {
            let mut matched = None;
            for last in (a..n).rev() {
                if let Some((kind, rank)) = self.classify(a, last, plus && a == 0) {
                    matched = Some((last, kind, rank));
                    break;
                }
            }
            match matched {
                Some((last, kind, rank)) => {
                    let mut s = self.groups[a].start;
                    let mut e = self.groups[last].end;
                    // A phone number takes its leading `+` or `(` along.
                    if kind == PiiType::PHONE && ((plus && a == 0) || (s > 0 && b[s - 1] == b'(')) {
                        s -= 1;
                    }
                    if kind == PiiType::AGE {
                        e = self.age_suffix(e).unwrap_or(e);
                    }
                    self.push(s, e, kind, rank);
                    a = last + 1;
                }
                None => a += 1,
            }
        }
        end
    }

    /// Where a `years old` phrase after an age ends, if there is one.
    fn age_suffix(&self, at: usize) -> Option<usize> {
        let rest = &self.b[at..];
        for phrase in [
            &b" years old"[..],
            b"-year-old",
            b" year old",
            b" yrs old",
            b" y/o",
            b" yo",
        ] {
            if rest.len() >= phrase.len()
                && rest[..phrase.len()].eq_ignore_ascii_case(phrase)
                && !rest
                    .get(phrase.len())
                    .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                return Some(at + phrase.len());
            }
        }
        None
    }

    /// The type of the digit groups `a..=last`, if any.
    fn classify(&self, a: usize, last: usize, plus: bool) -> Option<(PiiType, u8)> {
        let b = self.b;
        let groups = &self.groups[a..=last];
        let seps = &self.seps[a..last];
        let n = groups.len();
        // A candidate does not end inside a tightly joined run (`1.2.3.4.5`, `12-34-56-78`).
        let tight = |s: Sep| matches!(s, Sep::Dash | Sep::Dot | Sep::Slash);
        if (a > 0 && tight(self.seps[a - 1]))
            || (last + 1 < self.groups.len() && tight(self.seps[last]))
        {
            return None;
        }
        let len: usize = groups.iter().map(|g| g.len()).sum();
        if len > 40 {
            return None;
        }
        let mut digits = [0u8; 40];
        let mut at = 0;
        for g in groups {
            digits[at..at + g.len()].copy_from_slice(&b[g.start..g.end]);
            at += g.len();
        }
        let d = &digits[..len];
        let uniform = seps.windows(2).all(|w| w[0] == w[1]);
        let sep = seps.first().copied();
        let sizes =
            |want: &[usize]| n == want.len() && groups.iter().zip(want).all(|(g, &w)| g.len() == w);
        let start = groups[0].start;
        let paren = start > 0 && b[start - 1] == b'(';

        // IPv4: four dotted octets.
        if n == 4 && seps.iter().all(|&s| s == Sep::Dot) {
            let octets_ok = groups.iter().all(|g| {
                let o = &b[g.start..g.end];
                o.len() <= 3
                    && (o.len() == 1 || o[0] != b'0')
                    && o.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0')) <= 255
            });
            return octets_ok.then_some((PiiType::IP_ADDRESS, 1));
        }
        if seps.contains(&Sep::Dot) && !seps.iter().all(|&s| s == Sep::Dot) {
            return None;
        }
        // Card numbers: 13-19 digits, one kind of separator, a known issuer, Luhn.
        if !plus
            && (13..=19).contains(&len)
            && (n == 1
                || (uniform
                    && matches!(sep, Some(Sep::Space | Sep::Dash))
                    && (groups[..n - 1].iter().all(|g| g.len() == 4)
                        || sizes(&[4, 6, 5])
                        || sizes(&[4, 6, 4]))))
            && validate::card_number(d)
        {
            return Some((PiiType::CREDIT_DEBIT_CARD_NUMBER, 1));
        }
        let spaced_or_dashed = uniform && matches!(sep, Some(Sep::Space | Sep::Dash));
        // SSN and ITIN: `123-45-6789`.
        if len == 9 && sizes(&[3, 2, 4]) && spaced_or_dashed {
            if d[0] == b'9' {
                return validate::itin(d)
                    .then_some((PiiType::US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER, 1));
            }
            if validate::ssn(d) {
                return Some((PiiType::US_SOCIAL_SECURITY_NUMBER, 1));
            }
        }
        // Numbers that only mean something after a keyword, nearest keyword first.
        let shapes_9 = len == 9 && (n == 1 || (sizes(&[3, 3, 3]) && spaced_or_dashed));
        let shapes_10 = len == 10
            && (n == 1
                || (sizes(&[3, 3, 4]) && spaced_or_dashed)
                || (sizes(&[5, 5]) && spaced_or_dashed));
        let single = n == 1;
        for kind in self.contexts(start, WINDOW, u32::MAX).take(4) {
            let found = if kind & ctx::NHS != 0 && shapes_10 && validate::nhs(d) {
                Some(PiiType::UK_NATIONAL_HEALTH_SERVICE_NUMBER)
            } else if kind & ctx::UTR != 0 && shapes_10 && validate::utr(d) {
                Some(PiiType::UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER)
            } else if kind & ctx::SSN != 0 && len == 9 && single && validate::ssn(d) {
                Some(PiiType::US_SOCIAL_SECURITY_NUMBER)
            } else if kind & ctx::ITIN != 0 && len == 9 && single && validate::itin(d) {
                Some(PiiType::US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER)
            } else if kind & ctx::SIN != 0 && shapes_9 && validate::ca_sin(d) {
                Some(PiiType::CA_SOCIAL_INSURANCE_NUMBER)
            } else if kind & ctx::ROUTING != 0 && len == 9 && single && validate::aba_routing(d) {
                Some(PiiType::US_BANK_ROUTING_NUMBER)
            } else if kind & ctx::PASSPORT != 0 && len == 9 && single {
                Some(PiiType::US_PASSPORT_NUMBER)
            } else if kind & ctx::CVV != 0 && single && (3..=4).contains(&len) {
                Some(PiiType::CREDIT_DEBIT_CARD_CVV)
            } else if kind & ctx::EXPIRY != 0
                && n == 2
                && matches!(sep, Some(Sep::Slash | Sep::Dash))
                && expiry(
                    &b[groups[0].start..groups[0].end],
                    &b[groups[1].start..groups[1].end],
                )
            {
                Some(PiiType::CREDIT_DEBIT_CARD_EXPIRY)
            } else if kind & ctx::PIN != 0 && single && (4..=8).contains(&len) {
                Some(PiiType::PIN)
            } else if kind & ctx::ACCOUNT != 0 && (8..=17).contains(&len) && single {
                Some(PiiType::US_BANK_ACCOUNT_NUMBER)
            } else if kind & ctx::AGE != 0
                && single
                && len <= 3
                && self.contexts(start, AGE_WINDOW, ctx::AGE).next().is_some()
                && age(d)
            {
                Some(PiiType::AGE)
            } else {
                None
            };
            if let Some(found) = found {
                return Some((found, 0));
            }
        }
        if single && len <= 3 && age(d) && self.age_suffix(groups[0].end).is_some() {
            return Some((PiiType::AGE, 0));
        }
        // Phone numbers: North American (`(555) 123-4567`, `+1 555.123.4567`) ...
        let phone_seps = seps
            .iter()
            .all(|s| matches!(s, Sep::Space | Sep::Dash | Sep::Dot | Sep::Paren));
        if phone_seps {
            let (core, cc) =
                if len == 11 && d[0] == b'1' && (groups[0].len() == 1 || (n == 1 && plus)) {
                    (&d[1..], 1)
                } else {
                    (d, 0)
                };
            let core_groups = n - if cc == 1 && groups[0].len() == 1 {
                1
            } else {
                0
            };
            if core.len() == 10
                && (b'2'..=b'9').contains(&core[0])
                && (b'2'..=b'9').contains(&core[3])
            {
                let g = &groups[n - core_groups..];
                let formatted =
                    core_groups == 3 && g[0].len() == 3 && g[1].len() == 3 && g[2].len() == 4;
                let bare_ok = core_groups == 1 && (plus || self.has_context(start, ctx::PHONE));
                let paren_ok = core_groups == 2
                    && (paren || b[g[0].start.saturating_sub(1)] == b'(')
                    && g[0].len() == 3;
                if formatted || bare_ok || paren_ok {
                    return Some((PiiType::PHONE, 1));
                }
            }
            // ... international with a `+` (E.164: at most 15 digits) ...
            if plus && (8..=15).contains(&len) && d[0] != b'0' && (n >= 2 || len >= 10) {
                return Some((PiiType::PHONE, 1));
            }
            // ... and national numbers with a trunk 0 after a phone keyword.
            if !plus
                && (10..=11).contains(&len)
                && d[0] == b'0'
                && self.has_context(start, ctx::PHONE)
            {
                return Some((PiiType::PHONE, 1));
            }
        }
        None
    }
}

/// `MM/YY` or `MM/YYYY`.
fn expiry(month: &[u8], year: &[u8]) -> bool {
    let m = month
        .iter()
        .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
    (1..=2).contains(&month.len())
        && (1..=12).contains(&m)
        && (year.len() == 2 || (year.len() == 4 && year.starts_with(b"20")))
}

fn age(d: &[u8]) -> bool {
    let v = d.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
    (1..=130).contains(&v)
}

fn is_url_char(c: u8) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            b'<' | b'>' | b'"' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
        )
}

/// A DNS name with at least two labels and an alphabetic top-level label, or an IPv4 address.
fn valid_host(host: &[u8]) -> bool {
    valid_domain(host)
        || std::str::from_utf8(host).is_ok_and(|h| h.parse::<std::net::Ipv4Addr>().is_ok())
}

fn valid_domain(domain: &[u8]) -> bool {
    if domain.len() < 4 || domain.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut last: &[u8] = b"";
    for label in domain.split(|&c| c == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
            || !label.iter().all(|&c| is_alnum(c) || c == b'-')
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
}

/// Drops overlapping candidates: the longest wins, then the lowest rank, then the earliest.
fn resolve(mut hits: Vec<Hit>) -> Vec<Hit> {
    if hits.len() <= 1 {
        return hits;
    }
    hits.sort_by_key(|h| (std::cmp::Reverse(h.end - h.start), h.rank, h.start));
    // The kept hits by start. They never overlap, so the only one that can overlap a candidate
    // is the last one starting before the candidate ends.
    let mut kept: std::collections::BTreeMap<usize, Hit> = std::collections::BTreeMap::new();
    for hit in hits {
        let overlaps = kept
            .range(..hit.end)
            .next_back()
            .is_some_and(|(_, k)| k.end > hit.start);
        if !overlaps {
            kept.insert(hit.start, hit);
        }
    }
    kept.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_passes_the_filter() {
        for (entry, _) in KEYWORDS {
            let word = last_word(entry);
            assert!(maybe_keyword(word), "{entry}");
            assert!(maybe_keyword(&word.to_ascii_uppercase()), "{entry}");
        }
        for (entry, _) in KEYS {
            assert!(maybe_keyword(last_word(entry)), "{entry}");
        }
        assert_eq!(keyword_kind(b"Security", b"SOCIAL"), ctx::SSN);
        assert_eq!(keyword_kind(b"security", b""), 0);
        assert_eq!(keyword_kind(b"bank", b""), ctx::ACCOUNT | ctx::SWIFT);
        assert_eq!(keyword_kind(b"ban", b""), 0);
        assert_eq!(pair_key(b"name", b"user", true), Some(Key::Username));
        assert_eq!(pair_key(b"name", b"user", false), None);
        assert_eq!(pair_key(b"name", b"", true), None);
    }

    #[test]
    fn the_filter_rejects_most_other_words() {
        let prose = "the quick brown fox jumps over lazy dog while people walk their dogs along \
            river banks under bright summer skies and children play games near old mills where \
            farmers once ground wheat into flour for bread that fed whole villages through long \
            winters before modern machines changed everything about how food reaches tables today";
        let words: Vec<&str> = prose.split_whitespace().collect();
        let passed: Vec<&&str> = words
            .iter()
            .filter(|w| maybe_keyword(w.as_bytes()))
            .collect();
        assert!(
            passed.len() * 10 <= words.len(),
            "{passed:?} of {} passed",
            words.len()
        );
    }
}
