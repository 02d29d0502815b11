//! Expands the managed word list (`src/profanity.txt`) at compile time into a static
//! open-addressing hash table of its single words and a list of its phrases, so that an
//! instance pays nothing to build it on its first call.

use std::fmt::Write as _;

#[path = "src/expand.rs"]
mod expand;

fn main() {
    println!("cargo::rerun-if-changed=src/profanity.txt");
    println!("cargo::rerun-if-changed=src/expand.rs");
    let list = std::fs::read_to_string("src/profanity.txt").expect("src/profanity.txt");
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    expand::for_each_entry(&list, |entry| {
        let entry = entry.to_lowercase();
        if entry.chars().all(|c| c.is_alphanumeric() || c == '_') {
            words.push(entry);
        } else {
            phrases.push(entry);
        }
    });
    for forms in [&mut words, &mut phrases] {
        forms.sort();
        forms.dedup();
    }
    assert!(
        words.len() < usize::from(u16::MAX),
        "too many words for u16 slots"
    );
    let size = (words.len() * 4).next_power_of_two().max(1024);
    let mut table = vec![0u16; size];
    for (index, word) in words.iter().enumerate() {
        let mut slot = (expand::word_hash(word.as_bytes()) & (size as u64 - 1)) as usize;
        while table[slot] != 0 {
            slot = (slot + 1) & (size - 1);
        }
        table[slot] = (index + 1) as u16;
    }
    let mut out = String::new();
    writeln!(out, "/// The list's single words (lowercased, sorted).").unwrap();
    writeln!(
        out,
        "pub static WORDS: [&str; {}] = {:?};",
        words.len(),
        words
    )
    .unwrap();
    writeln!(out, "/// The list's phrases (lowercased, sorted).").unwrap();
    writeln!(
        out,
        "pub static PHRASES: [&str; {}] = {:?};",
        phrases.len(),
        phrases
    )
    .unwrap();
    writeln!(
        out,
        "/// Open addressing by `word_hash`: 0 is empty, `i + 1` is `WORDS[i]`."
    )
    .unwrap();
    writeln!(out, "pub static TABLE: [u16; {size}] = {table:?};").unwrap();
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("profanity_table.rs");
    std::fs::write(path, out).unwrap();
}
