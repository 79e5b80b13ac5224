//! Text normalisation before anything else looks at a post.
//!
//! NFKC folds the "fancy" Unicode letters (𝐛𝐨𝐥𝐝, ｆｕｌｌｗｉｄｔｈ) people use to slip past
//! filters into plain letters; invisible characters are removed for the same reason, and
//! whitespace is collapsed so that copy-paste variants compare equal.

use unicode_normalization::UnicodeNormalization;

/// Characters that render as nothing and only serve to defeat matching.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// NFKC, invisible and control characters removed, whitespace runs collapsed to one space, trimmed.
pub fn normalize(text: &str) -> String {
    // Most posts use only characters NFKC leaves alone; skipping it there is most of the gain.
    fast(text).unwrap_or_else(|| clean(text.nfkc(), text.len()))
}

/// [`normalize`] for text whose characters are all [`nfkc_stable`], in one pass that copies
/// runs of printable ASCII and Cyrillic (U+0400..U+04FF) as byte slices; `None` at the first
/// character that needs NFKC. Invisible characters are dropped before that test: they map to
/// themselves, and any neighbour they could keep from composing is not stable either.
fn fast(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut pending_space = false;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() {
            match b[i] {
                0x21..=0x7E => i += 1,
                // Lead bytes of U+0400..U+04FF, always followed by one continuation byte.
                0xD0..=0xD3 => i += 2,
                _ => break,
            }
        }
        if i > start {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push_str(&text[start..i]);
            continue;
        }
        let c = text[i..].chars().next()?;
        i += c.len_utf8();
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
            continue;
        }
        if !nfkc_stable(c) {
            return None;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    Some(out)
}

/// Characters that NFKC maps to themselves whatever surrounds them (no decomposition, or a
/// canonical one that recomposes, and not a combining mark): ASCII, Cyrillic, the Latin
/// letters of Kazakh, Turkish and Western European alphabets, common punctuation and emoji.
/// Anything else takes the full NFKC path.
fn nfkc_stable(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{9F}'
        | '\u{A9}' | '\u{AB}' | '\u{AE}' | '\u{B0}' | '\u{B1}' | '\u{B7}' | '\u{BB}'
        | '\u{C0}'..='\u{FF}'
        | '\u{100}'..='\u{131}' | '\u{134}'..='\u{13E}' | '\u{141}'..='\u{148}' | '\u{14A}'..='\u{17E}'
        | '\u{1F4}' | '\u{1F5}'
        | '\u{400}'..='\u{4FF}'
        | '\u{2013}' | '\u{2014}' | '\u{2018}' | '\u{2019}' | '\u{201C}' | '\u{201D}' | '\u{2022}'
        | '\u{20B8}'
        | '\u{2600}'..='\u{27BF}' | '\u{FE0F}' | '\u{1F300}'..='\u{1FAFF}')
}

fn clean(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut pending_space = false;
    for c in chars {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn folds_spacing_invisibles_and_lookalike_letters() {
        assert_eq!(
            normalize("  Сәлем,\u{200B}  әлем!\n\n\tҚалайсың? "),
            "Сәлем, әлем! Қалайсың?"
        );
        assert_eq!(normalize("𝐀𝐥𝐦𝐚𝐭𝐲 ｔｏｄａｙ"), "Almaty today");
        assert_eq!(normalize("\u{FEFF}\u{200D}\u{00AD}"), "");
        assert_eq!(normalize("a\u{0000}b"), "a b");
        // Decomposed letters (as macOS writes them) compose, so "й" matches "й".
        assert_eq!(
            normalize("Қазақстанда да\u{0438}\u{0306}ын"),
            "Қазақстанда дайын"
        );
    }

    /// The fast path must give exactly what full NFKC gives, on every character it admits
    /// and on text mixing them with combining marks.
    #[test]
    fn fast_path_agrees_with_full_nfkc() {
        use unicode_normalization::UnicodeNormalization;
        let stable: Vec<char> = (0u32..0x20000)
            .filter_map(char::from_u32)
            .filter(|c| super::nfkc_stable(*c))
            .collect();
        for c in &stable {
            let s = c.to_string();
            assert_eq!(
                s.nfkc().collect::<String>(),
                s,
                "U+{:04X} is not NFKC-stable",
                *c as u32
            );
        }
        for text in [
            "Қазақстан – «жаңа» кезең… 🇰🇿",
            "Áqsaı ǵylym ışı",
            "ёлка и\u{0306}",
            "ﬁ ²",
        ] {
            let full: String = super::clean(text.nfkc(), text.len());
            assert_eq!(normalize(text), full, "{text}");
        }
        // Random texts mixing every kind of character the fast path treats apart: runs,
        // spaces of all sorts, controls, invisibles, stable and unstable non-run characters.
        let pool: Vec<char> = "aZ7 .,!\t\n\r\u{0}\u{7F}\u{85}\u{A0}\u{AD}\u{200B}\u{200D}\u{FEFF}\u{2028}\u{3000}\u{2003}ҚқәӘёЁйиЖ\u{0306}\u{0301}ÁǵışéÄ–«»…🇰🇿☀\u{FE0F}ﬁ²𝐀ｔ①"
            .chars()
            .collect();
        let mut state = 0x5EED_u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push(pool[(state >> 33) as usize % pool.len()]);
            }
            let full: String = super::clean(text.nfkc(), text.len());
            assert_eq!(normalize(&text), full, "{text:?}");
        }
    }
}
