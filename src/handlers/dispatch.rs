//! How a handler's overridable methods (hooks) resolve, packed: [`Hook`] names them as CPython
//! does, [`Impl`] says whether one runs as the base class's, as `SimpleHandler`'s or through
//! Python, and [`Dispatch`] holds the resolution of all of them in one word. `hooks.rs` makes it.

/// The overridable methods of `BaseHandler`, named as in CPython.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Hook {
    SetupEnviron,
    FinishResponse,
    GetScheme,
    SetContentLength,
    CleanupHeaders,
    StartResponse,
    ConvertStringType,
    SendPreamble,
    Write,
    Sendfile,
    FinishContent,
    Close,
    SendHeaders,
    ResultIsFile,
    ClientIsModern,
    LogException,
    HandleError,
    ErrorOutput,
    RawWrite,
    RawFlush,
    GetStdin,
    GetStderr,
    AddCgiVars,
    /// Python 3.12 on.
    ValidateStatus,
}

impl Hook {
    pub const ALL: [Hook; 24] = [
        Hook::SetupEnviron,
        Hook::FinishResponse,
        Hook::GetScheme,
        Hook::SetContentLength,
        Hook::CleanupHeaders,
        Hook::StartResponse,
        Hook::ConvertStringType,
        Hook::SendPreamble,
        Hook::Write,
        Hook::Sendfile,
        Hook::FinishContent,
        Hook::Close,
        Hook::SendHeaders,
        Hook::ResultIsFile,
        Hook::ClientIsModern,
        Hook::LogException,
        Hook::HandleError,
        Hook::ErrorOutput,
        Hook::RawWrite,
        Hook::RawFlush,
        Hook::GetStdin,
        Hook::GetStderr,
        Hook::AddCgiVars,
        Hook::ValidateStatus,
    ];

    /// Whether the running version's `BaseHandler` has this method: `_validate_status` came in
    /// 3.12 (before, a subclass's method of that name is never called).
    pub fn exists(self) -> bool {
        cfg!(Py_3_12) || self != Hook::ValidateStatus
    }

    /// The method's Python name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::SetupEnviron => "setup_environ",
            Hook::FinishResponse => "finish_response",
            Hook::GetScheme => "get_scheme",
            Hook::SetContentLength => "set_content_length",
            Hook::CleanupHeaders => "cleanup_headers",
            Hook::StartResponse => "start_response",
            Hook::ConvertStringType => "_convert_string_type",
            Hook::SendPreamble => "send_preamble",
            Hook::Write => "write",
            Hook::Sendfile => "sendfile",
            Hook::FinishContent => "finish_content",
            Hook::Close => "close",
            Hook::SendHeaders => "send_headers",
            Hook::ResultIsFile => "result_is_file",
            Hook::ClientIsModern => "client_is_modern",
            Hook::LogException => "log_exception",
            Hook::HandleError => "handle_error",
            Hook::ErrorOutput => "error_output",
            Hook::RawWrite => "_write",
            Hook::RawFlush => "_flush",
            Hook::GetStdin => "get_stdin",
            Hook::GetStderr => "get_stderr",
            Hook::AddCgiVars => "add_cgi_vars",
            Hook::ValidateStatus => "_validate_status",
        }
    }

    /// The name of the `SimpleHandler` flavour of this hook on `HandlerCore`, if it has one.
    pub(super) fn simple_name(self) -> Option<&'static str> {
        match self {
            Hook::RawWrite => Some("_simple_write"),
            Hook::RawFlush => Some("_simple_flush"),
            Hook::GetStdin => Some("_simple_get_stdin"),
            Hook::GetStderr => Some("_simple_get_stderr"),
            Hook::AddCgiVars => Some("_simple_add_cgi_vars"),
            _ => None,
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Hook> {
        Some(match name {
            "setup_environ" => Hook::SetupEnviron,
            "finish_response" => Hook::FinishResponse,
            "get_scheme" => Hook::GetScheme,
            "set_content_length" => Hook::SetContentLength,
            "cleanup_headers" => Hook::CleanupHeaders,
            "start_response" => Hook::StartResponse,
            "_convert_string_type" => Hook::ConvertStringType,
            "send_preamble" => Hook::SendPreamble,
            "write" => Hook::Write,
            "sendfile" => Hook::Sendfile,
            "finish_content" => Hook::FinishContent,
            "close" => Hook::Close,
            "send_headers" => Hook::SendHeaders,
            "result_is_file" => Hook::ResultIsFile,
            "client_is_modern" => Hook::ClientIsModern,
            "log_exception" => Hook::LogException,
            "handle_error" => Hook::HandleError,
            "error_output" => Hook::ErrorOutput,
            "_write" => Hook::RawWrite,
            "_flush" => Hook::RawFlush,
            "get_stdin" => Hook::GetStdin,
            "get_stderr" => Hook::GetStderr,
            "add_cgi_vars" => Hook::AddCgiVars,
            "_validate_status" => Hook::ValidateStatus,
            _ => return None,
        })
    }
}

/// How one hook resolves for a given handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `BaseHandler`'s own method, run in Rust.
    Base,
    /// `SimpleHandler`'s method, run in Rust.
    Simple,
    /// Overridden: call it through Python.
    Python,
}

/// The resolution of every hook for one handler: two bits a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispatch(u64);

impl Dispatch {
    pub(super) const fn all_base() -> Self {
        Dispatch(0)
    }

    pub fn get(self, hook: Hook) -> Impl {
        match (self.0 >> (2 * hook as u32)) & 0b11 {
            0 => Impl::Base,
            1 => Impl::Simple,
            _ => Impl::Python,
        }
    }

    pub(super) fn set(&mut self, hook: Hook, imp: Impl) {
        let shift = 2 * hook as u32;
        let bits = match imp {
            Impl::Base => 0,
            Impl::Simple => 1,
            Impl::Python => 2,
        };
        self.0 = (self.0 & !(0b11 << shift)) | (bits << shift);
    }

    /// Marks that per-request state may be read from and written to the instance `__dict__`
    /// directly: the class keeps `object`'s attribute access and has no data descriptor for any
    /// state name, so the dict is exactly what `getattr`/`setattr` would use.
    const PLAIN_STATE: u64 = 1 << 62;

    pub fn plain_state(self) -> bool {
        self.0 & Self::PLAIN_STATE != 0
    }

    pub(super) fn set_plain_state(&mut self, plain: bool) {
        if plain {
            self.0 |= Self::PLAIN_STATE;
        } else {
            self.0 &= !Self::PLAIN_STATE;
        }
    }

    /// True when the hook runs natively (either flavour).
    pub fn native(self, hook: Hook) -> bool {
        self.get(hook) != Impl::Python
    }

    /// Packs the dispatch for caching in an atomic; bit 63 marks "present".
    pub fn pack(self) -> u64 {
        self.0 | (1 << 63)
    }

    pub fn unpack(bits: u64) -> Option<Dispatch> {
        (bits >> 63 == 1).then_some(Dispatch(bits & !(1 << 63)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_packs_two_bits_per_hook() {
        let mut d = Dispatch::all_base();
        d.set(Hook::RawWrite, Impl::Simple);
        d.set(Hook::Write, Impl::Python);
        assert_eq!(d.get(Hook::RawWrite), Impl::Simple);
        assert_eq!(d.get(Hook::Write), Impl::Python);
        assert_eq!(d.get(Hook::AddCgiVars), Impl::Base);
        assert_eq!(Dispatch::unpack(d.pack()), Some(d));
        assert_eq!(Dispatch::unpack(0), None);
    }

    #[test]
    fn hook_names_round_trip() {
        for hook in Hook::ALL {
            assert_eq!(Hook::from_name(hook.name()), Some(hook));
        }
        assert_eq!(Hook::from_name("run"), None);
    }
}
