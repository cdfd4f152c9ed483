//! The Python objects a request gives the application: `wsgi.input`, `start_response` and the
//! `write` callable it returns. Making and freeing three objects costs a hello request about a
//! twentieth of its instructions, so a set the application kept nothing of is kept for a later
//! request, pointed at that request's exchange; a set it still holds is left to it.

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::engine::wsgi::callables::{Input, Shared, StartResponse, Write};

/// The most sets kept: one per request served in a round is plenty.
const KEPT: usize = 64;

/// One request's `wsgi.input` and `start_response` (which holds the `write` it returns).
pub struct RequestObjects {
    pub input: Py<Input>,
    pub start_response: Py<StartResponse>,
}

/// Sets of objects free for the next requests.
#[derive(Default)]
pub struct Spare(Mutex<Vec<RequestObjects>>);

impl Spare {
    /// Objects for a request on `exchange`: a kept set when there is one, else a new one.
    pub fn take(&self, py: Python<'_>, exchange: &Shared) -> PyResult<RequestObjects> {
        let kept = self.0.lock().pop();
        if let Some(objects) = kept {
            if objects.point_at(py, exchange) {
                return Ok(objects);
            }
        }
        let write = Py::new(
            py,
            Write {
                exchange: exchange.clone(),
            },
        )?;
        Ok(RequestObjects {
            input: Py::new(
                py,
                Input {
                    exchange: exchange.clone(),
                },
            )?,
            start_response: Py::new(
                py,
                StartResponse {
                    exchange: exchange.clone(),
                    write,
                },
            )?,
        })
    }

    /// Keeps `objects` for a later request when nothing but they themselves refer to them (the
    /// application kept none past its request), and there is room.
    pub fn give_back(&self, py: Python<'_>, objects: RequestObjects) {
        let unshared = only_ours(py, &objects.input)
            && only_ours(py, &objects.start_response)
            && objects
                .start_response
                .bind(py)
                .try_borrow()
                .is_ok_and(|start| only_ours(py, &start.write));
        if unshared {
            let mut kept = self.0.lock();
            if kept.len() < KEPT {
                kept.push(objects);
            }
        }
    }
}

impl RequestObjects {
    /// Points the objects at `exchange`; false if one of them is in use (never expected of a
    /// set nothing refers to), and the set is then not used.
    fn point_at(&self, py: Python<'_>, exchange: &Shared) -> bool {
        let (Ok(mut input), Ok(mut start)) = (
            self.input.bind(py).try_borrow_mut(),
            self.start_response.bind(py).try_borrow_mut(),
        ) else {
            return false;
        };
        let Ok(mut write) = start.write.bind(py).try_borrow_mut() else {
            return false;
        };
        write.exchange = exchange.clone();
        drop(write);
        input.exchange = exchange.clone();
        start.exchange = exchange.clone();
        true
    }
}

/// Whether `object` has no reference but the one given.
fn only_ours<T>(_py: Python<'_>, object: &Py<T>) -> bool {
    // SAFETY: reading the reference count of an object kept alive by `object`, with the GIL
    // held (`_py`), so no other thread changes it meanwhile.
    unsafe { pyo3::ffi::Py_REFCNT(object.as_ptr()) == 1 }
}
