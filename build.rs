//! Sets the `Py_3_*` cfgs of the interpreter the module is built for (as PyO3 itself sees it), so
//! that code can follow that version's `wsgiref` where it changed (`FileWrapper.__getitem__`
//! before 3.11, `BaseHandler._validate_status` from 3.12 on, ...). Each build is for one
//! interpreter (no abi3), so the choice is made once, at compile time.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
