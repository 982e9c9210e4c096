//! Decimal seconds, as a log writes them, turned into whole nanoseconds exactly.
//!
//! Parsing through an `f64` would lose the sub-microsecond digits of an epoch timestamp (an
//! `f64` near 1.7e9 is only precise to about 0.24 µs), so the digits are read as an integer
//! mantissa and a power of ten instead, and the result is exact to the nanosecond.

/// Why a text is not a number of seconds that fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// Not a decimal number at all.
    NotANumber,
    /// A number, but beyond what `i64` nanoseconds hold (about ±292 years).
    OutOfRange,
}

/// The exponent beyond which every non-zero value is out of range, or rounds to nothing.
const EXPONENT_LIMIT: i32 = 100;

/// Parses decimal seconds (`12`, `-0.5`, `1733600000.123456`, `1.5e-3`, `.5`, `5.`) into
/// nanoseconds, rounded to the nearest (halves away from zero).
pub(crate) fn seconds_to_nanos(text: &[u8]) -> Result<i64, DecimalError> {
    let (negative, rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    match short_form(rest) {
        Some(nanos) => Ok(if negative { -nanos } else { nanos }),
        None => general(negative, rest),
    }
}

/// Any decimal number, with a 128-bit mantissa: at most 38 significant digits are kept, the
/// rest of a long fraction being far below a nanosecond.
fn general(negative: bool, rest: &[u8]) -> Result<i64, DecimalError> {
    let mut mantissa: u128 = 0;
    // Digits kept in the mantissa that sit after the decimal point.
    let mut scale: i32 = 0;
    let mut digits = 0usize;
    // Whether the mantissa is full: later fraction digits are below any nanosecond.
    let mut full = false;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&byte) = rest.get(i) {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                let digit = byte - b'0';
                let next = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u128::from(digit)));
                match next {
                    Some(next) if !full => {
                        mantissa = next;
                        if seen_point {
                            scale += 1;
                        }
                    }
                    // Beyond 38 digits, an integer digit is far out of range.
                    _ if !seen_point => return Err(DecimalError::OutOfRange),
                    // A fraction digit is worth less than 1e-29 s: it cannot move the rounding
                    // below, since the kept digits decide alone whether a half is reached.
                    _ => full = true,
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return Err(DecimalError::NotANumber);
    }
    let exponent = match rest.get(i) {
        None => 0,
        Some(b'e' | b'E') => parse_exponent(&rest[i + 1..])?,
        Some(_) => return Err(DecimalError::NotANumber),
    };
    // The value is mantissa * 10^(exponent - scale) seconds, so mantissa * 10^shift nanoseconds.
    let shift = exponent - scale + 9;
    let magnitude = if mantissa == 0 {
        0
    } else if shift >= 0 {
        let factor = pow10(shift).ok_or(DecimalError::OutOfRange)?;
        mantissa
            .checked_mul(factor)
            .ok_or(DecimalError::OutOfRange)?
    } else {
        match pow10(-shift) {
            Some(divisor) => {
                let quotient = mantissa / divisor;
                let remainder = mantissa % divisor;
                // Round half away from zero.
                if remainder.saturating_mul(2) >= divisor {
                    quotient + 1
                } else {
                    quotient
                }
            }
            None => 0,
        }
    };
    let limit = if negative {
        i64::MIN.unsigned_abs()
    } else {
        i64::MAX.unsigned_abs()
    };
    if magnitude > u128::from(limit) {
        return Err(DecimalError::OutOfRange);
    }
    let magnitude = i128::try_from(magnitude).map_err(|_| DecimalError::OutOfRange)?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).map_err(|_| DecimalError::OutOfRange)
}

/// The common case, cheaply: at most 18 integer digits, at most 9 fraction digits, no exponent,
/// no sign (`1733600000.123456`, `0.25`). `None` for anything else, left to the general way.
fn short_form(text: &[u8]) -> Option<i64> {
    let mut whole: u64 = 0;
    let mut whole_digits = 0;
    let mut rest = text;
    while let Some((&byte, tail)) = rest.split_first() {
        if !byte.is_ascii_digit() || whole_digits == 18 {
            break;
        }
        whole = whole * 10 + u64::from(byte - b'0');
        whole_digits += 1;
        rest = tail;
    }
    let mut fraction: u64 = 0;
    let mut fraction_digits: u32 = 0;
    if let Some(tail) = rest.strip_prefix(b".") {
        rest = tail;
        while let Some((&byte, tail)) = rest.split_first() {
            if !byte.is_ascii_digit() || fraction_digits == 9 {
                break;
            }
            fraction = fraction * 10 + u64::from(byte - b'0');
            fraction_digits += 1;
            rest = tail;
        }
    }
    if !rest.is_empty() || whole_digits + fraction_digits == 0 {
        return None;
    }
    let nanos = whole
        .checked_mul(1_000_000_000)?
        .checked_add(fraction * 10u64.pow(9 - fraction_digits))?;
    i64::try_from(nanos).ok()
}

/// Parses an exponent's optional sign and digits, clamped far past any useful value.
fn parse_exponent(text: &[u8]) -> Result<i32, DecimalError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DecimalError::NotANumber);
    }
    let mut value: i32 = 0;
    for &digit in digits {
        value = (value * 10 + i32::from(digit - b'0')).min(EXPONENT_LIMIT * 10);
    }
    Ok(if negative { -value } else { value })
}

/// 10 to the power `exponent`, if it fits in a `u128`.
fn pow10(exponent: i32) -> Option<u128> {
    let exponent = u32::try_from(exponent).ok()?;
    10u128.checked_pow(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(text: &str) -> Result<i64, DecimalError> {
        seconds_to_nanos(text.as_bytes())
    }

    #[test]
    fn epoch_timestamps_keep_every_digit() {
        assert_eq!(nanos("1733600000.123456"), Ok(1_733_600_000_123_456_000));
        assert_eq!(nanos("1733600000.123456789"), Ok(1_733_600_000_123_456_789));
        assert_eq!(nanos("1733600000.000000001"), Ok(1_733_600_000_000_000_001));
    }

    #[test]
    fn plain_forms() {
        let cases = [
            ("0", 0),
            ("12", 12_000_000_000),
            ("12.5", 12_500_000_000),
            ("-0.5", -500_000_000),
            ("+3", 3_000_000_000),
            (".25", 250_000_000),
            ("5.", 5_000_000_000),
            ("0.000000001", 1),
            ("000012.000", 12_000_000_000),
            ("-0", 0),
        ];
        for (text, expected) in cases {
            assert_eq!(nanos(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn exponents() {
        let cases = [
            ("1e3", 1_000_000_000_000),
            ("1.5E-3", 1_500_000),
            ("2e+0", 2_000_000_000),
            ("1e-9", 1),
            ("1e-10", 0),
            ("0e999999", 0),
            ("1e-999999", 0),
            ("123456789e-9", 123_456_789),
        ];
        for (text, expected) in cases {
            assert_eq!(nanos(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rounds_to_the_nearest_nanosecond() {
        assert_eq!(nanos("0.0000000014"), Ok(1));
        assert_eq!(nanos("0.0000000015"), Ok(2));
        assert_eq!(nanos("-0.0000000015"), Ok(-2));
        assert_eq!(nanos("0.00000000049"), Ok(0));
    }

    #[test]
    fn many_fraction_digits_are_fine() {
        let text = format!("1.{}", "3".repeat(60));
        assert_eq!(nanos(&text), Ok(1_333_333_333));
    }

    #[test]
    fn the_ends_of_the_range() {
        assert_eq!(nanos("9223372036.854775807"), Ok(i64::MAX));
        assert_eq!(nanos("-9223372036.854775808"), Ok(i64::MIN));
        assert_eq!(nanos("9223372036.854775808"), Err(DecimalError::OutOfRange));
        assert_eq!(nanos("1e10"), Err(DecimalError::OutOfRange));
        assert_eq!(nanos("1e400"), Err(DecimalError::OutOfRange));
        assert_eq!(nanos(&"9".repeat(50)), Err(DecimalError::OutOfRange));
    }

    proptest::proptest! {
        #[test]
        fn the_short_form_agrees_with_the_general_way(
            whole in "[0-9]{0,19}", fraction in proptest::option::of("[0-9]{0,10}"),
            negative in proptest::bool::ANY,
        ) {
            let text = match &fraction {
                Some(fraction) => format!("{whole}.{fraction}"),
                None => whole.clone(),
            };
            if let Some(nanos) = short_form(text.as_bytes()) {
                proptest::prop_assert_eq!(general(false, text.as_bytes()), Ok(nanos));
            }
            let signed = format!("{}{text}", if negative { "-" } else { "" });
            let expected = general(negative, text.as_bytes());
            proptest::prop_assert_eq!(nanos(&signed), expected);
        }
    }

    #[test]
    fn non_numbers() {
        for text in [
            "", "-", ".", "abc", "1.2.3", "1e", "1e+", "NaN", "inf", "-inf", "12s", " 1", "1 ",
            "0x10", "1_000",
        ] {
            assert_eq!(nanos(text), Err(DecimalError::NotANumber), "{text:?}");
        }
    }
}
