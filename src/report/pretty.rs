//! Pretty JSON written piece by piece: an envelope opened and closed by hand,
//! its long arrays filled one element at a time, with the bytes
//! `serde_json::to_writer_pretty` would give for the whole document (two-space
//! indent, `[]`/`{}` when empty). The reporters use it so that a report of
//! 500,000 findings never exists as one value or one string.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// `serde_json`'s `PrettyFormatter`, starting `depth` levels deep.
struct Nested {
    current_indent: usize,
    has_value: bool,
}

fn indent<W: ?Sized + Write>(w: &mut W, n: usize) -> io::Result<()> {
    // One write for the usual depths (each write is a call through `dyn Write`).
    const SPACES: &[u8; 64] = &[b' '; 64];
    let mut left = 2 * n;
    while left > 0 {
        let step = left.min(SPACES.len());
        w.write_all(&SPACES[..step])?;
        left -= step;
    }
    Ok(())
}

impl Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.current_indent += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.current_indent -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.current_indent)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.current_indent)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.current_indent += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.current_indent -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.current_indent)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.current_indent)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `value`, pretty, as it would appear `depth` levels deep in a document
/// (its first line is not indented: the caller placed it).
pub fn value<T: Serialize + ?Sized>(w: &mut dyn Write, depth: usize, v: &T) -> io::Result<()> {
    let formatter = Nested {
        current_indent: depth,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(w, formatter);
    v.serialize(&mut ser).map_err(io::Error::from)
}

/// An object being written: `{`, members, `}`.
pub struct Object {
    depth: usize,
    first: bool,
}

impl Object {
    /// Writes `{`; the object is `depth` levels deep.
    pub fn begin(w: &mut dyn Write, depth: usize) -> io::Result<Object> {
        w.write_all(b"{")?;
        Ok(Object { depth, first: true })
    }

    fn key(&mut self, w: &mut dyn Write, key: &str) -> io::Result<()> {
        w.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        indent(w, self.depth + 1)?;
        serde_json::to_writer(&mut *w, key).map_err(io::Error::from)?;
        w.write_all(b": ")
    }

    /// One member with a whole value.
    pub fn member<T: Serialize + ?Sized>(
        &mut self,
        w: &mut dyn Write,
        key: &str,
        v: &T,
    ) -> io::Result<()> {
        self.key(w, key)?;
        value(w, self.depth + 1, v)
    }

    /// One member whose value is an array written element by element.
    pub fn array(&mut self, w: &mut dyn Write, key: &str) -> io::Result<Array> {
        self.key(w, key)?;
        Array::begin(w, self.depth + 1)
    }

    /// One member whose value is an object written member by member.
    pub fn object(&mut self, w: &mut dyn Write, key: &str) -> io::Result<Object> {
        self.key(w, key)?;
        Object::begin(w, self.depth + 1)
    }

    /// Writes `}`.
    pub fn end(self, w: &mut dyn Write) -> io::Result<()> {
        if !self.first {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"}")
    }
}

/// An array being written: `[`, elements, `]`.
pub struct Array {
    depth: usize,
    first: bool,
}

impl Array {
    /// Writes `[`; the array is `depth` levels deep.
    pub fn begin(w: &mut dyn Write, depth: usize) -> io::Result<Array> {
        w.write_all(b"[")?;
        Ok(Array { depth, first: true })
    }

    fn separate(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        indent(w, self.depth + 1)
    }

    /// One whole element.
    pub fn item<T: Serialize + ?Sized>(&mut self, w: &mut dyn Write, v: &T) -> io::Result<()> {
        self.separate(w)?;
        value(w, self.depth + 1, v)
    }

    /// One element that is an object written member by member.
    pub fn object(&mut self, w: &mut dyn Write) -> io::Result<Object> {
        self.separate(w)?;
        Object::begin(w, self.depth + 1)
    }

    /// Writes `]`.
    pub fn end(self, w: &mut dyn Write) -> io::Result<()> {
        if !self.first {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"]")
    }
}

/// What a reporter writes into, as a `String` (tests and callers that want text).
pub fn to_string(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
    let mut buf: Vec<u8> = Vec::new();
    // Writing into a Vec fails only on a serializer error, which the
    // reporters' plain data cannot produce; what was written is kept.
    let _ = write(&mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The pieces give the bytes of `to_string_pretty` of the whole document.
    #[test]
    fn pieces_match_the_whole_document() {
        let items = [json!({"a": [1, {"b": []}], "c": {}}), json!("x"), json!([])];
        let whole = json!({
            "head": {"k": [true, null]},
            "list": items,
            "empty": [],
            "inner": {"deep": items, "none": []},
        });
        let mut out: Vec<u8> = Vec::new();
        let w: &mut dyn Write = &mut out;
        // Members in the order serde_json's (sorted) map prints them.
        let mut doc = Object::begin(w, 0).unwrap();
        doc.array(w, "empty").unwrap().end(w).unwrap();
        doc.member(w, "head", &whole["head"]).unwrap();
        let mut inner = doc.object(w, "inner").unwrap();
        let mut deep = inner.array(w, "deep").unwrap();
        for i in &items {
            deep.item(w, i).unwrap();
        }
        deep.end(w).unwrap();
        inner.array(w, "none").unwrap().end(w).unwrap();
        inner.end(w).unwrap();
        let mut list = doc.array(w, "list").unwrap();
        let mut first = list.object(w).unwrap();
        first.member(w, "a", &items[0]["a"]).unwrap();
        first.object(w, "c").unwrap().end(w).unwrap();
        first.end(w).unwrap();
        list.item(w, &items[1]).unwrap();
        list.item(w, &items[2]).unwrap();
        list.end(w).unwrap();
        doc.end(w).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&whole).unwrap()
        );
    }
}
