//! Redaction of personal data in post text: IIN/BIN, phone numbers, e-mail addresses,
//! payment cards and @mentions become `[IIN]`, `[PHONE]`, `[EMAIL]`, `[CARD]`, `[USER]`.
//!
//! The scanners are hand-written rather than regexes because the hard part is not matching
//! digits but deciding what a run of digit groups *is*: the same "8 701 123 45 67" shape is a
//! phone, "4400 4301 2345 6789" a card only when Luhn holds, "870412 300123" an IIN only when
//! its check digit holds, and "77 000 000 000 тг" a price. A digit run is therefore split into
//! groups once, and every window of whole groups is tried against each kind, longest valid
//! window first. Working on whole groups is what guarantees that a number is never
//! half-redacted; refusing groups glued to letters ("X12345678901") or to a decimal point
//! keeps model numbers and fractions intact.
//!
//! Order: e-mails, then mentions (an e-mail's `@` is consumed first), then digit runs, where
//! a window is a card (13–19 digits, Luhn), an IIN (12 digits, IIN checksum) or a phone, so a
//! card is never also a phone and an IIN never a card. Placeholders contain no digits and no
//! `@`, so redacting twice changes nothing more.
//!
//! Cost: a text with no ASCII digit and no `@` is returned after one byte scan; otherwise
//! the work is linear in the text with at most 19 digits per window.

use sarap_core::ids::{is_valid_iin, luhn_valid};
use sarap_core::RedactionCounts;

/// Placeholder for an IIN/BIN.
const IIN: &str = "[IIN]";
/// Placeholder for a phone number.
const PHONE: &str = "[PHONE]";
/// Placeholder for an e-mail address.
const EMAIL: &str = "[EMAIL]";
/// Placeholder for a payment card number.
const CARD: &str = "[CARD]";
/// Placeholder for an @mention.
const USER: &str = "[USER]";

/// Most separator characters allowed between two digit groups of one number ("8 (701) 123",
/// ") " and " - " are two and three).
const MAX_GAP: usize = 3;
/// Longest number any kind can be (cards up to 19 digits); bounds the windows tried.
const MAX_DIGITS: usize = 19;

/// Redacts personal data from text; stateless and cheap to share across threads.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    // No state: the scanners are plain code. The struct keeps the API open for options
    // (for example per-policy kinds) without changing callers.
    _private: (),
}

impl Redactor {
    /// Creates a redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces personal data with placeholders [IIN] [PHONE] [EMAIL] [CARD] [USER] and counts each kind.
    pub fn redact(&self, text: &str) -> (String, RedactionCounts) {
        let mut counts = RedactionCounts::default();
        let bytes = text.as_bytes();
        // Prefilter: every kind needs an ASCII digit or an '@'. Most posts have neither.
        let has_at = bytes.contains(&b'@');
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        if !has_at && !has_digit {
            return (text.to_owned(), counts);
        }
        let mut current: Option<String> = None;
        if has_at {
            current = redact_at_signs(text, &mut counts);
        }
        if has_digit {
            // Until nothing changes: a number rejected only because a neighbouring group made
            // it look like part of a longer one is judged again once that neighbour has been
            // redacted, which makes redaction idempotent. Every round removes digits, so this
            // ends; in practice a second round finds nothing.
            for _ in 0..8 {
                let src = current.as_deref().unwrap_or(text);
                match redact_digit_runs(src, &mut counts) {
                    Some(out) => current = Some(out),
                    None => break,
                }
            }
        }
        (current.unwrap_or_else(|| text.to_owned()), counts)
    }
}

/// A replacement: byte range of the source and its placeholder.
struct Span {
    start: usize,
    end: usize,
    with: &'static str,
}

/// Builds the output from non-overlapping spans sorted by start; `None` when there are none
/// so that callers avoid a copy.
fn apply(src: &str, spans: &[Span]) -> Option<String> {
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for s in spans {
        out.push_str(&src[at..s.start]);
        out.push_str(s.with);
        at = s.end;
    }
    out.push_str(&src[at..]);
    Some(out)
}

fn bump(counter: &mut u32) {
    *counter = counter.saturating_add(1);
}

/// Last char before byte `idx` (which must be a char boundary).
fn char_before(s: &str, idx: usize) -> Option<char> {
    s[..idx].chars().next_back()
}

/// Char starting at byte `idx` (which must be a char boundary).
fn char_at(s: &str, idx: usize) -> Option<char> {
    s[idx..].chars().next()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

// ---------------------------------------------------------------------------------------
// E-mails and mentions
// ---------------------------------------------------------------------------------------

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// Handles every '@': an e-mail address around it becomes [EMAIL]; otherwise, when the '@'
/// starts a word, the handle after it becomes [USER].
fn redact_at_signs(src: &str, counts: &mut RedactionCounts) -> Option<String> {
    let mut spans: Vec<Span> = Vec::new();
    let mut search_from = 0;
    while let Some(rel) = src[search_from..].find('@') {
        let at = search_from + rel;
        search_from = at + 1;
        // Spans never overlap: an '@' inside the previous span (e.g. the local part of a
        // preceding address) was already handled.
        if spans.last().is_some_and(|s| at < s.end) {
            continue;
        }
        let floor = spans.last().map_or(0, |s| s.end);
        if let Some((start, end)) = email_around(src, at, floor) {
            spans.push(Span {
                start,
                end,
                with: EMAIL,
            });
            bump(&mut counts.email);
            search_from = end;
        } else if let Some(end) = mention_after(src, at) {
            spans.push(Span {
                start: at,
                end,
                with: USER,
            });
            bump(&mut counts.mention);
            search_from = end;
        }
    }
    apply(src, &spans)
}

/// The byte range of an e-mail address whose '@' is at `at`, not reaching before `floor`.
fn email_around(src: &str, at: usize, floor: usize) -> Option<(usize, usize)> {
    // Local part: walk left over allowed characters, then drop leading dots.
    let mut start = at;
    for (i, c) in src[floor..at].char_indices().rev() {
        if is_local_char(c) {
            start = floor + i;
        } else {
            break;
        }
    }
    while start < at && src.as_bytes()[start] == b'.' {
        start += 1;
    }
    if start == at {
        return None;
    }
    // Domain: walk right, then drop trailing dots and hyphens (sentence punctuation).
    let rest = &src[at + 1..];
    let mut len = rest
        .char_indices()
        .find(|&(_, c)| !is_domain_char(c))
        .map_or(rest.len(), |(i, _)| i);
    while len > 0 && matches!(rest.as_bytes()[len - 1], b'.' | b'-') {
        len -= 1;
    }
    let domain = &rest[..len];
    let (labels, tld) = domain.rsplit_once('.')?;
    let labels_ok = !labels.is_empty() && labels.split('.').all(|l| !l.is_empty());
    let tld_ok = tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic);
    (labels_ok && tld_ok).then_some((start, at + 1 + len))
}

/// End of an @mention starting at `at`: the '@' must not follow a word character, and the
/// handle is word characters with inner dots (a trailing dot ends the sentence instead).
fn mention_after(src: &str, at: usize) -> Option<usize> {
    // After ']' too: a placeholder left by an earlier redaction ("[USER]@x" from "@8@x")
    // must not turn the rest into a mention on a second pass.
    if char_before(src, at).is_some_and(|c| is_word_char(c) || c == ']') {
        return None;
    }
    let rest = &src[at + 1..];
    let mut end = 0;
    for (i, c) in rest.char_indices() {
        if is_word_char(c) {
            end = i + c.len_utf8();
        } else if c != '.' {
            break;
        }
        // A dot is kept only if a word character follows it (handled by `end` above).
        if c == '.' && !rest[i + 1..].chars().next().is_some_and(is_word_char) {
            break;
        }
    }
    (end > 0).then_some(at + 1 + end)
}

// ---------------------------------------------------------------------------------------
// Digit runs: cards, IINs, phones
// ---------------------------------------------------------------------------------------

/// Separator classes inside a number: spaces (thousands and card grouping), dashes, and the
/// rest (dots, parentheses) that only phones use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    Space,
    Dash,
    Other,
}

fn sep_class(c: char) -> Option<Sep> {
    match c {
        ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' => Some(Sep::Space),
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' => Some(Sep::Dash),
        '.' | '(' | ')' => Some(Sep::Other),
        _ => None,
    }
}

/// One run of ASCII digits, and what separates it from the previous run of the same number.
#[derive(Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    /// Separator class when the gap before this group is a single character; `None` for a
    /// longer gap or the first group.
    single_sep: Option<Sep>,
    /// Whether the gap before this group contains a parenthesis.
    paren_gap: bool,
}

impl Group {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

fn redact_digit_runs(src: &str, counts: &mut RedactionCounts) -> Option<String> {
    let b = src.as_bytes();
    let mut spans: Vec<Span> = Vec::new();
    let mut groups: Vec<Group> = Vec::with_capacity(8);
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Collect the groups of one digit run: digits, then up to MAX_GAP separators, then
        // digits again, and so on.
        groups.clear();
        let mut gs = i;
        let mut single_sep = None;
        let mut paren_gap = false;
        loop {
            let mut ge = gs;
            while ge < b.len() && b[ge].is_ascii_digit() {
                ge += 1;
            }
            groups.push(Group {
                start: gs,
                end: ge,
                single_sep,
                paren_gap,
            });
            let mut k = ge;
            let mut n_sep = 0;
            let mut first_class = None;
            paren_gap = false;
            while n_sep < MAX_GAP {
                let Some(c) = char_at(src, k) else { break };
                let Some(class) = sep_class(c) else { break };
                first_class.get_or_insert(class);
                paren_gap |= matches!(c, '(' | ')');
                n_sep += 1;
                k += c.len_utf8();
            }
            if n_sep > 0 && k < b.len() && b[k].is_ascii_digit() {
                single_sep = if n_sep == 1 { first_class } else { None };
                gs = k;
            } else {
                break;
            }
        }
        classify_groups(src, &groups, &mut spans, counts);
        i = groups.last().map_or(i + 1, |g| g.end);
    }
    apply(src, &spans)
}

/// Tries every window of whole groups, longest valid window first at each start.
fn classify_groups(
    src: &str,
    groups: &[Group],
    spans: &mut Vec<Span>,
    counts: &mut RedactionCounts,
) {
    let mut digits = String::with_capacity(MAX_DIGITS);
    let mut i = 0;
    while i < groups.len() {
        let mut best: Option<(usize, Kind, usize)> = None;
        let Some(left) = left_context(src, groups[i].start) else {
            i += 1;
            continue;
        };
        digits.clear();
        for j in i..groups.len() {
            digits.push_str(&src[groups[j].start..groups[j].end]);
            if digits.len() > MAX_DIGITS {
                break;
            }
            if !right_context_ok(src, groups[j].end) {
                continue;
            }
            let window = Window {
                groups: &groups[i..=j],
                before: &groups[..i],
                after: &groups[j + 1..],
            };
            if let Some(kind) = classify(&digits, &window, left) {
                let start = if kind == Kind::Phone {
                    left.prefix_start
                } else {
                    groups[i].start
                };
                best = Some((j, kind, start));
            }
        }
        match best {
            Some((j, kind, start)) => {
                let with = match kind {
                    Kind::Card => {
                        bump(&mut counts.card);
                        CARD
                    }
                    Kind::Iin => {
                        bump(&mut counts.iin);
                        IIN
                    }
                    Kind::Phone => {
                        bump(&mut counts.phone);
                        PHONE
                    }
                };
                spans.push(Span {
                    start,
                    end: groups[j].end,
                    with,
                });
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Card,
    Iin,
    Phone,
}

/// What precedes a window's first digit.
#[derive(Clone, Copy)]
struct Left {
    /// A '+' directly before the first digit (international phone prefix).
    plus: bool,
    /// A '(' directly before the first digit (area code in parentheses).
    paren: bool,
    /// Where a phone replacement starts (at the '+' or '(' when there is one).
    prefix_start: usize,
}

/// Context before a window starting at byte `start`, or `None` when the digits are glued
/// to a word ("X12345678901") or are the fraction of a decimal ("3.14159…", "0,5…").
fn left_context(src: &str, start: usize) -> Option<Left> {
    let mut left = Left {
        plus: false,
        paren: false,
        prefix_start: start,
    };
    let mut before = char_before(src, start);
    if matches!(before, Some('+' | '(')) {
        left.plus = before == Some('+');
        left.paren = before == Some('(');
        left.prefix_start = start - 1;
        before = char_before(src, start - 1);
    }
    match before {
        Some(c) if is_word_char(c) => None,
        Some('.' | ',') if !left.plus && !left.paren => {
            let prev = char_before(src, start - 1);
            (!prev.is_some_and(|c| c.is_ascii_digit())).then_some(left)
        }
        _ => Some(left),
    }
}

/// Whether a window may end at byte `end`: not glued to a word, not followed by a decimal
/// fraction ("87011234567.5").
fn right_context_ok(src: &str, end: usize) -> bool {
    match char_at(src, end) {
        Some(c) if is_word_char(c) => false,
        Some('.' | ',') => !char_at(src, end + 1).is_some_and(|c| c.is_ascii_digit()),
        _ => true,
    }
}

/// A candidate window of whole groups and the groups of the same run around it.
struct Window<'a> {
    groups: &'a [Group],
    before: &'a [Group],
    after: &'a [Group],
}

impl Window<'_> {
    /// Whether the same grouping continues past either end of the window (a neighbouring
    /// group joined by the same single separator and of length `len`, if given): then the
    /// window is a piece of a longer number, not a number of its own.
    fn grouping_continues(&self, sep: Option<Sep>, len: Option<usize>) -> bool {
        let fits = |g: &Group| len.is_none_or(|l| g.len() == l);
        let prev = self
            .before
            .last()
            .is_some_and(|p| self.groups[0].single_sep == sep && fits(p));
        let next = self
            .after
            .first()
            .is_some_and(|n| n.single_sep == sep && fits(n));
        prev || next
    }
}

/// The kind of a window of groups with concatenated `digits`, if any.
fn classify(digits: &str, window: &Window, left: Left) -> Option<Kind> {
    let n = digits.len();
    if !left.plus && !left.paren {
        if (13..=MAX_DIGITS).contains(&n) && card_shape(window, n) && luhn_valid(digits) {
            return Some(Kind::Card);
        }
        if n == 12 && iin_shape(window) && is_valid_iin(digits) {
            return Some(Kind::Iin);
        }
    }
    // A phone does not begin in the middle of an evenly grouped number ("2200 4581 7579 3800
    // 790" holds no phone): the group before it must not be joined by a single separator
    // and have the length of the phone's first group.
    let mid_number = window.before.last().is_some_and(|p| {
        window.groups[0].single_sep.is_some() && p.len() == window.groups[0].len()
    });
    (!mid_number && phone_shape(digits, window.groups, left)).then_some(Kind::Phone)
}

/// Cards are one run, or groups of at least 3 digits joined by one kind of single
/// separator (space or dash), not grouped by thousands, and not the start or end of a
/// longer grouping of card length (so that 16 of a mistyped 19-digit card's digits do not
/// count as a card merely because Luhn holds for them by chance).
fn card_shape(window: &Window, n: usize) -> bool {
    let w = window.groups;
    if w.len() == 1 {
        return true;
    }
    let sep = w[1].single_sep;
    if !matches!(sep, Some(Sep::Space | Sep::Dash)) {
        return false;
    }
    let longer = |g: Option<&Group>| g.is_some_and(|g| n + g.len() <= MAX_DIGITS);
    let continues = (window.grouping_continues(sep, None))
        && (longer(window.before.last()) || longer(window.after.first()));
    w[1..].iter().all(|g| g.single_sep == sep)
        && w.iter().all(|g| g.len() >= 3)
        && !w.iter().all(|g| g.len() == 3)
        && !continues
}

/// IINs are written as one run or as 6+6, 4+4+4 or 3+3+3+3 digits separated by spaces;
/// any other split of 12 digits (a year and a phone, say) is not taken for an IIN, nor are
/// 12 digits of a longer run grouped the same way (a card's "4400 4301 2345 6789").
fn iin_shape(window: &Window) -> bool {
    let w = window.groups;
    let spaced = w[1..].iter().all(|g| g.single_sep == Some(Sep::Space));
    let first = w[0].len();
    let even = w.iter().all(|g| g.len() == first);
    match w.len() {
        1 => true,
        2..=4 => {
            spaced
                && even
                && first * w.len() == 12
                && !window.grouping_continues(Some(Sep::Space), Some(first))
        }
        _ => false,
    }
}

/// Kazakhstan phone shapes (shared +7 numbering with Russia):
/// - `+7` and 10 digits; other `+`country numbers of 10–15 digits;
/// - `8` or `7` and a 10-digit national number that starts with 3–9, grouped as written
///   for phones (trunk digit apart, or glued to the 3-digit code, or one run);
/// - a 10-digit national number starting with 7 when written with its 3-digit code first
///   ("701 123 45 67", "(727) 123-45-67") or as one run with a mobile prefix (70x, 747, 77x).
///
/// Numbers grouped by thousands ("77 000 000 000") are prices, not phones.
fn phone_shape(digits: &str, window: &[Group], left: Left) -> bool {
    let d = digits.as_bytes();
    let n = d.len();
    let has_paren = left.paren || window.iter().any(|g| g.paren_gap);
    if !left.plus && !has_paren && window.len() >= 3 {
        let thousands = window[0].len() <= 3 && window[1..].iter().all(|g| g.len() == 3);
        if thousands {
            return false;
        }
    }
    // An 11-digit number starts with its 1-digit trunk or country code on its own
    // ("8 701 …"), glued to the operator code ("8701 …"), or is one run; "835414 71063" is not
    // written by anyone giving a phone number.
    let trunk_grouping = matches!(window[0].len(), 1 | 4 | 11);
    if left.plus {
        return if d[0] == b'7' {
            n == 11 && trunk_grouping
        } else {
            (10..=15).contains(&n)
        };
    }
    match n {
        11 => matches!(d[0], b'7' | b'8') && (b'3'..=b'9').contains(&d[1]) && trunk_grouping,
        10 if d[0] == b'7' => {
            if window.len() == 1 {
                d[1] == b'0' || digits.starts_with("747") || d[1] == b'7'
            } else {
                window[0].len() == 3
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sarap_core::ids::{iin_check_digit, luhn_check_digit};

    fn r(text: &str) -> (String, RedactionCounts) {
        Redactor::new().redact(text)
    }

    /// A valid IIN built from an 11-digit payload (skipping payloads with no check digit).
    fn valid_iin(seed: u64) -> String {
        let mut x = seed;
        loop {
            let mut first = [0u8; 11];
            let mut payload = String::new();
            for slot in first.iter_mut() {
                x = splitmix(x);
                *slot = (x % 10) as u8;
                payload.push(char::from(b'0' + *slot));
            }
            if let Some(c) = iin_check_digit(&first) {
                payload.push(char::from(b'0' + c));
                return payload;
            }
        }
    }

    /// An IIN whose check digit is wrong.
    fn invalid_iin(seed: u64) -> String {
        let v = valid_iin(seed);
        let last = v.as_bytes()[11] - b'0';
        format!("{}{}", &v[..11], (last + 1) % 10)
    }

    fn valid_card(prefix: &str, len: usize, seed: u64) -> String {
        let mut x = seed;
        let mut payload = prefix.to_string();
        while payload.len() < len - 1 {
            x = splitmix(x);
            payload.push(char::from(b'0' + (x % 10) as u8));
        }
        let c = luhn_check_digit(&payload);
        format!("{payload}{c}")
    }

    fn invalid_card(prefix: &str, len: usize, seed: u64) -> String {
        let v = valid_card(prefix, len, seed);
        let last = v.as_bytes()[len - 1] - b'0';
        format!("{}{}", &v[..len - 1], (last + 1) % 10)
    }

    fn splitmix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn group(s: &str, sizes: &[usize], sep: &str) -> String {
        let mut out = Vec::new();
        let mut at = 0;
        for &n in sizes {
            out.push(&s[at..at + n]);
            at += n;
        }
        assert_eq!(at, s.len());
        out.join(sep)
    }

    fn counts(iin: u32, phone: u32, email: u32, card: u32, mention: u32) -> RedactionCounts {
        RedactionCounts {
            iin,
            phone,
            email,
            card,
            mention,
        }
    }

    #[test]
    fn text_without_digits_or_at_is_unchanged() {
        let t = "Бүгін Алматыда ауа райы жақсы. Сегодня в Астане ветрено! Hello, world.";
        assert_eq!(r(t), (t.to_string(), RedactionCounts::default()));
        assert_eq!(r(""), (String::new(), RedactionCounts::default()));
    }

    #[test]
    fn phones_in_kazakhstan_formats() {
        let forms = [
            "+7 701 123 45 67",
            "+7(701)123-45-67",
            "+7 (701) 123-45-67",
            "8 701 123 4567",
            "87011234567",
            "+77011234567",
            "8-701-123-45-67",
            "7 (727) 123-45-67",
            "8 (7172) 55-66-77",
            "8 (727) 2 123 456",
            "701 123 45 67",
            "(727) 123-45-67",
            "7011234567",
            "8.701.123.45.67",
            "+7\u{a0}701\u{a0}123\u{a0}45\u{a0}67",
            "+996 555 123 456",
            "+1 202 555 0123",
        ];
        for f in forms {
            for (pre, post) in [
                ("Звоните: ", ", жду."),
                ("Хабарласыңыз ", " нөміріне"),
                ("Call me at ", "."),
                ("", ""),
                ("тел.", ";"),
            ] {
                let (out, c) = r(&format!("{pre}{f}{post}"));
                assert_eq!(out, format!("{pre}[PHONE]{post}"), "form {f:?}");
                assert_eq!(c, counts(0, 1, 0, 0, 0), "form {f:?}");
            }
        }
    }

    #[test]
    fn two_phones_in_a_row_are_two_phones() {
        let (out, c) = r("8 701 123 45 67 8 702 765 43 21 или +7 777 000 11 22, 87471234567");
        assert_eq!(out, "[PHONE] [PHONE] или [PHONE], [PHONE]");
        assert_eq!(c.phone, 4);
    }

    #[test]
    fn non_phone_numbers_are_untouched() {
        let texts = [
            "Бағасы 1 500 000 тг, жеткізу 2 000 ₸.",
            "Цена 77 000 000 000 тенге, бюджет 8 700 000 000 тг",
            "Митинг 12.05.2024 в 14:30, 2024 жыл, 1986 год.",
            "Заказ № 12345, трек 4567 8901, счёт 0012-3456",
            "8 701 123 45 6 — неполный номер, +7 701 123 45 6 тоже",
            "87011234567890 слишком длинный, 8701123456 слишком короткий",
            "Курс 1 USD = 470,55 тенге; население 20 000 000 человек",
            "Score 3:2, 1998-2024, 100%, 5.5 million, 2,5 млн",
            "+15 градусов, +100500 лайков",
            "Период 01.01.2024–31.12.2024",
            "version 10.0.19045.3803 and 1.2.3",
        ];
        for t in texts {
            let (out, c) = r(t);
            assert_eq!(out, t, "changed: {t:?}");
            assert_eq!(c.total(), 0, "{t:?}");
        }
    }

    #[test]
    fn digits_glued_to_letters_or_decimals_are_untouched() {
        let iin = valid_iin(1);
        let card = valid_card("4400", 16, 2);
        let texts = [
            "model X12345678901 and SKU 87011234567A".to_string(),
            format!("id{iin} and {card}kz"),
            format!("ИИН{iin}"),
            format!("pi = 3.{card}, e = 2,{iin}"),
            format!("{iin}.5 and 87011234567,3"),
            "_87011234567 and 87011234567_".to_string(),
        ];
        for t in &texts {
            let (out, c) = r(t);
            assert_eq!(&out, t, "changed: {t:?}");
            assert_eq!(c.total(), 0, "{t:?}");
        }
    }

    #[test]
    fn iin_valid_vs_invalid() {
        for seed in 0..200 {
            let good = valid_iin(seed);
            let bad = invalid_iin(seed);
            assert!(is_valid_iin(&good) && !is_valid_iin(&bad));
            for (sizes, sep) in [
                (&[12][..], ""),
                (&[6, 6][..], " "),
                (&[4, 4, 4][..], " "),
                (&[3, 3, 3, 3][..], " "),
            ] {
                let g = group(&good, sizes, sep);
                let (out, c) = r(&format!("Менің ЖСН: {g}, рахмет"));
                assert_eq!(out, "Менің ЖСН: [IIN], рахмет", "{g}");
                assert_eq!(c, counts(1, 0, 0, 0, 0));
                let b = group(&bad, sizes, sep);
                let t = format!("ИИН {b} в заявке");
                let (out, c) = r(&t);
                // An invalid IIN may still happen to be a phone-shaped number; it is never an IIN.
                assert_eq!(c.iin, 0, "{b}");
                if c.total() == 0 {
                    assert_eq!(out, t);
                }
            }
        }
    }

    #[test]
    fn iin_in_three_languages() {
        let iin = valid_iin(42);
        let cases = [
            format!("Жеке сәйкестендіру нөмірім {iin} екенін растаймын."),
            format!("Мой ИИН {iin}, проверьте пожалуйста"),
            format!("My IIN is {iin} — please check."),
            format!("BIN kompaniiasy {iin} bolyp tabylady"),
        ];
        for t in &cases {
            let (out, c) = r(t);
            assert!(out.contains("[IIN]") && !out.contains(&iin), "{out}");
            assert_eq!(c, counts(1, 0, 0, 0, 0));
        }
    }

    #[test]
    fn card_valid_vs_invalid() {
        for seed in 0..200 {
            for (prefix, len, sizes) in [
                ("4400", 16, &[4, 4, 4, 4][..]),
                ("5169", 16, &[4, 4, 4, 4][..]),
                ("3782", 15, &[4, 6, 5][..]),
                ("2200", 19, &[4, 4, 4, 4, 3][..]),
                ("6762", 13, &[13][..]),
            ] {
                let good = valid_card(prefix, len, seed);
                let bad = invalid_card(prefix, len, seed);
                for sep in [" ", "-", ""] {
                    let sizes = if sep.is_empty() { &[len][..] } else { sizes };
                    let g = group(&good, sizes, sep);
                    let (out, c) = r(&format!("Kaspi картасына аударыңыз {g} рахмет"));
                    assert_eq!(out, "Kaspi картасына аударыңыз [CARD] рахмет", "{g}");
                    assert_eq!(c, counts(0, 0, 0, 1, 0), "{g}");
                    let b = group(&bad, sizes, sep);
                    let t = format!("Перевод на карту {b} спасибо");
                    let (out, c) = r(&t);
                    assert_eq!((out.as_str(), c.total()), (t.as_str(), 0), "{b}");
                }
            }
        }
    }

    #[test]
    fn card_is_not_a_phone_and_iin_is_not_a_card() {
        // A 16-digit card beginning like a phone ("8701 1234 …") is one card.
        let card = valid_card("8701", 16, 7);
        let (out, c) = r(&format!("Send to {}", group(&card, &[4, 4, 4, 4], " ")));
        assert_eq!(out, "Send to [CARD]");
        assert_eq!(c, counts(0, 0, 0, 1, 0));
        // An IIN is 12 digits; even if Luhn also holds it is an IIN.
        let mut seed = 0;
        let iin = loop {
            let v = valid_iin(seed);
            if luhn_valid(&v) {
                break v;
            }
            seed += 1;
        };
        let (out, c) = r(&format!("ИИН {iin}"));
        assert_eq!(out, "ИИН [IIN]");
        assert_eq!(c, counts(1, 0, 0, 0, 0));
    }

    #[test]
    fn numbers_next_to_each_other_are_each_judged() {
        let iin = group(&valid_iin(5), &[6, 6], " ");
        let card = group(&valid_card("4400", 16, 5), &[4, 4, 4, 4], " ");
        let (out, c) = r(&format!(
            "ЖСН {iin} 8 701 123 45 67, карта {card} 8 701 123 45 67, {card} 2024"
        ));
        assert_eq!(out, "ЖСН [IIN] [PHONE], карта [CARD] [PHONE], [CARD] 2024");
        assert_eq!(c, counts(1, 2, 0, 2, 0));
    }

    #[test]
    fn emails_and_mentions() {
        let (out, c) =
            r("Пишите на nurlan.k-1987@mail.kz или info@gov.kz. Спасибо @nurlan_k и @Ерлан!");
        assert_eq!(
            out,
            "Пишите на [EMAIL] или [EMAIL]. Спасибо [USER] и [USER]!"
        );
        assert_eq!(c, counts(0, 0, 2, 0, 2));

        let (out, c) = r("Хат жазыңыз: aigerim_99@gmail.com, @aigerim.b.");
        assert_eq!(out, "Хат жазыңыз: [EMAIL], [USER].");
        assert_eq!(c, counts(0, 0, 1, 0, 1));

        let (out, c) = r("Contact JOHN.DOE+news@Example.CO.UK (cc @john_doe2)");
        assert_eq!(out, "Contact [EMAIL] (cc [USER])");
        assert_eq!(c, counts(0, 0, 1, 0, 1));

        // Cyrillic local part and domain.
        let (out, c) = r("почта: ерлан@пример.қаз");
        assert_eq!(out, "почта: [EMAIL]");
        assert_eq!(c.email, 1);

        // Not e-mails, not mentions: '@' inside a word, lone '@', no top-level domain.
        for t in ["user@localhost", "a @ b", "price@", "x@y", "@ alone", "@@"] {
            let (out, c) = r(t);
            assert_eq!((out.as_str(), c.total()), (t, 0), "{t:?}");
        }
        let (out, c) = r("@@user");
        assert_eq!((out.as_str(), c.mention), ("@[USER]", 1));
    }

    #[test]
    fn mixed_post_counts_every_kind() {
        let iin = valid_iin(9);
        let card = group(&valid_card("4400", 16, 9), &[4, 4, 4, 4], " ");
        let t = format!(
            "@astana_news Көмек керек! ИИН {iin}, карта {card}, тел +7 701 123 45 67 немесе \
             8 (727) 123-45-67, email help@mail.ru. Цена 1 500 000 тг, 12.05.2024 в 14:30."
        );
        let (out, c) = r(&t);
        assert_eq!(
            out,
            "[USER] Көмек керек! ИИН [IIN], карта [CARD], тел [PHONE] немесе [PHONE], email [EMAIL]. \
             Цена 1 500 000 тг, 12.05.2024 в 14:30."
        );
        assert_eq!(c, counts(1, 2, 1, 1, 1));
        assert_eq!(c.total(), 6);
    }

    #[test]
    fn redaction_is_idempotent() {
        let iin = valid_iin(3);
        let card = valid_card("5169", 16, 3);
        let mut samples = vec![
            format!("{iin} {card} 87011234567 @user a@b.kz"),
            format!("{iin}{card}"),
            "+7 701 123 45 67 8 701 123 45 67 1".to_string(),
            "8 701 123 45 67 2024 1 500 000".to_string(),
        ];
        // Random strings over a hostile alphabet.
        let alphabet: Vec<char> = "0123456789 -.()+@_,:aXбқ[]\u{a0}#".chars().collect();
        let mut x = 11u64;
        for _ in 0..3000 {
            x = splitmix(x);
            let len = (x % 60) as usize;
            let s: String = (0..len)
                .map(|_| {
                    x = splitmix(x);
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            samples.push(s);
        }
        for s in &samples {
            let (once, _) = r(s);
            let (twice, c2) = r(&once);
            assert_eq!(once, twice, "input {s:?}");
            assert_eq!(c2.total(), 0, "input {s:?}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "@",
            "+",
            "(",
            "1",
            "+7",
            "+(",
            "8 (",
            "@.",
            "a@.",
            "a@b.",
            ".@b.kz",
            "@\u{0}",
            "١٢٣٤٥٦٧٨٩٠١٢",
            "𝟴𝟳𝟬𝟭𝟭𝟮𝟯𝟰𝟱𝟲𝟳",
            "😀87011234567😀",
            "🇰🇿@нурлан🇰🇿",
            "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5",
            "9999999999999999999999999999999999999999999999",
        ];
        for t in odd {
            let _ = r(t);
        }
        // Every prefix of a multi-byte text (exercises char boundaries).
        let t = "Тел: +7 (701) 123-45-67 📞 ерлан@пример.қаз @Ерлан";
        for (i, _) in t.char_indices() {
            let _ = r(&t[..i]);
            let _ = r(&t[i..]);
        }
    }

    /// Prints the mean cost per call over realistic posts (not an assertion: timing depends
    /// on the machine; the target is under 5 µs in release mode).
    #[test]
    fn timing_redact() {
        let posts = realistic_posts(10_000);
        let red = Redactor::new();
        let mut total = 0u32;
        // Warm up.
        for p in posts.iter().take(500) {
            total = total.wrapping_add(red.redact(p).1.total());
        }
        let t0 = std::time::Instant::now();
        let rounds = 5;
        for _ in 0..rounds {
            for p in &posts {
                total = total.wrapping_add(red.redact(std::hint::black_box(p)).1.total());
            }
        }
        let dt = t0.elapsed();
        let n = posts.len() * rounds;
        let mean_len = posts.iter().map(|p| p.chars().count()).sum::<usize>() / posts.len();
        println!(
            "redact(): {:.2} µs/call mean over {n} calls, {mean_len} chars/post, {total} redactions",
            dt.as_secs_f64() * 1e6 / n as f64
        );
    }

    /// Posts of about 200 characters in kk/ru/en; a third carry digits (prices, dates, phones)
    /// and some carry mentions and e-mails, like a real feed.
    pub(crate) fn realistic_posts(n: usize) -> Vec<String> {
        let words = crate::testwords::WORDS;
        let extras = [
            "Цена 1 500 000 тг.",
            "12.05.2024 в 14:30",
            "тел: 8 701 123 45 67",
            "пишите @nurlan_k",
            "email: info@mail.kz",
            "2024 жылы",
            "😡😡",
            "#Алматы #новости",
            "https://t.me/news/123",
            "+7 (727) 123-45-67",
        ];
        let mut x = 5u64;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            x = splitmix(x);
            let lang = words[(x % 3) as usize];
            let mut s = String::new();
            while s.chars().count() < 190 {
                x = splitmix(x);
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(lang[(x % lang.len() as u64) as usize]);
            }
            x = splitmix(x);
            if x % 3 == 0 {
                s.push(' ');
                s.push_str(extras[((x >> 8) % extras.len() as u64) as usize]);
            }
            out.push(s);
        }
        out
    }
}
