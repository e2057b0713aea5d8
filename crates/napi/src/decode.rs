//! `dissect()`: the native dissector over one buffer from JavaScript, for `decode()`.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use netring_core::dissect::Layers;

/// What the dissector finds in `data`, read as libpcap link type `link_type`: the record
/// words a captured packet carries from `LAYERS` on (see `src/native.ts`).
#[allow(dead_code)] // called from JavaScript only
#[napi]
pub fn dissect(data: Buffer, link_type: u32) -> Vec<u32> {
    netring_core::dissect_words(&data, link_type, &mut Layers::default()).to_vec()
}
