//! A classic BPF interpreter for userspace: `netring stats -f A -f B` counts each filter's
//! matches on the same packets, and a socket holds only one kernel filter.
//!
//! Semantics follow the kernel's `net/core/filter.c` for the instructions libpcap emits:
//! a load past the captured bytes ends the program with 0 (drop), division by a zero X
//! returns 0, ancillary loads (negative `k`, SKF_AD_OFF) are not available and drop.
//! Programs must have passed [`validate_program`], which guarantees forward, in-range
//! jumps and scratch slots, a return at the end, and no constant division by zero; so the
//! loop below always ends, and indexing cannot go out of bounds.

use super::check::validate_program;
use super::insn::*;
use crate::error::Result;

/// A validated program, ready to run on packets.
#[derive(Debug, Clone)]
pub struct Program(Vec<Instruction>);

impl Program {
    /// Validates `instructions` as the kernel would (see [`validate_program`]).
    pub fn new(instructions: Vec<Instruction>) -> Result<Program> {
        validate_program(&instructions)?;
        Ok(Program(instructions))
    }

    /// Runs the program on a packet's captured bytes, `wire_len` long on the wire;
    /// returns what it returns: 0 rejects, else the bytes to keep.
    pub fn run(&self, data: &[u8], wire_len: u32) -> u32 {
        let prog = &self.0;
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; BPF_MEMWORDS as usize];
        let slot = |k: u32| (k % BPF_MEMWORDS) as usize;
        let mut pc = 0usize;
        let load = |offset: u64, size: usize| -> Option<u32> {
            let start = usize::try_from(offset).ok()?;
            let bytes = data.get(start..start.checked_add(size)?)?;
            Some(bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
        };
        loop {
            let Some(&Instruction { code, jt, jf, k }) = prog.get(pc) else { return 0 };
            pc += 1;
            let src = if code & SRC == X { x } else { k };
            match code & CLASS {
                class @ (LD | LDX) => {
                    let size = match code & SIZE {
                        W => 4,
                        H => 2,
                        _ => 1,
                    };
                    let value = match (class, code & MODE) {
                        (_, IMM) => k,
                        (LD, ABS) if (k as i32) >= 0 => match load(u64::from(k), size) {
                            Some(v) => v,
                            None => return 0,
                        },
                        (LD, IND) => match load(u64::from(x) + u64::from(k), size) {
                            Some(v) => v,
                            None => return 0,
                        },
                        (_, MEM) => mem[slot(k)],
                        (_, LEN) => wire_len,
                        (LDX, MSH) => match load(u64::from(k), 1) {
                            Some(v) => (v & 0x0f) * 4,
                            None => return 0,
                        },
                        _ => return 0, // ancillary (negative k: SKF_AD_OFF) and unknown loads
                    };
                    if class == LD {
                        a = value;
                    } else {
                        x = value;
                    }
                }
                ST => mem[slot(k)] = a,
                STX => mem[slot(k)] = x,
                ALU => {
                    a = match code & OP {
                        ADD => a.wrapping_add(src),
                        SUB => a.wrapping_sub(src),
                        MUL => a.wrapping_mul(src),
                        DIV | MOD if src == 0 => return 0,
                        DIV => a / src,
                        MOD => a % src,
                        OR => a | src,
                        AND => a & src,
                        LSH => a.checked_shl(src).unwrap_or(0),
                        RSH => a.checked_shr(src).unwrap_or(0),
                        NEG => a.wrapping_neg(),
                        XOR => a ^ src,
                        _ => return 0,
                    }
                }
                JMP => {
                    let taken = match code & OP {
                        JA => {
                            pc += k as usize;
                            continue;
                        }
                        JEQ => a == src,
                        JGT => a > src,
                        JGE => a >= src,
                        JSET => a & src != 0,
                        _ => return 0,
                    };
                    pc += usize::from(if taken { jt } else { jf });
                }
                RET => return if code & RVAL == A { a } else { k },
                _ => match code & MISCOP {
                    TAX => x = a,
                    TXA => a = x,
                    _ => return 0,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
        Instruction { code, jt, jf, k }
    }

    /// `tcpdump -dd 'ether proto 0x88b5'` (tcpdump 4.99, libpcap 1.10).
    fn ether_proto() -> Program {
        Program::new(vec![ins(0x28, 0, 0, 12), ins(0x15, 0, 1, 0x88b5), ins(0x6, 0, 0, 262144), ins(0x6, 0, 0, 0)])
            .unwrap()
    }

    /// `tcpdump -dd 'ip and udp dst port 53'` (tcpdump 4.99, libpcap 1.10): ip[9] == 17, not a
    /// later fragment, the port found past the IP header's length (MSH).
    fn udp_dst_53() -> Program {
        Program::new(vec![
            ins(0x28, 0, 0, 12),
            ins(0x15, 0, 8, 0x0800),
            ins(0x30, 0, 0, 23),
            ins(0x15, 0, 6, 17),
            ins(0x28, 0, 0, 20),
            ins(0x45, 4, 0, 0x1fff),
            ins(0xb1, 0, 0, 14),
            ins(0x48, 0, 0, 16),
            ins(0x15, 0, 1, 53),
            ins(0x6, 0, 0, 262144),
            ins(0x6, 0, 0, 0),
        ])
        .unwrap()
    }

    fn udp_frame(dport: u16, ihl: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + usize::from(ihl) * 4 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x40 | ihl;
        f[23] = 17;
        let udp = 14 + usize::from(ihl) * 4;
        f[udp + 2..udp + 4].copy_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn ethertype_and_udp_port_programs_match_as_the_kernel_would() {
        let mut frame = vec![0u8; 60];
        frame[12..14].copy_from_slice(&[0x88, 0xb5]);
        assert_eq!(ether_proto().run(&frame, 60), 262144);
        frame[13] = 0xb6;
        assert_eq!(ether_proto().run(&frame, 60), 0);
        assert_eq!(udp_dst_53().run(&udp_frame(53, 5), 42), 262144);
        assert_eq!(udp_dst_53().run(&udp_frame(53, 6), 46), 262144, "options move the UDP header (MSH)");
        assert_eq!(udp_dst_53().run(&udp_frame(54, 5), 42), 0);
    }

    #[test]
    fn loads_past_the_captured_bytes_and_division_by_zero_drop() {
        assert_eq!(ether_proto().run(&[0u8; 13], 60), 0);
        assert_eq!(udp_dst_53().run(&udp_frame(53, 5)[..36], 42), 0);
        // ld #10; tax; ld #0; tax; div x; ret a → X is 0: drop.
        let div = Program::new(vec![
            ins(0x00, 0, 0, 7),
            ins(0x07, 0, 0, 0),
            ins(0x00, 0, 0, 0),
            ins(0x07, 0, 0, 0),
            ins(0x3c, 0, 0, 0),
            ins(0x16, 0, 0, 0),
        ])
        .unwrap();
        assert_eq!(div.run(&[], 0), 0);
        // ld len; st M[3]; ldx M[3]; txa; add #1; ret a.
        let len = Program::new(vec![
            ins(0x80, 0, 0, 0),
            ins(0x02, 0, 0, 3),
            ins(0x61, 0, 0, 3),
            ins(0x87, 0, 0, 0),
            ins(0x04, 0, 0, 1),
            ins(0x16, 0, 0, 0),
        ])
        .unwrap();
        assert_eq!(len.run(&[1, 2], 99), 100);
        // Ancillary load (SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT): not available, drops.
        let anc = Program::new(vec![ins(0x20, 0, 0, 0xfffff030), ins(0x6, 0, 0, 1)]).unwrap();
        assert_eq!(anc.run(&[0u8; 60], 60), 0);
    }

    #[test]
    fn invalid_programs_are_refused() {
        assert!(Program::new(vec![ins(0x28, 0, 0, 12)]).is_err());
        assert!(Program::new(vec![ins(0x15, 5, 0, 1), ins(0x6, 0, 0, 0)]).is_err());
    }
}
