//! The target generated code is assembled into: a byte vector reused across compilations on the
//! same thread (so that a large program does not fault in a fresh multi-megabyte buffer every
//! time), with dynasmrt's label and relocation registries. Finished code is copied into an
//! executable mapping.

use std::cell::RefCell;

use dynasmrt::components::{LabelRegistry, PatchLoc, RelocRegistry, StaticLabel};
use dynasmrt::mmap::MutableBuffer;
use dynasmrt::x64::X64Relocation;
use dynasmrt::{
    AssemblyOffset, DynamicLabel, DynasmApi, DynasmError, DynasmLabelApi, ExecutableBuffer,
};

/// Spare buffers larger than this are freed rather than kept for the next compilation.
const KEEP_AT_MOST: usize = 64 << 20;

thread_local! {
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// An assembler writing into a reusable vector. Code is position-independent (relocations are
/// relative), so it is assembled at base address 0.
pub(super) struct CodeBuffer {
    ops: Vec<u8>,
    labels: LabelRegistry,
    relocs: RelocRegistry<X64Relocation>,
    error: Option<DynasmError>,
}

impl CodeBuffer {
    /// An empty buffer with room for about `capacity` bytes.
    pub(super) fn new(capacity: usize) -> Self {
        let mut ops = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
        ops.clear();
        ops.reserve(capacity);
        Self {
            ops,
            labels: LabelRegistry::new(),
            relocs: RelocRegistry::new(),
            error: None,
        }
    }

    /// A relocation for a field of the instruction being emitted.
    fn patch_here(
        &self,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) -> PatchLoc<X64Relocation> {
        PatchLoc::new(self.offset(), target_offset, field_offset, ref_offset, kind)
    }

    /// A fresh label to define and refer to.
    pub(super) fn new_dynamic_label(&mut self) -> DynamicLabel {
        self.labels.new_dynamic_label()
    }

    /// Where `label` was defined.
    pub(super) fn resolve(&self, label: DynamicLabel) -> Result<AssemblyOffset, DynasmError> {
        self.labels.resolve_dynamic(label)
    }

    /// Resolves every relocation and copies the code into an executable mapping.
    pub(super) fn finalize(mut self) -> Result<ExecutableBuffer, String> {
        if let Some(e) = self.error.take() {
            return Err(e.to_string());
        }
        let statics: Vec<_> = self.relocs.take_statics().collect();
        for (loc, label) in statics {
            let target = self
                .labels
                .resolve_static(&label)
                .map_err(|e| e.to_string())?;
            patch(&mut self.ops, &loc, target)?;
        }
        let dynamics: Vec<_> = self.relocs.take_dynamics().collect();
        for (loc, id) in dynamics {
            let target = self.labels.resolve_dynamic(id).map_err(|e| e.to_string())?;
            patch(&mut self.ops, &loc, target)?;
        }
        let len = self.ops.len();
        let mut exec = MutableBuffer::new(len.max(1)).map_err(|e| e.to_string())?;
        exec.set_len(len);
        exec.copy_from_slice(&self.ops);
        let exec = exec.make_exec().map_err(|e| e.to_string())?;
        let ops = std::mem::take(&mut self.ops);
        if ops.capacity() <= KEEP_AT_MOST {
            SPARE.with(|spare| *spare.borrow_mut() = ops);
        }
        Ok(exec)
    }
}

fn patch(
    ops: &mut [u8],
    loc: &PatchLoc<X64Relocation>,
    target: AssemblyOffset,
) -> Result<(), String> {
    loc.patch(&mut ops[loc.range(0)], 0, target.0)
        .map_err(|_| format!("a jump cannot reach offset {}", target.0))
}

impl Extend<u8> for CodeBuffer {
    fn extend<T: IntoIterator<Item = u8>>(&mut self, iter: T) {
        self.ops.extend(iter)
    }
}

impl<'a> Extend<&'a u8> for CodeBuffer {
    fn extend<T: IntoIterator<Item = &'a u8>>(&mut self, iter: T) {
        self.ops.extend(iter)
    }
}

impl DynasmApi for CodeBuffer {
    fn offset(&self) -> AssemblyOffset {
        AssemblyOffset(self.ops.len())
    }

    fn push(&mut self, byte: u8) {
        self.ops.push(byte);
    }

    fn align(&mut self, alignment: usize, with: u8) {
        let misalignment = self.ops.len() % alignment;
        if misalignment != 0 {
            self.ops
                .extend(std::iter::repeat_n(with, alignment - misalignment));
        }
    }
}

impl DynasmLabelApi for CodeBuffer {
    type Relocation = X64Relocation;

    fn local_label(&mut self, name: &'static str) {
        let offset = self.offset();
        self.labels.define_local(name, offset);
    }

    fn global_label(&mut self, name: &'static str) {
        let offset = self.offset();
        if let Err(e) = self.labels.define_global(name, offset) {
            self.error = Some(e);
        }
    }

    fn dynamic_label(&mut self, id: DynamicLabel) {
        let offset = self.offset();
        if let Err(e) = self.labels.define_dynamic(id, offset) {
            self.error = Some(e);
        }
    }

    fn global_relocation(
        &mut self,
        name: &'static str,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let at = self.patch_here(target_offset, field_offset, ref_offset, kind);
        self.relocs.add_static(StaticLabel::global(name), at);
    }

    fn dynamic_relocation(
        &mut self,
        id: DynamicLabel,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let at = self.patch_here(target_offset, field_offset, ref_offset, kind);
        self.relocs.add_dynamic(id, at);
    }

    fn forward_relocation(
        &mut self,
        name: &'static str,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let label = match self.labels.place_local_reference(name) {
            Some(label) => label.next(),
            None => StaticLabel::first(name),
        };
        let at = self.patch_here(target_offset, field_offset, ref_offset, kind);
        self.relocs.add_static(label, at);
    }

    fn backward_relocation(
        &mut self,
        name: &'static str,
        target_offset: isize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let Some(label) = self.labels.place_local_reference(name) else {
            self.error = Some(DynasmError::UnknownLabel(dynasmrt::LabelKind::Local(name)));
            return;
        };
        let at = self.patch_here(target_offset, field_offset, ref_offset, kind);
        self.relocs.add_static(label, at);
    }

    fn value_relocation(
        &mut self,
        value: usize,
        field_offset: u8,
        ref_offset: u8,
        kind: X64Relocation,
    ) {
        let loc = self.patch_here(0, field_offset, ref_offset, kind);
        let range = loc.range(0);
        if loc.patch(&mut self.ops[range], 0, value).is_err() {
            self.error = Some(DynasmError::ImpossibleRelocation(
                dynasmrt::TargetKind::Value(value),
            ));
        }
    }
}
