//! Go-style durations (`1h`, `30m`, `1h30m`, `90s`, `720h`) as Hydra's configuration
//! and client lifespans write them.

/// Parses a duration into whole seconds; `None` for anything malformed or negative.
pub fn parse_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return (n >= 0).then_some(n);
    }
    let mut total: f64 = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if matches!(c, 'm' | 'n' | 'u' | 'µ') && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let value: f64 = num.parse().ok()?;
        num.clear();
        total += value
            * match unit.as_str() {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                "us" | "µs" => 0.000_001,
                "ns" => 0.000_000_001,
                _ => return None,
            };
    }
    if !num.is_empty() {
        return None;
    }
    Some(total as i64)
}

/// Whole seconds as Go's `time.Duration.String` writes them (`1h30m0s`, `1m30s`,
/// `45s`, `0s`): how Hydra answers the lifespans it stores.
pub fn format_go(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_format() {
        for (secs, want) in
            [(0, "0s"), (45, "45s"), (90, "1m30s"), (3600, "1h0m0s"), (5400, "1h30m0s"), (90061, "25h1m1s")]
        {
            assert_eq!(super::format_go(secs), want);
        }
    }

    #[test]
    fn durations() {
        for (s, want) in [
            ("1h", Some(3600)),
            ("30m", Some(1800)),
            ("1h30m", Some(5400)),
            ("90s", Some(90)),
            ("720h", Some(2_592_000)),
            ("1.5h", Some(5400)),
            ("60", Some(60)),
            ("", None),
            ("h", None),
            ("5x", None),
            ("-1", None),
            ("10", Some(10)),
            // Go's other units, as Hydra writes lifespans ("1h0m0s", nanoseconds).
            ("1h0m0s", Some(3600)),
            ("1500ms", Some(1)),
            ("3000000000ns", Some(3)),
            ("2000000us", Some(2)),
            ("2000000µs", Some(2)),
            ("5ys", None),
        ] {
            assert_eq!(super::parse_seconds(s), want, "{s}");
        }
    }
}
