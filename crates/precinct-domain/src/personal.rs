//! Personal numbers in free text. A dispatcher types what the caller says
//! ("报警人王小明 13912345678 身份证430102199001011234"): summaries, notes,
//! closing remarks and dispute narratives carry phone and ID numbers as
//! often as the caller fields do. They are found here, so readers who see
//! personal data masked see these masked too, and a reader who sees them in
//! full is audited like a read of the caller fields.
//!
//! Found: mainland mobile numbers (11 digits from 13 to 19, also after
//! +86 or 86), landlines with their area code (0 and 9 to 11 more digits),
//! and resident ID numbers (18 characters, the last a digit or X; or the
//! old 15 digits). Digits may be grouped by single spaces or hyphens
//! ("139 1234 5678", "0731-8888 8888"). Longer runs of digits (a case
//! number, a bank card) are left alone.

/// A personal number found in a text: its byte range and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Phone,
    IdNumber,
}

/// What a run of digits (separators removed, a final X kept) is.
fn kind_of(digits: &str) -> Option<Kind> {
    let b = digits.as_bytes();
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        18 if all_digits(&b[..17]) && (b[17].is_ascii_digit() || b[17] == b'X') => {
            Some(Kind::IdNumber)
        }
        15 if all_digits(b) => Some(Kind::IdNumber),
        11 if all_digits(b) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) => Some(Kind::Phone),
        13 if all_digits(b) && b.starts_with(b"86") && b[2] == b'1' => Some(Kind::Phone),
        10..=12 if all_digits(b) && b[0] == b'0' => Some(Kind::Phone),
        _ => None,
    }
}

/// Every personal number in `text`, in order.
fn find(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Groups of digits joined by single spaces or hyphens, the last
        // possibly ending in X.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut end = i;
        loop {
            let start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end < bytes.len() && (bytes[end] == b'X' || bytes[end] == b'x') {
                end += 1;
                groups.push((start, end));
                break;
            }
            groups.push((start, end));
            if end + 1 < bytes.len()
                && (bytes[end] == b' ' || bytes[end] == b'-')
                && bytes[end + 1].is_ascii_digit()
            {
                end += 1;
            } else {
                break;
            }
        }
        // From each group, the longest run of groups that is a number.
        let mut g = 0;
        while g < groups.len() {
            let hit = (g..groups.len()).rev().find_map(|last| {
                let digits: String = groups[g..=last]
                    .iter()
                    .map(|&(s, e)| text[s..e].to_ascii_uppercase())
                    .collect();
                kind_of(&digits).map(|kind| (last, kind))
            });
            match hit {
                Some((last, kind)) => {
                    let start = groups[g].0;
                    // A "+" before 86 belongs to the number.
                    let start = if start > 0 && bytes[start - 1] == b'+' {
                        start - 1
                    } else {
                        start
                    };
                    found.push(Found {
                        start,
                        end: groups[last].1,
                        kind,
                    });
                    g = last + 1;
                }
                None => g += 1,
            }
        }
        i = end.max(i + 1);
    }
    found
}

/// Whether `text` holds a phone or ID number.
pub fn holds_personal_numbers(text: &str) -> bool {
    !find(text).is_empty()
}

/// `text` with every phone and ID number masked: a phone keeps its first
/// three and last four digits (`139****5678`), an ID number its first three
/// and last four characters (`430***********1234`). `None` when there is
/// nothing to mask.
pub fn mask_personal_numbers(text: &str) -> Option<String> {
    let found = find(text);
    if found.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.start]);
        let digits: Vec<char> = text[f.start..f.end]
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let keep_end = 4;
        let keep_start = match f.kind {
            // +86 and 86 prefixes are dropped from what is kept.
            Kind::Phone if digits.len() == 13 => 5,
            Kind::Phone | Kind::IdNumber => 3,
        };
        for (n, c) in digits.iter().enumerate() {
            if n < keep_start || n >= digits.len() - keep_end {
                out.push(*c);
            } else {
                out.push('*');
            }
        }
        at = f.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// `text` masked, or as it is when it holds no personal number.
pub fn masked_text(text: &str) -> String {
    mask_personal_numbers(text).unwrap_or_else(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_numbers_in_free_text() {
        let cases = [
            (
                "报警人王小明 13912345678 身份证430102199001011234",
                Some("报警人王小明 139****5678 身份证430***********1234"),
            ),
            (
                "身份证号43010219900101123X。",
                Some("身份证号430***********123X。"),
            ),
            ("电话139 1234 5678", Some("电话139****5678")),
            ("13912345678 2人受伤", Some("139****5678 2人受伤")),
            ("+8613912345678", Some("86139****5678")),
            ("座机0731-88886666", Some("座机073*****6666")),
            ("旧证430102900101123", Some("旧证430********1123")),
            // Not personal: short numbers, a date, a case number, a bank card.
            ("美食七街7号，2人受伤", None),
            ("2026-10-30 22:23", None),
            ("案件编号 A20261030001", None),
            ("卡号6222021234567890123", None),
            ("12345678901", None),
        ];
        for (text, expected) in cases {
            assert_eq!(mask_personal_numbers(text).as_deref(), expected, "{text}");
            assert_eq!(holds_personal_numbers(text), expected.is_some(), "{text}");
        }
    }
}
