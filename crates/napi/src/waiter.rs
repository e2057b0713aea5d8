//! Waiting for a packet socket on the event loop of the thread that runs the capture's
//! JavaScript.
//!
//! The socket is watched by a libuv poll handle (`uv_poll_t`) in that thread's loop, as
//! Node watches its own sockets, and a wake-up resolves the pending `wait()` promises
//! right there, inside a callback scope so that their continuations run at once. No other
//! thread takes part: not libuv's thread pool (which `fs`, `dns` and zlib need), and no
//! runtime thread handing the wake-up over (that hop cost about 13 µs of CPU per wake-up,
//! some 60 ns per packet with 1514-byte frames at full rate). Nothing is polled while no
//! wait is pending, so an idle capture does not keep the process alive; a pending wait does.
//!
//! libuv is Node's own: the node binary exports libuv's functions as it exports Node-API's.
//!
//! Lifetime: `Shared` is reference-counted by the `Waiter` and by each of its two handles
//! (the handle's `data` holds an `Rc` turned into a raw pointer). Handles are closed with
//! `uv_close`, whose callback frees their memory and drops their `Rc`, so a callback
//! never sees freed state. If the environment goes away first (a worker ends), an async
//! cleanup hook closes the handles and Node runs the loop until they are closed.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::AsRawFd;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::PromiseRaw;
use napi::{check_status, sys, Env, JsValue};
use netring_core::PacketSocket;

use crate::error::to_napi;

// From libuv 1.x, whose ABI is stable: handle type numbers (uv_handle_type), UV_READABLE.
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

type PollCallback = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type HandleCallback = unsafe extern "C" fn(handle: *mut c_void);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(event_loop: *mut sys::uv_loop_s, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, callback: PollCallback) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_timer_init(event_loop: *mut sys::uv_loop_s, handle: *mut c_void) -> c_int;
    fn uv_timer_start(handle: *mut c_void, callback: HandleCallback, timeout: u64, repeat: u64) -> c_int;
    fn uv_close(handle: *mut c_void, callback: HandleCallback);
    fn uv_strerror(error: c_int) -> *const c_char;
}

fn uv_error(what: &str, code: c_int) -> napi::Error {
    // SAFETY: uv_strerror returns a static NUL-terminated string for any code.
    let text = unsafe { CStr::from_ptr(uv_strerror(code)) }.to_string_lossy();
    napi::Error::from_reason(format!("{what} failed: {text}"))
}

struct Shared {
    env: sys::napi_env,
    /// Given back on release, so that `close()` closes the socket at once.
    socket: RefCell<Option<Arc<PacketSocket>>>,
    /// `uv_poll_t` on the socket, started only while a wait is pending.
    poll: *mut c_void,
    /// `uv_timer_t` that ends the settling after a socket error.
    timer: *mut c_void,
    pending: RefCell<Vec<sys::napi_deferred>>,
    polling: Cell<bool>,
    /// The socket's error (the interface went down or was removed), once seen.
    failed: RefCell<Option<String>>,
    /// After an error, waits resolve once more when the kernel had time to hand over the
    /// block in progress; the wait after that throws `failed`.
    settle: Cell<Settle>,
    settle_ms: u64,
    /// The async resource the waits' continuations run under (async_hooks, AsyncLocalStorage).
    context: sys::napi_async_context,
    resource: sys::napi_ref,
    cleanup: Cell<sys::napi_async_cleanup_hook_handle>,
    closed: Cell<bool>,
    released: Cell<bool>,
    /// Handles not yet through their close callback.
    open_handles: Cell<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum Settle {
    NotYet,
    Running,
    Done,
}

pub struct Waiter(Rc<Shared>);

impl Waiter {
    /// Registers nothing with epoll yet: that happens when the first wait starts.
    pub fn new(env: &Env, socket: Arc<PacketSocket>, settle: Duration) -> napi::Result<Self> {
        let raw = env.raw();
        let fd = socket.as_raw_fd();
        let event_loop = env.get_uv_event_loop()?;
        let name = env.create_string("netring:wait")?;
        let mut resource = ptr::null_mut();
        let mut reference = ptr::null_mut();
        let mut context = ptr::null_mut();
        // SAFETY: plain Node-API calls on the current env with valid out-pointers.
        unsafe {
            check_status!(sys::napi_create_object(raw, &mut resource))?;
            check_status!(sys::napi_create_reference(raw, resource, 1, &mut reference))?;
            check_status!(sys::napi_async_init(raw, resource, name.raw(), &mut context))?;
        }
        // SAFETY: uv_handle_size only reads its argument; calloc returns zeroed memory
        // (or null, checked below) of the size libuv says a handle of that type needs.
        let (poll, timer) = unsafe {
            (libc::calloc(1, uv_handle_size(UV_POLL)), libc::calloc(1, uv_handle_size(UV_TIMER)))
        };
        let shared = Rc::new(Shared {
            env: raw,
            socket: RefCell::new(Some(socket)),
            poll,
            timer,
            pending: RefCell::new(Vec::new()),
            polling: Cell::new(false),
            failed: RefCell::new(None),
            settle: Cell::new(Settle::NotYet),
            settle_ms: settle.as_millis() as u64,
            context,
            resource: reference,
            cleanup: Cell::new(ptr::null_mut()),
            closed: Cell::new(false),
            released: Cell::new(false),
            open_handles: Cell::new(0),
        });
        if poll.is_null() || timer.is_null() {
            shared.release();
            return Err(napi::Error::from_reason("out of memory for the socket's poll handle"));
        }
        // SAFETY: `timer` and `poll` are zeroed allocations of their handle's size; the
        // loop is this thread's. A handle's first field is `void *data`, set to an `Rc`
        // of `shared` that its close callback takes back.
        unsafe {
            uv_timer_init(event_loop, timer);
            adopt(timer, &shared);
            let status = uv_poll_init(event_loop, poll, fd);
            if status != 0 {
                shared.release();
                return Err(uv_error("watching the packet socket (uv_poll_init)", status));
            }
            adopt(poll, &shared);
            let mut cleanup = ptr::null_mut();
            let arg = Rc::as_ptr(&shared) as *mut c_void;
            if let Err(e) = check_status!(sys::napi_add_async_cleanup_hook(raw, Some(on_teardown), arg, &mut cleanup)) {
                shared.release();
                return Err(e);
            }
            shared.cleanup.set(cleanup);
        }
        Ok(Waiter(shared))
    }

    /// A promise of `true` when packets may be ready, `false` once closed. Throws the
    /// socket's error (the interface went down or was removed) once it was reported.
    pub fn wait<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, bool>> {
        let s = &self.0;
        if !s.closed.get() {
            if s.failed.borrow().is_some() {
                match s.settle.get() {
                    Settle::NotYet => s.start_settling(),
                    Settle::Running => {}
                    Settle::Done => return Err(napi::Error::from_reason(s.failed.borrow().clone().unwrap_or_default())),
                }
            } else if !s.polling.get() {
                // SAFETY: the poll handle was initialised in `new` and is not closed
                // (`closed` is false); on_poll is a PollCallback.
                let status = unsafe { uv_poll_start(s.poll, UV_READABLE, on_poll) };
                if status != 0 {
                    return Err(uv_error("waiting for the packet socket (uv_poll_start)", status));
                }
                s.polling.set(true);
            }
        }
        let mut promise = ptr::null_mut();
        let mut deferred = ptr::null_mut();
        // SAFETY: Node-API on the current env, with valid out-pointers.
        check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
        if s.closed.get() {
            // SAFETY: inside a call from JavaScript, so resolving needs no callback scope.
            unsafe { resolve(env.raw(), deferred, false) };
        } else {
            s.pending.borrow_mut().push(deferred);
        }
        Ok(PromiseRaw::new(env.raw(), promise))
    }

    /// Resolves pending waits with `false` and closes the handles. Called from JavaScript
    /// (`close()`), so the promises can be resolved here. Idempotent.
    pub fn close(&self) {
        let s = &self.0;
        if s.closed.replace(true) {
            return;
        }
        s.stop_polling();
        for deferred in s.pending.take() {
            // SAFETY: inside a call from JavaScript, on the env the promise was made in.
            unsafe { resolve(s.env, deferred, false) };
        }
        s.release();
    }
}

impl Drop for Waiter {
    /// The capture was collected without `close()`. A pending wait keeps the capture
    /// reachable, so there is none to resolve; this only closes the handles.
    fn drop(&mut self) {
        if !self.0.closed.replace(true) {
            self.0.stop_polling();
            self.0.release();
        }
    }
}

impl Shared {
    /// Resolves the waits after the kernel had time to retire the V3 block in progress
    /// (two block timeouts), so that the capture reads it before the error ends it.
    fn start_settling(&self) {
        self.stop_polling();
        self.settle.set(Settle::Running);
        // SAFETY: the timer was initialised in `new` and is open (`closed` is false).
        unsafe { uv_timer_start(self.timer, on_settled, self.settle_ms, 0) };
    }

    fn stop_polling(&self) {
        if self.polling.replace(false) {
            // SAFETY: the handle is initialised and open while `polling` was true.
            unsafe { uv_poll_stop(self.poll) };
        }
    }

    /// Resolves the pending waits with `value`, from a libuv callback: inside a handle
    /// scope and a callback scope, whose closing runs the continuations (which may call
    /// `wait()` or `close()` again: nothing of `self` is borrowed across it).
    fn wake(&self, value: bool) {
        self.stop_polling();
        let pending = self.pending.take();
        if pending.is_empty() {
            return;
        }
        let env = self.env;
        // SAFETY: on the env's own thread, outside any JavaScript call; the scopes are
        // opened and closed in order, and `resource` is alive until `release`.
        unsafe {
            let mut handles = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut handles) != sys::Status::napi_ok {
                return;
            }
            let mut resource = ptr::null_mut();
            let mut scope = ptr::null_mut();
            sys::napi_get_reference_value(env, self.resource, &mut resource);
            let opened = sys::napi_open_callback_scope(env, resource, self.context, &mut scope) == sys::Status::napi_ok;
            for deferred in pending {
                resolve(env, deferred, value);
            }
            if opened {
                sys::napi_close_callback_scope(env, scope);
            }
            sys::napi_close_handle_scope(env, handles);
        }
    }

    /// Gives back the async context, the resource and the socket and closes both handles
    /// (their close callbacks free them). Once.
    fn release(&self) {
        if self.released.replace(true) {
            return;
        }
        // SAFETY: the context and reference were created on this env in `new`; the
        // handles that were initialised are closed once (`released` guards), the others
        // (null, or allocated but never adopted) freed directly.
        unsafe {
            if !self.context.is_null() {
                sys::napi_async_destroy(self.env, self.context);
            }
            if !self.resource.is_null() {
                sys::napi_delete_reference(self.env, self.resource);
            }
            for handle in [self.poll, self.timer] {
                if handle.is_null() {
                    continue;
                }
                if (*(handle as *mut *const Shared)).is_null() {
                    libc::free(handle);
                } else {
                    uv_close(handle, on_close);
                }
            }
        }
        // uv_close took the fd out of the loop's epoll set, so it may close now.
        self.socket.take();
    }
}

/// Points `handle`'s `data` at a new `Rc` of `shared`, taken back by `on_close`.
///
/// # Safety
/// `handle` is an initialised libuv handle, not yet adopted.
unsafe fn adopt(handle: *mut c_void, shared: &Rc<Shared>) {
    // SAFETY: `data` is the first field of every libuv handle (UV_HANDLE_FIELDS).
    unsafe { *(handle as *mut *const Shared) = Rc::into_raw(Rc::clone(shared)) };
    shared.open_handles.set(shared.open_handles.get() + 1);
}

/// The `Shared` a handle was adopted by.
///
/// # Safety
/// `handle` was adopted and its close callback has not run.
unsafe fn shared_of<'a>(handle: *mut c_void) -> &'a Shared {
    // SAFETY: the handle holds an `Rc` until on_close, so the pointee is alive.
    unsafe { &**(handle as *mut *const Shared) }
}

/// # Safety
/// On `env`'s thread; `deferred` is unresolved. Outside a JavaScript call, only inside a
/// callback scope.
unsafe fn resolve(env: sys::napi_env, deferred: sys::napi_deferred, value: bool) {
    let mut result = ptr::null_mut();
    // SAFETY: as the caller promises.
    unsafe {
        sys::napi_get_boolean(env, value, &mut result);
        sys::napi_resolve_deferred(env, deferred, result);
    }
}

unsafe extern "C" fn on_poll(handle: *mut c_void, status: c_int, _events: c_int) {
    // SAFETY: libuv calls this for an adopted, open poll handle.
    let s = unsafe { shared_of(handle) };
    let Some(socket) = s.socket.borrow().clone() else { return };
    // libuv reports POLLERR as a status of UV_EBADF and stops the handle. An error is
    // taken (SO_ERROR clears it) before anything is read: recvmsg would report it ahead of
    // the packets still queued. Those are read first; the wait after them throws it.
    let events = socket.poll(libc::POLLIN, 0).unwrap_or_else(|e| {
        fail(s, format!("polling the packet socket failed: {e}"));
        0
    });
    if events & libc::POLLERR != 0 || status < 0 {
        if let Some(e) = socket.take_error() {
            fail(s, to_napi(socket.error_from(e)).reason);
        } else if status < 0 {
            fail(s, uv_error("waiting for the packet socket", status).reason);
        }
    }
    if events & libc::POLLIN != 0 {
        s.wake(true);
    } else if s.failed.borrow().is_some() {
        s.start_settling();
    }
}

/// Records the socket's error; the first one seen is the one reported.
fn fail(s: &Shared, reason: String) {
    s.failed.borrow_mut().get_or_insert(reason);
}

unsafe extern "C" fn on_settled(timer: *mut c_void) {
    // SAFETY: libuv calls this for the adopted, open timer handle.
    let s = unsafe { shared_of(timer) };
    s.settle.set(Settle::Done);
    s.wake(true);
}

unsafe extern "C" fn on_close(handle: *mut c_void) {
    // SAFETY: the handle was adopted; this is its close callback, run once, after which
    // libuv no longer touches its memory. Its `Rc` is taken back and dropped last.
    unsafe {
        let shared = Rc::from_raw(*(handle as *mut *const Shared));
        libc::free(handle);
        let left = shared.open_handles.get() - 1;
        shared.open_handles.set(left);
        let cleanup = shared.cleanup.replace(ptr::null_mut());
        if left == 0 && !cleanup.is_null() {
            // Tells Node (also when it is waiting in on_teardown) that nothing is left open.
            sys::napi_remove_async_cleanup_hook(cleanup);
        } else {
            shared.cleanup.set(cleanup);
        }
    }
}

/// The environment is being torn down (a worker ended) with the capture still open: no
/// JavaScript runs any more, so pending waits are dropped; the handles are closed, and
/// their last close callback removes this hook.
unsafe extern "C" fn on_teardown(_handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
    // SAFETY: `arg` is the `Shared` of a waiter whose handles are open or closing, so
    // their `Rc`s keep it alive (the hook is removed when the last one closes).
    let s = unsafe { &*(arg as *const Shared) };
    s.closed.set(true);
    s.pending.take();
    s.stop_polling();
    s.release();
}
