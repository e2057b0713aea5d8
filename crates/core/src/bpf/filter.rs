//! What a capture filters with, and the one program its socket attaches.

use super::insn::{Instruction, RET_K};
use super::{check::clamp_returns, check::validate_program, libpcap};
use crate::abi::MAX_SNAPLEN;
use crate::error::{text, OptionName, Problem, Result};
use crate::validate::option_error;

/// What a capture filters with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A tcpdump-syntax expression, compiled by libpcap when the capture opens.
    Expression(String),
    /// A classic BPF program, as `tcpdump -dd` prints it.
    Program(Vec<Instruction>),
}

impl Filter {
    /// Checks a raw program; an expression is checked when it is compiled.
    pub fn validate(&self) -> Result<()> {
        match self {
            Filter::Program(program) => validate_program(program),
            Filter::Expression(expr) if expr.contains('\0') => {
                Err(option_error(
                OptionName::Filter,
                Problem::Invalid,
                text![format!("filter {expr:?} must not contain a NUL character")],
            ))
            }
            Filter::Expression(_) => Ok(()),
        }
    }

    /// The program to attach for a capture keeping `snaplen` bytes of frames of
    /// `link_type` (a `LINKTYPE_*`): the expression compiled by libpcap for that link
    /// type, or the raw program, checked and clamped to `snaplen`.
    pub fn program(&self, snaplen: u32, link_type: u32) -> Result<Vec<Instruction>> {
        let mut program = match self {
            Filter::Expression(expr) => libpcap::compile(expr, snaplen, link_type)?,
            Filter::Program(program) => program.clone(),
        };
        validate_program(&program)?;
        clamp_returns(&mut program, snaplen);
        Ok(program)
    }
}

/// The program a capture of frames of `link_type` attaches: the user's filter clamped to
/// `snaplen`; without one, `ret #snaplen` when fewer than [`MAX_SNAPLEN`] bytes are kept;
/// else none at all.
pub(crate) fn socket_program(filter: Option<&Filter>, snaplen: u32, link_type: u32) -> Result<Option<Vec<Instruction>>> {
    match filter {
        Some(filter) => filter.program(snaplen, link_type).map(Some),
        None if snaplen < MAX_SNAPLEN => Ok(Some(vec![Instruction::new(RET_K, 0, 0, snaplen)])),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::UDP_DST_5000;

    #[test]
    fn socket_programs() {
        assert_eq!(socket_program(None, MAX_SNAPLEN, 1).unwrap(), None);
        assert_eq!(socket_program(None, 64, 1).unwrap(), Some(vec![Instruction::new(RET_K, 0, 0, 64)]));
        let raw = Filter::Program(UDP_DST_5000.to_vec());
        let program = socket_program(Some(&raw), 128, 1).unwrap().unwrap();
        assert_eq!(program[14].k, 128);
        let bad = Filter::Program(vec![]);
        assert!(matches!(socket_program(Some(&bad), 64, 1), Err(crate::Error::Program { problem: Problem::OutOfRange, .. })));
    }
}
