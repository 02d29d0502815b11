//! The expansion of the managed word list, shared by `build.rs` (which expands it at compile
//! time into a static hash table) and the crate (whose tests check the expansion).

/// Calls `f` with every word and phrase of `list` (the format of `profanity.txt`), inflections
/// included (a form may come twice).
pub fn for_each_entry(list: &str, mut f: impl FnMut(&str)) {
    let mut form = String::new();
    for line in list.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix(" *") {
            Some(base) => {
                let base = base.trim();
                let (head, last) = match base.rsplit_once(' ') {
                    Some((head, last)) => (&base[..head.len() + 1], last),
                    None => ("", base),
                };
                for inflected in inflections(last) {
                    form.clear();
                    form.push_str(head);
                    form.push_str(&inflected);
                    f(&form);
                }
            }
            None => f(line),
        }
    }
}

/// A word and its common inflections.
pub fn inflections(word: &str) -> Vec<String> {
    let w = word.to_lowercase();
    let mut forms = vec![w.clone()];
    let bytes = w.as_bytes();
    let n = bytes.len();
    let vowel = |c: u8| b"aeiou".contains(&c);
    let last = bytes[n - 1];
    // Plural / third person.
    if w.ends_with('s')
        || w.ends_with("sh")
        || w.ends_with("ch")
        || w.ends_with('x')
        || w.ends_with('z')
    {
        forms.push(format!("{w}es"));
    } else if last == b'y' && n > 1 && !vowel(bytes[n - 2]) {
        forms.push(format!("{}ies", &w[..n - 1]));
    } else {
        forms.push(format!("{w}s"));
    }
    if last == b'e' {
        let stem = &w[..n - 1];
        forms.extend([
            format!("{w}d"),
            format!("{stem}ing"),
            format!("{w}r"),
            format!("{w}rs"),
        ]);
    } else {
        forms.extend([
            format!("{w}ed"),
            format!("{w}ing"),
            format!("{w}er"),
            format!("{w}ers"),
        ]);
        // The clipped `-in` (fuckin) only for longer stems: `cum` + `in` is a spice.
        if n >= 4 {
            forms.push(format!("{w}in"));
        }
        // Doubling after a single vowel: shit → shitty, shitting; cum → cumming.
        let cvc = n >= 3
            && !vowel(last)
            && !b"wxy".contains(&last)
            && vowel(bytes[n - 2])
            && !vowel(bytes[n - 3]);
        if cvc && n <= 5 {
            let d = last as char;
            forms.extend([
                format!("{w}{d}ed"),
                format!("{w}{d}ing"),
                format!("{w}{d}er"),
                format!("{w}{d}ers"),
                format!("{w}{d}y"),
            ]);
        }
    }
    forms
}

/// The hash of a (lowercased) word in the static table: FxHash over its bytes.
pub fn word_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut hash = 0u64;
    for &byte in bytes {
        hash = (hash.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
    }
    hash
}
