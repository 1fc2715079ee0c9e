//! Exact decimal text for `number` columns.
//!
//! Money must not pass through `f64`: DECIMAL arrives as a string
//! (`"12.50"`) and leaves as the same string, BIGINT UNSIGNED arrives as an
//! exact JSON integer and leaves as its full decimal text. Only FLOAT/DOUBLE
//! columns are JSON floats, and their text may use an exponent (`1e21`), which
//! HubSpot does not parse, so exponents are expanded into plain digits.

use serde_json::Number;

/// Exponents beyond this are refused rather than expanded into a huge string
/// (DOUBLE tops out near 1e308).
const MAX_EXPONENT: i64 = 400;

/// The plain decimal text of a JSON number: integers exactly, floats without
/// an exponent.
pub(super) fn number_text(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        let text = n.to_string();
        expand_exponent(&text).unwrap_or(text)
    }
}

/// Checks that `s` is a decimal number (`-12.50`, `+3`, `.5`, `1.5e3`) and
/// returns it as plain decimal text: a leading `+` dropped, an exponent
/// expanded, every other digit (trailing zeros included) kept as written.
pub(super) fn decimal_text(s: &str) -> Option<String> {
    let s = s.trim();
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    let body = unsigned.strip_prefix('-').unwrap_or(unsigned);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    match exponent {
        None => Some(unsigned.to_string()),
        Some(e) => {
            let e = e.strip_prefix('+').unwrap_or(e);
            if e.is_empty() || !digits(e.strip_prefix('-').unwrap_or(e)) {
                return None;
            }
            expand_exponent(unsigned)
        }
    }
}

/// `-1.25e-3` → `-0.00125`, `1e21` → `1000000000000000000000`. Text without
/// an exponent is returned unchanged; `None` when it is not a number or the
/// exponent is absurd.
fn expand_exponent(s: &str) -> Option<String> {
    let Some(i) = s.find(['e', 'E']) else {
        return Some(s.to_string());
    };
    let exp: i64 = s[i + 1..].trim_start_matches('+').parse().ok()?;
    if exp.abs() > MAX_EXPONENT {
        return None;
    }
    let mantissa = &s[..i];
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // Where the decimal point lands, counted in digits from the left.
    let point = int.len() as i64 + exp;
    let (int_part, frac_part) = if point <= 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        let (a, b) = digits.split_at(point as usize);
        (a.to_string(), b.to_string())
    };
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    Some(if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_exact() {
        let max = json!(u64::MAX);
        assert_eq!(
            number_text(max.as_number().unwrap()),
            "18446744073709551615"
        );
        let min = json!(i64::MIN);
        assert_eq!(
            number_text(min.as_number().unwrap()),
            "-9223372036854775808"
        );
    }

    #[test]
    fn floats_never_use_an_exponent() {
        let big = json!(1e21);
        assert_eq!(
            number_text(big.as_number().unwrap()),
            "1000000000000000000000"
        );
        let small = json!(1.25e-7);
        assert_eq!(number_text(small.as_number().unwrap()), "0.000000125");
        let plain = json!(12.5);
        assert_eq!(number_text(plain.as_number().unwrap()), "12.5");
    }

    #[test]
    fn decimal_strings_stay_exact() {
        assert_eq!(decimal_text("12.50").as_deref(), Some("12.50"));
        assert_eq!(decimal_text("-0.50").as_deref(), Some("-0.50"));
        assert_eq!(decimal_text(" +3 ").as_deref(), Some("3"));
        assert_eq!(decimal_text(".5").as_deref(), Some(".5"));
        assert_eq!(decimal_text("1.5E+3").as_deref(), Some("1500"));
        assert_eq!(decimal_text("-1.25e-3").as_deref(), Some("-0.00125"));
        assert_eq!(
            decimal_text("99999999999999999999.99").as_deref(),
            Some("99999999999999999999.99")
        );
        for bad in [
            "", "-", ".", "1,5", "12a", "1e", "e5", "1e999999", "--1", "1.2.3", "NaN",
        ] {
            assert_eq!(decimal_text(bad), None, "{bad}");
        }
    }
}
