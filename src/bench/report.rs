//! What a run measured, and how figures are written.

/// What one backend measured.
pub struct Report {
    pub backend: String,
    pub rows: Vec<(String, String, &'static str)>,
}

pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

pub fn thousands(n: f64) -> String {
    let whole = n.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn mb(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |mb| format!("{mb:.0} MB"))
}
