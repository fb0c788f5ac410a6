//! Assembler and disassembler (text syntax for every instruction).
