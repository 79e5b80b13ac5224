//! Kazakh in the Latin alphabet, written out in Cyrillic for the encoder.
//!
//! multilingual-e5-small saw far more Cyrillic Kazakh than Latin Kazakh in training, and on
//! the project's test split the heads scored Latin-script Kazakh well below Cyrillic. The
//! acute-accent Latin alphabet of 2018 (á ǵ ı ń ó ú ý, sh, ch), the one people type, maps
//! almost letter for letter onto Cyrillic, so the encoder gets the Cyrillic form; the group
//! lexicon and the audit excerpt keep the text as written. Letters of the 2021 revision
//! (ä ğ ñ ö ü ū ş ç) map too; where the two revisions disagree (y, ı) the 2018 reading wins.

use sarap_core::contracts::{Lang, Script};
use std::borrow::Cow;

/// The text the encoder reads for a post in `lang` written in `script`.
pub fn model_input(text: &str, lang: Lang, script: Script) -> Cow<'_, str> {
    if lang == Lang::Kk && matches!(script, Script::Latn | Script::Mixed) {
        Cow::Owned(latin_to_cyrillic(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// Two-letter spellings first: sh, ch, ıa, ıý of the 2018 alphabet and the informal zh, kh.
const DIGRAPHS: [(&str, &str); 7] = [
    ("sh", "ш"),
    ("ch", "ч"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ıa", "я"),
    ("ıý", "ю"),
    ("ıu", "ю"),
];

fn letter(c: char) -> Option<&'static str> {
    Some(match c {
        'a' => "а",
        'á' | 'ä' => "ә",
        'b' => "б",
        'c' => "ц",
        'd' => "д",
        'e' => "е",
        'f' => "ф",
        'g' => "г",
        'ǵ' | 'ğ' => "ғ",
        'h' | 'x' => "х",
        'i' | 'İ' => "і",
        'j' => "ж",
        'k' => "к",
        'l' => "л",
        'm' => "м",
        'n' => "н",
        'ń' | 'ñ' => "ң",
        'o' => "о",
        'ó' | 'ö' => "ө",
        'p' => "п",
        'q' => "қ",
        'r' => "р",
        's' => "с",
        't' => "т",
        'u' => "ұ",
        'ú' | 'ü' | 'ū' => "ү",
        'v' => "в",
        'y' => "ы",
        'w' | 'ý' => "у",
        'ş' => "ш",
        'ç' => "ч",
        'z' => "з",
        _ => return None,
    })
}

/// Writes Latin-script Kazakh in Cyrillic; characters that are not Latin letters stay as they are.
pub fn latin_to_cyrillic(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let upper = c.is_uppercase();
        let lc = c.to_lowercase().next().unwrap_or(c);
        // A capital 'I' may stand for 'i' or 'ı'; it lowercases to 'i' and is read as 'і'.
        if let Some(&n) = chars.get(i + 1) {
            let pair: String = [lc, n.to_lowercase().next().unwrap_or(n)].iter().collect();
            if let Some((_, cyr)) = DIGRAPHS.iter().find(|(lat, _)| *lat == pair) {
                push_cased(&mut out, cyr, upper);
                i += 2;
                continue;
            }
        }
        if lc == 'ı' {
            // ı is й after a vowel (qytaılyq, uıǵyr), и elsewhere (ıaǵnı → яғни).
            let after_vowel = i > 0
                && "aáäeioóöuúüūyý".contains(chars[i - 1].to_lowercase().next().unwrap_or(' '));
            push_cased(&mut out, if after_vowel { "й" } else { "и" }, upper);
            i += 1;
            continue;
        }
        match letter(lc) {
            Some(cyr) => push_cased(&mut out, cyr, upper),
            None => out.push(c),
        }
        i += 1;
    }
    out
}

fn push_cased(out: &mut String, cyr: &str, upper: bool) {
    if upper {
        out.extend(cyr.chars().flat_map(char::to_uppercase));
    } else {
        out.push_str(cyr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2021_alphabet_maps_onto_cyrillic() {
        assert_eq!(latin_to_cyrillic("Qazaqstan"), "Қазақстан");
        assert_eq!(
            latin_to_cyrillic("Búgin Almatyda kóshe jabyq"),
            "Бүгін Алматыда көше жабық"
        );
        assert_eq!(latin_to_cyrillic("ıaǵnı shyǵys"), "яғни шығыс");
        assert_eq!(
            latin_to_cyrillic("Orystar, ózbekter men uıǵyrlar"),
            "Орыстар, өзбектер мен ұйғырлар"
        );
        assert_eq!(latin_to_cyrillic("zhol #jańalyq 100%"), "жол #жаңалық 100%");
        assert_eq!(latin_to_cyrillic("Уже кириллица"), "Уже кириллица");
    }

    #[test]
    fn only_latin_kazakh_is_rewritten() {
        assert_eq!(model_input("Qalaısyń", Lang::Kk, Script::Latn), "Қалайсың");
        assert_eq!(
            model_input("How are you", Lang::En, Script::Latn),
            "How are you"
        );
        assert_eq!(model_input("Қалайсың", Lang::Kk, Script::Cyrl), "Қалайсың");
    }
}
