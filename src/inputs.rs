//! Every input file is read once, here: its bytes are hashed for the receipt
//! and its text handed to the stage that needs it, with enough context to
//! point errors at the right file, line and column.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Location, Result, io_reason};
use crate::manifest::{FileRef, Manifest, Source};

/// The SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A text to parse, and how to report a position in it.
#[derive(Debug, Clone)]
pub struct Text {
    /// The file as shown to users (for inline text: the manifest).
    pub shown: String,
    /// The content.
    pub body: String,
    /// For text written inline in the manifest: where it starts there.
    inline_at: Option<Location>,
}

impl Text {
    /// A text read from a file shown as `shown`.
    pub fn new(shown: impl Into<String>, body: impl Into<String>) -> Self {
        Text {
            shown: shown.into(),
            body: body.into(),
            inline_at: None,
        }
    }

    /// Marks the text as written inline in the manifest at `at`.
    pub fn set_inline(&mut self, at: Location) {
        self.inline_at = Some(at);
    }

    /// A location for 1-based `line` and `column` of the text, and a note to
    /// add to the message when the text is inline (the position is then in
    /// the inline value, not in the manifest).
    pub fn locate(&self, line: usize, column: usize) -> (Location, Option<String>) {
        match &self.inline_at {
            Some(at) => (
                at.clone(),
                Some(format!("line {line}, column {column} of the inline text")),
            ),
            None => (Location::at(&self.shown, &self.body, line, column), None),
        }
    }

    /// The location of the text as a whole.
    pub fn whole(&self) -> Location {
        self.inline_at
            .clone()
            .unwrap_or_else(|| Location::file(&self.shown))
    }

    /// An error at 1-based `line`:`column` of the text.
    pub fn error_at(
        &self,
        kind: ErrorKind,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Error {
        let (location, note) = self.locate(line, column);
        let message = message.into();
        let message = match note {
            Some(note) => format!("{message} ({note})"),
            None => message,
        };
        Error::at(kind, location, message)
    }

    /// Whether the text is written inline in the manifest.
    pub fn is_inline(&self) -> bool {
        self.inline_at.is_some()
    }
}

/// An input's digest, and the built-in target it comes from, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDigest {
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// The built-in target that holds it (`None` for a project file).
    pub target: Option<String>,
}

/// The inputs read so far, their digests, and their texts: a query file
/// that thirty rules name is read and hashed once.
#[derive(Debug, Default)]
pub struct Inputs {
    digests: BTreeMap<String, InputDigest>,
    texts: HashMap<String, Text>,
}

impl Inputs {
    /// Starts with the manifest itself as the first input.
    pub fn new(manifest: &Manifest) -> Self {
        let mut digests = BTreeMap::new();
        digests.insert(
            manifest.file_name(),
            InputDigest {
                sha256: sha256_hex(manifest.text.as_bytes()),
                target: None,
            },
        );
        Inputs {
            digests,
            texts: HashMap::new(),
        }
    }

    /// Reads `file` (relative to the manifest folder) as UTF-8 text. A missing
    /// or unreadable file (a folder, no permission) is a manifest error
    /// pointing at where the manifest names it; text that is not UTF-8 is an
    /// error of `kind`.
    pub fn file(&mut self, manifest: &Manifest, file: &FileRef, kind: ErrorKind) -> Result<Text> {
        if let Some(text) = self.texts.get(&file.path) {
            return Ok(text.clone());
        }
        let path = manifest.resolve(&file.path);
        let shown = manifest.shown(&file.path);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::at(
                    ErrorKind::Manifest,
                    manifest.location(&file.span),
                    format!("`{}` does not exist", shown),
                )
                .with_help("fix the path; paths in the manifest are relative to its folder")
            } else {
                // A folder, a file without read permission: the manifest
                // names something ggen cannot use, wherever it is used.
                Error::at(
                    ErrorKind::Manifest,
                    manifest.location(&file.span),
                    format!("`{shown}` cannot be read: {}", io_reason(&e)),
                )
                .with_help("the manifest must name a file ggen can read")
            }
        })?;
        self.digests.insert(
            file.path.clone(),
            InputDigest {
                sha256: sha256_hex(&bytes),
                target: None,
            },
        );
        let body = utf8(bytes, &shown, kind)?;
        let text = Text {
            shown,
            body,
            inline_at: None,
        };
        self.texts.insert(file.path.clone(), text.clone());
        Ok(text)
    }

    /// The text of a query or template, inline or from its file.
    pub fn source(
        &mut self,
        manifest: &Manifest,
        source: &Source,
        kind: ErrorKind,
    ) -> Result<Text> {
        match source {
            Source::File(file) => self.file(manifest, file, kind),
            Source::Inline { text, span } => Ok(Text {
                shown: manifest.shown_file(),
                body: text.clone(),
                inline_at: Some(manifest.location(span)),
            }),
            Source::Text { shown, text } => Ok(Text::new(shown.clone(), text.clone())),
            Source::Builtin(builtin) => {
                let name = builtin.name();
                self.digests
                    .entry(name.clone())
                    .or_insert_with(|| InputDigest {
                        sha256: sha256_hex(builtin.text.as_bytes()),
                        target: Some(builtin.target.clone()),
                    });
                Ok(Text::new(name, builtin.text))
            }
        }
    }

    /// Every input read, name → digest, sorted by name: project files by
    /// their path, built-in ones as `ggen:<target>/<path>`.
    pub fn digests(&self) -> &BTreeMap<String, InputDigest> {
        &self.digests
    }
}

/// Text written in the manifest at `span` (a message, an `output_file`).
pub fn inline_text(manifest: &Manifest, body: &str, span: &std::ops::Range<usize>) -> Text {
    let mut text = Text::new(manifest.shown_file(), body);
    text.set_inline(manifest.location(span));
    text
}

/// Bytes as UTF-8, or an error at the first bad byte.
pub fn utf8(bytes: Vec<u8>, shown: &str, kind: ErrorKind) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let bad = e.as_bytes()[offset];
        Error::at(
            kind,
            Location::at_offset(shown, &lossy, offset),
            format!("the file is not valid UTF-8 (byte 0x{bad:02X})"),
        )
        .with_help("save the file as UTF-8")
    })
}
