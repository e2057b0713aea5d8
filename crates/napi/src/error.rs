//! Core errors as JavaScript errors.
//!
//! A napi `Error` carries only a status and a message, so the class and code travel in
//! the message as `CODE|kind|message`; `index.ts` (`fromNative`) turns that back into a
//! `RangeError`, `TypeError` or `Error` with `.code` before any user sees it.

use netring_core::{Error, ErrorKind};

pub fn to_napi(e: Error) -> napi::Error {
    let kind = match e.kind() {
        ErrorKind::Range => "range",
        ErrorKind::Type => "type",
        ErrorKind::System => "system",
    };
    napi::Error::new(napi::Status::GenericFailure, format!("{}|{kind}|{e}", e.code()))
}

pub fn closed() -> napi::Error {
    to_napi(Error::Closed)
}
