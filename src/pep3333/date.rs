//! `format_date_time`: the RFC 1123 date of the `Date` header, as `wsgiref.handlers` writes it.

use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyTuple};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The first second of year 10000: below it `time.gmtime` gives four-digit years.
const YEAR_10000: i64 = 253_402_300_800;

/// Civil date and time of a Unix second, in UTC (Howard Hinnant's days-to-civil algorithm).
/// Returns (year, month 1-12, day, hour, minute, second, weekday with Monday = 0).
pub fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (hh, mm, ss) = (
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    );
    // 1970-01-01 was a Thursday (weekday 3 when Monday is 0).
    let weekday = (days + 3).rem_euclid(7) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, hh, mm, ss, weekday)
}

/// Formats fields the way `"%s, %02d %3s %4d %02d:%02d:%02d GMT"` does.
fn format_fields(year: i64, month: u32, day: u32, hh: u32, mm: u32, ss: u32, wd: u32) -> String {
    format!(
        "{}, {:02} {:>3} {:>4} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(wd % 7) as usize],
        day,
        MONTHS[((month + 11) % 12) as usize],
        year,
        hh,
        mm,
        ss
    )
}

/// The `Date` header value for a Unix second in the ordinary range.
pub fn http_date(secs: i64) -> String {
    let (y, mo, d, hh, mm, ss, wd) = civil_from_unix(secs);
    format_fields(y, mo, d, hh, mm, ss, wd)
}

/// The current `Date` header value, formatted once a second.
pub fn http_date_now() -> String {
    with_http_date_now(str::to_owned)
}

/// Appends the current `Date` header value to `out`, without making a String.
pub fn push_http_date_now(out: &mut Vec<u8>) {
    with_http_date_now(|date| out.extend_from_slice(date.as_bytes()));
}

fn with_http_date_now<T>(f: impl FnOnce(&str) -> T) -> T {
    static CACHE: Mutex<(i64, String)> = Mutex::new((i64::MIN, String::new()));
    let now = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64) - 1,
    };
    let mut cache = CACHE.lock();
    if cache.0 != now {
        *cache = (now, http_date(now));
    }
    f(&cache.1)
}

/// The whole second `time.gmtime` would use for a float or int timestamp in the ordinary range.
fn plain_seconds(timestamp: &Bound<'_, PyAny>) -> Option<i64> {
    let secs = if timestamp.is_exact_instance_of::<PyFloat>() {
        let f = timestamp.cast::<PyFloat>().ok()?.value();
        if !f.is_finite() {
            return None;
        }
        // gmtime rounds toward minus infinity.
        let floor = f.floor();
        if floor.abs() > 1e15 {
            return None;
        }
        floor as i64
    } else if timestamp.is_exact_instance_of::<PyInt>() {
        timestamp.extract::<i64>().ok()?
    } else {
        return None;
    };
    (0..YEAR_10000).contains(&secs).then_some(secs)
}

/// Return the RFC 1123 date for a timestamp, e.g. 'Tue, 15 Nov 1994 08:12:31 GMT'.
///
/// Holds the GIL (no I/O).
#[pyfunction]
pub fn format_date_time(timestamp: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Some(secs) = plain_seconds(timestamp) {
        return Ok(http_date(secs));
    }
    // Anything unusual (other numeric types, far past or future, NaN) goes through the
    // interpreter's own time.gmtime, so it is accepted or refused exactly as the stdlib does.
    let py = timestamp.py();
    let tm = py.import("time")?.call_method1("gmtime", (timestamp,))?;
    // struct_time is a tuple subclass.
    let tm = tm.cast_into::<PyTuple>()?;
    let field = |i: usize| -> PyResult<i64> { tm.get_item(i)?.extract::<i64>() };
    let (y, mo, d, hh, mm, ss, wd) = (
        field(0)?,
        field(1)?,
        field(2)?,
        field(3)?,
        field(4)?,
        field(5)?,
        field(6)?,
    );
    Ok(format_fields(
        y, mo as u32, d as u32, hh as u32, mm as u32, ss as u32, wd as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        for (secs, want) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_887_151, "Tue, 15 Nov 1994 08:12:31 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (YEAR_10000 - 1, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(http_date(secs), want, "{secs}");
        }
    }
}
