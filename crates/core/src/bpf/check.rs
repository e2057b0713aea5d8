//! Checking a raw program the way the kernel's `bpf_check_classic()` does, before it goes
//! near a socket, and combining it with the snapshot length.

use super::insn::*;
use crate::error::{Error, Problem, Result};

fn is_conditional_jump(code: u16) -> bool {
    code & CLASS == JMP && code & OP != JA
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
        return Err(Error::Program {
            problem: Problem::OutOfRange,
            message: format!("filter has {len} instructions; a program has 1 to {BPF_MAXINSNS}"),
        });
    }
    for (pc, ins) in program.iter().enumerate() {
        let Some(name) = opcode_name(ins.code) else {
            return Err(Error::Program {
                problem: Problem::Invalid,
                message: format!(
                    "filter instruction {pc}: unknown opcode {:#04x} (not a classic BPF instruction the kernel accepts)",
                    ins.code
                ),
            });
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
            return Err(Error::Program {
                problem: Problem::OutOfRange,
                message: format!("filter instruction {pc} ({name}) {rule}"),
            });
        }
    }
    let last = program[len - 1];
    if last.code & CLASS != RET {
        return Err(Error::Program {
            problem: Problem::Invalid,
            message: format!(
                "filter instruction {} ({}) is last and must be a return (ret #k or ret a)",
                len - 1,
                opcode_name(last.code).unwrap_or("?")
            ),
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::MAX_SNAPLEN;

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
            let problem = if range { Problem::OutOfRange } else { Problem::Invalid };
            assert!(matches!(err, Error::Program { problem: p, .. } if p == problem), "{want}: {err:?}");
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

}
