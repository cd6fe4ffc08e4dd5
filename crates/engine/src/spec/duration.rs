//! `timeout:` values: `90s`, `15m`, `2h`, `1d`, or combined (`1h30m`); a bare number is
//! seconds.

use std::time::Duration;

/// The duration `text` writes, or why it is not one.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a duration: write e.g. `90s`, `15m`, `2h` or `1h30m`");
    if let Ok(secs) = t.parse::<f64>() {
        return if secs.is_finite() && secs > 0.0 { Ok(Duration::from_secs_f64(secs)) } else { Err(format!("`{text}`: a timeout must be above zero")) };
    }
    let (mut total, mut number) = (0.0f64, String::new());
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            _ => return Err(bad()),
        };
        let n: f64 = number.parse().map_err(|_| bad())?;
        total += n * unit;
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(bad());
    }
    if total > 0.0 && total.is_finite() { Ok(Duration::from_secs_f64(total)) } else { Err(format!("`{text}`: a timeout must be above zero")) }
}

/// As people write it back: `2h`, `1h30m`, `90s` → `1m30s`, `0.5s`.
pub fn show(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        return format!("{}s", (secs * 1000.0).round() / 1000.0);
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    [(h, "h"), (m, "m"), (s, "s")].iter().filter(|(v, _)| *v > 0).map(|(v, u)| format!("{v}{u}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_their_sums() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse("0.5s"), Ok(Duration::from_millis(500)));
        for bad in ["", "h", "2x", "1h30", "-5s", "0s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(show(Duration::from_secs(5400)), "1h30m");
        assert_eq!(show(Duration::from_secs(2)), "2s");
        assert_eq!(show(Duration::from_secs(7200)), "2h");
    }
}
