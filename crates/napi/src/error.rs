//! Core errors as JavaScript errors: which class (`RangeError`, `TypeError`, `Error`),
//! which Node-style `code` (`ERR_OUT_OF_RANGE`, `ENODEV`, …) and which wording
//! (options by their JavaScript names, `blockSize`; the `setcap … $(which node)` advice).
//! The core knows none of this; its messages are in Rust terms.
//!
//! A napi `Error` carries only a status and a message, so the class and code travel in
//! the message as `CODE|kind|message`; `src/errors.ts` (`fromNative`) turns that back into a
//! `RangeError`, `TypeError` or `Error` with `.code` before any user sees it.

use netring_core::{errno_name, Error, MethodName, OptionName, Problem};

/// The class of JavaScript error `src/errors.ts` throws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsClass {
    /// `RangeError`.
    Range,
    /// `TypeError`.
    Type,
    /// `Error` (a system call failed, the handle is closed, …).
    System,
}

impl JsClass {
    fn tag(self) -> &'static str {
        match self {
            JsClass::Range => "range",
            JsClass::Type => "type",
            JsClass::System => "system",
        }
    }
}

/// An error as JavaScript sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsError {
    /// The error's class.
    pub class: JsClass,
    /// Its `code`.
    pub code: &'static str,
    /// Its `message`.
    pub message: String,
}

impl JsError {
    /// A `RangeError` with code `ERR_OUT_OF_RANGE`: an argument the binding checks itself.
    pub fn range(message: String) -> Self {
        JsError { class: JsClass::Range, code: "ERR_OUT_OF_RANGE", message }
    }

    /// A `TypeError` with code `ERR_INVALID_ARG_TYPE`.
    pub fn type_error(message: String) -> Self {
        JsError { class: JsClass::Type, code: "ERR_INVALID_ARG_TYPE", message }
    }
}

/// How an option of the core is spelled in the JavaScript options objects.
pub fn js_option_name(option: OptionName) -> &'static str {
    match option {
        OptionName::Version => "version",
        OptionName::BlockSize => "blockSize",
        OptionName::BlockCount => "blockCount",
        OptionName::FrameSize => "frameSize",
        OptionName::FrameCount => "frameCount",
        OptionName::BlockTimeoutMs => "blockTimeout",
        OptionName::Snaplen => "snaplen",
        OptionName::Netns => "netns",
        OptionName::BufferSize => "bufferSize",
        OptionName::ZeroCopy => "zeroCopy",
        OptionName::Loss => "loss",
        OptionName::FramesPerKick => "framesPerKick",
        OptionName::Fanout => "fanout",
        OptionName::Filter => "filter",
        OptionName::Rotate => "rotate",
    }
}

/// How a method is spelled in JavaScript: the scheme of `open("ring:eth0")`.
pub fn js_method_name(method: MethodName) -> &'static str {
    match method {
        MethodName::RxRing | MethodName::TxRing => "ring:",
        MethodName::RxRecv | MethodName::TxSend => "int:",
    }
}

fn problem_class(problem: Problem) -> (JsClass, &'static str) {
    match problem {
        Problem::OutOfRange => (JsClass::Range, "ERR_OUT_OF_RANGE"),
        Problem::NotApplicable | Problem::Invalid => (JsClass::Type, "ERR_INVALID_ARG_TYPE"),
    }
}

impl From<Error> for JsError {
    fn from(e: Error) -> Self {
        let errno_code = |e: &Error| errno_name(e.errno().unwrap_or(0));
        let (class, code) = match &e {
            Error::Option { problem, .. } | Error::Program { problem, .. } => problem_class(*problem),
            Error::Frame { .. } | Error::FileFormat { .. } => (JsClass::Range, "ERR_OUT_OF_RANGE"),
            Error::InterfaceName { .. } | Error::NoNamespace { .. } | Error::Unsupported { .. } => {
                (JsClass::Type, "ERR_INVALID_ARG_TYPE")
            }
            Error::Filter { .. } => (JsClass::Type, "ERR_INVALID_ARG_VALUE"),
            Error::Closed => (JsClass::System, "ERR_NETRING_CLOSED"),
            Error::NoLibpcap { .. } => (JsClass::System, "ERR_NETRING_NO_LIBPCAP"),
            Error::BadFile { .. } => (JsClass::System, "ERR_NETRING_BAD_FILE"),
            Error::LinkType { .. } => (JsClass::System, "ERR_NETRING_LINK_TYPE"),
            Error::File { source, .. } if source.raw_os_error().is_none() => (JsClass::System, "ERR_NETRING_BAD_FILE"),
            _ => (JsClass::System, errno_code(&e)),
        };
        let message = match &e {
            Error::Option { text, .. } | Error::Unsupported { text } => text.render(js_option_name, js_method_name),
            Error::Permission { .. } => format!(
                "{} (run as root or grant it, e.g. `setcap cap_net_raw+ep $(which node)`)",
                e.permission_prefix()
            ),
            _ => e.to_string(),
        };
        JsError { class, code, message }
    }
}

impl From<JsError> for napi::Error {
    fn from(e: JsError) -> Self {
        napi::Error::new(napi::Status::GenericFailure, format!("{}|{}|{}", e.code, e.class.tag(), e.message))
    }
}

/// A core or binding error as the napi error `src/errors.ts` decodes.
pub fn to_napi(e: impl Into<JsError>) -> napi::Error {
    e.into().into()
}

/// The error of a call on a closed handle.
pub fn closed() -> napi::Error {
    to_napi(Error::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netring_core::{RxOptions, TxOptions};

    fn js(e: Error) -> String {
        let e = JsError::from(e);
        format!("{}|{}|{}", e.code, e.class.tag(), e.message)
    }

    /// The strings `src/errors.ts` receives, byte for byte as before the core spoke Rust.
    #[test]
    fn option_errors_reach_javascript_with_javascript_names() {
        let rx = |f: fn(&mut RxOptions)| {
            let mut o = RxOptions::default();
            f(&mut o);
            js(o.validate_with_page_size(4096).unwrap_err())
        };
        assert_eq!(
            rx(|o| o.block_size = Some(5000)),
            "ERR_OUT_OF_RANGE|range|blockSize 5000 must be a non-zero multiple of the page size 4096"
        );
        assert_eq!(
            rx(|o| o.block_timeout_ms = Some(0)),
            "ERR_OUT_OF_RANGE|range|blockTimeout 0 must be from 1 to 60000 milliseconds"
        );
        assert_eq!(
            rx(|o| {
                o.version = Some(2);
                o.block_count = Some(4);
                o.frame_count = Some(4);
            }),
            "ERR_OUT_OF_RANGE|range|frameCount 4 must equal blockCount 4 × 2 frames per block \
             (blockSize 4096 / frameSize 2048)"
        );
        assert_eq!(
            rx(|o| {
                o.block_size = Some(4096);
                o.snaplen = Some(4000);
            }),
            "ERR_OUT_OF_RANGE|range|snaplen 4000 does not fit in a block of 4096 bytes: at most 3966 \
             (blockSize - 48 block header - 82 packet header)"
        );
        assert_eq!(
            rx(|o| {
                o.method = netring_core::Method::Recv;
                o.zero_copy = true;
            }),
            "ERR_INVALID_ARG_TYPE|type|option zeroCopy applies to ring: captures (PACKET_MMAP) only, not int:"
        );
        assert_eq!(
            rx(|o| o.buffer_size = Some(65536)),
            "ERR_INVALID_ARG_TYPE|type|option bufferSize applies to int: captures only; a ring's size is \
             blockSize × blockCount"
        );
        assert_eq!(
            rx(|o| o.netns = Some(String::new())),
            "ERR_INVALID_ARG_TYPE|type|netns \"\" must be a namespace name or a path"
        );
        let mut tx = TxOptions { frame_count: Some(16), frames_per_kick: Some(17), ..Default::default() };
        assert_eq!(
            js(tx.validate_with_page_size(4096).unwrap_err()),
            "ERR_OUT_OF_RANGE|range|framesPerKick 17 must be from 1 to 16 (frameCount)"
        );
        tx = TxOptions { method: netring_core::TxMethod::Send, loss: true, ..Default::default() };
        assert_eq!(
            js(tx.validate_with_page_size(4096).unwrap_err()),
            "ERR_INVALID_ARG_TYPE|type|option loss applies to ring: senders only (PACKET_TX_RING), not int:"
        );
    }

    #[test]
    fn other_errors_keep_their_class_code_and_advice() {
        let perm = Error::Permission { iface: "eth0".into(), op: "socket", errno: libc::EPERM };
        assert_eq!(
            js(perm),
            "EPERM|system|socket on \"eth0\" was refused (EPERM): capturing and injecting packets needs \
             CAP_NET_RAW (run as root or grant it, e.g. `setcap cap_net_raw+ep $(which node)`)"
        );
        assert_eq!(js(Error::Closed), "ERR_NETRING_CLOSED|system|the handle is closed");
        assert_eq!(js(Error::NoDevice { iface: "x".into() }), "ENODEV|system|no such interface \"x\" (ENODEV)");
        assert_eq!(
            js(Error::FileFormat { name: "cap".into() }),
            "ERR_OUT_OF_RANGE|range|file format \"cap\" must be \"pcap\", \"pcap-ns\" or \"pcapng\""
        );
        let bad = netring_core::validate_program(&[]).unwrap_err();
        assert_eq!(js(bad), "ERR_OUT_OF_RANGE|range|filter has 0 instructions; a program has 1 to 4096");
        let f = Error::Filter { expression: "x".into(), message: "m".into() };
        assert!(js(f).starts_with("ERR_INVALID_ARG_VALUE|type|"));
        // A run-time refusal, not a bad argument: the CLI exits 1 for it.
        let link = netring_core::check_link_type("nr0", Some(1), 276).unwrap_err();
        assert_eq!(
            js(link),
            "ERR_NETRING_LINK_TYPE|system|frames of link type LINUX_SLL2 (276) cannot be sent through \"nr0\", whose \
             link type is EN10MB (1): a Linux cooked capture's header was made up by the capturing socket and is not \
             a frame header"
        );
    }
}
