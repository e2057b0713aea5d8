//! Programs compiled for LINKTYPE_LINUX_SLL2 made to run on a cooked socket, as
//! libpcap's `fix_program()` does: the kernel runs a cooked socket's filter on the packet
//! from its network header, without the 20-byte cooked header the copy puts before it.
//! So a load past the header moves 20 bytes back, and a load of one of the header's
//! fields the kernel knows becomes its ancillary load (SKF_AD_*).

use super::insn::{Instruction, ABS, IND, JEQ, JMP, K, LD, LDX, MSH, RET_K, W};
use crate::error::{Error, Result};

/// The cooked v2 header: protocol (offset 0), interface index (4), packet type (10).
const SLL2_HEADER_LEN: u32 = 20;
/// `SKF_AD_OFF`: loads at this offset and above read the kernel's packet metadata.
const SKF_AD_OFF: u32 = 0xffff_f000;
const SKF_AD_PROTOCOL: u32 = 0;
const SKF_AD_PKTTYPE: u32 = 4;
const SKF_AD_IFINDEX: u32 = 8;
const SKF_AD_HATYPE: u32 = 28;
/// `PACKET_OUTGOING`, `ARPHRD_LOOPBACK`.
const PACKET_OUTGOING: u32 = 4;
const ARPHRD_LOOPBACK: u32 = 772;

/// `program` (or, without one, a program keeping `snaplen` bytes) behind a test that drops
/// the outgoing copy of a loopback packet, which comes back as the incoming one: libpcap
/// drops it on `any` too, so that a ping on lo is seen twice, not four times. In the
/// kernel, so the drop is not counted as received.
pub fn without_loopback_copies(program: Option<Vec<Instruction>>, snaplen: u32) -> Vec<Instruction> {
    let ld = |k: u32| Instruction::new(LD | W | ABS, 0, 0, SKF_AD_OFF + k);
    let mut out = vec![
        ld(SKF_AD_PKTTYPE),
        Instruction::new(JMP | JEQ | K, 0, 3, PACKET_OUTGOING),
        ld(SKF_AD_HATYPE),
        Instruction::new(JMP | JEQ | K, 0, 1, ARPHRD_LOOPBACK),
        Instruction::new(RET_K, 0, 0, 0),
    ];
    out.extend(program.unwrap_or_else(|| vec![Instruction::new(RET_K, 0, 0, snaplen)]));
    out
}

/// The kernel's program for a cooked socket from `program`, compiled for SLL2; an error
/// when it reads a header field the kernel cannot give (the hardware type or address).
pub fn for_cooked_socket(program: &[Instruction], expression: &str) -> Result<Vec<Instruction>> {
    program
        .iter()
        .map(|&insn| {
            let class = insn.code & 0x07;
            let mode = insn.code & 0xe0;
            let loads_packet = (class == LD || class == LDX) && (mode == ABS || mode == IND || mode == MSH);
            if !loads_packet {
                return Ok(insn);
            }
            let k = match insn.k {
                k if k >= SLL2_HEADER_LEN => k - SLL2_HEADER_LEN,
                0 => SKF_AD_OFF + SKF_AD_PROTOCOL,
                4 => SKF_AD_OFF + SKF_AD_IFINDEX,
                10 => SKF_AD_OFF + SKF_AD_PKTTYPE,
                k => {
                    return Err(Error::Filter {
                        expression: expression.to_owned(),
                        message: format!(
                            "it reads byte {k} of the Linux cooked header, which the kernel does not give a cooked \
                             socket's filter (only the protocol, interface index and packet type)"
                        ),
                    })
                }
            };
            Ok(Instruction { k, ..insn })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::{B, H, RET};
    use crate::bpf::validate_program;

    #[test]
    fn loopback_copies_are_dropped_ahead_of_the_filter() {
        let p = without_loopback_copies(None, 96);
        validate_program(&p).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!((p[1].jt, p[1].jf, p[3].jt, p[3].jf), (0, 3, 0, 1), "both misses jump to the user's program");
        assert_eq!((p[4].k, p[5].k), (0, 96));
        let q = without_loopback_copies(Some(vec![Instruction::new(RET_K, 0, 0, 7)]), 96);
        assert_eq!(q[5].k, 7);
    }

    #[test]
    fn loads_move_past_the_header_and_its_fields_become_ancillary() {
        let ld = |size: u16, mode: u16, k: u32| Instruction::new(LD | size | mode, 0, 0, k);
        let program = [ld(H, ABS, 0), ld(W, ABS, 4), ld(B, ABS, 10), ld(B, ABS, 29), ld(H, IND, 22), Instruction::new(LDX | B | MSH, 0, 0, 20), Instruction::new(RET, 0, 0, 9)];
        let fixed = for_cooked_socket(&program, "x").unwrap();
        let ks: Vec<u32> = fixed.iter().map(|i| i.k).collect();
        assert_eq!(ks, [SKF_AD_OFF, SKF_AD_OFF + 8, SKF_AD_OFF + 4, 9, 2, 0, 9]);
        let address = for_cooked_socket(&[ld(H, ABS, 12)], "ether src 1:2:3:4:5:6").unwrap_err();
        assert!(address.to_string().contains("byte 12 of the Linux cooked header"), "{address}");
    }
}
