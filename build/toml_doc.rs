//! The layout file as TOML, read by `toml-span`: a read-only view of its values in which each one
//! carries the 1-based line it starts on (from its span), so that every message can name a line.
//!
//! Included by build/layout.rs, which build.rs, the host tests and the fuzz target include with
//! `#[path]`; each of them lists `toml-span` as a dependency.

use toml_span::value::{Table, ValueInner};
use toml_span::{ErrorKind, Value};

pub use toml_span::value::ValueInner as V;

/// A problem in the file: 1-based line (0 for none) and message.
pub type Problem = (usize, String);

/// Where the lines of a text start, to turn byte offsets into line numbers.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    /// The line starts of `text`.
    pub fn new(text: &str) -> Lines {
        let breaks = text.match_indices('\n').map(|(i, _)| i + 1);
        Lines { starts: std::iter::once(0).chain(breaks).collect() }
    }

    /// The 1-based line that holds byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// A parsed file: its root value and the lines to place its spans with.
pub struct Doc<'de> {
    root: Value<'de>,
    lines: Lines,
}

impl<'de> Doc<'de> {
    /// Parses `text`. A syntax error becomes a [`Problem`] at the line of its span, in the words
    /// the layout checker uses where it has its own (duplicates, unterminated strings).
    pub fn parse(text: &'de str) -> Result<Doc<'de>, Problem> {
        let lines = Lines::new(text);
        match toml_span::parse(text) {
            Ok(root) => Ok(Doc { root, lines }),
            Err(e) => Err(syntax_problem(&lines, &e)),
        }
    }

    /// The root table (line 1).
    pub fn root(&self) -> Tab<'_> {
        let map = self.root.as_table().expect("toml-span parses a document into a table");
        Tab { map, line: 1, lines: &self.lines }
    }
}

fn syntax_problem(lines: &Lines, e: &toml_span::Error) -> Problem {
    let msg = match &e.kind {
        ErrorKind::DuplicateKey { key, first } => {
            format!("duplicate key `{key}` (first defined on line {})", lines.line(first.start))
        }
        ErrorKind::DuplicateTable { name, first } => {
            format!("table `[{name}]` is defined twice (first on line {})", lines.line(first.start))
        }
        // toml-span reports the newline that ends an unclosed single-line string.
        ErrorKind::UnterminatedString | ErrorKind::InvalidCharInString('\n') => {
            "unterminated string".into()
        }
        _ => e.to_string(),
    };
    (lines.line(e.span.start), msg)
}

/// A table of the file and the line it starts on (its header, `{`, or 1 for the root).
#[derive(Clone, Copy)]
pub struct Tab<'a> {
    map: &'a Table<'a>,
    pub line: usize,
    lines: &'a Lines,
}

impl<'a> Tab<'a> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<Item<'a>> {
        self.map.get(key).map(|v| Item::new(v, self.lines))
    }

    /// The keys with their lines, in file order (toml-span keeps them sorted by name).
    pub fn keys(&self) -> Vec<(&'a str, usize)> {
        let mut keys: Vec<_> = self.map.keys().collect();
        keys.sort_by_key(|k| k.span.start);
        keys.iter().map(|k| (k.name.as_ref(), self.lines.line(k.span.start))).collect()
    }
}

/// A value of the file and the line it starts on.
#[derive(Clone, Copy)]
pub struct Item<'a> {
    pub value: &'a ValueInner<'a>,
    pub line: usize,
    lines: &'a Lines,
}

impl<'a> Item<'a> {
    fn new(v: &'a Value<'a>, lines: &'a Lines) -> Item<'a> {
        Item { value: v.as_ref(), line: lines.line(v.span.start), lines }
    }

    /// The elements, if the value is an array.
    pub fn array(&self) -> Option<Vec<Item<'a>>> {
        let V::Array(items) = self.value else { return None };
        Some(items.iter().map(|v| Item::new(v, self.lines)).collect())
    }

    /// The table, if the value is one.
    pub fn table(&self) -> Option<Tab<'a>> {
        let V::Table(map) = self.value else { return None };
        Some(Tab { map, line: self.line, lines: self.lines })
    }

    /// The TOML name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            V::String(_) => "a string",
            V::Integer(_) => "an integer",
            V::Float(_) => "a float",
            V::Boolean(_) => "a boolean",
            V::Array(_) => "an array",
            V::Table(_) => "a table",
        }
    }
}
