//! The managed `PROFANITY` list (`profanity.txt`), expanded with inflections once per instance.

use std::sync::OnceLock;

use crate::matcher::Matcher;

const LIST: &str = include_str!("profanity.txt");

/// Every word and phrase of the list, inflections included, lowercased.
pub fn entries() -> Vec<String> {
    let mut out = Vec::new();
    for line in LIST.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix(" *") {
            Some(base) => {
                let base = base.trim();
                let (head, last) = match base.rsplit_once(' ') {
                    Some((head, last)) => (format!("{head} "), last),
                    None => (String::new(), base),
                };
                for form in inflections(last) {
                    out.push(format!("{head}{form}"));
                }
            }
            None => out.push(line.to_owned()),
        }
    }
    out.sort();
    out.dedup();
    out
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

/// The list as a matcher (ids are meaningless: every match is `PROFANITY`).
pub fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let mut matcher = Matcher::default();
        for entry in entries() {
            matcher.add(&entry, 0);
        }
        matcher
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_a_few_hundred_base_entries_and_more_forms() {
        let base = LIST
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert!(base >= 250, "{base}");
        let forms = entries();
        assert!(forms.len() > 1200, "{}", forms.len());
        for must in [
            "fuck",
            "fucking",
            "fuckin",
            "shitty",
            "shitting",
            "bitches",
            "son of a bitch",
            "motherfuckers",
            "cumming",
        ] {
            assert!(forms.iter().any(|f| f == must), "{must}");
        }
        // Innocent words stay out.
        for innocent in [
            "class",
            "assess",
            "cocktail",
            "scunthorpe",
            "tit",
            "hell",
            "shitake",
            "dickens",
            "cockpit",
            "cocked",
            "cocker",
            "shaggy",
            "pricked",
            "damning",
            "cumin",
            "cummin",
            "spicy",
            "sauerkraut",
        ] {
            assert!(!forms.iter().any(|f| f == innocent), "{innocent}");
        }
    }

    #[test]
    fn inflections_follow_english() {
        assert!(inflections("piss").contains(&"pisses".to_owned()));
        assert!(inflections("douche").contains(&"douching".to_owned()));
        assert!(inflections("shit").contains(&"shitty".to_owned()));
        assert!(!inflections("fuck").contains(&"fuckked".to_owned()));
    }
}
