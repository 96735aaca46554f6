//! Kubernetes `Quantity` canonical strings for sample values (reference §5.6).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    DecimalSI,
    BinarySI,
}

/// A value as an integer number of milli-units, formatted the way apimachinery prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    milli: i64,
    format: Format,
}

impl Quantity {
    /// ```
    /// use prometheus_adapter::api::quantity::{Format, Quantity};
    /// let q = |v, f| Quantity::from_f64(v, f).map(|q| q.to_string());
    /// assert_eq!(q(3.822, Format::DecimalSI).as_deref(), Some("3822m"));
    /// assert_eq!(q(1e6, Format::DecimalSI).as_deref(), Some("1M"));
    /// assert_eq!(q(104_857_600.0, Format::BinarySI).as_deref(), Some("100Mi"));
    /// assert_eq!(q(f64::NAN, Format::DecimalSI), None);
    /// ```
    ///
    /// `trunc(v × 1000)` as Go's `int64(v*1000.0)` computes it. `None` for NaN, ±Inf and values
    /// out of `int64` range, where Go's conversion is undefined (amd64 prints
    /// `-9223372036854775808m`): such a value is never answered as a number.
    pub fn from_f64(value: f64, format: Format) -> Option<Quantity> {
        let scaled = value * 1000.0;
        // 2^63 is exactly representable; every finite value in [-2^63, 2^63) converts.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if !(-LIMIT..LIMIT).contains(&scaled) {
            return None;
        }
        Some(Quantity {
            milli: scaled.trunc() as i64,
            format,
        })
    }

    pub fn from_milli(milli: i64, format: Format) -> Quantity {
        Quantity { milli, format }
    }

    pub fn milli(self) -> i64 {
        self.milli
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.milli;
        if m == 0 {
            return f.write_str("0");
        }
        if m % 1000 != 0 {
            return write!(f, "{m}m");
        }
        let n = m / 1000;
        match self.format {
            Format::BinarySI if !(-1024 < n && n < 1024) => {
                write_scaled(f, n, 1024, &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])
            }
            _ => write_scaled(f, n, 1000, &["", "k", "M", "G", "T", "P", "E"]),
        }
    }
}

fn write_scaled(
    f: &mut fmt::Formatter<'_>,
    mut n: i64,
    base: i64,
    suffixes: &[&str],
) -> fmt::Result {
    let mut k = 0;
    while k + 1 < suffixes.len() && n % base == 0 {
        n /= base;
        k += 1;
    }
    write!(f, "{n}{}", suffixes[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verified vectors of reference §5.6 (Go apimachinery, amd64).
    #[test]
    fn formats_the_same_as_go() {
        let cases: &[(f64, &str, &str)] = &[
            (0.0, "0", "0"),
            (0.016, "16m", "16m"),
            (0.5, "500m", "500m"),
            (1.0, "1", "1"),
            (1.005, "1004m", "1004m"),
            (3.822, "3822m", "3822m"),
            (20.5, "20500m", "20500m"),
            (1000.0, "1k", "1k"),
            (1024.0, "1024", "1Ki"),
            (1500.0, "1500", "1500"),
            (3100.0, "3100", "3100"),
            (1_048_576.0, "1048576", "1Mi"),
            (1e6, "1M", "1000000"),
            (1.5e6, "1500k", "1500000"),
            (1e9, "1G", "1000000000"),
            (1_073_741_824.0, "1073741824", "1Gi"),
            (1e12, "1T", "976562500Ki"),
            (12000.0, "12k", "12000"),
            (2048.0, "2048", "2Ki"),
            (1_047_552.0, "1047552", "1023Ki"),
            (1_000_500.0, "1000500", "1000500"),
            (1_000_000.5, "1000000500m", "1000000500m"),
            (1.073741824e12, "1073741824k", "1000Gi"),
            (5e15, "5P", "4882812500000Ki"),
            (123456.789, "123456789m", "123456789m"),
            (-1.5, "-1500m", "-1500m"),
            (-2.0, "-2", "-2"),
            (104_857_600.0, "104857600", "100Mi"),
            (104_857_601.0, "104857601", "104857601"),
            (1234.5, "1234500m", "1234500m"),
            (0.0009, "0", "0"),
            (-0.0004, "0", "0"),
            (0.1 + 0.2, "300m", "300m"),
            (-1000.0, "-1k", "-1k"),
            (-1024.0, "-1024", "-1Ki"),
            (512.0, "512", "512"),
        ];
        for &(v, decimal, binary) in cases {
            assert_eq!(
                Quantity::from_f64(v, Format::DecimalSI)
                    .unwrap()
                    .to_string(),
                decimal,
                "{v} DecimalSI"
            );
            assert_eq!(
                Quantity::from_f64(v, Format::BinarySI).unwrap().to_string(),
                binary,
                "{v} BinarySI"
            );
        }
    }

    #[test]
    fn values_go_cannot_convert_are_not_numbers() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 9.3e15, -9.3e15] {
            assert_eq!(Quantity::from_f64(v, Format::DecimalSI), None, "{v}");
        }
        assert!(Quantity::from_f64(9.2e15, Format::DecimalSI).is_some());
    }

    #[test]
    fn canonical_mantissa_never_ends_in_000() {
        for milli in [
            1_000i64,
            1_000_000,
            7_000_000_000,
            -3_000_000,
            123_000,
            5_000_000_000_000_000,
        ] {
            let s = Quantity::from_milli(milli, Format::DecimalSI).to_string();
            let digits: String = s
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            assert!(!digits.ends_with("000"), "{milli} → {s}");
        }
    }
}
