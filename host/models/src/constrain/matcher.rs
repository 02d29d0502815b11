//! A byte-level pushdown recognizer for a [`Grammar`]: it says, byte by byte, whether what the
//! model wrote so far can still become a value of the schema.
//!
//! The state is a small set of alternative stacks (a union forks one per branch; dead branches
//! are dropped). Frames are plain `Copy` data, so trying a candidate token is a copy and a few
//! byte steps. Every accepted prefix can be completed — the recognizer never walks into a dead
//! end — because it refuses a `,` with no key left to write, a key the schema cannot take, and
//! a required property skipped in an ordered object.

use std::sync::Arc;

use super::schema::{Bits, Grammar, Node, NodeId};

/// Deepest nesting generated; deeper containers are refused (the model cannot recurse forever).
const MAX_DEPTH: usize = 32;
/// Longest run of whitespace between tokens (indentation included).
const MAX_WS_RUN: u8 = 32;
/// Digits in one number: a model cannot stall by writing digits forever.
const MAX_DIGITS: u8 = 24;
/// Alternative parses kept at once; unions of unions stay far below this.
const MAX_ALTERNATIVES: usize = 64;
/// The "current key" of an object when it is an undeclared (additional) property.
const ADDITIONAL: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    /// Hex digits still expected after `\u`.
    Unicode(u8),
}

impl Escape {
    /// The escape state after `b`, or `None` if `b` is not allowed here. `Some((state, true))`
    /// when `b` ended an escape sequence (one character written).
    fn step(self, b: u8) -> Option<(Escape, bool)> {
        match self {
            Escape::None => None,
            Escape::Backslash => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    Some((Escape::None, true))
                }
                b'u' => Some((Escape::Unicode(4), false)),
                _ => None,
            },
            Escape::Unicode(n) => b.is_ascii_hexdigit().then(|| {
                if n == 1 {
                    (Escape::None, true)
                } else {
                    (Escape::Unicode(n - 1), false)
                }
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjPhase {
    /// After `{`.
    Open,
    /// A key is being written (a `Key` frame is on top).
    Key,
    /// After a key, before `:`.
    Colon,
    /// A value is being written (its frame is on top).
    Value,
    /// After a value, before `,` or `}`.
    AfterValue,
    /// After `,`.
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrPhase {
    Open,
    Value,
    AfterValue,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumPhase {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl NumPhase {
    fn accepting(self) -> bool {
        matches!(
            self,
            NumPhase::Zero | NumPhase::Int | NumPhase::Frac | NumPhase::Exp
        )
    }

    fn step(self, b: u8, integer: bool) -> Option<NumPhase> {
        use NumPhase::*;
        let digit = b.is_ascii_digit();
        Some(match (self, b) {
            (Minus, b'0') => Zero,
            (Minus, _) if digit => Int,
            (Int, _) if digit => Int,
            (Zero | Int, b'.') if !integer => Dot,
            (Dot | Frac, _) if digit => Frac,
            (Zero | Int | Frac, b'e' | b'E') if !integer => E,
            (E, b'+' | b'-') => ESign,
            (E | ESign | Exp, _) if digit => Exp,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    /// A value of this node comes next (leading whitespace allowed).
    Value(NodeId),
    Object {
        node: NodeId,
        seen: Bits,
        phase: ObjPhase,
        current: u16,
        /// Ordered objects: the first declared property still allowed.
        next: u16,
    },
    Key {
        node: NodeId,
        /// Declared keys still matching what was written.
        alive: Bits,
        pos: u16,
        /// An undeclared key may be written.
        free: bool,
        escape: Escape,
    },
    Array {
        node: NodeId,
        count: u32,
        phase: ArrPhase,
    },
    Str {
        node: NodeId,
        count: u32,
        escape: Escape,
    },
    Number {
        integer: bool,
        phase: NumPhase,
        digits: u8,
    },
    Literal {
        node: NodeId,
        alive: Bits,
        pos: u16,
    },
}

#[derive(Debug, Clone, Default)]
struct Stack {
    frames: Vec<Frame>,
    ws_run: u8,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r')
}

/// Where generation stands against a grammar.
#[derive(Debug, Clone)]
pub struct JsonMatcher {
    grammar: Arc<Grammar>,
    alts: Vec<Stack>,
}

impl JsonMatcher {
    pub fn new(grammar: Arc<Grammar>) -> Self {
        let root = grammar.root;
        Self {
            grammar,
            alts: vec![Stack {
                frames: vec![Frame::Value(root)],
                ws_run: 0,
            }],
        }
    }

    /// Whether `text` would keep the output on a path to a valid value.
    pub fn accepts(&self, text: &[u8]) -> bool {
        let mut probe = self.clone();
        probe.advance(text)
    }

    /// Consumes `text`; false (and a dead matcher) if it leaves the grammar.
    pub fn advance(&mut self, text: &[u8]) -> bool {
        for &b in text {
            let mut next = Vec::with_capacity(self.alts.len());
            for stack in self.alts.drain(..) {
                self.grammar.step(stack, b, &mut next);
            }
            next.truncate(MAX_ALTERNATIVES);
            self.alts = next;
            if self.alts.is_empty() {
                return false;
            }
        }
        true
    }

    /// What was written is a whole value (nothing more is needed).
    pub fn is_complete(&self) -> bool {
        self.alts.iter().any(|s| self.grammar.can_end(s))
    }

    /// The bytes that may come next, as a 256-entry table.
    pub fn next_bytes(&self) -> [bool; 256] {
        let mut table = [false; 256];
        for (b, allowed) in table.iter_mut().enumerate() {
            let mut out = Vec::new();
            for stack in &self.alts {
                self.grammar.step(stack.clone(), b as u8, &mut out);
                if !out.is_empty() {
                    *allowed = true;
                    break;
                }
            }
        }
        table
    }

    /// Nothing can follow: the value is complete and no longer continuation exists.
    pub fn is_finished(&self) -> bool {
        self.is_complete() && self.next_bytes().iter().all(|allowed| !allowed)
    }

    /// The shortest bytes that make what was written a whole value (empty if it is one):
    /// open strings and containers are closed, required properties get minimal values. Used
    /// when the token budget ends mid-value, so a JSON answer still parses.
    pub fn completion(&self) -> Vec<u8> {
        if self.is_complete() {
            return Vec::new();
        }
        self.alts
            .iter()
            .map(|stack| self.grammar.complete(stack))
            .min_by_key(Vec::len)
            .unwrap_or_default()
    }
}

/// Whether `value` matches `grammar`, judged by the same recognizer that constrains generation.
pub fn matches(grammar: &Arc<Grammar>, value: &serde_json::Value) -> bool {
    let mut matcher = JsonMatcher::new(grammar.clone());
    let text = serde_json::to_vec(value).expect("a JSON value serializes");
    matcher.advance(&text) && matcher.is_complete()
}

impl Grammar {
    /// The smallest value of `node`, as JSON text.
    fn minimal(&self, node: NodeId, depth: usize, out: &mut Vec<u8>) {
        match self.node(node) {
            Node::Union(alternatives) => {
                // The alternative with the shortest minimal value (a recursive `$ref` wrapper
                // would otherwise loop).
                let best = alternatives
                    .iter()
                    .filter(|_| depth < MAX_DEPTH)
                    .map(|&alt| {
                        let mut text = Vec::new();
                        self.minimal(alt, depth + 1, &mut text);
                        text
                    })
                    .min_by_key(Vec::len)
                    .unwrap_or_else(|| b"null".to_vec());
                out.extend(best);
            }
            Node::Object {
                props, required, ..
            } => {
                out.push(b'{');
                self.required_rest(props, required, &Bits::default(), false, depth, out);
                out.push(b'}');
            }
            Node::Array { items, min, .. } => {
                out.push(b'[');
                for i in 0..*min {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.minimal(*items, depth + 1, out);
                }
                out.push(b']');
            }
            Node::String { min, .. } => {
                out.push(b'"');
                out.extend(std::iter::repeat_n(b'a', *min));
                out.push(b'"');
            }
            Node::Number { .. } => out.push(b'0'),
            Node::Literals(lits) => {
                out.extend(lits.iter().min_by_key(|l| l.len()).into_iter().flatten());
            }
        }
    }

    /// `"key":value` for each required property not in `seen`.
    fn required_rest(
        &self,
        props: &[(Vec<u8>, NodeId)],
        required: &Bits,
        seen: &Bits,
        mut comma: bool,
        depth: usize,
        out: &mut Vec<u8>,
    ) {
        for (i, (key, value)) in props.iter().enumerate() {
            if required.get(i) && !seen.get(i) {
                if comma {
                    out.push(b',');
                }
                comma = true;
                out.push(b'"');
                out.extend_from_slice(key);
                out.extend_from_slice(b"\":");
                self.minimal(*value, depth + 1, out);
            }
        }
    }

    /// The shortest bytes that close every frame of `stack`.
    fn complete(&self, stack: &Stack) -> Vec<u8> {
        let mut out = Vec::new();
        let depth = stack.frames.len();
        // The key a `Key` frame was completed to, for the object below it.
        let mut key_done: Option<u16> = None;
        for frame in stack.frames.iter().rev() {
            match *frame {
                Frame::Value(node) => self.minimal(node, depth, &mut out),
                Frame::Str {
                    node,
                    count,
                    escape,
                } => {
                    match escape {
                        Escape::None => {}
                        Escape::Backslash => out.push(b'n'),
                        Escape::Unicode(n) => out.extend(std::iter::repeat_n(b'0', n as usize)),
                    }
                    if let Node::String { min, .. } = self.node(node) {
                        out.extend(std::iter::repeat_n(
                            b'a',
                            min.saturating_sub(count as usize),
                        ));
                    }
                    out.push(b'"');
                }
                Frame::Number { phase, .. } => {
                    if !phase.accepting() {
                        out.push(b'0');
                    }
                }
                Frame::Literal { node, alive, pos } => {
                    let rest = self
                        .literals(node)
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| alive.get(*i))
                        .map(|(_, lit)| &lit[pos as usize..])
                        .min_by_key(|rest| rest.len())
                        .unwrap_or_default();
                    out.extend_from_slice(rest);
                }
                Frame::Key {
                    node,
                    alive,
                    pos,
                    free,
                    escape,
                } => {
                    let Node::Object { props, .. } = self.node(node) else {
                        continue;
                    };
                    let declared = (0..props.len())
                        .filter(|&i| alive.get(i))
                        .min_by_key(|&i| props[i].0.len());
                    match (declared, free) {
                        (Some(i), _) if !free || props[i].0.len() == pos as usize => {
                            out.extend_from_slice(&props[i].0[pos as usize..]);
                            key_done = Some(i as u16);
                        }
                        _ => match escape {
                            Escape::None => {}
                            Escape::Backslash => out.push(b'n'),
                            Escape::Unicode(n) => out.extend(std::iter::repeat_n(b'0', n as usize)),
                        },
                    }
                    out.push(b'"');
                    key_done.get_or_insert(ADDITIONAL);
                }
                Frame::Object {
                    node,
                    seen,
                    phase,
                    current,
                    ..
                } => {
                    let Node::Object {
                        props,
                        required,
                        additional,
                        ..
                    } = self.node(node)
                    else {
                        continue;
                    };
                    let mut seen = seen;
                    let current = match phase {
                        ObjPhase::Key => key_done.take().unwrap_or(ADDITIONAL),
                        _ => current,
                    };
                    let mut comma = !matches!(phase, ObjPhase::Open | ObjPhase::Comma);
                    match phase {
                        ObjPhase::Key | ObjPhase::Colon => {
                            out.push(b':');
                            let value = if current == ADDITIONAL {
                                additional.expect("an additional key implies a schema")
                            } else {
                                props[current as usize].1
                            };
                            self.minimal(value, depth, &mut out);
                            comma = true;
                        }
                        ObjPhase::Value => comma = true,
                        _ => {}
                    }
                    if matches!(phase, ObjPhase::Key | ObjPhase::Colon | ObjPhase::Value)
                        && current != ADDITIONAL
                    {
                        seen.set(current as usize);
                    }
                    if phase == ObjPhase::Comma && required.subset_of(&seen) {
                        // A dangling comma needs one more member: the first key still allowed.
                        let next = (0..props.len()).find(|&i| !seen.get(i));
                        match next {
                            Some(i) => {
                                out.push(b'"');
                                out.extend_from_slice(&props[i].0);
                                out.extend_from_slice(b"\":");
                                self.minimal(props[i].1, depth, &mut out);
                            }
                            None => {
                                out.extend_from_slice(b"\"\":");
                                let value = additional.expect("a comma implies a key is allowed");
                                self.minimal(value, depth, &mut out);
                            }
                        }
                    } else {
                        self.required_rest(props, required, &seen, comma, depth, &mut out);
                    }
                    out.push(b'}');
                }
                Frame::Array { node, count, phase } => {
                    let Node::Array { items, min, .. } = *self.node(node) else {
                        continue;
                    };
                    let mut count = count as usize;
                    if phase == ArrPhase::Value {
                        count += 1;
                    }
                    if phase == ArrPhase::Comma {
                        self.minimal(items, depth, &mut out);
                        count += 1;
                    }
                    while count < min {
                        if count > 0 {
                            out.push(b',');
                        }
                        self.minimal(items, depth, &mut out);
                        count += 1;
                    }
                    out.push(b']');
                }
            }
        }
        out
    }

    fn can_end(&self, stack: &Stack) -> bool {
        match stack.frames.as_slice() {
            [] => true,
            [Frame::Number { phase, .. }] => phase.accepting(),
            [Frame::Literal { node, alive, pos }] => self.literal_complete(*node, alive, *pos),
            _ => false,
        }
    }

    fn literals(&self, node: NodeId) -> &[Vec<u8>] {
        match self.node(node) {
            Node::Literals(lits) => lits,
            _ => unreachable!("literal frames point at literal nodes"),
        }
    }

    fn literal_complete(&self, node: NodeId, alive: &Bits, pos: u16) -> bool {
        self.literals(node)
            .iter()
            .enumerate()
            .any(|(i, lit)| alive.get(i) && lit.len() == pos as usize)
    }

    /// Declared keys an object may write next.
    fn allowed_keys(&self, node: NodeId, seen: &Bits, next: u16) -> (Bits, bool) {
        let Node::Object {
            props,
            required,
            additional,
            ordered,
        } = self.node(node)
        else {
            unreachable!("object frames point at object nodes")
        };
        let mut allowed = Bits::default();
        for i in 0..props.len() {
            if seen.get(i) {
                continue;
            }
            if *ordered {
                if i < next as usize {
                    continue;
                }
                allowed.set(i);
                // A required property cannot be skipped.
                if required.get(i) {
                    break;
                }
            } else {
                allowed.set(i);
            }
        }
        (allowed, additional.is_some())
    }

    fn object_may_close(&self, node: NodeId, seen: &Bits) -> bool {
        match self.node(node) {
            Node::Object { required, .. } => required.subset_of(seen),
            _ => false,
        }
    }

    /// Marks the value on top of `stack` as finished (its frame already popped).
    fn value_done(&self, stack: &mut Stack) {
        match stack.frames.last_mut() {
            Some(Frame::Object {
                seen,
                phase,
                current,
                next,
                ..
            }) => {
                if *current != ADDITIONAL {
                    seen.set(*current as usize);
                    *next = *current + 1;
                }
                *phase = ObjPhase::AfterValue;
            }
            Some(Frame::Array { count, phase, .. }) => {
                *count += 1;
                *phase = ArrPhase::AfterValue;
            }
            _ => {}
        }
    }

    fn push(&self, mut stack: Stack, frame: Frame, out: &mut Vec<Stack>) {
        if stack.frames.len() < MAX_DEPTH {
            stack.frames.push(frame);
            out.push(stack);
        }
    }

    /// Whitespace where the grammar allows it.
    fn whitespace(&self, mut stack: Stack, out: &mut Vec<Stack>) {
        if stack.ws_run < MAX_WS_RUN {
            stack.ws_run += 1;
            out.push(stack);
        }
    }

    /// Every continuation of `stack` by `b`, pushed to `out`.
    fn step(&self, mut stack: Stack, b: u8, out: &mut Vec<Stack>) {
        let Some(top) = stack.frames.last().copied() else {
            // A complete value takes nothing more.
            return;
        };
        if !is_ws(b) {
            stack.ws_run = 0;
        }
        match top {
            Frame::Value(node) => {
                if is_ws(b) {
                    return self.whitespace(stack, out);
                }
                stack.frames.pop();
                self.start_value(stack, node, b, out);
            }
            Frame::Object {
                node,
                seen,
                phase,
                next,
                ..
            } => self.object_byte(stack, node, seen, phase, next, b, out),
            Frame::Key {
                node,
                alive,
                pos,
                free,
                escape,
            } => self.key_byte(stack, node, alive, pos, free, escape, b, out),
            Frame::Array { node, count, phase } => {
                let Node::Array { items, min, max } = *self.node(node) else {
                    unreachable!("array frames point at array nodes")
                };
                if is_ws(b) && phase != ArrPhase::Value {
                    return self.whitespace(stack, out);
                }
                let room = max.is_none_or(|max| (count as usize) < max);
                match (phase, b) {
                    (ArrPhase::Open | ArrPhase::AfterValue, b']') if count as usize >= min => {
                        stack.frames.pop();
                        self.value_done(&mut stack);
                        out.push(stack);
                    }
                    (ArrPhase::AfterValue, b',') if room => {
                        set_array_phase(&mut stack, ArrPhase::Comma);
                        out.push(stack);
                    }
                    (ArrPhase::Open | ArrPhase::Comma, _) if room => {
                        set_array_phase(&mut stack, ArrPhase::Value);
                        self.start_value(stack, items, b, out);
                    }
                    _ => {}
                }
            }
            Frame::Str {
                node,
                count,
                escape,
            } => {
                let Node::String { min, max } = *self.node(node) else {
                    unreachable!("string frames point at string nodes")
                };
                let (escape, count) = match (escape, b) {
                    (Escape::None, b'"') => {
                        if (count as usize) < min {
                            return;
                        }
                        stack.frames.pop();
                        self.value_done(&mut stack);
                        return out.push(stack);
                    }
                    // A character counts where it starts, so a string at its maximum length
                    // cannot open an escape it has no room to finish.
                    (Escape::None, b'\\') => (Escape::Backslash, count + 1),
                    (Escape::None, _) if b < 0x20 => return,
                    // UTF-8 continuation bytes do not start a character.
                    (Escape::None, _) => (Escape::None, count + u32::from(b & 0xC0 != 0x80)),
                    (escape, _) => match escape.step(b) {
                        Some((escape, _)) => (escape, count),
                        None => return,
                    },
                };
                if max.is_some_and(|max| count as usize > max) {
                    return;
                }
                *stack.frames.last_mut().expect("the string frame") = Frame::Str {
                    node,
                    count,
                    escape,
                };
                out.push(stack);
            }
            Frame::Number {
                integer,
                phase,
                digits,
            } => {
                let digits = digits + u8::from(b.is_ascii_digit());
                match phase.step(b, integer) {
                    Some(phase) if digits <= MAX_DIGITS => {
                        *stack.frames.last_mut().expect("the number frame") = Frame::Number {
                            integer,
                            phase,
                            digits,
                        };
                        out.push(stack);
                    }
                    Some(_) => {}
                    None if phase.accepting() => {
                        // The byte belongs to whatever holds the number.
                        stack.frames.pop();
                        self.value_done(&mut stack);
                        self.step(stack, b, out);
                    }
                    None => {}
                }
            }
            Frame::Literal { node, alive, pos } => {
                let lits = self.literals(node);
                let mut extended = Bits::default();
                for (i, lit) in lits.iter().enumerate() {
                    if alive.get(i) && lit.get(pos as usize) == Some(&b) {
                        extended.set(i);
                    }
                }
                let complete = self.literal_complete(node, &alive, pos);
                if complete {
                    // `1` of enum [1, 10] may end here or go on: keep both readings.
                    let mut ended = stack.clone();
                    ended.frames.pop();
                    self.value_done(&mut ended);
                    self.step(ended, b, out);
                }
                if !extended.is_empty() {
                    *stack.frames.last_mut().expect("the literal frame") = Frame::Literal {
                        node,
                        alive: extended,
                        pos: pos + 1,
                    };
                    out.push(stack);
                }
            }
        }
    }

    /// The first byte `b` of a value of `node`.
    fn start_value(&self, stack: Stack, node: NodeId, b: u8, out: &mut Vec<Stack>) {
        match self.node(node) {
            Node::Union(alternatives) => {
                for &alt in alternatives {
                    self.start_value(stack.clone(), alt, b, out);
                }
            }
            Node::Object { .. } if b == b'{' => self.push(
                stack,
                Frame::Object {
                    node,
                    seen: Bits::default(),
                    phase: ObjPhase::Open,
                    current: 0,
                    next: 0,
                },
                out,
            ),
            Node::Array { .. } if b == b'[' => self.push(
                stack,
                Frame::Array {
                    node,
                    count: 0,
                    phase: ArrPhase::Open,
                },
                out,
            ),
            Node::String { .. } if b == b'"' => self.push(
                stack,
                Frame::Str {
                    node,
                    count: 0,
                    escape: Escape::None,
                },
                out,
            ),
            Node::Number { integer } => {
                let phase = match b {
                    b'-' => NumPhase::Minus,
                    b'0' => NumPhase::Zero,
                    b'1'..=b'9' => NumPhase::Int,
                    _ => return,
                };
                let frame = Frame::Number {
                    integer: *integer,
                    phase,
                    digits: u8::from(b != b'-'),
                };
                self.push(stack, frame, out);
            }
            Node::Literals(lits) => {
                let mut alive = Bits::default();
                for (i, lit) in lits.iter().enumerate() {
                    if lit.first() == Some(&b) {
                        alive.set(i);
                    }
                }
                if !alive.is_empty() {
                    self.push(
                        stack,
                        Frame::Literal {
                            node,
                            alive,
                            pos: 1,
                        },
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn object_byte(
        &self,
        mut stack: Stack,
        node: NodeId,
        seen: Bits,
        phase: ObjPhase,
        next: u16,
        b: u8,
        out: &mut Vec<Stack>,
    ) {
        if is_ws(b)
            && matches!(
                phase,
                ObjPhase::Open | ObjPhase::Colon | ObjPhase::AfterValue | ObjPhase::Comma
            )
        {
            return self.whitespace(stack, out);
        }
        let (allowed, free) = self.allowed_keys(node, &seen, next);
        let key_possible = free || !allowed.is_empty();
        let set_phase = |stack: &mut Stack, new: ObjPhase| {
            if let Some(Frame::Object { phase, .. }) = stack.frames.last_mut() {
                *phase = new;
            }
        };
        match (phase, b) {
            (ObjPhase::Open | ObjPhase::AfterValue, b'}') if self.object_may_close(node, &seen) => {
                stack.frames.pop();
                self.value_done(&mut stack);
                out.push(stack);
            }
            (ObjPhase::AfterValue, b',') if key_possible => {
                set_phase(&mut stack, ObjPhase::Comma);
                out.push(stack);
            }
            (ObjPhase::Open | ObjPhase::Comma, b'"') if key_possible => {
                set_phase(&mut stack, ObjPhase::Key);
                self.push(
                    stack,
                    Frame::Key {
                        node,
                        alive: allowed,
                        pos: 0,
                        free,
                        escape: Escape::None,
                    },
                    out,
                );
            }
            (ObjPhase::Colon, b':') => {
                let Some(Frame::Object { current, .. }) = stack.frames.last().copied() else {
                    return;
                };
                let Node::Object {
                    props, additional, ..
                } = self.node(node)
                else {
                    return;
                };
                let value = if current == ADDITIONAL {
                    additional.expect("an additional key implies a schema for it")
                } else {
                    props[current as usize].1
                };
                set_phase(&mut stack, ObjPhase::Value);
                self.push(stack, Frame::Value(value), out);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn key_byte(
        &self,
        mut stack: Stack,
        node: NodeId,
        alive: Bits,
        pos: u16,
        free: bool,
        escape: Escape,
        b: u8,
        out: &mut Vec<Stack>,
    ) {
        let Node::Object { props, .. } = self.node(node) else {
            return;
        };
        if escape == Escape::None && b == b'"' {
            let declared = (0..props.len())
                .find(|&i| alive.get(i) && props[i].0.len() == pos as usize)
                .map(|i| i as u16);
            let Some(current) = declared.or(free.then_some(ADDITIONAL)) else {
                return;
            };
            stack.frames.pop();
            if let Some(Frame::Object {
                phase,
                current: slot,
                ..
            }) = stack.frames.last_mut()
            {
                *phase = ObjPhase::Colon;
                *slot = current;
            }
            return out.push(stack);
        }
        let escape = match escape {
            Escape::None if b == b'\\' => Escape::Backslash,
            Escape::None if b < 0x20 => return,
            Escape::None => Escape::None,
            escape => match escape.step(b) {
                Some((escape, _)) => escape,
                None => return,
            },
        };
        let mut still = alive;
        for (i, (key, _)) in props.iter().enumerate() {
            if alive.get(i) && key.get(pos as usize) != Some(&b) {
                still.clear(i);
            }
        }
        if still.is_empty() && !free {
            return;
        }
        *stack.frames.last_mut().expect("the key frame") = Frame::Key {
            node,
            alive: still,
            pos: pos.saturating_add(1),
            free,
            escape,
        };
        out.push(stack);
    }
}

fn set_array_phase(stack: &mut Stack, new: ArrPhase) {
    if let Some(Frame::Array { phase, .. }) = stack.frames.last_mut() {
        *phase = new;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn grammar(schema: serde_json::Value) -> Arc<Grammar> {
        Arc::new(Grammar::from_schema(&schema).unwrap())
    }

    fn complete(g: &Arc<Grammar>, text: &str) -> bool {
        let mut m = JsonMatcher::new(g.clone());
        m.advance(text.as_bytes()) && m.is_complete()
    }

    fn prefix_ok(g: &Arc<Grammar>, text: &str) -> bool {
        JsonMatcher::new(g.clone()).accepts(text.as_bytes())
    }

    #[test]
    fn objects_follow_properties_and_required() {
        let g = grammar(json!({
            "type": "object",
            "properties": {
                "city": { "type": "string" },
                "days": { "type": "integer" },
                "unit": { "enum": ["celsius", "fahrenheit"] }
            },
            "required": ["city"]
        }));
        assert!(complete(&g, r#"{"city": "Paris"}"#));
        assert!(complete(
            &g,
            r#"{ "days": 3, "city": "Rome", "unit": "celsius" }"#
        ));
        assert!(complete(&g, "{\n  \"city\": \"Oslo\",\n  \"days\": -12\n}"));
        // Missing required, unknown key, wrong type, repeated key, bad enum.
        assert!(!prefix_ok(&g, "{}"));
        assert!(!prefix_ok(&g, r#"{"town""#));
        assert!(!prefix_ok(&g, r#"{"days": 1.5"#));
        assert!(!prefix_ok(&g, r#"{"city": "a", "city""#));
        assert!(!prefix_ok(&g, r#"{"city": "a", "unit": "kelvin""#));
        // Prefixes that can still complete.
        assert!(prefix_ok(&g, r#"{"ci"#));
        assert!(prefix_ok(&g, r#"{"city": "Pa"#));
        assert!(prefix_ok(&g, r#"{"city": "a", "unit": "cel"#));
        // No comma once every key is written.
        assert!(!prefix_ok(
            &g,
            r#"{"city": "a", "days": 1, "unit": "celsius","#
        ));
    }

    #[test]
    fn scalars_arrays_and_unions() {
        let g = grammar(json!({
            "type": "object",
            "properties": {
                "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2 },
                "score": { "type": ["number", "null"] },
                "ok": { "type": "boolean" },
                "note": { "type": "string", "maxLength": 3 }
            },
            "required": ["tags"]
        }));
        assert!(complete(
            &g,
            r#"{"tags": ["a"], "score": 1.5e3, "ok": true}"#
        ));
        assert!(complete(&g, r#"{"tags": ["a", "b"], "score": null}"#));
        assert!(complete(&g, r#"{"tags": ["\u00e9\n"], "note": "abc"}"#));
        assert!(!prefix_ok(&g, r#"{"tags": []"#));
        assert!(!prefix_ok(&g, r#"{"tags": ["a", "b","#));
        assert!(!prefix_ok(&g, r#"{"tags": ["a"], "score": 01"#));
        assert!(!prefix_ok(&g, r#"{"tags": ["a"], "ok": nul"#));
        assert!(!prefix_ok(&g, r#"{"tags": ["a"], "note": "abcd"#));
        // An escape counts as a character from its backslash: a full string cannot start one.
        assert!(complete(&g, r#"{"tags": ["a"], "note": "ab\u00e9"}"#));
        assert!(!prefix_ok(&g, r#"{"tags": ["a"], "note": "abc\"#));
        assert!(!prefix_ok(&g, r#"{"tags": ["a"], "note": "abc\u00"#));
        assert!(!prefix_ok(&g, "{\"tags\": [\"a\nb\"]"));
    }

    #[test]
    fn free_objects_refs_and_recursion() {
        let g = grammar(json!({ "type": "object" }));
        assert!(complete(&g, r#"{"a": [1, {"b": null}], "c": "d"}"#));
        assert!(!prefix_ok(&g, r#"{"a": ]"#));
        let g = grammar(json!({
            "$defs": { "node": { "type": "object", "properties": {
                "name": { "type": "string" },
                "children": { "type": "array", "items": { "$ref": "#/$defs/node" } }
            }, "required": ["name"] } },
            "$ref": "#/$defs/node"
        }));
        assert!(complete(
            &g,
            r#"{"name": "a", "children": [{"name": "b", "children": []}]}"#
        ));
        assert!(!prefix_ok(&g, r#"{"name": "a", "children": [{"x"#));
    }

    #[test]
    fn completeness_and_next_bytes() {
        let g =
            Arc::new(Grammar::one_of_texts([r#"{"name": "get""#, r#"{"name": "set""#]).unwrap());
        let mut m = JsonMatcher::new(g);
        assert!(m.advance(br#"{"name": ""#));
        let next = m.next_bytes();
        assert!(next[b'g' as usize] && next[b's' as usize] && !next[b'x' as usize]);
        assert!(m.advance(b"get\""));
        assert!(m.is_complete() && m.is_finished());
        let g = grammar(json!({ "type": "integer" }));
        let mut m = JsonMatcher::new(g);
        assert!(m.advance(b"12"));
        assert!(m.is_complete() && !m.is_finished());
    }

    #[test]
    fn completion_closes_whatever_is_open() {
        let g = grammar(json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "minLength": 2 },
                "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                "unit": { "enum": ["celsius", "fahrenheit"] },
                "n": { "type": "number" },
                "inner": { "type": "object", "properties": { "x": { "type": "integer" } }, "required": ["x"] }
            },
            "required": ["name", "tags", "inner"]
        }));
        for prefix in [
            "",
            "{",
            r#"{"na"#,
            r#"{"name"#,
            r#"{"name":"#,
            r#"{"name": "a"#,
            r#"{"name": "ab\u00"#,
            r#"{"name": "ab","#,
            r#"{"name": "ab", "tags": ["#,
            r#"{"name": "ab", "tags": ["x","#,
            r#"{"name": "ab", "unit": "cel"#,
            r#"{"name": "ab", "n": -"#,
            r#"{"name": "ab", "n": 1.5e"#,
            r#"{"inner": {"#,
            r#"{"inner": {"x": 3"#,
            r#"{"name": "ab", "inner": {"x": 3}, "#,
        ] {
            let mut m = JsonMatcher::new(g.clone());
            assert!(m.advance(prefix.as_bytes()), "{prefix}");
            let rest = m.completion();
            assert!(
                m.advance(&rest) && m.is_complete(),
                "{prefix} + {}",
                String::from_utf8_lossy(&rest)
            );
            let text = format!("{prefix}{}", String::from_utf8_lossy(&rest));
            let value: serde_json::Value = serde_json::from_str(&text).expect(&text);
            assert!(matches(&g, &value), "{text}");
        }
        let g = grammar(json!({ "type": "object" }));
        let mut m = JsonMatcher::new(g);
        assert!(m.advance(br#"{"a": [{"b": "c"#));
        assert_eq!(m.completion(), br#""}]}"#);
    }

    #[test]
    fn validates_values() {
        let g = grammar(json!({
            "type": "object",
            "properties": { "n": { "type": "integer" } },
            "required": ["n"]
        }));
        assert!(matches(&g, &json!({ "n": 3 })));
        assert!(!matches(&g, &json!({ "n": "3" })));
        assert!(!matches(&g, &json!({})));
    }
}
