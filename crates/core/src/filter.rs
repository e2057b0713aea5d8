//! Classic BPF socket filters (SO_ATTACH_FILTER): raw programs, checked here the way the
//! kernel's `bpf_check_classic()` checks them, and tcpdump expressions, compiled by
//! libpcap loaded at run time (see [`crate::pcap`]). Every program is combined with the
//! snapshot length by clamping its `ret #k` constants.

use crate::error::{Error, Result};
use crate::options::MAX_SNAPLEN;

/// `BPF_MAXINSNS`: the most instructions the kernel accepts in a classic program.
pub const BPF_MAXINSNS: usize = 4096;
/// `BPF_MEMWORDS`: scratch memory slots `M[0]` to `M[15]`.
pub const BPF_MEMWORDS: u32 = 16;

// Instruction classes, sizes, modes and operations (linux/filter.h, linux/bpf_common.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;
const DIV: u16 = 0x30;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const MOD: u16 = 0x90;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

/// `BPF_RET | BPF_K`: return a constant number of bytes to keep (0: drop the packet).
pub const RET_K: u16 = RET | K;

/// The ALU operations the kernel knows, with their K and X forms (NEG has one form).
const ALU_OPS: [(u16, &str, &str); 10] = [
    (0x00, "add #k", "add x"),
    (0x10, "sub #k", "sub x"),
    (0x20, "mul #k", "mul x"),
    (DIV, "div #k", "div x"),
    (0x40, "or #k", "or x"),
    (0x50, "and #k", "and x"),
    (LSH, "lsh #k", "lsh x"),
    (RSH, "rsh #k", "rsh x"),
    (MOD, "mod #k", "mod x"),
    (0xa0, "xor #k", "xor x"),
];

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter` (and
/// libpcap's `struct bpf_insn`): what `tcpdump -dd` prints as `{ code, jt, jf, k }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Instruction {
    pub code: u16,
    /// Instructions to skip when a conditional jump is taken.
    pub jt: u8,
    /// Instructions to skip when it is not.
    pub jf: u8,
    pub k: u32,
}

impl Instruction {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Self {
        Instruction { code, jt, jf, k }
    }
}

/// What a capture filters with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A tcpdump-syntax expression, compiled by libpcap when the capture opens.
    Expression(String),
    /// A classic BPF program, as `tcpdump -dd` prints it.
    Program(Vec<Instruction>),
}

/// The one-instruction program that drops every packet (`ret #0`).
pub const DROP_ALL: [Instruction; 1] = [Instruction::new(RET_K, 0, 0, 0)];

/// A readable name for an opcode the kernel accepts ("ldh [k]", "jeq #k"); `None` for any
/// other opcode. The table is the kernel's `chk_code_allowed()`.
pub fn opcode_name(code: u16) -> Option<&'static str> {
    let name = match code {
        c if c == LD | W | ABS => "ld [k]",
        c if c == LD | H | ABS => "ldh [k]",
        c if c == LD | B | ABS => "ldb [k]",
        c if c == LD | W | LEN => "ld #len",
        c if c == LD | W | IND => "ld [x + k]",
        c if c == LD | H | IND => "ldh [x + k]",
        c if c == LD | B | IND => "ldb [x + k]",
        c if c == LD | IMM => "ld #k",
        c if c == LD | MEM => "ld M[k]",
        c if c == LDX | W | LEN => "ldx #len",
        c if c == LDX | B | MSH => "ldxb 4*([k]&0xf)",
        c if c == LDX | IMM => "ldx #k",
        c if c == LDX | MEM => "ldx M[k]",
        ST => "st M[k]",
        STX => "stx M[k]",
        c if c == MISC | TAX => "tax",
        c if c == MISC | TXA => "txa",
        c if c == RET | K => "ret #k",
        c if c == RET | A => "ret a",
        c if c == JMP | JA => "ja k",
        c if c == JMP | JEQ | K => "jeq #k",
        c if c == JMP | JEQ | X => "jeq x",
        c if c == JMP | JGT | K => "jgt #k",
        c if c == JMP | JGT | X => "jgt x",
        c if c == JMP | JGE | K => "jge #k",
        c if c == JMP | JGE | X => "jge x",
        c if c == JMP | JSET | K => "jset #k",
        c if c == JMP | JSET | X => "jset x",
        c if c == ALU | NEG => "neg",
        c if c & !0xf8 == ALU => {
            let (_, k, x) = ALU_OPS.iter().find(|(op, _, _)| *op == c & 0xf0)?;
            return Some(if c & X != 0 { x } else { k });
        }
        _ => return None,
    };
    Some(name)
}

fn is_conditional_jump(code: u16) -> bool {
    code & 0x07 == JMP && code & 0xf0 != JA
}

/// Checks a raw program before it goes near a socket, with the kernel's rules
/// (`bpf_check_classic()`): 1 to [`BPF_MAXINSNS`] instructions, known opcodes, every jump
/// landing inside the program, no division by a constant 0, shifts below 32, scratch slots
/// below [`BPF_MEMWORDS`], and a `ret` last. Loads of ancillary data (`k` ≥ `SKF_AD_OFF`)
/// and loads of scratch slots never stored are left to the kernel, which refuses them
/// with EINVAL when the filter is attached (before any packet is let through).
pub fn validate_program(program: &[Instruction]) -> Result<()> {
    let len = program.len();
    if !(1..=BPF_MAXINSNS).contains(&len) {
        return Err(Error::Range(format!("filter has {len} instructions; a program has 1 to {BPF_MAXINSNS}")));
    }
    for (pc, ins) in program.iter().enumerate() {
        let Some(name) = opcode_name(ins.code) else {
            return Err(Error::Type(format!(
                "filter instruction {pc}: unknown opcode {:#04x} (not a classic BPF instruction the kernel accepts)",
                ins.code
            )));
        };
        let k = ins.k;
        let rule = match ins.code {
            c if (c == ALU | DIV | K || c == ALU | MOD | K) && k == 0 => Some("divides by a constant 0".to_owned()),
            c if (c == ALU | LSH | K || c == ALU | RSH | K) && k >= 32 => Some(format!("shifts by {k}; at most 31")),
            c if (c == LD | MEM || c == LDX | MEM || c == ST || c == STX) && k >= BPF_MEMWORDS => {
                Some(format!("uses scratch slot M[{k}]; there are {BPF_MEMWORDS} (M[0] to M[15])"))
            }
            c if c == JMP | JA && u64::from(k) + pc as u64 + 1 >= len as u64 => Some(format!(
                "jumps {k} ahead to instruction {}, past the last instruction {}",
                u64::from(k) + pc as u64 + 1,
                len - 1
            )),
            c if is_conditional_jump(c) => [("jt", ins.jt), ("jf", ins.jf)].into_iter().find_map(|(field, skip)| {
                let to = pc + usize::from(skip) + 1;
                (to >= len)
                    .then(|| format!("{field} {skip} jumps to instruction {to}, past the last instruction {}", len - 1))
            }),
            _ => None,
        };
        if let Some(rule) = rule {
            return Err(Error::Range(format!("filter instruction {pc} ({name}) {rule}")));
        }
    }
    let last = program[len - 1];
    if last.code & 0x07 != RET {
        return Err(Error::Type(format!(
            "filter instruction {} ({}) is last and must be a return (ret #k or ret a)",
            len - 1,
            opcode_name(last.code).unwrap_or("?")
        )));
    }
    Ok(())
}

/// Combines a program with the snapshot length: every `ret #k` keeps at most `snaplen`
/// bytes (`ret #0` still drops). A `ret a` returns a length computed at run time and is
/// left alone: the reader still cuts what it copies out at `snaplen`.
pub fn clamp_returns(program: &mut [Instruction], snaplen: u32) {
    for ins in program.iter_mut().filter(|i| i.code == RET_K) {
        ins.k = ins.k.min(snaplen);
    }
}

impl Filter {
    /// Checks a raw program; an expression is checked when it is compiled.
    pub fn validate(&self) -> Result<()> {
        match self {
            Filter::Program(program) => validate_program(program),
            Filter::Expression(expr) if expr.contains('\0') => {
                Err(Error::Type(format!("filter {expr:?} must not contain a NUL character")))
            }
            Filter::Expression(_) => Ok(()),
        }
    }

    /// The program to attach for a capture keeping `snaplen` bytes: the expression
    /// compiled by libpcap, or the raw program, checked and clamped to `snaplen`.
    pub fn program(&self, snaplen: u32) -> Result<Vec<Instruction>> {
        let mut program = match self {
            Filter::Expression(expr) => crate::pcap::compile(expr, snaplen)?,
            Filter::Program(program) => program.clone(),
        };
        validate_program(&program)?;
        clamp_returns(&mut program, snaplen);
        Ok(program)
    }
}

/// The program a capture attaches: the user's filter clamped to `snaplen`; without one,
/// `ret #snaplen` when fewer than [`MAX_SNAPLEN`] bytes are kept; else none at all.
pub(crate) fn socket_program(filter: Option<&Filter>, snaplen: u32) -> Result<Option<Vec<Instruction>>> {
    match filter {
        Some(filter) => filter.program(snaplen).map(Some),
        None if snaplen < MAX_SNAPLEN => Ok(Some(vec![Instruction::new(RET_K, 0, 0, snaplen)])),
        None => Ok(None),
    }
}

/// `tcpdump -dd 'udp and dst port 5000'` (tcpdump 4.99.3, libpcap 1.10.3, Ethernet).
#[cfg(test)]
pub(crate) const UDP_DST_5000: [Instruction; 16] = [
    Instruction::new(0x28, 0, 0, 0x0000000c),
    Instruction::new(0x15, 0, 7, 0x00000800),
    Instruction::new(0x30, 0, 0, 0x00000017),
    Instruction::new(0x15, 0, 11, 0x00000011),
    Instruction::new(0x28, 0, 0, 0x00000014),
    Instruction::new(0x45, 9, 0, 0x00001fff),
    Instruction::new(0xb1, 0, 0, 0x0000000e),
    Instruction::new(0x48, 0, 0, 0x00000010),
    Instruction::new(0x15, 5, 6, 0x00001388),
    Instruction::new(0x15, 0, 5, 0x000086dd),
    Instruction::new(0x30, 0, 0, 0x00000014),
    Instruction::new(0x15, 0, 3, 0x00000011),
    Instruction::new(0x28, 0, 0, 0x00000038),
    Instruction::new(0x15, 0, 1, 0x00001388),
    Instruction::new(0x6, 0, 0, 0x00040000),
    Instruction::new(0x6, 0, 0, 0x00000000),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_sock_filter() {
        assert_eq!(std::mem::size_of::<Instruction>(), std::mem::size_of::<libc::sock_filter>());
        assert_eq!(std::mem::align_of::<Instruction>(), std::mem::align_of::<libc::sock_filter>());
        assert_eq!(std::mem::offset_of!(Instruction, k), std::mem::offset_of!(libc::sock_filter, k));
    }

    #[test]
    fn tcpdump_output_is_valid() {
        validate_program(&UDP_DST_5000).unwrap();
        validate_program(&DROP_ALL).unwrap();
        // The largest program the kernel takes: 4095 loads and a return.
        let mut long = vec![Instruction::new(LD | IMM, 0, 0, 1); BPF_MAXINSNS - 1];
        long.push(Instruction::new(RET | A, 0, 0, 0));
        validate_program(&long).unwrap();
    }

    #[test]
    fn every_opcode_the_kernel_allows_has_a_name() {
        // The kernel's chk_code_allowed() table has 49 entries.
        let known = (0..=u16::MAX).filter(|&c| opcode_name(c).is_some()).count();
        assert_eq!(known, 49);
        assert_eq!(opcode_name(0x28), Some("ldh [k]"));
        assert_eq!(opcode_name(0xb1), Some("ldxb 4*([k]&0xf)"));
        assert_eq!(opcode_name(0x45), Some("jset #k"));
        assert_eq!(opcode_name(0x5c), Some("and x"));
        assert_eq!(opcode_name(0x94), Some("mod #k"));
        assert_eq!(opcode_name(0x84), Some("neg"));
        assert_eq!(opcode_name(0x8c), None); // neg has no X form
        assert_eq!(opcode_name(0x0e), None); // ret x does not exist
    }

    #[test]
    fn bad_programs_name_the_instruction_and_the_rule() {
        let ret = Instruction::new(RET_K, 0, 0, 0xffff);
        let ld = Instruction::new(LD | H | ABS, 0, 0, 12);
        let too_long = vec![ret; BPF_MAXINSNS + 1];
        let cases: Vec<(Vec<Instruction>, bool, &str)> = vec![
            (vec![], true, "filter has 0 instructions; a program has 1 to 4096"),
            (too_long, true, "filter has 4097 instructions; a program has 1 to 4096"),
            (
                vec![ld, Instruction::new(0x99, 0, 0, 0), ret],
                false,
                "filter instruction 1: unknown opcode 0x99 (not a classic BPF instruction the kernel accepts)",
            ),
            (
                vec![ld, Instruction::new(JMP | JEQ | K, 0, 5, 0x800), ret, ret],
                true,
                "filter instruction 1 (jeq #k) jf 5 jumps to instruction 7, past the last instruction 3",
            ),
            (
                vec![Instruction::new(JMP | JGT | X, 1, 0, 0), ret],
                true,
                "filter instruction 0 (jgt x) jt 1 jumps to instruction 2, past the last instruction 1",
            ),
            (
                vec![Instruction::new(JMP | JA, 0, 0, 1), ret],
                true,
                "filter instruction 0 (ja k) jumps 1 ahead to instruction 2, past the last instruction 1",
            ),
            (
                vec![Instruction::new(JMP | JA, 0, 0, u32::MAX), ret],
                true,
                "filter instruction 0 (ja k) jumps 4294967295 ahead to instruction 4294967296",
            ),
            (
                vec![Instruction::new(ALU | DIV | K, 0, 0, 0), ret],
                true,
                "filter instruction 0 (div #k) divides by a constant 0",
            ),
            (
                vec![Instruction::new(ALU | MOD | K, 0, 0, 0), ret],
                true,
                "filter instruction 0 (mod #k) divides by a constant 0",
            ),
            (
                vec![Instruction::new(ALU | LSH | K, 0, 0, 32), ret],
                true,
                "filter instruction 0 (lsh #k) shifts by 32; at most 31",
            ),
            (
                vec![Instruction::new(ST, 0, 0, 16), ret],
                true,
                "filter instruction 0 (st M[k]) uses scratch slot M[16]; there are 16 (M[0] to M[15])",
            ),
            (vec![ret, ld], false, "filter instruction 1 (ldh [k]) is last and must be a return (ret #k or ret a)"),
        ];
        for (program, range, want) in cases {
            let err = validate_program(&program).expect_err(want);
            assert_eq!(matches!(err, Error::Range(_)), range, "{want}: {err:?}");
            assert_eq!(matches!(err, Error::Type(_)), !range, "{want}: {err:?}");
            assert!(err.to_string().starts_with(want), "got {err}, want {want}");
        }
    }

    #[test]
    fn returns_are_clamped_to_the_snaplen() {
        let mut program = UDP_DST_5000.to_vec();
        clamp_returns(&mut program, 96);
        assert_eq!(program[14], Instruction::new(RET_K, 0, 0, 96));
        assert_eq!(program[15], Instruction::new(RET_K, 0, 0, 0), "ret #0 still drops");
        assert_eq!(program[..14], UDP_DST_5000[..14], "only returns change");
        let mut small = vec![Instruction::new(RET_K, 0, 0, 40), Instruction::new(RET | A, 0, 0, 0)];
        clamp_returns(&mut small, 96);
        assert_eq!(small, [Instruction::new(RET_K, 0, 0, 40), Instruction::new(RET | A, 0, 0, 0)]);
        let mut all = vec![Instruction::new(RET_K, 0, 0, u32::MAX)];
        clamp_returns(&mut all, MAX_SNAPLEN);
        assert_eq!(all[0].k, MAX_SNAPLEN);
    }

    #[test]
    fn socket_programs() {
        assert_eq!(socket_program(None, MAX_SNAPLEN).unwrap(), None);
        assert_eq!(socket_program(None, 64).unwrap(), Some(vec![Instruction::new(RET_K, 0, 0, 64)]));
        let raw = Filter::Program(UDP_DST_5000.to_vec());
        let program = socket_program(Some(&raw), 128).unwrap().unwrap();
        assert_eq!(program[14].k, 128);
        let bad = Filter::Program(vec![]);
        assert!(matches!(socket_program(Some(&bad), 64), Err(Error::Range(_))));
    }
}
