//! BPF filters and fanout groups as JavaScript gives them, and `compileFilter()`.
//! The doc comments here become the documentation of these types in the `.d.ts`.

use napi::Either;
use napi_derive::napi;
use netring_core::linktype::LINKTYPE_ETHERNET;
use netring_core::{FanoutMode, Filter, Instruction, MAX_FANOUT_GROUP, MAX_SNAPLEN};

use crate::error::{to_napi, JsError};

/// One classic BPF instruction, as `tcpdump -dd` prints it: `{ 0x28, 0, 0, 0x0000000c }`
/// is `{ code: 0x28, jt: 0, jf: 0, k: 0xc }`.
#[napi(object)]
pub struct BpfInstruction {
    /// Opcode (class, size, mode, operation), 0 to 0xffff.
    pub code: f64,
    /// Instructions skipped when a conditional jump is taken, 0 to 255.
    pub jt: f64,
    /// Instructions skipped when it is not taken, 0 to 255.
    pub jf: f64,
    /// The constant operand, 0 to 0xffffffff. Negative values down to -2147483648 stand
    /// for their 32-bit two's complement, as C's `SKF_AD_OFF + …` offsets do.
    pub k: f64,
}

/// A PACKET_FANOUT group to join: captures in one group on one interface share its
/// packets, each packet going to exactly one of them.
#[napi(object)]
pub struct FanoutOptions {
    /// Group id, 0 to 65535, the same for every member; ids are per network namespace.
    /// Default: a new group with an id the kernel picks among the unused ones
    /// (PACKET_FANOUT_FLAG_UNIQUEID); `capture.fanoutGroup` tells it, for the other members.
    pub group: Option<f64>,
    /// How the group picks the member for a packet: `'hash'` (by flow: addresses and
    /// ports, so each flow stays with one member), `'lb'` (round robin), `'cpu'` (by the
    /// receiving CPU), `'rollover'` (fill one member, then the next), `'random'`, or
    /// `'queue'` (by NIC receive queue). Every member must use the same mode and flags.
    #[napi(ts_type = "'hash' | 'lb' | 'cpu' | 'rollover' | 'random' | 'queue'")]
    pub mode: String,
    /// PACKET_FANOUT_FLAG_DEFRAG: reassemble IP fragments before choosing, so all the
    /// fragments of a datagram go to one member. Default false.
    pub defrag: Option<bool>,
    /// PACKET_FANOUT_FLAG_ROLLOVER: when the chosen member's ring is full, hand the packet
    /// to another member rather than drop it. Not with mode `'rollover'`. Default false.
    pub rollover: Option<bool>,
}

fn field(index: usize, name: &str, value: f64, min: f64, max: f64) -> Result<f64, JsError> {
    if value.fract() == 0.0 && (min..=max).contains(&value) {
        return Ok(value);
    }
    Err(JsError::range(format!("filter[{index}].{name} {value} must be an integer from {min} to {max}")))
}

impl BpfInstruction {
    fn to_core(&self, index: usize) -> Result<Instruction, JsError> {
        let code = field(index, "code", self.code, 0.0, f64::from(u16::MAX))? as u16;
        let jt = field(index, "jt", self.jt, 0.0, f64::from(u8::MAX))? as u8;
        let jf = field(index, "jf", self.jf, 0.0, f64::from(u8::MAX))? as u8;
        let k = field(index, "k", self.k, f64::from(i32::MIN), f64::from(u32::MAX))?;
        let k = if k < 0.0 { k as i32 as u32 } else { k as u32 };
        Ok(Instruction { code, jt, jf, k })
    }
}

impl From<Instruction> for BpfInstruction {
    fn from(i: Instruction) -> Self {
        BpfInstruction { code: i.code.into(), jt: i.jt.into(), jf: i.jf.into(), k: i.k.into() }
    }
}

/// A `filter` option or `setFilter()` argument as the core's [`Filter`].
pub fn filter(value: &Either<String, Vec<BpfInstruction>>) -> Result<Filter, JsError> {
    match value {
        Either::A(expression) => Ok(Filter::Expression(expression.clone())),
        Either::B(program) => {
            Ok(Filter::Program(program.iter().enumerate().map(|(i, ins)| ins.to_core(i)).collect::<Result<_, _>>()?))
        }
    }
}

impl FanoutOptions {
    pub fn to_core(&self) -> Result<netring_core::FanoutOptions, JsError> {
        let group = match self.group {
            None => None,
            Some(g) if g.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&g) => Some(g as u32),
            Some(g) => {
                return Err(JsError::range(format!("fanout group {g} must be an integer from 0 to {MAX_FANOUT_GROUP}")))
            }
        };
        Ok(netring_core::FanoutOptions {
            group,
            mode: FanoutMode::from_name(&self.mode)?,
            defrag: self.defrag.unwrap_or(false),
            rollover: self.rollover.unwrap_or(false),
        })
    }
}

/// The largest `linkType`: pcapng's link type field is 16 bits.
const MAX_LINK_TYPE: u32 = u16::MAX as u32;

/// Compiles a tcpdump-syntax filter with libpcap (loaded at run time) into a classic BPF
/// program for frames of `link_type` (a libpcap `LINKTYPE_*`, default 1 Ethernet), as
/// `tcpdump -y TYPE -dd` prints it; accepted packets keep `snaplen` bytes (default
/// 262144). Throws when libpcap is not installed or the expression does not compile for
/// that link type (with libpcap's message).
#[allow(dead_code)] // called from JavaScript only
#[napi]
pub fn compile_filter(expression: String, snaplen: Option<f64>, link_type: Option<f64>) -> napi::Result<Vec<BpfInstruction>> {
    let snaplen = match snaplen {
        None => MAX_SNAPLEN,
        Some(s) if s.fract() == 0.0 && (1.0..=f64::from(MAX_SNAPLEN)).contains(&s) => s as u32,
        Some(s) => {
            return Err(to_napi(JsError::range(format!("snaplen {s} must be an integer from 1 to {MAX_SNAPLEN}"))))
        }
    };
    let link_type = match link_type {
        None => LINKTYPE_ETHERNET,
        Some(t) if t.fract() == 0.0 && (0.0..=f64::from(MAX_LINK_TYPE)).contains(&t) => t as u32,
        Some(t) => {
            return Err(to_napi(JsError::range(format!("linkType {t} must be an integer from 0 to {MAX_LINK_TYPE}"))))
        }
    };
    let filter = Filter::Expression(expression);
    let program = filter.program(snaplen, link_type).map_err(to_napi)?;
    Ok(program.into_iter().map(BpfInstruction::from).collect())
}
