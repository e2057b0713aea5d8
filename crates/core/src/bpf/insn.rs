//! Classic BPF instructions as the kernel's `struct sock_filter` lays them out, the
//! names of their opcodes (linux/filter.h, linux/bpf_common.h) and a readable name for
//! each opcode the kernel accepts.

/// `BPF_MAXINSNS`: the most instructions the kernel accepts in a classic program.
pub const BPF_MAXINSNS: usize = 4096;
/// `BPF_MEMWORDS`: scratch memory slots `M[0]` to `M[15]`.
pub const BPF_MEMWORDS: u32 = 16;

// Instruction classes, sizes, modes and operations (linux/filter.h, linux/bpf_common.h).
pub(crate) const LD: u16 = 0x00;
pub(crate) const LDX: u16 = 0x01;
pub(crate) const ST: u16 = 0x02;
pub(crate) const STX: u16 = 0x03;
pub(crate) const ALU: u16 = 0x04;
pub(crate) const JMP: u16 = 0x05;
pub(crate) const RET: u16 = 0x06;
pub(crate) const MISC: u16 = 0x07;
pub(crate) const W: u16 = 0x00;
pub(crate) const H: u16 = 0x08;
pub(crate) const B: u16 = 0x10;
pub(crate) const IMM: u16 = 0x00;
pub(crate) const ABS: u16 = 0x20;
pub(crate) const IND: u16 = 0x40;
pub(crate) const MEM: u16 = 0x60;
pub(crate) const LEN: u16 = 0x80;
pub(crate) const MSH: u16 = 0xa0;
pub(crate) const K: u16 = 0x00;
pub(crate) const X: u16 = 0x08;
pub(crate) const A: u16 = 0x10;
pub(crate) const ADD: u16 = 0x00;
pub(crate) const SUB: u16 = 0x10;
pub(crate) const MUL: u16 = 0x20;
pub(crate) const DIV: u16 = 0x30;
pub(crate) const OR: u16 = 0x40;
pub(crate) const AND: u16 = 0x50;
pub(crate) const LSH: u16 = 0x60;
pub(crate) const RSH: u16 = 0x70;
pub(crate) const NEG: u16 = 0x80;
pub(crate) const MOD: u16 = 0x90;
pub(crate) const XOR: u16 = 0xa0;
pub(crate) const JA: u16 = 0x00;
pub(crate) const JEQ: u16 = 0x10;
pub(crate) const JGT: u16 = 0x20;
pub(crate) const JGE: u16 = 0x30;
pub(crate) const JSET: u16 = 0x40;
pub(crate) const TAX: u16 = 0x00;
pub(crate) const TXA: u16 = 0x80;

// Masks that take an opcode apart (BPF_CLASS, BPF_SIZE, … in linux/bpf_common.h).
/// The class bits of an opcode (`BPF_CLASS`).
pub(crate) const CLASS: u16 = 0x07;
/// The size bits of a load (`BPF_SIZE`).
pub(crate) const SIZE: u16 = 0x18;
/// The mode bits of a load (`BPF_MODE`).
pub(crate) const MODE: u16 = 0xe0;
/// The operation bits of an ALU or jump instruction (`BPF_OP`).
pub(crate) const OP: u16 = 0xf0;
/// The source bit (`BPF_SRC`): [`X`] or [`K`].
pub(crate) const SRC: u16 = 0x08;
/// The return-value bits of a `ret` (`BPF_RVAL`): [`K`] or [`A`].
pub(crate) const RVAL: u16 = 0x18;
/// The operation bits of a `misc` instruction (`BPF_MISCOP`).
pub(crate) const MISCOP: u16 = 0xf8;

/// `BPF_RET | BPF_K`: return a constant number of bytes to keep (0: drop the packet).
pub const RET_K: u16 = RET | K;

/// The ALU operations the kernel knows, with their K and X forms (NEG has one form).
const ALU_OPS: [(u16, &str, &str); 10] = [
    (ADD, "add #k", "add x"),
    (SUB, "sub #k", "sub x"),
    (MUL, "mul #k", "mul x"),
    (DIV, "div #k", "div x"),
    (OR, "or #k", "or x"),
    (AND, "and #k", "and x"),
    (LSH, "lsh #k", "lsh x"),
    (RSH, "rsh #k", "rsh x"),
    (MOD, "mod #k", "mod x"),
    (XOR, "xor #k", "xor x"),
];

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter` (and
/// libpcap's `struct bpf_insn`): what `tcpdump -dd` prints as `{ code, jt, jf, k }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Instruction {
    /// The opcode: class, size, mode or operation, source (`BPF_LD | BPF_H | BPF_ABS`, …).
    pub code: u16,
    /// Instructions to skip when a conditional jump is taken.
    pub jt: u8,
    /// Instructions to skip when it is not.
    pub jf: u8,
    /// The constant operand: an offset, a value, a jump distance or a scratch slot.
    pub k: u32,
}

impl Instruction {
    /// `{ code, jt, jf, k }`, as `tcpdump -dd` prints it.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Self {
        Instruction { code, jt, jf, k }
    }
}

/// The one-instruction program that drops every packet (`ret #0`).
pub const DROP_ALL: [Instruction; 1] = [Instruction::new(RET_K, 0, 0, 0)];

/// A readable name for an opcode the kernel accepts (`ldh [k]`, `jeq #k`); `None` for any
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
        c if c & !(OP | SRC) == ALU => {
            let (_, k, x) = ALU_OPS.iter().find(|(op, _, _)| *op == c & OP)?;
            return Some(if c & SRC == X { x } else { k });
        }
        _ => return None,
    };
    Some(name)
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

}
