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
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkc() {
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
}
