//! Timestamps on the wire: epoch seconds (JSON protocols), ISO-8601 (query and
//! XML bodies) and RFC 822 dates (headers). Whatever the wire used, outputs
//! are ISO-8601 text.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// A wire format for timestamps, as botocore's `timestampFormat` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// `2015-03-31T12:00:00Z`.
    Iso8601,
    /// `Tue, 31 Mar 2015 12:00:00 GMT`.
    Rfc822,
    /// Seconds since the epoch, possibly fractional.
    Epoch,
}

impl TimestampFormat {
    /// Reads a model's `timestampFormat`; unknown names fall back to `default`.
    pub fn from_model(name: Option<&str>, default: TimestampFormat) -> TimestampFormat {
        match name {
            Some("iso8601") => TimestampFormat::Iso8601,
            Some("rfc822") => TimestampFormat::Rfc822,
            Some("unixTimestamp") => TimestampFormat::Epoch,
            _ => default,
        }
    }
}

/// Reads a timestamp given by a user or a server in any of the usual notations.
pub fn parse_any(text: &str) -> Option<DateTime> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return from_epoch_f64(secs);
    }
    DateTime::from_str(text, Format::DateTimeWithOffset)
        .or_else(|_| DateTime::from_str(text, Format::HttpDate))
        .ok()
        .or_else(|| date_only(text))
}

/// Epoch seconds as a float, rounded to the microsecond: AWS sends at most
/// millisecond precision, and `1715342400.123` is not exact in binary.
pub fn from_epoch_f64(secs: f64) -> Option<DateTime> {
    if !secs.is_finite() || secs.abs() > 1e14 {
        return None;
    }
    let micros = (secs * 1_000_000.0).round() as i64;
    let (whole, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let nanos = u32::try_from(frac * 1000).ok()?;
    Some(DateTime::from_secs_and_nanos(whole, nanos))
}

/// `2024-05-01` as midnight UTC: a common way to write a date in a skill.
fn date_only(text: &str) -> Option<DateTime> {
    if text.len() != 10 {
        return None;
    }
    DateTime::from_str(&format!("{text}T00:00:00Z"), Format::DateTime).ok()
}

/// Writes a timestamp as text in `format` (epoch seconds as a decimal number).
pub fn format_text(time: DateTime, format: TimestampFormat) -> String {
    match format {
        // Formatting fails only outside years 1-9999, which parse_any cannot produce.
        TimestampFormat::Iso8601 => time.fmt(Format::DateTime).unwrap_or_default(),
        TimestampFormat::Rfc822 => time.fmt(Format::HttpDate).unwrap_or_default(),
        TimestampFormat::Epoch => epoch_text(time),
    }
}

/// Epoch seconds without a fraction when there is none (`1700000000`), else with one.
fn epoch_text(time: DateTime) -> String {
    if time.has_subsec_nanos() {
        format!("{}", time.as_secs_f64())
    } else {
        time.secs().to_string()
    }
}

/// The JSON number of epoch seconds.
pub fn epoch_number(time: DateTime) -> serde_json::Number {
    if time.has_subsec_nanos() {
        serde_json::Number::from_f64(time.as_secs_f64()).unwrap_or_else(|| time.secs().into())
    } else {
        time.secs().into()
    }
}

/// The form every response uses: ISO-8601 in UTC.
pub fn to_iso8601(time: DateTime) -> String {
    format_text(time, TimestampFormat::Iso8601)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notation_reads_to_the_same_instant() {
        let iso = parse_any("2015-03-31T12:00:00Z").expect("iso");
        for text in [
            "1427803200",
            "1427803200.0",
            "Tue, 31 Mar 2015 12:00:00 GMT",
            "2015-03-31T14:00:00+02:00",
        ] {
            assert_eq!(parse_any(text), Some(iso), "{text}");
        }
        assert_eq!(parse_any("2015-03-31"), parse_any("2015-03-31T00:00:00Z"));
        assert_eq!(parse_any("yesterday"), None);
    }

    #[test]
    fn formats_match_the_wire_conventions() {
        let t = parse_any("2015-03-31T12:00:00Z").expect("iso");
        assert_eq!(
            format_text(t, TimestampFormat::Rfc822),
            "Tue, 31 Mar 2015 12:00:00 GMT"
        );
        assert_eq!(format_text(t, TimestampFormat::Epoch), "1427803200");
        let frac = parse_any("1427803200.5").expect("fraction");
        assert_eq!(to_iso8601(frac), "2015-03-31T12:00:00.5Z");
        let millis = from_epoch_f64(1_715_342_400.123).expect("in range");
        assert_eq!(to_iso8601(millis), "2024-05-10T12:00:00.123Z");
        assert_eq!(from_epoch_f64(f64::NAN), None);
    }
}
