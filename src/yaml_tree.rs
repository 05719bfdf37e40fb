//! The YAML event loop shared by the two readers that build a tree of their own from
//! `saphyr_parser` events: the audit's artefact reader (`audit::artefact::yaml`, ranges and
//! raw tags for pointing at nodes) and `init`'s pre-commit editor (`init::precommit`, byte
//! positions for text edits). Both assemble collections the same way: a stack of open
//! sequences and mappings, each finished node added to its parent as an item, a key or a
//! value, and a document finished at its end. Each reader decides what a node holds, how
//! a collection's extent is measured, and what an error is, through [`Builder`].

use saphyr_parser::{Event, Parser, ScanError};

/// Converts the parser's character offsets into byte offsets.
pub struct Offsets {
    /// Byte offset of each character, when the text is not ASCII.
    table: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    pub fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| {
            let mut t: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            t.push(text.len());
            t
        });
        Offsets {
            table,
            len: text.len(),
        }
    }

    /// The byte offset of a character index; the text's end past it.
    pub fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
            None => char_index.min(self.len),
        }
    }
}

/// A collection whose items are still arriving.
pub enum Open<N, F> {
    Seq {
        /// What the builder kept from the start event.
        frame: F,
        items: Vec<N>,
    },
    Map {
        frame: F,
        entries: Vec<(N, N)>,
        /// A key waiting for its value.
        key: Option<N>,
    },
}

/// What a reader makes of the events. Spans are byte offsets `(start, end)`.
pub trait Builder {
    type Node;
    /// What a collection's start event leaves for its end (its start, tag, style).
    type Frame;
    type Error;

    /// The parser stopped at an error; `at` is the byte offset of its marker.
    fn error(&mut self, e: &ScanError, at: usize) -> Self::Error;
    /// A scalar or an alias: its node.
    fn leaf(&mut self, event: Event<'_>, span: (usize, usize)) -> Option<Self::Node>;
    /// A sequence (`seq`) or mapping starts.
    fn start(&mut self, event: Event<'_>, span: (usize, usize), seq: bool) -> Self::Frame;
    /// A sequence (`seq`) or mapping ends: the node of `open`, the collection on top of the
    /// stack (`None` if there is none).
    fn end(
        &mut self,
        open: Option<Open<Self::Node, Self::Frame>>,
        span: (usize, usize),
        seq: bool,
    ) -> Result<Self::Node, Self::Error>;
    /// A document ends, with its root node if it had one: what to add to the documents.
    fn document(&mut self, root: Option<Self::Node>, span: (usize, usize)) -> Option<Self::Node>;
}

/// Every document of the stream, as the builder makes them.
pub fn build<B: Builder>(text: &str, b: &mut B) -> Result<Vec<B::Node>, B::Error> {
    let offsets = Offsets::new(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Open<B::Node, B::Frame>> = Vec::new();
    let mut finished: Option<B::Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let at = offsets.byte(e.marker().index());
            b.error(&e, at)
        })?;
        let span = (
            offsets.byte(span.start.index()),
            offsets.byte(span.end.index()),
        );
        let node = match event {
            Event::Scalar(..) | Event::Alias(_) => b.leaf(event, span),
            Event::SequenceStart(..) => {
                let frame = b.start(event, span, true);
                stack.push(Open::Seq {
                    frame,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(..) => {
                let frame = b.start(event, span, false);
                stack.push(Open::Map {
                    frame,
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => Some(b.end(stack.pop(), span, true)?),
            Event::MappingEnd => Some(b.end(stack.pop(), span, false)?),
            Event::DocumentEnd => {
                docs.extend(b.document(finished.take(), span));
                None
            }
            _ => None,
        };
        let Some(node) = node else { continue };
        match stack.last_mut() {
            None => finished = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(docs)
}
