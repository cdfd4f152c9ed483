//! SCRIPT_NAME and PATH_INFO as `shift_path_info` treats them: `posixpath.normpath`, the
//! segment split, and the function itself. The string work is plain Rust with table tests;
//! anything but exact `str` runs the stdlib's own expressions.

use pyo3::exceptions::PyIndexError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString};

use super::environ::Environ;
use super::text::{cached_slice, Text};
use crate::pyhelpers::exact_str;

static POSIX_NORMPATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SLICE_1_M1: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `posixpath.normpath` on text: drops empty and '.' components, resolves '..'
/// (never above an absolute root), keeps exactly two leading slashes but turns three
/// or more into one, and gives '.' for an empty result.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let leading = if !path.starts_with('/') {
        0
    } else if path.starts_with("//") && !path.starts_with("///") {
        2
    } else {
        1
    };
    let mut kept: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if leading > 0 && kept.is_empty() => {}
            ".." if kept.last().is_some_and(|last| *last != "..") => {
                kept.pop();
            }
            _ => kept.push(part),
        }
    }
    let mut out = "/".repeat(leading);
    for (i, part) in kept.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// The first step of `shift_path_info` on PATH_INFO text: splits on '/', drops the
/// empty and '.' segments between the first and the last one, and takes the second
/// segment out. Returns the name shifted and the PATH_INFO left behind, or `None`
/// when there is no '/' at all (where the stdlib raises `IndexError`).
pub fn split_first_segment(path_info: &str) -> Option<(&str, String)> {
    let mut parts = path_info.split('/');
    let first = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let (last, middle) = rest.split_last()?;
    let mut middle = middle.iter().filter(|p| !p.is_empty() && **p != ".");
    let Some(name) = middle.next() else {
        return Some((last, first.to_owned()));
    };
    let mut remaining = String::with_capacity(path_info.len());
    remaining.push_str(first);
    for part in middle.chain(std::iter::once(last)) {
        remaining.push('/');
        remaining.push_str(part);
    }
    Some((name, remaining))
}

/// The SCRIPT_NAME `shift_path_info` stores once `name` moved over from PATH_INFO:
/// the normalised `script_name + '/' + name`, without a trailing '/' unless `name`
/// is empty (then it always ends with one).
pub fn shifted_script_name(script_name: &str, name: &str) -> String {
    let mut out = normpath(&format!("{script_name}/{name}"));
    if out.ends_with('/') {
        out.pop();
    }
    if name.is_empty() && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Shift a name from PATH_INFO to SCRIPT_NAME, returning it
///
/// Returns None when PATH_INFO is empty (the environ is then left alone) or when
/// the name shifted is '.'; modifies the environ in place otherwise.
/// Holds the GIL (no I/O).
#[pyfunction]
#[pyo3(signature = (environ))]
pub(super) fn shift_path_info<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let env = Environ::new(environ);
    let path_info_key = intern!(py, "PATH_INFO");
    let script_name_key = intern!(py, "SCRIPT_NAME");
    let empty = intern!(py, "");

    let path_info = env.get_or(path_info_key, empty)?;
    if !path_info.is_truthy()? {
        return Ok(None);
    }

    // path_parts = path_info.split('/'); keep the meaningful middle parts;
    // name = path_parts[1]; del path_parts[1]
    let (name, remaining) = match exact_str(&path_info) {
        Some(text) => match split_first_segment(text) {
            Some((name, remaining)) => (Text::Rust(name.to_owned()), Text::Rust(remaining)),
            None => return Err(PyIndexError::new_err("list index out of range")),
        },
        None => {
            let parts = path_info.call_method1(intern!(py, "split"), (intern!(py, "/"),))?;
            let middle_slice = cached_slice(py, &SLICE_1_M1, Some(1), Some(-1))?;
            let kept = PyList::empty(py);
            for part in parts.get_item(middle_slice)?.try_iter()? {
                let part = part?;
                if part.is_truthy()? && part.ne(intern!(py, "."))? {
                    kept.append(part)?;
                }
            }
            parts.set_item(middle_slice, kept)?;
            let name = parts.get_item(1)?;
            parts.del_item(1)?;
            (Text::Py(name), Text::Py(parts))
        }
    };

    // script_name = posixpath.normpath(script_name + '/' + name)
    let script_name = env.get_or(script_name_key, empty)?;
    let script_name = match (exact_str(&script_name), &name) {
        (Some(s), Text::Rust(n)) => Text::Rust(shifted_script_name(s, n)),
        _ => {
            let joined = Text::of(script_name)
                .add(py, intern!(py, "/").as_any())?
                .add_text(py, &name)?;
            let mut normalized = match joined {
                Text::Rust(s) => Text::Rust(normpath(&s)),
                Text::Py(o) => match exact_str(&o) {
                    Some(s) => Text::Rust(normpath(s)),
                    None => Text::Py(
                        POSIX_NORMPATH
                            .import(py, "posixpath", "normpath")?
                            .call1((o,))?,
                    ),
                },
            };
            if normalized.ends_with_slash()? {
                normalized = normalized.drop_last(py)?;
            }
            if !name.truthy()? && !normalized.ends_with_slash()? {
                normalized.iadd(py, intern!(py, "/").as_any())?;
            }
            normalized
        }
    };

    env.set(script_name_key, script_name.into_object(py))?;
    let remaining = match remaining {
        Text::Rust(s) => PyString::new(py, &s).into_any(),
        Text::Py(parts) => intern!(py, "/").call_method1(intern!(py, "join"), (parts,))?,
    };
    env.set(path_info_key, remaining)?;

    if name.eq_str(".")? {
        return Ok(None);
    }
    Ok(Some(name.into_object(py)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_table() {
        // (input, expected) -- checked against posixpath.normpath
        let cases = [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//", "//"),
            ("///", "/"),
            ("////a", "/a"),
            ("//a//b", "//a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/../..", ".."),
            ("../a", "../a"),
            ("../../a/..", "../.."),
            ("/..", "/"),
            ("/../a", "/a"),
            ("//..", "//"),
            ("a/", "a"),
            ("a/b/../../..", ".."),
            ("/a/\u{0}/../b", "/a/b"),
            ("x/\u{e9}/.", "x/\u{e9}"),
            ("...", "..."),
        ];
        for (input, expected) in cases {
            assert_eq!(normpath(input), expected, "{input:?}");
        }
    }

    #[test]
    fn split_first_segment_table() {
        // (PATH_INFO, Some((name, remaining PATH_INFO)) or None for IndexError)
        let cases: [(&str, Option<(&str, &str)>); 12] = [
            ("abc", None),
            ("/", Some(("", ""))),
            ("/a", Some(("a", ""))),
            ("/a/", Some(("a", "/"))),
            ("/a/b", Some(("a", "/b"))),
            ("//a", Some(("a", ""))),
            ("/./a", Some(("a", ""))),
            ("/.", Some((".", ""))),
            ("/a/./b/", Some(("a", "/b/"))),
            ("x/y/z", Some(("y", "x/z"))),
            ("/..//x", Some(("..", "/x"))),
            ("///", Some(("", ""))),
        ];
        for (input, expected) in cases {
            let got = split_first_segment(input);
            let got = got.as_ref().map(|(n, r)| (*n, r.as_str()));
            assert_eq!(got, expected, "{input:?}");
        }
    }

    #[test]
    fn shifted_script_name_table() {
        // (SCRIPT_NAME, name, new SCRIPT_NAME)
        let cases = [
            ("", "a", "/a"),
            ("", "", "/"),
            ("/a", "", "/a/"),
            ("/a", "b", "/a/b"),
            ("", ".", ""),
            ("/a", "..", ""),
            ("a", "..", "."),
            ("/", "", "/"),
            ("//", "x", "/x"),
            ("", "..", ""),
            ("..", "..", "../.."),
        ];
        for (script_name, name, expected) in cases {
            assert_eq!(
                shifted_script_name(script_name, name),
                expected,
                "{script_name:?} {name:?}"
            );
        }
    }
}
