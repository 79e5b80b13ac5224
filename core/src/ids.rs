//! Check digits of Kazakh IIN/BIN numbers and of payment cards (Luhn).
//!
//! Redaction uses them to avoid blanking any 12- or 16-digit number (order ids, amounts);
//! the synthesizer uses them to plant valid numbers that redaction must catch.

/// The 12th digit of an IIN/BIN from its first 11 digits, or `None` when no valid number
/// starts with them (the algorithm's second pass also yields 10).
pub fn iin_check_digit(first11: &[u8; 11]) -> Option<u8> {
    let pass = |offset: u32| -> u32 {
        first11
            .iter()
            .enumerate()
            .map(|(i, d)| u32::from(*d) * ((i as u32 + offset) % 11 + 1))
            .sum::<u32>()
            % 11
    };
    let first = pass(0);
    let check = if first == 10 { pass(2) } else { first };
    (check < 10).then_some(check as u8)
}

/// Whether 12 ASCII digits form an IIN/BIN with a valid check digit.
pub fn is_valid_iin(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut first = [0u8; 11];
    for (slot, c) in first.iter_mut().zip(b) {
        *slot = c - b'0';
    }
    iin_check_digit(&first) == Some(b[11] - b'0')
}

/// Whether a string of ASCII digits passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// The Luhn check digit to append to `payload` (ASCII digits).
pub fn luhn_check_digit(payload: &str) -> u8 {
    (0..10u8)
        .find(|d| luhn_valid(&format!("{payload}{d}")))
        .expect("one of ten digits completes any Luhn payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iin_checksum_matches_known_numbers() {
        // Weights 1..11 give 0*1+0*2+… ; check computed by hand for these payloads.
        assert!(is_valid_iin("000000000000"));
        assert!(!is_valid_iin("000000000001"));
        // Payload whose first pass is 10 falls back to weights 3..11,1,2.
        let payload: [u8; 11] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        // first pass: 1*10 = 10 -> second pass: 1*((9+2)%11+1) = 1
        assert_eq!(iin_check_digit(&payload), Some(1));
        assert!(is_valid_iin("000000000101"));
        assert!(!is_valid_iin("00000000010"));
        assert!(!is_valid_iin("00000000010a"));
    }

    #[test]
    fn luhn_matches_known_card_numbers() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("5500005555555559"));
        assert!(!luhn_valid("4111111111111112"));
        assert_eq!(luhn_check_digit("411111111111111"), 1);
    }
}
