//! Reading the typed values condition operators compare: numbers, dates
//! (W3C/ISO 8601 or epoch seconds), IP networks and booleans.

use std::net::IpAddr;

/// A number as `Numeric*` operators read it (integers and decimals).
pub fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || t.contains(['e', 'E']) || t.starts_with('+') {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A date as `Date*` operators read it, in milliseconds since the epoch.
/// Accepts `2024-01-31`, `2024-01-31T12:00:00Z`, fractions, `+02:00`
/// offsets, and epoch seconds.
pub fn date(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok()?.checked_mul(1000);
    }
    let (y, rest) = take_num(t, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (mo, rest) = take_num(rest, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (d, rest) = take_num(rest, 2)?;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let day_ms = days_from_civil(y, mo, d) * 86_400_000;
    if rest.is_empty() {
        return Some(day_ms);
    }
    let rest = rest.strip_prefix(['T', 't'])?;
    let (h, rest) = take_num(rest, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (mi, rest) = take_num(rest, 2)?;
    let (s, rest) = match rest.strip_prefix(':') {
        Some(r) => take_num(r, 2)?,
        None => (0, rest),
    };
    let (frac_ms, rest) = fraction(rest)?;
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let offset_min = zone(rest)?;
    Some(day_ms + ((h * 60 + mi - offset_min) * 60 + s) * 1000 + frac_ms)
}

fn take_num(s: &str, n: usize) -> Option<(i64, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

fn fraction(s: &str) -> Option<(i64, &str)> {
    let Some(r) = s.strip_prefix('.') else {
        return Some((0, s));
    };
    let n = r.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let digits = &r[..n.min(3)];
    let ms = digits.parse::<i64>().ok()? * 10_i64.pow(3 - digits.len() as u32);
    Some((ms, &r[n..]))
}

fn zone(s: &str) -> Option<i64> {
    match s {
        "Z" | "z" | "" => Some(0),
        _ => {
            let sign = match s.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, rest) = take_num(&s[1..], 2)?;
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            let (m, rest) = take_num(rest, 2)?;
            rest.is_empty().then_some(sign * (h * 60 + m))
        }
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ` (for `aws:CurrentTime`).
pub fn format_iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

/// An IP network: `203.0.113.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Reads CIDR notation (a bare address is a /32 or /128).
    pub fn parse(text: &str) -> Option<Network> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Network { addr, prefix })
    }

    /// Whether the address `text` is inside the network.
    pub fn contains(&self, text: &str) -> bool {
        let Ok(ip) = text.trim().parse::<IpAddr>() else {
            return false;
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix_eq(u32::from(n).into(), u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                prefix_eq(u128::from(n), u128::from(a), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u32, prefix: u8) -> bool {
    let shift = bits - u32::from(prefix);
    if shift >= bits {
        return true;
    }
    (a >> shift) == (b >> shift)
}

/// A boolean as `Bool` reads it (`true`/`false`, any case).
pub fn boolean(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(date("1970-01-02"), Some(86_400_000));
        assert_eq!(date("86400"), Some(86_400_000));
        assert_eq!(date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(date("2020-02-30"), None);
        assert_eq!(
            date("2019-07-16T12:00:00.5Z"),
            date("2019-07-16T12:00:00Z").map(|v| v + 500)
        );
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        let t = date("2024-02-29T23:59:59Z").map(|ms| ms / 1000);
        assert_eq!(t.map(format_iso).as_deref(), Some("2024-02-29T23:59:59Z"));
    }

    #[test]
    fn networks() {
        let n = Network::parse("203.0.113.0/24").expect("cidr");
        assert!(n.contains("203.0.113.9"));
        assert!(!n.contains("203.0.114.9"));
        assert!(
            Network::parse("0.0.0.0/0")
                .expect("any")
                .contains("1.2.3.4")
        );
        let v6 = Network::parse("2001:DB8:1234:5678::/64").expect("v6");
        assert!(v6.contains("2001:db8:1234:5678::1"));
        assert!(!v6.contains("203.0.113.9"));
        assert!(Network::parse("1.2.3.4/33").is_none());
    }
}
