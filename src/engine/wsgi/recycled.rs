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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::wsgi::exchange::testing::exchange;
    use crate::engine::wsgi::settings::testing::with_python;

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    fn shared(py: Python<'_>) -> Shared {
        Arc::new(Mutex::new(exchange(py, GET).0))
    }

    /// Whether each of the three objects refers to `exchange`.
    fn point_at(py: Python<'_>, objects: &RequestObjects, exchange: &Shared) -> bool {
        let start = objects.start_response.borrow(py);
        let write = start.write.borrow(py);
        Arc::ptr_eq(&objects.input.borrow(py).exchange, exchange)
            && Arc::ptr_eq(&start.exchange, exchange)
            && Arc::ptr_eq(&write.exchange, exchange)
    }

    fn kept(spare: &Spare) -> usize {
        spare.0.lock().len()
    }

    #[test]
    fn objects_nothing_else_holds_serve_the_next_request() {
        with_python(|py| {
            let spare = Spare::default();
            let (first, second) = (shared(py), shared(py));
            let objects = spare.take(py, &first).unwrap();
            assert!(point_at(py, &objects, &first));
            let (input, start) = (objects.input.as_ptr(), objects.start_response.as_ptr());
            spare.give_back(py, objects);
            assert_eq!(kept(&spare), 1);
            let objects = spare.take(py, &second).unwrap();
            assert_eq!(kept(&spare), 0);
            assert_eq!(objects.input.as_ptr(), input);
            assert_eq!(objects.start_response.as_ptr(), start);
            assert!(point_at(py, &objects, &second));
        });
    }

    #[test]
    fn objects_the_application_kept_stay_its_own() {
        with_python(|py| {
            let spare = Spare::default();
            let first = shared(py);
            // Each of the three, kept past the request, keeps the set from being reused.
            let keep: [fn(Python<'_>, &RequestObjects) -> Py<PyAny>; 3] = [
                |py, o| o.input.clone_ref(py).into_any(),
                |py, o| o.start_response.clone_ref(py).into_any(),
                |py, o| o.start_response.borrow(py).write.clone_ref(py).into_any(),
            ];
            for held in keep {
                let objects = spare.take(py, &first).unwrap();
                let kept_by_app = held(py, &objects);
                spare.give_back(py, objects);
                assert_eq!(kept(&spare), 0);
                drop(kept_by_app);
            }
        });
    }

    #[test]
    fn at_most_a_round_of_sets_is_kept() {
        with_python(|py| {
            let spare = Spare::default();
            let exchange = shared(py);
            let sets: Vec<RequestObjects> = (0..KEPT + 3)
                .map(|_| spare.take(py, &exchange).unwrap())
                .collect();
            for objects in sets {
                spare.give_back(py, objects);
            }
            assert_eq!(kept(&spare), KEPT);
        });
    }
}
