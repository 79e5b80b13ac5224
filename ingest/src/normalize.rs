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
    // Most posts use only characters NFKC leaves alone; skipping it there halves the cost.
    if text.chars().all(nfkc_stable) {
        clean(text.chars(), text.len())
    } else {
        clean(text.nfkc(), text.len())
    }
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
    }
}
